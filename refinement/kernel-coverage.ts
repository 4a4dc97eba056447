// V8's own branch coverage of each layer's kernel code (`check --kernel-coverage`). Every check
// thread starts V8's precise block coverage (node:inspector) before the kernel modules load; after
// each batch it takes V8's counts. The branches themselves come from the code V8 ran (esbuild's
// JavaScript, parsed once): both arms of every `if`, `?:`, `&&`, `||`, `??` (and their
// assignments) and every `case` with statements. An arm is reached when V8 counted its code;
// an arm with no code of its own (an `if` without `else`, a short-circuit) when the statement ran
// more often than its other arm. Lines are the TypeScript source's (the inline source map).
// Assertions are left out: debug assertions (`if (state.debug) ...`, and functions only they
// call) and branches one of whose arms only calls `fail(...)` (a state the kernel never reaches).
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import type { Node } from '@babel/types';
import { writeFileAtomic } from './files.ts';

/** The kernel code of each layer, by directory. */
export const kernelLayers = { impl: 'impl/', executable: 'spec-executable/', abstract: 'spec-abstract/' } as const;
export type KernelLayerName = keyof typeof kernelLayers;

/** One arm of a branch: where it is in the TypeScript source, and how often it ran. */
export interface KernelBranch {
  /** file:offset:arm in the JavaScript V8 ran (the same in every thread). */
  readonly id: string;
  /** Project-relative .ts file, 1-based line. */
  readonly file: string;
  readonly line: number;
  /** `if then`, `if else`, `?: true`, `&& right`, `&& skipped`, `case`... */
  readonly arm: string;
  readonly hits: number;
}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

// ---- finding the branches in a script ----

interface Arm {
  readonly offset: number;
  readonly arm: string;
  /** Where the arm's own code starts; for an arm without code, where the branch starts. */
  readonly at: number;
  /** For an arm without code of its own: the other arm, whose runs are subtracted. */
  readonly minus?: number;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) out.push(...value.filter(isNode));
    else if (isNode(value)) out.push(value);
  }
  return out;
}

/** `if (state.debug) ...` or `if (state.debug && ...)`: a debug assertion, not kernel behaviour. */
function isDebugAssertion(node: Node, source: string): boolean {
  return node.type === 'IfStatement' && /^(?:[\w$]+\.)?debug\b/.test(source.slice(node.test.start ?? 0, node.test.end ?? 0));
}

/** `fail(...)`, `return fail(...)` or a block of only that: an internal assertion, not kernel behaviour. */
function isFailCall(node: Node | null | undefined): boolean {
  if (!node) return false;
  switch (node.type) {
    case 'CallExpression':
      return node.callee.type === 'Identifier' && node.callee.name === 'fail';
    case 'ExpressionStatement':
      return isFailCall(node.expression);
    case 'ReturnStatement':
      return isFailCall(node.argument);
    case 'BlockStatement':
      return node.body.length === 1 && isFailCall(node.body[0]);
    default:
      return false;
  }
}

/** A branch one of whose arms only fails an assertion: neither arm is counted. */
function isAssertion(node: Node): boolean {
  switch (node.type) {
    case 'IfStatement':
      return isFailCall(node.consequent) || isFailCall(node.alternate);
    case 'ConditionalExpression':
      return isFailCall(node.consequent) || isFailCall(node.alternate);
    case 'LogicalExpression':
      return isFailCall(node.right);
    case 'SwitchCase':
      return isFailCall(node.consequent[0]);
    default:
      return false;
  }
}

const logicalAssignments = new Set(['&&=', '||=', '??=']);

/** The arms of the branch at `node`, if it is one. */
function armsOf(node: Node): Arm[] {
  const start = node.start ?? 0;
  switch (node.type) {
    case 'IfStatement': {
      const then = node.consequent.start ?? 0;
      const otherwise = node.alternate ? { offset: start, arm: 'if else', at: node.alternate.start ?? 0 } : { offset: start, arm: 'if else', at: start, minus: then };
      return [{ offset: start, arm: 'if then', at: then }, otherwise];
    }
    case 'ConditionalExpression':
      return [
        { offset: start, arm: '?: true', at: node.consequent.start ?? 0 },
        { offset: start, arm: '?: false', at: node.alternate.start ?? 0 },
      ];
    case 'LogicalExpression':
      return shortCircuit(start, node.operator, node.right.start ?? 0);
    case 'AssignmentExpression':
      return logicalAssignments.has(node.operator) ? shortCircuit(start, node.operator, node.right.start ?? 0) : [];
    case 'SwitchCase':
      return node.consequent.length > 0 ? [{ offset: start, arm: node.test ? 'case' : 'default', at: node.consequent[0]!.start ?? 0 }] : [];
    default:
      return [];
  }
}

