// An address space as a root task builds one on seL4 (riscv32, Sv32), run on the model: an ASID
// pool from a 4 KiB untyped, a VSpace root assigned an ASID from it, a page table mapped for a
// 4 MiB window (seL4 allocates no intermediate table itself), two 4 KiB frames mapped in it (one
// read-only and execute-never), a frame's physical address asked, and everything unmapped again.
// Prints each step and the root's page tables as the kernel holds them. Then a child thread in an
// address space of its own shares a buffer with the root task: one frame mapped in both VSpaces
// (its cap copied), at different addresses; each sees the other's stores at once.
// Run: node bin/run-ts.js examples/address-space.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  bootSystem,
  runSystem,
  startThread,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapASIDControl,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_MessageInfo_new,
  seL4_Error,
  seL4_ObjectType,
  seL4_RISCV_Default_VMAttributes,
  seL4_RISCV_ExecuteNever,
  errorName,
  type LayerName,
  type ProgramContext,
  type RunResult,
  type Stub,
  type System,
} from 'sel4-model';

/** What the root task did, in order. */
export type Log = string[];

/** Where the example maps: a 4 MiB window of user space, and two pages in it. */
export const windowVaddr = 0x40000000;
export const dataVaddr = 0x40001000;
export const constVaddr = 0x40002000;

const R = seL4_CapInitThreadCNode;
const hex = (w: number) => `0x${w.toString(16)}`;

/** Runs a call and logs it with its answer; anything but success stops the example. */
function* step(log: Log, what: string, call: Stub<seL4_Error>): Stub<void> {
  const error = yield* call;
  log.push(`${what}: ${errorName[error] ?? error}`);
  if (error !== seL4_Error.seL4_NoError) throw new Error(`${what} failed: ${errorName[error] ?? error}`);
}

/** The largest non-device untyped's slot. */
function untypedOf(sys: ProgramContext): number {
  const { untypeds, bootInfo } = sys.plan;
  const biggest = untypeds.reduce((best, u, i) => (!u.isDevice && u.sizeBits > untypeds[best]!.sizeBits ? i : best), 0);
  return bootInfo.untyped.start + biggest;
}

/**
 * The root task's program: builds the address space, asks an address, tears the mappings down;
 * `mapped` is called once both frames are mapped.
 */
function* buildAddressSpace(sys: ProgramContext, log: Log, addresses: { paddr: number | null }, mapped: () => void) {
  const api = sys.api;
  const slot = (n: number) => sys.plan.bootInfo.empty.start + n;
  const [poolUntyped, pool, vspace, table, data, constant] = [0, 1, 2, 3, 4, 5].map(slot) as [number, number, number, number, number, number];
  const untyped = untypedOf(sys);
  const T = seL4_ObjectType;
  const retype = (type: number, sizeBits: number, at: number) => api.seL4_Untyped_Retype(untyped, type, sizeBits, R, 0, 0, at, 1);

  yield* step(log, 'retype a 4 KiB untyped for the pool', retype(T.seL4_UntypedObject, 12, poolUntyped));
  yield* step(log, 'ASIDControl_MakePool', api.seL4_RISCV_ASIDControl_MakePool(seL4_CapASIDControl, poolUntyped, R, pool, 32));
  yield* step(log, 'retype the VSpace root (a page table)', retype(T.seL4_RISCV_PageTableObject, 0, vspace));
  yield* step(log, 'ASIDPool_Assign', api.seL4_RISCV_ASIDPool_Assign(pool, vspace));
  yield* step(log, 'retype a page table', retype(T.seL4_RISCV_PageTableObject, 0, table));
  yield* step(log, `PageTable_Map at ${hex(windowVaddr)}`, api.seL4_RISCV_PageTable_Map(table, vspace, windowVaddr, seL4_RISCV_Default_VMAttributes));
  yield* step(log, 'retype two 4 KiB frames', api.seL4_Untyped_Retype(untyped, T.seL4_RISCV_4K_Page, 0, R, 0, 0, data, 2));
  yield* step(log, `Page_Map read-write at ${hex(dataVaddr)}`, api.seL4_RISCV_Page_Map(data, vspace, dataVaddr, seL4_AllRights, seL4_RISCV_Default_VMAttributes));
  yield* step(log, `Page_Map read-only, execute-never at ${hex(constVaddr)}`, api.seL4_RISCV_Page_Map(constant, vspace, constVaddr, seL4_CanRead, seL4_RISCV_ExecuteNever));
  mapped();
  const { error, paddr } = yield* api.seL4_RISCV_Page_GetAddress(data);
  log.push(`Page_GetAddress: ${errorName[error] ?? error}, paddr ${hex(paddr)}`);
  addresses.paddr = error === seL4_Error.seL4_NoError ? paddr : null;
  yield* step(log, 'Page_Unmap the read-only frame', api.seL4_RISCV_Page_Unmap(constant));
  yield* step(log, 'PageTable_Unmap (the read-write frame goes with it)', api.seL4_RISCV_PageTable_Unmap(table));
  yield* step(log, 'Page_Unmap the read-write frame (its cap still recorded the mapping)', api.seL4_RISCV_Page_Unmap(data));
}

