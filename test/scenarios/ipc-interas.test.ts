// sel4test's address-space IPC and fault tests, in our own words (docs/sel4-facts.md §19, §21,
// §24.12, §24.14), on the run loop, on every layer alone and in lockstep:
// - IPC1001-IPC1004 (ipc.c, `inter_as`): the patterns of IPC0001-0004 (Send/Recv, Call/ReplyRecv,
//   Call/Send-on-reply/Recv, NBSend/Recv) between two helper processes: each has a VSpace of its
//   own (a root assigned from the boot pool, its IPC buffer and a data frame mapped at the same
//   addresses in both) and a CSpace of its own. Words run on from a seed as sel4test's do; the
//   receiver reads them from its IPC buffer, some loaded through its own page tables, and each
//   side's own memory is left as it was.
// - IPC0021 (MCS): a passive fault handler runs on the context a faulting store donates, maps a
//   page where the store missed and replies: the context goes back and the store made again hits.
// - PAGEFAULT1004 (faults.c): an unknown syscall by a helper process reaches a handler in another
//   (badged or not): label 2, length 11, the registers; the handler's reply restarts it
//   past the ecall with a0 changed (label 0) or leaves it Inactive (label 1).
import { describe, expect, it } from 'vitest';
import {
  Reg,
  messageInfoFromWord,
  msgWordIndex,
  seL4_AllRights,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_CNode_CapData_new,
  seL4_CapNull,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_VMFault,
  vmFaultStatus,
  type Stub,
} from '../../libsel4/index.ts';
import { startThread, type Program, type ProgramContext } from '../../refinement/run.ts';
import { Scenario, biggestUntypedSlot, modes } from './sched-common.ts';

const E = seL4_Error;
const T = seL4_ObjectType;
const R = seL4_CapInitThreadCNode;
const pageBytes = 0x1000;
const windowBytes = 0x400000;
/** Where every helper's IPC buffer is mapped in its own VSpace. */
const bufferVaddr = 0x10000000;
/** A frame of each helper's own, at the same address in every helper VSpace. */
const dataVaddr = bufferVaddr + pageBytes;
const maxLength = 120;
/** sel4test's lengths run 0..120; these cover the register words, the first buffer word and the end. */
const lengths = [0, 1, 4, 5, 119, maxLength];
const firstSeed = 0xabbacafe;
const seedStep = 0x71717171;

function* ok(call: Stub<seL4_Error>): Stub<void> {
  expect(yield* call).toBe(E.seL4_NoError);
}

/** A helper's own CSpace: one CNode of 16 slots. */
const cspaceRadix = 4;
/** The CPtr, in a helper's own CSpace, of the j-th cap `launch` copied in (slot 0 stays empty). */
const capAt = (j: number): number => 1 + j;

/** The root task's scenario: helper slots, and free root slots handed out in order. */
class InterAs extends Scenario {
  private used = 0;
  /** The windows (`vspace:window`) this scenario mapped a page table for. */
  private readonly windows = new Set<string>();

  slot(): number {
    return this.free(this.used++);
  }

  *make(sys: ProgramContext, type: number): Stub<number> {
    const slot = this.slot();
    yield* this.retype(sys, type, slot);
    return slot;
  }

  /** Maps a new page table for `vaddr`'s window, unless this scenario mapped one, then a new 4 KiB frame at `vaddr`; returns the frame's slot. */
  *mapPage(sys: ProgramContext, vspace: number, vaddr: number): Stub<number> {
    const window = vaddr - (vaddr % windowBytes);
    if (!this.windows.has(`${vspace}:${window}`)) {
      this.windows.add(`${vspace}:${window}`);
      yield* ok(sys.api.seL4_RISCV_PageTable_Map(yield* this.make(sys, T.seL4_RISCV_PageTableObject), vspace, window, 0));
    }
    const frame = yield* this.make(sys, T.seL4_RISCV_4K_Page);
    yield* ok(sys.api.seL4_RISCV_Page_Map(frame, vspace, vaddr, seL4_AllRights, 0));
    return frame;
  }

