// Every relative link in README.md and docs/*.md names a file of this repository: a clone has
// nothing beside it. The one thing kept outside by design, the conformance recordings, may be
// mentioned (as `../shared/conformance/`) but not linked.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The page without its fenced code blocks (commands and output, not links). */
function prose(page: string): string {
  return readFileSync(join(root, page), 'utf8').replace(/^```[^]*?^```$/gm, '');
}

/** Link targets: `[text](target)` and `<a href="target">`. */
function linkTargets(text: string): string[] {
  const inline = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  const html = [...text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
  return [...inline, ...html];
}

const isRelative = (target: string) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#');

describe('links in README.md and docs/', () => {
  it('finds the pages and their links', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'docs/model.md', 'docs/architecture.md', 'docs/sel4-facts.md']));
    expect(linkTargets(prose('README.md')).filter(isRelative).length).toBeGreaterThan(0);
  });

  it.each(pages)('every relative link in %s resolves to a file in the repository', (page) => {
    const broken = linkTargets(prose(page))
      .filter(isRelative)
      .filter((target) => {
        const path = resolve(dirname(join(root, page)), decodeURI(target.split('#')[0]!));
        return relative(root, path).startsWith('..') || !existsSync(path);
      });
    expect(broken).toEqual([]);
  });

  it.each(pages)('%s names no path outside the repository but the conformance recordings', (page) => {
    const outside = [...prose(page).matchAll(/(?:\.\.\/)+[\w.-]+(?:\/[\w.-]+)*/g)].map((m) => m[0]);
    expect(outside.filter((path) => !path.startsWith('../shared/conformance'))).toEqual([]);
  });
});