function shortCircuit(start: number, operator: string, right: number): Arm[] {
  return [
    { offset: start, arm: `${operator} right`, at: right },
    { offset: start, arm: `${operator} skipped`, at: start, minus: right },
  ];
}

/** The name a top-level statement declares as a function (`function f` or `const f = () => ...`), if any. */
function declaredFunction(node: Node): string | null {
  if (node.type === 'FunctionDeclaration') return node.id?.name ?? null;
  if (node.type !== 'VariableDeclaration' || node.declarations.length !== 1) return null;
  const d = node.declarations[0]!;
  const isFunction = d.init?.type === 'ArrowFunctionExpression' || d.init?.type === 'FunctionExpression';
  return isFunction && d.id.type === 'Identifier' ? d.id.name : null;
}

/** Whether `node` is the declaration of one of the functions in `skipped`. */
function isSkippedFunction(node: Node, skipped: ReadonlySet<string>): boolean {
  const name = declaredFunction(node);
  return name !== null && skipped.has(name);
}

/** Names a subtree refers to, outside debug assertions and the functions in `skipped` (not counting their own names). */
function referencedNames(node: Node, source: string, skipped: ReadonlySet<string>, out: Set<string>): void {
  if (isDebugAssertion(node, source) || isSkippedFunction(node, skipped)) return;
  if (node.type === 'Identifier') out.add(node.name);
  if (node.type === 'ExportNamedDeclaration' && node.declaration) {
    const exported = declaredFunction(node.declaration);
    if (exported !== null) out.add(exported);
  }
  const own = declaredFunction(node);
  for (const child of children(node)) {
    if (own !== null && child.type === 'Identifier' && child.name === own) continue;
    if (own !== null && child.type === 'VariableDeclarator') {
      if (child.init) referencedNames(child.init, source, skipped, out);
      continue;
    }
    referencedNames(child, source, skipped, out);
  }
}

/** Functions of the script used only by its debug assertions (and by each other): assertions too. */
function debugOnlyFunctions(program: Node, source: string): Set<string> {
  const declared = children(program).flatMap((n) => {
    const name = declaredFunction(n.type === 'ExportNamedDeclaration' && n.declaration ? n.declaration : n);
    return name === null ? [] : [name];
  });
  let skipped = new Set<string>(declared);
  for (;;) {
    const used = new Set<string>();
    referencedNames(program, source, skipped, used);
    const next = new Set([...skipped].filter((name) => !used.has(name)));
    if (next.size === skipped.size) return next;
    skipped = next;
  }
}

function collectArms(node: Node, source: string, skipped: ReadonlySet<string>, out: Arm[]): void {
  if (isDebugAssertion(node, source) || isSkippedFunction(node, skipped)) return;
  const assertion = isAssertion(node);
  if (!assertion) out.push(...armsOf(node));
  for (const child of children(node)) {
    // The condition of an assertion (`if (a === null || b === null) fail(...)`) is the assertion's too.
    if (assertion && node.type === 'IfStatement' && child === node.test) continue;
    collectArms(child, source, skipped, out);
  }
}

/** A script's branch arms, each with its TypeScript line. */
interface ScriptBranches {
  readonly file: string;
  readonly arms: readonly (Arm & { readonly line: number })[];
}

const inlineMap = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/** 0-based line of each offset's line start. */
function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** The TypeScript line (1-based) of a JavaScript offset, through the inline source map. */
function tsLine(map: SourceMap | null, starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  if (!map) return lo + 1;
  const entry = map.findEntry(lo, offset - starts[lo]!);
  return 'originalLine' in entry ? entry.originalLine + 1 : lo + 1;
}

async function branchesOf(file: string, source: string): Promise<ScriptBranches> {
  const { parse } = await import('@babel/parser');
  const ast = parse(source, { sourceType: 'module' });
  const arms: Arm[] = [];
  collectArms(ast.program, source, debugOnlyFunctions(ast.program, source), arms);
  const encoded = inlineMap.exec(source)?.[1];
  const map = encoded ? new SourceMap(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as ConstructorParameters<typeof SourceMap>[0]) : null;
  const starts = lineStarts(source);
  return { file, arms: arms.map((a) => ({ ...a, line: tsLine(map, starts, a.at) })) };
}

// ---- counting ----

interface Range {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}

/** How often the code at `offset` ran: the count of the innermost V8 range holding it. */
function countAt(ranges: readonly Range[], offset: number): number {
  let best: Range | null = null;
  for (const r of ranges) {
    if (r.startOffset > offset || offset >= r.endOffset) continue;
    if (!best || r.startOffset > best.startOffset || (r.startOffset === best.startOffset && r.endOffset < best.endOffset)) best = r;
  }
  return best?.count ?? 0;
}