  /**
   * Starts `program` as helper `i` at `priority` as sel4test's helper processes: in a VSpace of
   * its own (assigned from the boot pool) with its IPC buffer and a data frame mapped, and a CSpace
   * of its own holding copies of the root slots `caps` at `capAt(0)`, `capAt(1)`, ...; `faultEp`
   * (a root slot: TCB_SetSpace copies the cap) is its fault handler.
   */
  *launch(sys: ProgramContext, i: number, program: Program, priority: number, args: readonly number[], caps: readonly number[], faultEp = seL4_CapNull): Stub<void> {
    const vspace = yield* this.make(sys, T.seL4_RISCV_PageTableObject);
    yield* ok(sys.api.seL4_RISCV_ASIDPool_Assign(seL4_CapInitThreadASIDPool, vspace));
    const buffer = yield* this.mapPage(sys, vspace, bufferVaddr);
    yield* this.mapPage(sys, vspace, dataVaddr);
    const cspace = this.slot();
    yield* ok(sys.api.seL4_Untyped_Retype(biggestUntypedSlot(sys.plan.bootInfo), T.seL4_CapTableObject, cspaceRadix, R, 0, 0, cspace, 1));
    for (const [j, cap] of caps.entries()) yield* ok(sys.api.seL4_CNode_Copy(cspace, capAt(j), cspaceRadix, R, cap, 32, seL4_AllRights));
    const tcb = this.tcbSlot(i);
    yield* ok(startThread(sys, { program, untyped: biggestUntypedSlot(sys.plan.bootInfo), slot: tcb, priority, budgetUs: 10_000n, periodUs: 10_000n, args, resume: false }));
    // The guard skips the 28 bits above the radix: CPtrs 0..15 name the new CNode's slots.
    yield* ok(sys.api.seL4_TCB_SetSpace(tcb, faultEp, cspace, seL4_CNode_CapData_new(0, 32 - cspaceRadix), vspace, 0));
    yield* ok(sys.api.seL4_TCB_SetIPCBuffer(tcb, bufferVaddr, buffer));
    yield* ok(sys.api.seL4_TCB_Resume(tcb));
  }

  /** The frame helper `i`'s accesses at `vaddr` reach now (its base), as the view translates them. */
  frameAt(i: number, vaddr: number): number | null {
    return this.system.view().translate(this.tcbPtr(i), vaddr)?.frame ?? null;
  }
}

/** `count` words running on from `seed`, as sel4test's helpers number them. */
const seeded = (seed: number, count: number): number[] => Array.from({ length: count }, (_, i) => (seed + i) >>> 0);

/** Sets MR0..length-1 to the words from `seed`; returns the seed after them. */
function setSeeded(sys: ProgramContext, seed: number, length: number): number {
  seeded(seed, length).forEach((w, i) => sys.api.seL4_SetMR(i, w));
  return (seed + length) >>> 0;
}

/**
 * A message as its receiver saw it: the tag's label and length, every word as seL4_GetMR reads it,
 * and some (the first, MR3, MR4: the first from the buffer, the last) loaded through its own VSpace.
 */
interface Seen {
  readonly label: number;
  readonly length: number;
  readonly words: readonly number[];
  readonly loaded: readonly number[];
}

/** The words of a message of `length` that are also loaded through the VSpace. */
const sampled = (length: number): number[] => [0, 3, 4, length - 1].filter((i, n, all) => i >= 0 && i < length && all.indexOf(i) === n);

/** How a receiver should see a message of `words` with `label`. */
const seenOf = (label: number, words: readonly number[]): Seen => ({ label, length: words.length, words, loaded: sampled(words.length).map((i) => words[i]!) });

