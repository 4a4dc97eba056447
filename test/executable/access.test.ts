// User loads, stores and fetches on the executable spec (issue 11 V2, sel4-facts 24.10 and 24.12):
// the thread's VSpace (get_vspace_of_thread), the Sv32 walk through 4 KiB and 4 MiB leaves, the
// rights, the kernel window, device frames, shared frames, and the VM faults a miss raises:
// their message, the handler's reply restarting the access, no handler.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  IPCBuffer,
  messageInfoFromWord,
  Reg,
  seL4_AllRights as allRights,
  seL4_CanGrant,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadASIDPool,
  seL4_CapInitThreadVSpace,
  seL4_CapASIDControl,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  seL4_VMFault,
  vmFault,
  VMRights,
  type AccessKind,
  type Observation,
  type Word,
} from '../../libsel4/index.ts';
import { accessUserMemory } from '../../spec-executable/index.ts';
import { L, ROOT } from './harness.ts';
import { IPC } from './ipc-harness.ts';

const E = seL4_Error;
/** RAM enough for 4 MiB frames. */
const bigRam = { memory: { base: 0x80000000, sizeBytes: 32 << 20 } };
/** seL4_RISCV_ExecuteNever. */
const executeNever = 0x1;
/** sel4test's BAD_VADDR (PAGEFAULT0001-0003): never mapped. */
const badVaddr = 0x7ffedcba;
const badge = 0x5a;
const small = 0x10000000;
const large = 0x20000000;

/** The IPC harness with VSpace calls: page tables and frames mapped into a VSpace, and user accesses by the current thread. */
class Access extends IPC {
  constructor() {
    super(bigRam);
  }

  /** A page table mapped in `vspace` at the 4 MiB window of `vaddr`. */
  pageTable(vspace: number, vaddr: number): number {
    const pt = this.retype(T.seL4_RISCV_PageTableObject);
    expect(this.call(pt, IL.RISCVPageTableMap, [vaddr, 0], [vspace])).toBe(E.seL4_NoError);
    return pt;
  }

  /** Maps the frame in `frameSlot` at `vaddr`. */
  map(frameSlot: number, vspace: number, vaddr: number, rights: Word = allRights, attr: Word = 0): void {
    expect(this.call(frameSlot, IL.RISCVPageMap, [vaddr, rights, attr], [vspace])).toBe(E.seL4_NoError);
  }

  /** A new RAM frame (4 KiB, or 4 MiB with `large`) mapped at `vaddr`; gives its slot. */
  frame(vspace: number, vaddr: number, options: { large?: boolean; rights?: Word; attr?: Word } = {}): number {
    const slot = this.retype(options.large === true ? T.seL4_RISCV_Mega_Page : T.seL4_RISCV_4K_Page);
    this.map(slot, vspace, vaddr, options.rights, options.attr);
    return slot;
  }

  /** A page table assigned an ASID from `pool` (a VSpace root). */
  newRoot(pool: number = seL4_CapInitThreadASIDPool): number {
    const root = this.retype(T.seL4_RISCV_PageTableObject);
    expect(this.call(pool, IL.RISCVASIDPoolAssign, [], [root])).toBe(E.seL4_NoError);
    return root;
  }

  /** A new ASID pool in a free ASID table slot. */
  newPool(): number {
    const ut = this.retype(T.seL4_UntypedObject, 12);
    const pool = this.freeSlot();
    expect(this.call(seL4_CapASIDControl, IL.RISCVASIDControlMakePool, [pool, 32], [ut, ROOT])).toBe(E.seL4_NoError);
    return pool;
  }

  /** The current thread's access, with user register writes. */
  access(access: AccessKind, vaddr: Word, value?: Word, regs: ReadonlyArray<readonly [number, Word]> = []): Observation {
    return this.enter({ kind: 'access', user: { regs, ipcBuffer: [] }, access, vaddr, ...(value === undefined ? {} : { value }) });
  }

  translate(thread: number, vaddr: Word) {
    return L.view(this.state).translate(thread, vaddr);
  }

  word(paddr: number): Word {
    return L.view(this.state).userWord(paddr);
  }

  /** The user words the last step stored. */
  stored(): readonly number[] | undefined {
    return this.last?.touched.userWords;
  }
}

