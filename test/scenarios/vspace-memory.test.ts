// Translated user memory and VM faults in our own words after sel4test (docs/sel4-facts.md
// §24.12, §24.14): VSPACE0000 (a helper in its own VSpace), VSPACE0006 scaled (a helper per
// ASID of a few pools stores and loads at one address), PAGEFAULT0001-0003 and 1001-1003 (a
// load, store and fetch fault: label 6, length 4, IP, Addr, PrefetchFault, FSR; here the handler
// resolves it by mapping a frame and replying, and the access made again hits), FRAMEDIPC0003's
// fault (deleting a mapped copy unmaps it), PT0002's point (a remapped vaddr shows the new frame
// at once) and FRAMEEXPORTS0001's touches (data survives a remap). Each runs as programs on the
// run loop, on every layer alone and in lockstep.
import { describe, expect, it } from 'vitest';
import {
  Reg,
  msgWordIndex,
  messageInfoFromWord,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadVSpace,
  seL4_CapASIDControl,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_RISCV_ExecuteNever,
  seL4_VMFault,
  vmFaultStatus,
  type AccessKind,
  type Stub,
} from '../../libsel4/index.ts';
import { runSystem, startThread, type Program, type ProgramContext } from '../../refinement/run.ts';
import { bootSystem } from '../../refinement/system.ts';
import { Scenario, biggestUntypedSlot, modes } from './sched-common.ts';

const E = seL4_Error;
const T = seL4_ObjectType;
const R = seL4_CapInitThreadCNode;
const page = 0x1000;
const windowBytes = 0x400000;
/** sel4test's BAD_VADDR: unmapped in every VSpace the tests build. */
const badVaddr = 0x7ffedcba;

/** Free root CNode slots handed out in order from `next`. */
class Slots {
  constructor(private next: number) {}
  take(): number {
    return this.next++;
  }
}

function* ok(call: Stub<seL4_Error>): Stub<void> {
  expect(yield* call).toBe(E.seL4_NoError);
}

function* retype(sys: ProgramContext, type: number, slot: number): Stub<void> {
  yield* ok(sys.api.seL4_Untyped_Retype(biggestUntypedSlot(sys.plan.bootInfo), type, 0, R, 0, 0, slot, 1));
}

/** A new VSpace root assigned from `pool`; returns its slot. */
function* newVSpace(sys: ProgramContext, slots: Slots, pool = seL4_CapInitThreadASIDPool): Stub<number> {
  const root = slots.take();
  yield* retype(sys, T.seL4_RISCV_PageTableObject, root);
  yield* ok(sys.api.seL4_RISCV_ASIDPool_Assign(pool, root));
  return root;
}

/** Maps a page table for `vaddr`'s 4 MiB window in `vspace`, then a new 4 KiB frame at `vaddr`'s page; returns the frame's slot. */
function* mapNewPage(sys: ProgramContext, slots: Slots, vspace: number, vaddr: number, rights = seL4_AllRights, attr = 0): Stub<number> {
  const table = slots.take();
  yield* retype(sys, T.seL4_RISCV_PageTableObject, table);
  const window = vaddr - (vaddr % windowBytes);
  const mapped = yield* sys.api.seL4_RISCV_PageTable_Map(table, vspace, window, 0);
  expect([E.seL4_NoError, E.seL4_DeleteFirst]).toContain(mapped);
  const frame = slots.take();
  yield* retype(sys, T.seL4_RISCV_4K_Page, frame);
  yield* ok(sys.api.seL4_RISCV_Page_Map(frame, vspace, vaddr - (vaddr % page), rights, attr));
  return frame;
}

/** Starts `program` at priority 100 (below the root task) in `vspace`, with the endpoint at `ep` as its fault handler. */
function* helper(sys: ProgramContext, s: Scenario, i: number, program: Program, vspace: number, ep: number, args: readonly number[] = []): Stub<void> {
  const tcb = s.tcbSlot(i);
  yield* ok(startThread(sys, { program, untyped: biggestUntypedSlot(sys.plan.bootInfo), slot: tcb, priority: 100, budgetUs: 10_000n, periodUs: 10_000n, args, resume: false }));
  yield* ok(sys.api.seL4_TCB_SetSpace(tcb, ep, R, 0, vspace, 0));
  yield* ok(sys.api.seL4_TCB_Resume(tcb));
}