function* readMessage(sys: ProgramContext, info: number): Stub<Seen> {
  const { label, length } = messageInfoFromWord(info);
  const loaded: number[] = [];
  for (const i of sampled(length)) loaded.push(yield* sys.load(bufferVaddr + 4 * msgWordIndex(i)));
  return { label, length, words: Array.from({ length }, (_, i) => sys.api.seL4_GetMR(i)), loaded };
}

/** What one run of a pair recorded. */
interface PairLog {
  /** What each helper received, in order (helper 0 sends first: sender or client; helper 1 waits: receiver or server). */
  readonly got: [Seen[], Seen[]];
  /** Each helper's data word after the run (it stored its own number there first). */
  readonly data: number[];
  /** The sender's own MR0..119 after its last message (some loaded through its VSpace, as `Seen`). */
  ownBuffer: Seen | null;
}

type PairProgram = (log: PairLog, me: 0 | 1) => Program;

/** A helper's first and last act: its own data word, stored and loaded back around `body`. */
function withData(log: PairLog, me: 0 | 1, body: (sys: ProgramContext) => Stub<void>): Program {
  return function* helper(sys) {
    yield* sys.store(dataVaddr, 0xd0 + me);
    yield* body(sys);
    log.data[me] = yield* sys.load(dataVaddr);
  };
}

/** IPC1001 / IPC1004's sender: every length once, through Send or NBSend; then its own buffer loaded. */
const sender = (nonBlocking: boolean): PairProgram => (log, me) =>
  withData(log, me, function* (sys) {
    const [ep, seed0] = sys.args as [number, number];
    let seed = seed0;
    for (const length of lengths) {
      seed = setSeeded(sys, seed, length);
      const info = seL4_MessageInfo_new(0, 0, 0, length);
      yield* nonBlocking ? sys.api.seL4_NBSend(ep, info) : sys.api.seL4_Send(ep, info);
    }
    log.ownBuffer = yield* readMessage(sys, seL4_MessageInfo_new(0, 0, 0, maxLength));
  });

/** IPC1001 / IPC1004's receiver: a Recv per length (none if args[3] is 0, as sel4test's nbwait_func when the sender is not below). */
const receiver: PairProgram = (log, me) =>
  withData(log, me, function* (sys) {
    const [ep, , reply, wait] = sys.args as [number, number, number, number];
    if (!wait) return;
    for (const _ of lengths) log.got[me].push(yield* readMessage(sys, (yield* sys.api.seL4_Recv(ep, reply)).info));
  });

/** IPC1002 / IPC1003's client: a Call per length; each reply continues the seed. */
const client: PairProgram = (log, me) =>
  withData(log, me, function* (sys) {
    const [ep, seed0] = sys.args as [number, number];
    let seed = seed0;
    for (const length of lengths) {
      seed = setSeeded(sys, seed, length);
      log.got[me].push(yield* readMessage(sys, yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(0, 0, 0, length))));
      seed = (seed + length) >>> 0;
    }
  });

/**
 * IPC1002 / IPC1003's server: receives each request and answers with as many words from the seed
 * (the first receive an NBSendRecv with an empty message, as sel4test's MCS replywait_func), by
 * ReplyRecv or, with `bySend`, by Send on the reply cap then Recv; the last answer by Send.
 */
const server = (bySend: boolean): PairProgram => (log, me) =>
  withData(log, me, function* (sys) {
    const [ep, seed0, reply] = sys.args as [number, number, number];
    let seed = seed0;
    let answer = seL4_MessageInfo_new(0, 0, 0, 0);
    for (const [n, length] of lengths.entries()) {
      let info: number;
      if (n === 0) info = (yield* sys.api.seL4_NBSendRecv(ep, answer, ep, reply)).info;
      else if (bySend) {
        yield* sys.api.seL4_Send(reply, answer);
        info = (yield* sys.api.seL4_Recv(ep, reply)).info;
      } else info = (yield* sys.api.seL4_ReplyRecv(ep, answer, reply)).info;
      log.got[me].push(yield* readMessage(sys, info));
      seed = setSeeded(sys, (seed + length) >>> 0, length);
      answer = seL4_MessageInfo_new(0, 0, 0, length);
    }
    yield* sys.api.seL4_Send(reply, answer);
  });