/** The harness, with a page table in the root task's VSpace at `small`. */
function rootWithTables(): Access {
  const h = new Access();
  h.pageTable(seL4_CapInitThreadVSpace, small);
  return h;
}

/** A handler (200) waiting on an endpoint and a faulter (100) whose slot 3 holds a badged cap to it; the faulter runs. */
function withHandler(handlerWaits = true) {
  const h = rootWithTables();
  const { ep, reply } = h.ipcObjects();
  const faultCap = h.mint(ep, seL4_CanWrite | seL4_CanGrant, badge);
  const handler = h.thread(200);
  const faulter = h.thread(100);
  expect(h.api.seL4_TCB_SetSpace(faulter.tcbSlot, faultCap, ROOT, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
  h.yieldToThreads();
  if (handlerWaits) h.sys(handler.tcb, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
  return { h, ep, reply, handler: handler.tcb, faulter: faulter.tcb };
}

/** The handler's message: badge, label, length and the words (all in registers for a VMFault). */
function received(h: Access, tcb: number) {
  const regs = h.regs(tcb);
  const tag = messageInfoFromWord(regs[Reg.a1]!);
  return { badge: regs[Reg.a0], label: tag.label, length: tag.length, words: [regs[Reg.a2], regs[Reg.a3], regs[Reg.a4], regs[Reg.a5]] };
}

describe('hits', () => {
  it('through a 4 KiB leaf: the aligned word, stored then loaded and fetched; no kernel entry', () => {
    const h = rootWithTables();
    const frame = h.ptr(h.frame(seL4_CapInitThreadVSpace, small + 0x3000));
    const root = h.rootTCB;
    expect(h.translate(root, small + 0x3006)).toEqual({ paddr: frame + 4, frame, sizeBits: 12, rights: VMRights.VMReadWrite, executable: true });
    const sched = h.state.sched;
    const stored = h.access('store', small + 0x3006, 0xcafe, [[Reg.t0, 77]]);
    const objects = h.state.objects;
    expect(stored).toMatchObject({ accessed: 0xcafe, unmodelled: null, restarted: false, current: root, caller: { tcb: root, state: 'Running' } });
    expect(stored.caller?.regs[Reg.t0]).toBe(77);
    expect(h.stored()).toEqual([frame + 4]);
    expect(h.word(frame + 4)).toBe(0xcafe);
    expect(h.state.sched).toBe(sched);
    expect(h.last?.touched).toMatchObject({ slots: [], objects: [root] });
    expect(h.access('load', small + 0x3007).accessed).toBe(0xcafe);
    expect(h.access('execute', small + 0x3004).accessed).toBe(0xcafe);
    expect(h.access('load', small + 0x3008).accessed).toBe(0);
    expect(h.stored()).toBeUndefined();
    expect(h.state.objects).toBe(objects);
    expect(h.state.sched).toBe(sched);
  });

  it('through a 4 MiB leaf in the root: the offset below 22 bits', () => {
    const h = new Access();
    const frame = h.ptr(h.frame(seL4_CapInitThreadVSpace, large, { large: true }));
    expect(h.translate(h.rootTCB, large + 0x123457)).toEqual({ paddr: frame + 0x123454, frame, sizeBits: 22, rights: VMRights.VMReadWrite, executable: true });
    expect(h.access('store', large + 0x123457, 0x1234).accessed).toBe(0x1234);
    expect(h.stored()).toEqual([frame + 0x123454]);
    expect(h.word(frame + 0x123454)).toBe(0x1234);
    expect(h.access('load', large + 0x3ffffc).accessed).toBe(0);
    expect(h.access('store', large + 0x3ffffc, 9).accessed).toBe(9);
    expect(h.word(frame + 0x3ffffc)).toBe(9);
    expect(h.access('load', large + 0x123454).accessed).toBe(0x1234);
  });

  it('the root task\'s boot frames: its bootinfo frame reads as the plan wrote it', () => {
    const h = new Access();
    const words = h.plan.bootInfoWords;
    const index = words.findIndex((w) => w !== 0);
    expect(index).toBeGreaterThanOrEqual(0);
    expect(h.access('load', h.plan.bootInfoVaddr + 4 * index).accessed).toBe(words[index]);
    expect(h.translate(h.rootTCB, h.plan.bootInfoVaddr)?.paddr).toBe(h.plan.bootInfoFrame);
  });

  it('a device frame: a load reads 0, a store is dropped (nothing stored)', () => {
    const h = rootWithTables();
    const slot = h.freeSlot();
    expect(h.api.seL4_Untyped_Retype(h.deviceUntyped, T.seL4_RISCV_4K_Page, 0, ROOT, 0, 0, slot, 1)).toBe(E.seL4_NoError);
    h.map(slot, seL4_CapInitThreadVSpace, small);
    const frame = h.ptr(slot);
    const memory = h.state.memory;
    expect(h.access('store', small + 8, 0x77).accessed).toBe(0x77);
    expect(h.stored()).toBeUndefined();
    expect(h.state.memory).toBe(memory);
    expect(h.word(frame + 8)).toBe(0);
    expect(h.access('load', small + 8).accessed).toBe(0);
    expect(h.translate(h.rootTCB, small + 8)).toMatchObject({ paddr: frame + 8, frame });
  });

  it('two VSpaces sharing a frame see each other\'s stores at once', () => {
    const h = rootWithTables();
    const frameSlot = h.frame(seL4_CapInitThreadVSpace, small + 0x2000);
    const other = h.newRoot();
    h.pageTable(other, 0x30000000);
    const copy = h.freeSlot();
    expect(h.api.seL4_CNode_Copy(ROOT, copy, 32, ROOT, frameSlot, 32, allRights)).toBe(E.seL4_NoError);
    h.map(copy, other, 0x30005000);
    const t = h.thread(100);
    expect(h.api.seL4_TCB_SetSpace(t.tcbSlot, 0, ROOT, 0, other, 0)).toBe(E.seL4_NoError);
    const shared = h.ptr(frameSlot) + 0x10;
    expect(h.translate(t.tcb, 0x30005010)?.paddr).toBe(shared);
    expect(h.translate(h.rootTCB, small + 0x2010)?.paddr).toBe(shared);
    expect(h.translate(t.tcb, small + 0x2010)).toBeNull();
    h.yieldToThreads();
    expect(h.state.current).toBe(t.tcb);
    expect(h.access('store', 0x30005010, 0xbeef).accessed).toBe(0xbeef);
    // The thread faults with no handler: Inactive, and the root task runs and loads the word.
    expect(h.access('load', small + 0x2010)).toMatchObject({ caller: { tcb: t.tcb, state: 'Inactive' }, current: h.rootTCB });
    expect(h.access('load', small + 0x2010).accessed).toBe(0xbeef);
  });
});

describe('misses', () => {
  it('each access kind at an unmapped address: VMFault [addr, FSR 5/7/1, instruction], label 6, length 4 [FaultIP, Addr, PrefetchFault, FSR]', () => {
    const cases: ReadonlyArray<readonly [AccessKind, number, number]> = [['load', 5, 0], ['store', 7, 0], ['execute', 1, 1]];
    for (const [access, fsr, prefetch] of cases) {
      const { h, handler, faulter } = withHandler();
      const observation = h.access(access, badVaddr, 3, [[Reg.pc, 0x10040]]);
      expect(observation.accessed).toBeUndefined();
      expect('accessed' in observation).toBe(false);
      expect(observation).toMatchObject({ current: handler, caller: { tcb: faulter, state: 'BlockedOnReply' } });
      expect(L.view(h.state).object(faulter)).toMatchObject({ fault: { type: 'VMFault', words: [badVaddr, fsr, prefetch] } });
      expect(vmFault(access, badVaddr)).toEqual({ type: 'VMFault', words: [badVaddr, fsr, prefetch] });
      const message = received(h, handler);
      expect(message).toEqual({ badge, label: 6, length: seL4_VMFault.Length, words: [0x10040, badVaddr, prefetch, fsr] });
      expect(message.words[seL4_VMFault.FSR]).toBe(fsr);
      expect(message.words[seL4_VMFault.PrefetchFault]).toBe(prefetch);
    }
  });

  it('the handler maps the page and replies: the thread restarts with its registers as they were, and the access then hits', () => {
    const { h, ep, reply, handler, faulter } = withHandler();
    const vaddr = small + 0x5008;
    h.access('store', vaddr, 0x99, [[Reg.pc, 0x10040], [Reg.a0, 0xa0]]);
    expect(received(h, handler).words).toEqual([0x10040, vaddr, 0, 7]);
    expect(h.state.current).toBe(handler);
    // The handler (sharing the root's CSpace and VSpace) maps a frame there, then replies with a label and words.
    const frame = h.retype(T.seL4_RISCV_4K_Page);
    h.sys(handler, S.seL4_SysCall, [[Reg.a0, frame], [Reg.a1, seL4_MessageInfo_new(IL.RISCVPageMap, 0, 1, 3)], [Reg.a2, vaddr - 8], [Reg.a3, allRights], [Reg.a4, 0]], [[IPCBuffer.capsOrBadges, seL4_CapInitThreadVSpace]]);
    expect(messageInfoFromWord(h.regs(handler)[Reg.a1]!).label).toBe(E.seL4_NoError);
    h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, seL4_MessageInfo_new(5, 0, 0, 2)], [Reg.a2, 0x20000], [Reg.a3, 0xb0]]);
    expect(h.state.current).toBe(faulter);
    expect(L.view(h.state).object(faulter)).toMatchObject({ state: 'Running', fault: null });
    expect(h.regs(faulter)[Reg.pc]).toBe(0x10040);
    expect(h.regs(faulter)[Reg.a0]).toBe(0xa0);
    expect(h.access('store', vaddr, 0x99).accessed).toBe(0x99);
    expect(h.word(h.ptr(frame) + 8)).toBe(0x99);
  });

  it('rights: a store through a read-only leaf and a fetch through an execute-never leaf fault; what they allow hits', () => {
    const { h, ep, reply, handler, faulter } = withHandler();
    const readOnly = h.ptr(h.frame(seL4_CapInitThreadVSpace, small, { rights: seL4_CanRead }));
    h.frame(seL4_CapInitThreadVSpace, small + 0x1000, { attr: executeNever });
    h.frame(seL4_CapInitThreadVSpace, small + 0x2000, { rights: 0 });
    h.frame(seL4_CapInitThreadVSpace, small + 0x3000, { rights: 0, attr: executeNever });
    expect(h.translate(faulter, small)).toEqual({ paddr: readOnly, frame: readOnly, sizeBits: 12, rights: VMRights.VMReadOnly, executable: true });
    expect(h.translate(faulter, small + 0x1000)).toMatchObject({ rights: VMRights.VMReadWrite, executable: false });
    expect(h.translate(faulter, small + 0x2000)).toMatchObject({ rights: VMRights.VMKernelOnly, executable: true });
    expect(h.translate(faulter, small + 0x3000)).toBeNull();
    expect(h.state.current).toBe(faulter);
    expect(h.access('load', small).accessed).toBe(0);
    expect(h.access('execute', small).accessed).toBe(0);
    expect(h.access('store', small + 0x1000, 4).accessed).toBe(4);
    expect(h.access('load', small + 0x1000).accessed).toBe(4);
    expect(h.access('execute', small + 0x2000).accessed).toBe(0);
    const faults: ReadonlyArray<readonly [AccessKind, number]> = [['store', small + 4], ['execute', small + 0x1000], ['load', small + 0x2004], ['store', small + 0x2000], ['load', small + 0x3000], ['execute', small + 0x3000]];
    for (const [access, vaddr] of faults) {
      const sched = h.state.sched;
      expect(h.access(access, vaddr, 1).accessed).toBeUndefined();
      expect(h.state.sched).not.toBe(sched);
      expect(L.view(h.state).object(faulter)).toMatchObject({ state: 'BlockedOnReply', fault: vmFault(access, vaddr) });
      const [, fsr, prefetch] = vmFault(access, vaddr).words;
      expect(received(h, handler).words).toEqual([0, vaddr, prefetch, fsr]);
      h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, 0]]);
      expect(h.state.current).toBe(faulter);
    }
    expect(h.word(readOnly + 4)).toBe(0);
  });

  it('kernel-window addresses fault, the kernel window\'s leaves lack U', () => {
    const h = new Access();
    for (const vaddr of [0x80000000, 0xfffffffc, 0x80000000 + 0x3000]) {
      expect(h.translate(h.rootTCB, vaddr)).toBeNull();
      expect(accessUserMemory(h.state, h.rootTCB, 'load', vaddr)).toBeNull();
      expect(accessUserMemory(h.state, h.rootTCB, 'execute', vaddr)).toBeNull();
    }
    expect(h.translate(h.rootTCB, h.plan.ipcBufferVaddr)).not.toBeNull();
  });

  it('no handler: the thread becomes Inactive, no fault recorded; a miss reads the clock and charges the time', () => {
    const h = new Access();
    h.enter({ kind: 'time', ticks: 5n });
    const before = h.state.sched;
    expect(before.curTimeTicks).toBeLessThan(before.clockTicks);
    const hit = h.access('load', h.plan.bootInfoVaddr);
    expect(hit.accessed).toBeDefined();
    expect(h.state.sched).toBe(before);
    const miss = h.access('load', badVaddr);
    expect(miss).toMatchObject({ caller: { tcb: h.rootTCB, state: 'Inactive' } });
    expect(miss.accessed).toBeUndefined();
    expect(L.view(h.state).object(h.rootTCB)).toMatchObject({ state: 'Inactive', fault: null });
    expect(h.state.sched.curTimeTicks).toBe(before.clockTicks);
  });
});