/** The valid entries of the VSpace root at root slot `index` and of the tables below it, as lines. */
export function describeVSpace(system: System, index: number): string[] {
  const view = system.view();
  const cap = view.cap({ cnode: system.plan.rootCNode, index });
  if (cap?.type !== 'pagetable') return [`slot ${index}: no page table`];
  const lines: string[] = [];
  const walk = (addr: number, base: number, indent: string, shift: number) => {
    const o = view.object(addr);
    if (o?.type !== 'pagetable') return;
    for (const e of o.entries) {
      const vaddr = base + e.index * 2 ** shift;
      if (e.kind === 'table') {
        lines.push(`${indent}${hex(vaddr)}: page table ${hex(e.table)}`);
        walk(e.table, vaddr, `${indent}  `, 12);
      } else {
        lines.push(`${indent}${hex(vaddr)}: frame ${hex(e.frame)} (2^${e.sizeBits}), rights ${e.rights}, ${e.executable ? 'executable' : 'execute-never'}`);
      }
    }
  };
  walk(cap.ptr, 0, '', 22);
  return lines;
}

/** Runs the example on `layer`: the log, the VSpace after the mappings, the frame's address. */
export function addressSpace(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log; mapped: string[]; paddr: number | null } {
  const log: Log = [];
  const addresses: { paddr: number | null } = { paddr: null };
  const system = bootSystem({ layer });
  const vspaceSlot = system.plan.bootInfo.empty.start + 2;
  let mapped: string[] = [];
  const root = (sys: ProgramContext) => buildAddressSpace(sys, log, addresses, () => (mapped = describeVSpace(system, vspaceSlot)));
  const result = runSystem(root, { system });
  return { result, log, mapped, paddr: addresses.paddr };
}

/** Where the shared buffer is mapped: in the root task's VSpace (window 0 has its boot page table), and in the child's. */
export const rootBufferVaddr = 0x200000;
export const childBufferVaddr = dataVaddr;
/** Words the root task writes to the buffer; the child answers with each doubled, after them. */
export const greeting = [3, 14, 15];

/**
 * The root task builds the child's VSpace (a root assigned from the boot ASID pool, a page table
 * at `windowVaddr`), maps one frame at `rootBufferVaddr` in its own VSpace and a copy of the cap
 * at `childBufferVaddr` in the child's, stores the greeting and starts the child (priority 100,
 * below it) with an endpoint; it waits there. The child loads the greeting, stores each word
 * doubled after it and sends on the endpoint; the root task loads the answer from its mapping.
 */