interface Pair {
  /** Helper 0: the sender or client, at the priority under test. */
  readonly first: PairProgram;
  /** Helper 1: the receiver or server, at 100. */
  readonly second: PairProgram;
  /** IPC1004: the receiver waits only when the sender is below it. */
  readonly waitsOnlyAboveSender?: boolean;
}

/**
 * One run of sel4test's test_ipc_pair with `inter_as`: two helper processes with the endpoint and
 * a reply object each, started in the order asked, words numbered from `seed`. Checks what any run
 * must show; returns the scenario and what the helpers recorded.
 */
function runPair(mode: (typeof modes)[number], pair: Pair, { priority: senderPriority, senderFirst }: Run, seed: number) {
  const s = new InterAs(mode);
  const [ep, senderReply, receiverReply] = [s.object(0), s.object(1), s.object(2)];
  // sel4test's nbwait_should_wait: a receiver of NBSends waits only if the sender is below it.
  const wait = pair.waitsOnlyAboveSender && senderPriority >= 100 ? 0 : 1;
  const log: PairLog = { got: [[], []], data: [], ownBuffer: null };
  const result = s.run(function* root(sys) {
    yield* s.retype(sys, T.seL4_EndpointObject, ep);
    yield* s.retype(sys, T.seL4_ReplyObject, senderReply);
    yield* s.retype(sys, T.seL4_ReplyObject, receiverReply);
    const starts = [
      () => s.launch(sys, 0, pair.first(log, 0), senderPriority, [capAt(0), seed, capAt(1), wait], [ep, senderReply]),
      () => s.launch(sys, 1, pair.second(log, 1), 100, [capAt(0), seed, capAt(1), wait], [ep, receiverReply]),
    ];
    for (const start of senderFirst ? starts : starts.reverse()) yield* start();
  });
  expect(result.stop, result.detail).toBe('finished');
  // Both helpers ran in VSpaces of their own: the same addresses reach different frames, and each kept its own data word.
  for (const vaddr of [bufferVaddr, dataVaddr]) {
    const frames = [s.frameAt(0, vaddr), s.frameAt(1, vaddr)];
    expect(frames).not.toContain(null);
    expect(frames[0]).not.toBe(frames[1]);
  }
  expect(log.data).toEqual([0xd0, 0xd1]);
  expect(s.view(ep)).toMatchObject({ state: 'Idle', queue: [] });
  return { s, log };
}

/** The message of `length` words that starts at word `offset` of the run's numbering, as its receiver should see it. */
const expected = (seed: number, offset: number, length: number): Seen => seenOf(0, seeded((seed + offset) >>> 0, length));
/** Words sent before message n: its offset when each message is followed by a reply of its length (`perMessage` 2) or not (1). */
const offsetOf = (n: number, perMessage: number) => perMessage * lengths.slice(0, n).reduce((a, b) => a + b, 0);

interface Run {
  readonly priority: number;
  readonly senderFirst: boolean;
}

/**
 * sel4test's sweep, a sender below, at and above the receiver's 100 (its 98..102), each run with the
 * next seed. Both start orders only at equal priorities: the root task starts both before either
 * runs, so the order decides nothing else.
 */
const runs: Run[] = [
  { priority: 99, senderFirst: true },
  { priority: 100, senderFirst: true },
  { priority: 100, senderFirst: false },
  { priority: 101, senderFirst: false },
];