describe('the thread\'s VSpace (get_vspace_of_thread)', () => {
  it('a stale VSpace cap: its pool deleted, then its ASID given to another root mapping the same address: every access faults', () => {
    const h = rootWithTables();
    const pool = h.newPool();
    const mine = h.newRoot(pool);
    h.pageTable(mine, 0x40000000);
    h.frame(mine, 0x40000000);
    const t = h.thread(100);
    expect(h.api.seL4_TCB_SetSpace(t.tcbSlot, 0, ROOT, 0, mine, 0)).toBe(E.seL4_NoError);
    expect(h.translate(t.tcb, 0x40000010)).not.toBeNull();
    const asid = L.view(h.state).cap({ cnode: t.tcb, index: 1 });
    expect(asid).toMatchObject({ type: 'pagetable', mapped: { asid: 16 } });

    expect(h.api.seL4_CNode_Delete(ROOT, pool, 32)).toBe(E.seL4_NoError);
    expect(h.translate(t.tcb, 0x40000010)).toBeNull();
    expect(accessUserMemory(h.state, t.tcb, 'load', 0x40000010)).toBeNull();

    // A new pool takes the same ASID table slot, and a new root the same ASID 16.
    const again = h.newPool();
    const theirs = h.newRoot(again);
    expect(h.cap(theirs)).toMatchObject({ mapped: { asid: 16 } });
    h.pageTable(theirs, 0x40000000);
    const frame = h.ptr(h.frame(theirs, 0x40000000));
    expect(L.view(h.state).cap({ cnode: t.tcb, index: 1 })).toMatchObject({ mapped: { asid: 16 } });
    expect(h.translate(t.tcb, 0x40000010)).toBeNull();
    expect(accessUserMemory(h.state, t.tcb, 'store', 0x40000010, 1)).toBeNull();
    const u = h.thread(100);
    expect(h.api.seL4_TCB_SetSpace(u.tcbSlot, 0, ROOT, 0, theirs, 0)).toBe(E.seL4_NoError);
    expect(h.translate(u.tcb, 0x40000010)?.paddr).toBe(frame + 0x10);
  });

  it('a TCB whose slot 1 holds no cap, and an address that is no thread, translate nothing', () => {
    const h = rootWithTables();
    h.frame(seL4_CapInitThreadVSpace, small);
    const t = h.thread(100);
    expect(h.translate(t.tcb, small)).not.toBeNull();
    const bare = h.ptr(h.retype(T.seL4_TCBObject));
    expect(h.translate(bare, small)).toBeNull();
    expect(accessUserMemory(h.state, bare, 'load', small)).toBeNull();
    const ep = h.ptr(h.ipcObjects().ep);
    expect(h.translate(ep, small)).toBeNull();
    expect(() => accessUserMemory(h.state, ep, 'load', small)).toThrow(/no TCB/);
    expect(() => accessUserMemory(h.state, h.rootTCB, 'load', 1.5)).toThrow(/integer/);
  });
});