function hitsOf(ranges: readonly Range[], arm: Arm): number {
  const here = countAt(ranges, arm.at);
  return arm.minus === undefined ? here : Math.max(0, here - countAt(ranges, arm.minus));
}

/** The project-relative file of a kernel script, or null for any other script. */
export function kernelFile(url: string): string | null {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return null;
  const file = relative(projectRoot, fileURLToPath(url)).split('\\').join('/');
  return Object.values(kernelLayers).some((dir) => file.startsWith(dir)) ? file : null;
}

// ---- the collector of one thread ----

interface ScriptCoverage {
  readonly scriptId: string;
  readonly url: string;
  readonly functions: readonly { readonly ranges: readonly Range[] }[];
}

let session: Session | null = null;
const scripts = new Map<string, ScriptBranches>();

/** Starts V8's block coverage in this thread: call it before the kernel modules load. */
export async function startKernelCoverage(): Promise<void> {
  if (session) return;
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  // The debugger gives the scripts' sources; enabled once, from the start (turning it on or
  // off later throws away the block counters of code already compiled).
  await session.post('Debugger.enable');
}

async function scriptBranches(s: Session, scriptId: string, file: string): Promise<ScriptBranches> {
  let found = scripts.get(scriptId);
  if (!found) {
    const { scriptSource } = await s.post('Debugger.getScriptSource', { scriptId });
    found = await branchesOf(file, scriptSource);
    scripts.set(scriptId, found);
  }
  return found;
}

/** The kernel branches' hits since coverage started or was last taken (V8 then resets its counts). */
export async function takeKernelCoverage(): Promise<KernelBranch[]> {
  const s = session;
  if (!s) throw new Error('kernel coverage was not started in this thread');
  const { result } = (await s.post('Profiler.takePreciseCoverage')) as { result: ScriptCoverage[] };
  const kernel = result.map((c) => ({ c, file: kernelFile(c.url) })).filter((k) => k.file !== null);
  const out: KernelBranch[] = [];
  for (const { c, file } of kernel) {
    const { arms } = await scriptBranches(s, c.scriptId, file!);
    const ranges = c.functions.flatMap((f) => f.ranges);
    for (const arm of arms) out.push({ id: `${file}:${arm.offset}:${arm.arm}`, file: file!, line: arm.line, arm: arm.arm, hits: hitsOf(ranges, arm) });
  }
  return out;
}

// ---- summing and reporting ----

/** Branch arms by id, hits summed over threads and batches. */
export class KernelCoverage {
  readonly branches = new Map<string, KernelBranch>();

  add(branches: readonly KernelBranch[]): void {
    for (const b of branches) {
      const old = this.branches.get(b.id);
      this.branches.set(b.id, old ? { ...old, hits: old.hits + b.hits } : b);
    }
  }

  /** Per layer: arms reached and in all. */
  byLayer(): { layer: KernelLayerName; reached: number; total: number }[] {
    return (Object.keys(kernelLayers) as KernelLayerName[]).map((layer) => {
      const arms = [...this.branches.values()].filter((b) => b.file.startsWith(kernelLayers[layer]));
      return { layer, reached: arms.filter((b) => b.hits > 0).length, total: arms.length };
    });
  }

  /** Arms never reached, by file and line: `impl/cnode.ts:123 if else`. */
  unreached(layer?: KernelLayerName): string[] {
    return [...this.branches.values()]
      .filter((b) => b.hits === 0 && (!layer || b.file.startsWith(kernelLayers[layer])))
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
      .map((b) => `${b.file}:${b.line} ${b.arm}`);
  }
}

export function formatKernelCoverage(coverage: KernelCoverage): string {
  const lines = ['kernel branch coverage (V8; assertions left out):'];
  for (const { layer, reached, total } of coverage.byLayer()) {
    if (total === 0) continue;
    lines.push(`  ${layer.padEnd(10)} ${reached}/${total} branch arms (${((100 * reached) / total).toFixed(1)}%)`);
  }
  return `${lines.join('\n')}\n`;
}

/** Prints the summary; writes the unreached arms to `unreachedFile` if given. */
export function writeKernelCoverage(unreachedFile: string | null, coverage: KernelCoverage): void {
  process.stdout.write(formatKernelCoverage(coverage));
  if (unreachedFile === null) return;
  const unreached = coverage.unreached();
  writeFileAtomic(unreachedFile, unreached.length > 0 ? `${unreached.join('\n')}\n` : '');
  process.stdout.write(`  unreached arms (${unreached.length}): ${unreachedFile}\n`);
}