describe.each(modes)('IPC between address spaces on %s', (mode) => {
  it('IPC1001: Send then Recv of every length between helper processes: the receiver reads each word from its own IPC buffer (some loaded through its VSpace); the sender\'s buffer keeps its last message', () => {
    for (const [n, run] of runs.entries()) {
      const seed = (firstSeed + n * seedStep) >>> 0;
      const { log } = runPair(mode, { first: sender(false), second: receiver }, run, seed);
      expect(log.got[1]).toEqual(lengths.map((length, i) => expected(seed, offsetOf(i, 1), length)));
      expect(log.got[0]).toEqual([]);
      expect(log.ownBuffer).toEqual(expected(seed, offsetOf(lengths.length, 1) - maxLength, maxLength));
    }
  });

  it.each([
    ['IPC1002: Call answered by ReplyRecv', false],
    ['IPC1003: Call answered by Send on the reply cap, then Recv', true],
  ])('%s between helper processes: each side reads the other\'s words from its own IPC buffer, numbered on from the request', (_name, bySend) => {
    for (const [n, run] of runs.entries()) {
      const seed = (firstSeed + n * seedStep) >>> 0;
      const { log } = runPair(mode, { first: client, second: server(bySend) }, run, seed);
      expect(log.got[1]).toEqual(lengths.map((length, i) => expected(seed, offsetOf(i, 2), length)));
      expect(log.got[0]).toEqual(lengths.map((length, i) => expected(seed, offsetOf(i, 2) + length, length)));
    }
  });

  it('IPC1004: NBSend of every length between helper processes arrives only at a receiver already waiting (a sender below it); otherwise nothing reaches the receiver\'s buffer', () => {
    for (const [n, run] of runs.entries()) {
      const seed = (firstSeed + n * seedStep) >>> 0;
      const { s, log } = runPair(mode, { first: sender(true), second: receiver, waitsOnlyAboveSender: true }, run, seed);
      if (run.priority < 100) {
        expect(log.got[1]).toEqual(lengths.map((length, i) => expected(seed, offsetOf(i, 1), length)));
      } else {
        expect(log.got[1]).toEqual([]);
        const frame = s.frameAt(1, bufferVaddr)!;
        expect(s.system.view().nonZeroWord(frame, frame + pageBytes)).toBeNull();
      }
    }
  });
});

/** seL4_UnknownSyscall message words (riscv): FaultIP, sp, ra, a0-a6, the syscall number. */
const UnknownSyscall = { FaultIP: 0, A0: 3 } as const;
/** The registers an UnknownSyscall message carries from MR0 to MR9, in order (a reply with label 0 writes them back). */
const unknownSyscallRegs = [Reg.pc, Reg.sp, Reg.ra, Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6];
/** sel4test's do_bad_syscall: syscall 0xc1 with BAD_MAGIC in a0 at `bad_syscall_address`; the handler moves it past the ecall with GOOD_MAGIC. */
const badSyscall = (() => {
  const at = 0x00010100;
  const goodMagic = 0x15831851;
  const number = 0xc1;
  const others = [Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6].map((r, i): [number, number] => [r, 0xa1 + i]);
  const regs: [number, number][] = [[Reg.pc, at], [Reg.sp, 0x7fff0], [Reg.ra, 0x10234], [Reg.a0, ~goodMagic >>> 0], ...others, [Reg.a7, number]];
  return { regs, number, goodMagic, restartAt: at + 4, badge: 0xabababa };
})();

/** A page nothing maps in the root task's VSpace (sel4test's reserved range): the faulter's stores there miss. */
const unmappedVaddr = 0x30000000;

