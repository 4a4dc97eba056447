// A fault handler as a root task sets one up on seL4 (MCS), run on the model: a thread whose
// fault handler (TCB slot 3, set with TCB_SetSpace) is an endpoint another thread waits on. The
// thread makes a syscall the kernel does not know and hits a breakpoint; each fault arrives at
// the handler as a message (label, FaultIP, registers), which the handler resolves: it emulates
// the syscall (writes the result into a0) or steps over the breakpoint, moves FaultIP past the
// instruction and replies with label 0, restarting the thread. When the thread runs past its
// code (an illegal instruction), the handler replies with label 1: the thread stays stopped.
// Run: node bin/run-ts.js examples/fault-handler.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  Reg,
  formatTimeline,
  messageInfoFromWord,
  runSystem,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  startThread,
  type LayerName,
  type Observation,
  type ProgramContext,
  type RunResult,
} from 'sel4-model';

/** What the programs of one run reported, in order. */
export type Log = string[];

/** The syscall number the handler emulates: it doubles a0. */
export const doubleSyscall = 0xc1;
/** RISC-V exception causes (scause) the handler tells apart. */
const illegalInstruction = 2;
const breakpoint = 3;
/** Fault labels (libsel4's seL4_Fault_*). */
const UnknownSyscall = 2;
const UserException = 3;
/** Every RISC-V instruction here is 4 bytes long. */
const instructionBytes = 4;

function check(error: seL4_Error, what: string): void {
  if (error !== seL4_Error.seL4_NoError) throw new Error(`${what} failed: ${error}`);
}

const hex = (word: number) => `0x${word.toString(16)}`;

/**
 * The handler: waits on the endpoint (a0) with its reply object (a1); answers each fault and
 * waits for the next in one ReplyRecv. An unknown syscall (MR0 FaultIP, MR1 sp, MR2 ra, MR3-MR9
 * a0-a6, MR10 the number) is emulated: the reply's four words set FaultIP, sp, ra and a0. A
 * breakpoint (MR0 FaultIP, MR1 sp, MR2 scause) is stepped over: the reply's two words set FaultIP
 * and sp. Anything else is answered with label 1: no restart.
 */
function* handle(sys: ProgramContext, log: Log) {
  const [ep, reply] = sys.args as [number, number];
  const { api } = sys;
  let { info, sender } = yield* api.seL4_Recv(ep, reply);
  for (;;) {
    const { label, length } = messageInfoFromWord(info);
    const faultIP = api.seL4_GetMR(0);
    let answer = seL4_MessageInfo_new(1, 0, 0, 0);
    if (label === UnknownSyscall && api.seL4_GetMR(10) === doubleSyscall) {
      const a0 = api.seL4_GetMR(3);
      log.push(`handler: badge ${sender}, unknown syscall ${hex(api.seL4_GetMR(10))} at ${hex(faultIP)} (${length} words), a0 = ${a0}: emulated`);
      api.seL4_SetMR(0, faultIP + instructionBytes);
      api.seL4_SetMR(3, a0 * 2);
      answer = seL4_MessageInfo_new(0, 0, 0, 4);
    } else if (label === UserException && api.seL4_GetMR(2) === breakpoint) {
      log.push(`handler: badge ${sender}, breakpoint at ${hex(faultIP)} (${length} words): stepped over`);
      api.seL4_SetMR(0, faultIP + instructionBytes);
      answer = seL4_MessageInfo_new(0, 0, 0, 2);
    } else {
      const what = label === UserException && api.seL4_GetMR(2) === illegalInstruction ? 'illegal instruction' : `fault label ${label}`;
      log.push(`handler: badge ${sender}, ${what} at ${hex(faultIP)}: the thread stays stopped`);
    }
    ({ info, sender } = yield* api.seL4_ReplyRecv(ep, answer, reply));
  }
}

const regOf = (o: Observation, reg: number) => o.caller?.regs[reg] ?? -1;

/** The faulting thread: an emulated syscall, some computing, a breakpoint; then it runs past its code. */
function* fault(sys: ProgramContext, log: Log) {
  const asked = yield* sys.api.rawSyscall([
    [Reg.a7, doubleSyscall],
    [Reg.a0, 21],
  ]);
  log.push(`faulter: syscall ${hex(doubleSyscall)}(21) = ${regOf(asked, Reg.a0)}, resumed at ${hex(regOf(asked, Reg.pc))}`);
  yield* sys.compute(300n);
  const stepped = yield* sys.api.raiseException(breakpoint, 0);
  log.push(`faulter: past the breakpoint at ${hex(regOf(stepped, Reg.pc))}`);
  yield* sys.compute(200n);
}

/**
 * The root task makes an endpoint, a reply object and a 4 KiB frame; starts the handler
 * (priority 150) with the frame as its IPC buffer (a fault message of more than four words is
 * read from it), and the faulting thread (priority 100) with a badged handler cap as its fault
 * handler.
 */
export function faultHandler(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log } {
  const log: Log = [];
  const root = function* (sys: ProgramContext) {
    const R = seL4_CapInitThreadCNode;
    const slot = (n: number) => sys.plan.bootInfo.empty.start + n;
    const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    const [ep, reply, frame, badged, handlerTCB, faulterTCB] = [slot(0), slot(1), slot(2), slot(3), slot(4), slot(6)];
    const retype = (type: number, at: number) => sys.api.seL4_Untyped_Retype(untyped, type, 0, R, 0, 0, at, 1);
    check(yield* retype(seL4_ObjectType.seL4_EndpointObject, ep), 'retyping the endpoint');
    check(yield* retype(seL4_ObjectType.seL4_ReplyObject, reply), 'retyping the reply object');
    check(yield* retype(seL4_ObjectType.seL4_RISCV_4K_Page, frame), 'retyping the IPC buffer frame');
    check(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, ep, 32, 0xf, 7), 'minting the handler cap');
    const common = { untyped, budgetUs: 1000n, periodUs: 10_000n, resume: false };
    function* handler(s: ProgramContext) {
      yield* handle(s, log);
    }
    function* faulter(s: ProgramContext) {
      yield* fault(s, log);
    }
    check(yield* startThread(sys, { ...common, program: handler, slot: handlerTCB, priority: 150, args: [ep, reply] }), 'starting the handler');
    check(yield* sys.api.seL4_TCB_SetIPCBuffer(handlerTCB, 0x2000_0000, frame), "setting the handler's IPC buffer");
    check(yield* sys.api.seL4_TCB_Resume(handlerTCB), 'resuming the handler');
    check(yield* startThread(sys, { ...common, program: faulter, slot: faulterTCB, priority: 100 }), 'starting the faulter');
    check(yield* sys.api.seL4_TCB_SetSpace(faulterTCB, badged, R, 0, seL4_CapInitThreadVSpace, 0), 'setting the fault handler');
    check(yield* sys.api.seL4_TCB_Resume(faulterTCB), 'resuming the faulter');
  };
  const result = runSystem(root, { system: { layer }, maxTimeUs: 100_000n });
  return { result, log };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  const { result, log } = faultHandler(layer);
  console.log(`Fault handler: stopped (${result.stop}): ${result.detail}`);
  for (const line of log) console.log(`  ${line}`);
  console.log(formatTimeline(result.timeline));
}
