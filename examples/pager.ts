// A pager as a root task writes one on seL4 (MCS, riscv32 Sv32), run on the model: a child
// thread in an address space of its own, with nothing mapped where it works, its fault handler an
// endpoint the root task waits on. Each load or store of a page nothing maps is a VM fault: the
// root task receives the VMFault message (IP, address, prefetch flag, FSR), maps a page table for
// the 4 MiB window if it has none yet (PageTable_Map) and a fresh frame at the page (Page_Map),
// and replies; the reply restarts the child, whose access is made again and hits. The child
// fills an array across pages and windows, sums it and sends the sum.
// Run: node bin/run-ts.js examples/pager.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  messageInfoFromWord,
  runSystem,
  seL4_AllRights,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_VMFault,
  startThread,
  errorName,
  type LayerName,
  type ProgramContext,
  type RunResult,
  type Stub,
} from 'sel4-model';

/** What the programs of one run reported, in order. */
export type Log = string[];

/** Where the child's array starts: the last page of a 4 MiB window, so it spans two windows. */
export const arrayVaddr = 0x403ff000;
/** Words of the array, one every `strideWords` (a page apart): 6 pages, over two windows. */
export const arrayWords = 6;
export const strideWords = 0x400;
const label = { VMFault: 6, done: 0x55 } as const;
const R = seL4_CapInitThreadCNode;
const page = 0x1000;
const windowBytes = 0x400000;
const hex = (w: number) => `0x${w.toString(16)}`;

function check(error: seL4_Error, what: string): void {
  if (error !== seL4_Error.seL4_NoError) throw new Error(`${what} failed: ${errorName[error] ?? error}`);
}

/**
 * The child: loads the word past the array (a fresh frame reads 0), stores i * 3 to word i of the
 * array, loads them back, and sends the sum (label `done`).
 */
function* child(sys: ProgramContext, log: Log): Stub<void> {
  const [ep] = sys.args as [number];
  const at = (i: number) => arrayVaddr + 4 * strideWords * i;
  log.push(`child: the word past the array reads ${yield* sys.load(at(arrayWords))}`);
  for (let i = 0; i < arrayWords; i++) yield* sys.store(at(i), i * 3);
  let sum = 0;
  for (let i = 0; i < arrayWords; i++) sum += yield* sys.load(at(i));
  log.push(`child: the array's sum is ${sum}`);
  sys.api.seL4_SetMR(0, sum);
  yield* sys.api.seL4_Send(ep, seL4_MessageInfo_new(label.done, 0, 0, 1));
}

/**
 * The root task: a VSpace for the child (a root page table assigned from the boot ASID pool), an
 * endpoint and a reply object, the child started at priority 100 with the endpoint as its fault
 * handler; then it serves faults until the child reports its sum.
 */
function* pager(sys: ProgramContext, log: Log, faults: { vaddr: number; fsr: number }[]): Stub<void> {
  const { api } = sys;
  let next = sys.plan.bootInfo.empty.start;
  const slot = () => next++;
  const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 20);
  const retype = (type: number, at: number) => api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, at, 1);
  const [vspace, ep, reply, tcb] = [slot(), slot(), slot(), slot()];
  slot(); // the child's scheduling context goes after its TCB
  check(yield* retype(seL4_ObjectType.seL4_RISCV_PageTableObject, vspace), 'retyping the VSpace root');
  check(yield* api.seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace), 'assigning an ASID');
  check(yield* retype(seL4_ObjectType.seL4_EndpointObject, ep), 'retyping the endpoint');
  check(yield* retype(seL4_ObjectType.seL4_ReplyObject, reply), 'retyping the reply object');
  function* program(s: ProgramContext) {
    yield* child(s, log);
  }
  check(yield* startThread(sys, { program, untyped, slot: tcb, priority: 100, budgetUs: 10_000n, periodUs: 10_000n, args: [ep], resume: false }), 'starting the child');
  check(yield* api.seL4_TCB_SetSpace(tcb, ep, R, 0, vspace, 0), "setting the child's fault handler and VSpace");
  check(yield* api.seL4_TCB_Resume(tcb), 'resuming the child');
  const windows = new Set<number>();
  let { info } = yield* api.seL4_Recv(ep, reply);
  while (messageInfoFromWord(info).label === label.VMFault) {
    const [vaddr, prefetch, fsr] = [api.seL4_GetMR(seL4_VMFault.Addr), api.seL4_GetMR(seL4_VMFault.PrefetchFault), api.seL4_GetMR(seL4_VMFault.FSR)];
    faults.push({ vaddr, fsr });
    const window = vaddr - (vaddr % windowBytes);
    const newWindow = !windows.has(window);
    if (newWindow) {
      const table = slot();
      check(yield* retype(seL4_ObjectType.seL4_RISCV_PageTableObject, table), 'retyping a page table');
      check(yield* api.seL4_RISCV_PageTable_Map(table, vspace, window, 0), `mapping a page table at ${hex(window)}`);
      windows.add(window);
    }
    const frame = slot();
    check(yield* retype(seL4_ObjectType.seL4_RISCV_4K_Page, frame), 'retyping a frame');
    check(yield* api.seL4_RISCV_Page_Map(frame, vspace, vaddr - (vaddr % page), seL4_AllRights, 0), `mapping a frame at ${hex(vaddr)}`);
    log.push(`pager: ${fsr === 7 ? 'store' : 'load'} fault at ${hex(vaddr)} (prefetch ${prefetch}, FSR ${fsr}): mapped a frame${newWindow ? ' and a page table for its window' : ''}`);
    ({ info } = yield* api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 0), reply));
  }
  log.push(`pager: the child reports ${api.seL4_GetMR(0)} after ${faults.length} faults, ${windows.size} page tables`);
}

/** Runs the example on `layer`: the log, and the faults the pager served. */
export function pagerExample(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log; faults: { vaddr: number; fsr: number }[] } {
  const log: Log = [];
  const faults: { vaddr: number; fsr: number }[] = [];
  const result = runSystem((sys) => pager(sys, log, faults), { system: { layer } });
  return { result, log, faults };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  const { result, log } = pagerExample(layer);
  for (const line of log) console.log(line);
  console.log(`\nstopped (${result.stop}): ${result.detail}`);
}