describe.each(modes)('fault handlers and address spaces on %s', (mode) => {
  it('IPC0021: a passive fault handler runs on the context a faulting store donates, maps the page and replies: the context goes back and the store made again hits', () => {
    const s = new InterAs(mode);
    const [ep, reply, done] = [s.object(0), s.object(1), s.object(2)];
    const [handlerAt, faulterAt] = [0, 1];
    let after: { handler: { state: string; schedContext: number | null }; faulterSC: number | null } | null = null;
    let faulterEntry = -1;
    const handled: { seen: { label: number; length: number; words: number[] }; faulterPc: number; faulterState: string; handlerSC: number | null; faulterSC: number | null }[] = [];
    const faulterSaw: { word: number; faulterSC: number | null; handlerSC: number | null }[] = [];
    function* handler(sys: ProgramContext): Stub<void> {
      // Tells the root task it is ready, then waits for faults.
      let { info } = yield* sys.api.seL4_NBSendRecv(ep, seL4_MessageInfo_new(0, 0, 0, 0), ep, reply);
      for (;;) {
        // Its IPC buffer is not mapped: the words as libsel4 reads them.
        const { label, length } = messageInfoFromWord(info);
        const seen = { label, length, words: [0, 1, 2, 3].map((i) => sys.api.seL4_GetMR(i)) };
        const faulter = s.system.observe(s.tcbPtr(faulterAt)).caller!;
        handled.push({ seen, faulterPc: faulter.regs[Reg.pc]!, faulterState: faulter.state, handlerSC: s.tcb(handlerAt).schedContext, faulterSC: s.tcb(faulterAt).schedContext });
        const addr = sys.api.seL4_GetMR(seL4_VMFault.Addr);
        yield* s.mapPage(sys, seL4_CapInitThreadVSpace, addr - (addr % pageBytes));
        // Replies with the fault's own tag, as sel4test does: a VMFault reply always restarts.
        ({ info } = yield* sys.api.seL4_ReplyRecv(ep, info, reply));
      }
    }
    function* faulter(sys: ProgramContext): Stub<void> {
      for (const vaddr of [unmappedVaddr + 0x10, unmappedVaddr + pageBytes + 0x20]) {
        yield* sys.store(vaddr, 0xdeadbeef);
        faulterSaw.push({ word: yield* sys.load(vaddr), faulterSC: s.tcb(faulterAt).schedContext, handlerSC: s.tcb(handlerAt).schedContext });
      }
      // sel4test's wait_for_helper: the root task learns it is done.
      yield* sys.api.seL4_Signal(done);
    }
    const result = s.run(function* root(sys) {
      yield* s.retype(sys, T.seL4_EndpointObject, ep);
      yield* s.retype(sys, T.seL4_ReplyObject, reply);
      yield* s.retype(sys, T.seL4_NotificationObject, done);
      const untyped = biggestUntypedSlot(sys.plan.bootInfo);
      const spec = { untyped, priority: 100, budgetUs: 10_000n, periodUs: 10_000n };
      yield* ok(startThread(sys, { ...spec, program: handler, slot: s.tcbSlot(handlerAt), resume: false }));
      // Its invocations are longer than four words: an IPC buffer (unmapped: only the kernel uses it).
      yield* ok(sys.api.seL4_TCB_SetIPCBuffer(s.tcbSlot(handlerAt), bufferVaddr, yield* s.make(sys, T.seL4_RISCV_4K_Page)));
      yield* ok(sys.api.seL4_TCB_Resume(s.tcbSlot(handlerAt)));
      yield* sys.api.seL4_Wait(ep);
      // The handler waits on the endpoint; without its context it is passive.
      yield* s.ownSC(sys, handlerAt, false);
      expect(s.tcb(handlerAt)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
      const tcb = s.tcbSlot(faulterAt);
      faulterEntry = sys.entry(faulter);
      yield* ok(startThread(sys, { ...spec, program: faulter, slot: tcb, resume: false }));
      yield* ok(sys.api.seL4_TCB_SetSpace(tcb, ep, R, 0, seL4_CapInitThreadVSpace, 0));
      yield* ok(sys.api.seL4_TCB_Resume(tcb));
      yield* sys.api.seL4_Wait(done);
      const { state, schedContext } = s.tcb(handlerAt);
      after = { handler: { state, schedContext }, faulterSC: s.tcb(faulterAt).schedContext };
      // sel4test's cleanup: the faulter goes before its program ends.
      yield* ok(sys.api.seL4_TCB_Suspend(tcb));
    });
    expect(result.stop, result.detail).toBe('idle');
    const faulterSC = s.scOf(faulterAt);
    expect(handled).toEqual([unmappedVaddr + 0x10, unmappedVaddr + pageBytes + 0x20].map((addr) => ({
      seen: { label: 6, length: seL4_VMFault.Length, words: [faulterEntry, addr, 0, vmFaultStatus.store] },
      faulterPc: faulterEntry,
      faulterState: 'BlockedOnReply',
      handlerSC: faulterSC,
      faulterSC: null,
    })));
    expect(faulterSaw).toEqual([0, 1].map(() => ({ word: 0xdeadbeef, faulterSC, handlerSC: null })));
    // The handler waits for the next fault, with no context to run on.
    expect(after).toEqual({ handler: { state: 'BlockedOnReceive', schedContext: null }, faulterSC });
    expect(s.view(s.tcbSlot(faulterAt) + 1)).toMatchObject({ tcb: s.tcbPtr(faulterAt), replies: [] });
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('PAGEFAULT1004 (badged %s, restart %s): an unknown syscall by a helper process reaches a handler in another: label 2, length 11, FaultIP, sp, ra, a0-a6, the number; the reply restarts it past the ecall with a0 changed, or leaves it Inactive', (badged, restart) => {
    // Below and above the handler's 101 (sel4test: 100..102).
    for (const priority of [100, 102]) {
      const s = new InterAs(mode);
      const [ep, reply, minted] = [s.object(0), s.object(1), s.object(2)];
      const [faulterAt, handlerAt] = [0, 1];
      let delivered: { badge: number; seen: Seen; faulterState: string } | null = null;
      let resumed: number[] | null = null;
      function* handler(sys: ProgramContext): Stub<void> {
        const [faultEp, faultReply] = sys.args as [number, number];
        const { info, sender } = yield* sys.api.seL4_Recv(faultEp, faultReply);
        delivered = { badge: sender, seen: yield* readMessage(sys, info), faulterState: s.tcb(faulterAt).state };
        sys.api.seL4_SetMR(UnknownSyscall.FaultIP, badSyscall.restartAt);
        sys.api.seL4_SetMR(UnknownSyscall.A0, badSyscall.goodMagic);
        yield* sys.api.seL4_Send(faultReply, seL4_MessageInfo_new(restart ? 0 : 1, 0, 0, messageInfoFromWord(info).length));
      }
      function* faulter(sys: ProgramContext): Stub<void> {
        const after = yield* sys.api.rawSyscall(badSyscall.regs);
        resumed = unknownSyscallRegs.map((r) => after.caller!.regs[r]!);
      }
      const result = s.run(function* root(sys) {
        yield* s.retype(sys, T.seL4_EndpointObject, ep);
        yield* s.retype(sys, T.seL4_ReplyObject, reply);
        yield* ok(sys.api.seL4_CNode_Mint(R, minted, 32, R, ep, 32, seL4_AllRights, badged ? badSyscall.badge : 0));
        yield* s.launch(sys, handlerAt, handler, 101, [capAt(0), capAt(1)], [ep, reply]);
        yield* s.launch(sys, faulterAt, faulter, priority, [], [], minted);
      });
      const message = unknownSyscallRegs.map((r) => badSyscall.regs.find(([reg]) => reg === r)![1]);
      expect(delivered).toEqual({ badge: badged ? badSyscall.badge : 0, seen: seenOf(2, [...message, badSyscall.number]), faulterState: 'BlockedOnReply' });
      if (restart) {
        expect(result.stop, result.detail).toBe('finished');
        expect(resumed).toEqual([badSyscall.restartAt, ...message.slice(1, UnknownSyscall.A0), badSyscall.goodMagic, ...message.slice(UnknownSyscall.A0 + 1)]);
      } else {
        expect(result.stop, result.detail).toBe('idle');
        expect(resumed).toBeNull();
        expect(s.tcb(faulterAt)).toMatchObject({ state: 'Inactive', fault: null });
      }
      expect(s.frameAt(faulterAt, bufferVaddr)).not.toBe(s.frameAt(handlerAt, bufferVaddr));
    }
  });
});