/** A helper's answer: one word sent on the endpoint in `args[0]`. */
function* answer(sys: ProgramContext, value: number): Stub<void> {
  sys.api.seL4_SetMR(0, value);
  yield* sys.api.seL4_Send(sys.args[0]!, seL4_MessageInfo_new(0, 0, 0, 1));
}

/** The root task receives one message on `ep` (with the reply object at `reply`): its label, length and first four words. */
function* receive(sys: ProgramContext, ep: number, reply: number): Stub<{ label: number; length: number; words: number[] }> {
  const { info } = yield* sys.api.seL4_Recv(ep, reply);
  const { label, length } = messageInfoFromWord(info);
  return { label, length, words: [0, 1, 2, 3].map((i) => sys.api.seL4_GetMR(i)) };
}

function run(mode: (typeof modes)[number], root: (s: Scenario, slots: Slots) => Program): Scenario {
  const s = new Scenario(mode);
  const result = s.run(root(s, new Slots(s.free(0))));
  expect(result.stop, result.detail).not.toBe('unmodelled');
  expect(['finished', 'idle']).toContain(result.stop);
  return s;
}

describe.each(modes)('user memory on %s', (mode) => {
  it('the root task loads and stores its IPC buffer through its VSpace: a store shows in seL4_GetMR, an MR set shows in a load', () => {
    const seen: number[] = [];
    run(mode, () =>
      function* root(sys) {
        const buffer = sys.plan.bootInfo.ipcBuffer;
        yield* sys.store(buffer + 4 * msgWordIndex(1), 0x2a);
        seen.push(sys.api.seL4_GetMR(1));
        sys.api.seL4_SetMR(2, 0x1234);
        seen.push(yield* sys.load(buffer + 4 * msgWordIndex(2)));
        seen.push(yield* sys.load(buffer + 4 * msgWordIndex(1) + 3));
      },
    );
    expect(seen).toEqual([0x2a, 0x1234, 0x2a]);
  });

  it('VSPACE0000: a helper in its own VSpace loads what the root task stored through its own mapping of the frame, and answers 42', () => {
    const got: number[] = [];
    run(mode, (s, slots) =>
      function* root(sys) {
        const [ep, reply] = [slots.take(), slots.take()];
        yield* retype(sys, T.seL4_EndpointObject, ep);
        yield* retype(sys, T.seL4_ReplyObject, reply);
        const vspace = yield* newVSpace(sys, slots);
        const frame = yield* mapNewPage(sys, slots, seL4_CapInitThreadVSpace, 0x200000);
        yield* sys.store(0x200010, 41);
        const copy = slots.take();
        yield* ok(sys.api.seL4_CNode_Copy(R, copy, 32, R, frame, 32, seL4_AllRights));
        yield* mapNewPage(sys, slots, vspace, 0x10000000);
        const table = slots.take();
        yield* retype(sys, T.seL4_RISCV_PageTableObject, table);
        yield* ok(sys.api.seL4_RISCV_PageTable_Map(table, vspace, 0x20000000, 0));
        yield* ok(sys.api.seL4_RISCV_Page_Map(copy, vspace, 0x20000000, seL4_AllRights, 0));
        yield* helper(sys, s, 0, function* child(sys) {
          const before = yield* sys.load(0x20000010);
          yield* sys.store(0x20000010, before + 1);
          yield* answer(sys, yield* sys.load(0x20000010));
        }, vspace, ep, [ep]);
        const message = yield* receive(sys, ep, reply);
        got.push(message.words[0]!, yield* sys.load(0x200010));
      },
    );
    expect(got).toEqual([42, 42]);
  });

  it('VSPACE0006 (scaled: three new pools): a helper per ASID stores its number at 0x10000000 of its own VSpace and loads it back', () => {
    const answers: number[] = [];
    run(mode, (s, slots) =>
      function* root(sys) {
        const [ep, reply] = [slots.take(), slots.take()];
        yield* retype(sys, T.seL4_EndpointObject, ep);
        yield* retype(sys, T.seL4_ReplyObject, reply);
        for (let i = 0; i < 3; i++) {
          const [untyped, pool] = [slots.take(), slots.take()];
          yield* ok(sys.api.seL4_Untyped_Retype(biggestUntypedSlot(sys.plan.bootInfo), T.seL4_UntypedObject, 12, R, 0, 0, untyped, 1));
          yield* ok(sys.api.seL4_RISCV_ASIDControl_MakePool(seL4_CapASIDControl, untyped, R, pool, 32));
          const vspace = yield* newVSpace(sys, slots, pool);
          yield* mapNewPage(sys, slots, vspace, 0x10000000);
          yield* helper(sys, s, i, function* child(sys) {
            yield* sys.store(0x10000000, 100 + sys.args[1]!);
            yield* answer(sys, yield* sys.load(0x10000000));
          }, vspace, ep, [ep, i]);
          answers.push((yield* receive(sys, ep, reply)).words[0]!);
        }
      },
    );
    expect(answers).toEqual([100, 101, 102]);
  });

  const faults: [string, AccessKind, boolean][] = [
    ['PAGEFAULT0001: a load', 'load', false],
    ['PAGEFAULT0002: a store', 'store', false],
    ['PAGEFAULT0003: a fetch', 'execute', false],
    ['PAGEFAULT1001: a load in another address space', 'load', true],
    ['PAGEFAULT1002: a store in another address space', 'store', true],
    ['PAGEFAULT1003: a fetch in another address space', 'execute', true],
  ];
  it.each(faults)('%s at BAD_VADDR faults: the handler gets label 6, length 4, IP, Addr, PrefetchFault, FSR; it maps a frame and replies; the access made again hits', (_name, access, ownSpace) => {
    let delivered: { label: number; length: number; words: number[] } | null = null;
    let faulterPc = -1;
    let resolved: number | null = null;
    let faulterAfter = '';
    run(mode, (s, slots) =>
      function* root(sys) {
        const [ep, reply] = [slots.take(), slots.take()];
        yield* retype(sys, T.seL4_EndpointObject, ep);
        yield* retype(sys, T.seL4_ReplyObject, reply);
        const vspace = ownSpace ? yield* newVSpace(sys, slots) : seL4_CapInitThreadVSpace;
        const faulter: Program = function* faulter(sys) {
          resolved = access === 'store' ? (yield* sys.store(badVaddr, 0x5a), yield* sys.load(badVaddr)) : access === 'load' ? yield* sys.load(badVaddr) : yield* sys.execute(badVaddr);
        };
        yield* helper(sys, s, 0, faulter, vspace, ep);
        delivered = yield* receive(sys, ep, reply);
        faulterPc = s.system.observe(s.tcbPtr(0)).caller!.regs[Reg.pc]!;
        const frame = yield* mapNewPage(sys, slots, vspace, badVaddr);
        // The frame's word at BAD_VADDR, through a mapping of the root task's own.
        const copy = slots.take();
        yield* ok(sys.api.seL4_CNode_Copy(R, copy, 32, R, frame, 32, seL4_AllRights));
        // Window 0 of the root task's VSpace has the boot page table.
        yield* ok(sys.api.seL4_RISCV_Page_Map(copy, seL4_CapInitThreadVSpace, 0x300000, seL4_AllRights, 0));
        yield* sys.store(0x300000 + (badVaddr % page & ~3), 0x77);
        yield* sys.api.seL4_Send(reply, seL4_MessageInfo_new(0, 0, 0, 0));
        faulterAfter = s.tcb(0).state;
      },
    );
    expect(delivered).toEqual({ label: 6, length: seL4_VMFault.Length, words: [faulterPc, badVaddr, access === 'execute' ? 1 : 0, vmFaultStatus[access]] });
    if (access === 'execute') expect(faulterPc).toBe(delivered!.words[seL4_VMFault.IP]);
    expect(resolved).toBe(access === 'store' ? 0x5a : 0x77);
    expect(faulterAfter).not.toBe('BlockedOnReply');
  });

  it('FRAMEDIPC0003: a store through a mapped copy of a frame cap, then the copy deleted: the helper storing there takes a VMFault at that address', () => {
    let delivered: { label: number; words: number[] } | null = null;
    let kept = -1;
    run(mode, (s, slots) =>
      function* root(sys) {
        const [ep, reply] = [slots.take(), slots.take()];
        yield* retype(sys, T.seL4_EndpointObject, ep);
        yield* retype(sys, T.seL4_ReplyObject, reply);
        const frame = slots.take();
        yield* retype(sys, T.seL4_RISCV_4K_Page, frame);
        const copy = slots.take();
        yield* ok(sys.api.seL4_CNode_Copy(R, copy, 32, R, frame, 32, seL4_AllRights));
        yield* ok(sys.api.seL4_RISCV_Page_Map(copy, seL4_CapInitThreadVSpace, 0x220000, seL4_AllRights, 0));
        yield* sys.store(0x220008, 0xbeef);
        yield* ok(sys.api.seL4_CNode_Delete(R, copy, 32));
        yield* helper(sys, s, 0, function* child(sys) {
          yield* sys.store(0x220008, 1);
        }, seL4_CapInitThreadVSpace, ep);
        delivered = yield* receive(sys, ep, reply);
        yield* ok(sys.api.seL4_RISCV_Page_Map(frame, seL4_CapInitThreadVSpace, 0x240000, seL4_CanRead, seL4_RISCV_ExecuteNever));
        kept = yield* sys.load(0x240008);
      },
    );
    expect(delivered).toMatchObject({ label: 6, words: [expect.any(Number), 0x220008, 0, vmFaultStatus.store] });
    expect(kept).toBe(0xbeef);
  });

  it("PT0002's point: a vaddr remapped to another frame shows the new frame's contents at once, and the old frame keeps its own", () => {
    const seen: number[] = [];
    run(mode, (_s, slots) =>
      function* root(sys) {
        const a = yield* mapNewPage(sys, slots, seL4_CapInitThreadVSpace, 0x250000);
        yield* sys.store(0x250000, 1);
        yield* ok(sys.api.seL4_RISCV_Page_Unmap(a));
        const b = slots.take();
        yield* retype(sys, T.seL4_RISCV_4K_Page, b);
        yield* ok(sys.api.seL4_RISCV_Page_Map(b, seL4_CapInitThreadVSpace, 0x250000, seL4_AllRights, 0));
        seen.push(yield* sys.load(0x250000));
        yield* sys.store(0x250000, 2);
        yield* ok(sys.api.seL4_RISCV_Page_Map(a, seL4_CapInitThreadVSpace, 0x260000, seL4_AllRights, 0));
        seen.push(yield* sys.load(0x260000), yield* sys.load(0x250000));
      },
    );
    expect(seen).toEqual([0, 1, 2]);
  });

  it("FRAMEEXPORTS0001's touches: a 4 MiB and 4 KiB frames mapped and written, each remapped at the same address with Page_Map: the data survives", () => {
    const seen: number[] = [];
    // 32 MiB of RAM: room for a 4 MiB frame.
    const system = bootSystem({ layer: mode, config: { memory: { base: 0x80000000, sizeBytes: 32 << 20 } } });
    const slots = new Slots(system.plan.bootInfo.empty.start);
    const result = runSystem(
      function* root(sys) {
        const mega = slots.take();
        yield* retype(sys, T.seL4_RISCV_Mega_Page, mega);
        yield* ok(sys.api.seL4_RISCV_Page_Map(mega, seL4_CapInitThreadVSpace, 0x20000000, seL4_AllRights, 0));
        const small = yield* mapNewPage(sys, slots, seL4_CapInitThreadVSpace, 0x30001000);
        const words: [number, number][] = [[0x20000000, 0x11], [0x203ffffc, 0x22], [0x30001000, 0x33], [0x30001ffc, 0x44]];
        for (const [vaddr, value] of words) yield* sys.store(vaddr, value);
        yield* ok(sys.api.seL4_RISCV_Page_Map(mega, seL4_CapInitThreadVSpace, 0x20000000, seL4_AllRights, 0));
        yield* ok(sys.api.seL4_RISCV_Page_Map(small, seL4_CapInitThreadVSpace, 0x30001000, seL4_CanRead, 0));
        for (const [vaddr] of words) seen.push(yield* sys.load(vaddr));
      },
      { system },
    );
    expect(result.stop).toBe('finished');
    expect(seen).toEqual([0x11, 0x22, 0x33, 0x44]);
  });
});
