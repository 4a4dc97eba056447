// README.md's "Using it from a test" example is test/readme-example.test.ts byte for byte, so
// the example that readers paste is the one `npm test` runs and the type check checks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The ```ts blocks of a README section, each with its trailing newline. */
function tsBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section '${heading}'`);
  const end = markdown.indexOf('\n## ', start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```ts\n([^]*?)^```$/gm)].map((m) => m[1]!);
}

describe('README.md', () => {
  it('shows, in "Using it from a test", exactly the test that runs as test/readme-example.test.ts', () => {
    const blocks = tsBlocks(read('README.md'), '## Using it from a test');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toBe(read('test/readme-example.test.ts'));
  });

  it('shows, in "User programs, the run loop and time", exactly test/programs/readme-example.test.ts', () => {
    const blocks = tsBlocks(read('README.md'), '## User programs, the run loop and time');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toBe(read('test/programs/readme-example.test.ts'));
  });

  it('imports the example from the package itself, as a developer outside test/ would', () => {
    expect(read('test/readme-example.test.ts')).toMatch(/^} from 'sel4-model';$/m);
    expect(JSON.parse(read('package.json')).exports['.']).toBe('./index.ts');
  });
});