function* shareWithChild(sys: ProgramContext, log: Log): Stub<void> {
  const api = sys.api;
  let next = sys.plan.bootInfo.empty.start;
  const slot = () => next++;
  const untyped = untypedOf(sys);
  const T = seL4_ObjectType;
  const retype = (type: number, at: number) => api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, at, 1);
  const [vspace, table, frame, copy, ep, reply, tcb] = [slot(), slot(), slot(), slot(), slot(), slot(), slot()];
  yield* step(log, "retype the child's VSpace root", retype(T.seL4_RISCV_PageTableObject, vspace));
  yield* step(log, 'ASIDPool_Assign from the boot pool', api.seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace));
  yield* step(log, 'retype a page table', retype(T.seL4_RISCV_PageTableObject, table));
  yield* step(log, `PageTable_Map at ${hex(windowVaddr)} in the child's VSpace`, api.seL4_RISCV_PageTable_Map(table, vspace, windowVaddr, seL4_RISCV_Default_VMAttributes));
  yield* step(log, 'retype the buffer frame', retype(T.seL4_RISCV_4K_Page, frame));
  yield* step(log, `Page_Map at ${hex(rootBufferVaddr)} in the root's VSpace`, api.seL4_RISCV_Page_Map(frame, seL4_CapInitThreadVSpace, rootBufferVaddr, seL4_AllRights, seL4_RISCV_Default_VMAttributes));
  yield* step(log, 'CNode_Copy of the frame cap (a copy maps the frame again)', api.seL4_CNode_Copy(R, copy, 32, R, frame, 32, seL4_AllRights));
  yield* step(log, `Page_Map the copy at ${hex(childBufferVaddr)} in the child's VSpace`, api.seL4_RISCV_Page_Map(copy, vspace, childBufferVaddr, seL4_AllRights, seL4_RISCV_Default_VMAttributes));
  for (const [i, word] of greeting.entries()) yield* sys.store(rootBufferVaddr + 4 * i, word);
  log.push(`root: stored ${greeting.join(', ')} at ${hex(rootBufferVaddr)}`);
  yield* step(log, 'retype an endpoint', retype(T.seL4_EndpointObject, ep));
  yield* step(log, 'retype a reply object', retype(T.seL4_ReplyObject, reply));
  function* child(s: ProgramContext): Stub<void> {
    const words: number[] = [];
    for (let i = 0; i < greeting.length; i++) words.push(yield* s.load(childBufferVaddr + 4 * i));
    log.push(`child: loaded ${words.join(', ')} at ${hex(childBufferVaddr)}`);
    for (const [i, word] of words.entries()) yield* s.store(childBufferVaddr + 4 * (greeting.length + i), 2 * word);
    yield* s.api.seL4_Send(s.args[0]!, seL4_MessageInfo_new(0, 0, 0, 0));
  }
  yield* step(log, 'start the child', startThread(sys, { program: child, untyped, slot: tcb, priority: 100, budgetUs: 10_000n, periodUs: 10_000n, args: [ep], resume: false }));
  slot(); // the child's scheduling context
  yield* step(log, "TCB_SetSpace: the child's own VSpace", api.seL4_TCB_SetSpace(tcb, ep, R, 0, vspace, 0));
  yield* step(log, 'TCB_Resume the child', api.seL4_TCB_Resume(tcb));
  yield* api.seL4_Recv(ep, reply);
  const answer: number[] = [];
  for (let i = 0; i < greeting.length; i++) answer.push(yield* sys.load(rootBufferVaddr + 4 * (greeting.length + i)));
  log.push(`root: loaded ${answer.join(', ')} after the greeting`);
}

/** Runs the shared-buffer part on `layer`: the log. */
export function sharedBuffer(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log } {
  const log: Log = [];
  const result = runSystem((sys) => shareWithChild(sys, log), { system: { layer } });
  return { result, log };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  const { result, log, mapped } = addressSpace(layer);
  for (const line of log) console.log(line);
  console.log('\nthe VSpace root with both frames mapped:');
  for (const line of mapped) console.log(`  ${line}`);
  console.log(`\nstopped (${result.stop}): ${result.detail}`);
  const shared = sharedBuffer(layer);
  console.log('\na child in its own address space, sharing a buffer with the root task:');
  for (const line of shared.log) console.log(line);
  console.log(`\nstopped (${shared.result.stop}): ${shared.result.detail}`);
}
