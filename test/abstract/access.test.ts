// User loads, stores and fetches in the abstract spec (issue 11 V2, sel4-facts §24.10 and §24.12):
// translation as l4v's ADT defines it (get_vspace_of_thread, ptable_lift, ptable_rights), a hit
// that enters no kernel, a miss delivered as a VMFault (label 6: IP, Addr, PrefetchFault, FSR)
// whose reply always restarts the thread. t1 (priority 150, the root's VSpace, the badge-1
// endpoint cap as fault handler) accesses; t0 (priority 200) handles.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapASIDControl,
  seL4_RISCV_ExecuteNever,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  vmFaultStatus,
  type AccessKind,
  type Observation,
  type Word,
} from '../../libsel4/index.ts';
import { accessUserState } from '../../spec-abstract/index.ts';
import { bootHarness, call } from './harness.ts';
import { info, ipcWorld, message, received, seen, sys, type IpcWorld } from './ipc-world.ts';
import { bigUntyped } from './spaces.ts';
import { ok, ROOT_CNODE, ROOT_VSPACE } from './threads.ts';

const pc = 0x1230;
/** The root task's IPC buffer: mapped read-write and executable at boot. */
const rootBufferVaddr = 0x100000;
/** sel4test's BAD_VADDR: mapped nowhere. */
const badVaddr = 0x7ffedcba;

interface Access {
  readonly w: IpcWorld;
  /** The next free root CNode slot. */
  slot(): number;
  /** The current thread loads, stores or fetches at `vaddr` (pc set to `pc`). */
  access(access: AccessKind, vaddr: Word, value?: Word): Observation;
  /** Retypes one object of `type` from the big untyped (or `from`) into a new slot. */
  retype(type: number, from?: number): number;
}

/** t1 current, with the badge-1 endpoint as fault handler; t0 waiting for faults on the endpoint with reply r0. */
function faulterRunning(): Access {
  const w = ipcWorld({ t0: 200, t1: 150 });
  expect(w.h.api.seL4_TCB_SetSpace(w.t1, w.ep1, ROOT_CNODE, 0, ROOT_VSPACE, 0)).toBe(ok);
  expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]).current).toBe(w.addr(w.t1));
  let next = w.spare;
  const slot = () => next++;
  return {
    w,
    slot,
    access: (access, vaddr, value) => w.h.enter({ kind: 'access', user: { regs: [[Reg.pc, pc]], ipcBuffer: [] }, access, vaddr, ...(value === undefined ? {} : { value }) }),
    retype: (type, from = bigUntyped(w.h)) => {
      const dest = slot();
      expect(w.h.api.seL4_Untyped_Retype(from, type, 0, ROOT_CNODE, 0, 0, dest, 1)).toBe(ok);
      return dest;
    },
  };
}

/** A page table in the root VSpace for the 4 MiB window of `vaddr`, and a frame of `type` mapped at `vaddr`. */
function mapped(a: Access, vaddr: number, rights = seL4_AllRights, attr = 0, type: number = T.seL4_RISCV_4K_Page, from?: number): number {
  const table = a.retype(T.seL4_RISCV_PageTableObject);
  expect(call(a.w.h, table, L.RISCVPageTableMap, [vaddr, 0], [ROOT_VSPACE]).error).toBe(ok);
  const frame = a.retype(type, from);
  expect(call(a.w.h, frame, L.RISCVPageMap, [vaddr, rights, attr], [ROOT_VSPACE]).error).toBe(ok);
  return frame;
}

function frameOf(a: Access, slot: number): number {
  return a.w.addr(slot);
}

/** The fault message t0 received: badge, message info, then the four VMFault words. */
function faultMessage(a: Access): Word[] {
  return received(seen(a.w, a.w.t0));
}

describe('an access that translates', () => {
  it('stores and loads the aligned word, fetches it, and enters no kernel: no time, no scheduling, nothing but the word and the user writes', () => {
    const a = faulterRunning();
    const { h } = a.w;
    const t1 = a.w.addr(a.w.t1);
    h.enter({ kind: 'time', ticks: 3n });
    const before = h.state();
    const paddr = h.plan.ipcBufferFrame + 0x10;
    const store = a.access('store', rootBufferVaddr + 0x13, 0xcafe0001);
    expect(store).toMatchObject({ current: t1, unmodelled: null, restarted: false, accessed: 0xcafe0001 });
    expect(store.caller?.regs[Reg.pc]).toBe(pc);
    expect(h.lastOutcomes()[0]!.touched).toEqual({ slots: [], objects: [t1], userWords: [paddr] });
    expect(h.view().userWord(paddr)).toBe(0xcafe0001);
    expect(h.state().sched).toBe(before.sched);
    expect(h.state().irqs).toBe(before.irqs);
    expect(h.view().scheduler().curTimeTicks).toBeLessThan(h.view().scheduler().clockTicks);
    expect(a.access('load', rootBufferVaddr + 0x10).accessed).toBe(0xcafe0001);
    expect(a.access('execute', rootBufferVaddr + 0x12).accessed).toBe(0xcafe0001);
    expect(h.lastOutcomes()[0]!.touched.userWords).toBeUndefined();
    expect(h.state().sched).toBe(before.sched);
  });

  it('translates as the leaf says: the word\'s physical address, the frame, its size, rights and executable bit', () => {
    const a = faulterRunning();
    const t1 = a.w.addr(a.w.t1);
    const frame = frameOf(a, mapped(a, 0x20003000, seL4_CanRead, seL4_RISCV_ExecuteNever));
    expect(a.w.h.view().translate(t1, 0x20003ffe)).toEqual({ paddr: frame + 0xffc, frame, sizeBits: 12, rights: 2, executable: false });
    expect(a.w.h.view().translate(t1, 0x20004000)).toBeNull();
    expect(a.w.h.view().translate(t1, 0x80000000)).toBeNull();
    expect(a.w.h.view().translate(a.w.addr(a.w.ep), rootBufferVaddr)).toBeNull();
  });

  it('a 4 MiB leaf in the root maps the whole window (the root task, in a 16 MiB world)', () => {
    const h = bootHarness({ memory: { base: 0x80000000, sizeBytes: 16 << 20 } });
    const untyped = h.untyped + h.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 22);
    const frame = h.free;
    expect(h.api.seL4_Untyped_Retype(untyped, T.seL4_RISCV_Mega_Page, 0, ROOT_CNODE, 0, 0, frame, 1)).toBe(ok);
    expect(call(h, frame, L.RISCVPageMap, [0x40000000, seL4_AllRights, 0], [ROOT_VSPACE]).error).toBe(ok);
    const base = h.view().cap(h.root(frame));
    if (base?.type !== 'frame') throw new Error('no frame cap');
    const rootTcb = h.plan.rootTCB;
    expect(h.view().translate(rootTcb, 0x40123457)).toEqual({ paddr: base.ptr + 0x123454, frame: base.ptr, sizeBits: 22, rights: 3, executable: true });
    const store = h.enter({ kind: 'access', user: { regs: [], ipcBuffer: [] }, access: 'store', vaddr: 0x40123457, value: 0xabcd });
    expect(store.accessed).toBe(0xabcd);
    expect(h.view().userWord(base.ptr + 0x123454)).toBe(0xabcd);
  });

  it('a device frame reads 0 and drops a store', () => {
    const a = faulterRunning();
    const { h } = a.w;
    const device = h.untyped + h.plan.untypeds.findIndex((u) => u.isDevice);
    const frame = frameOf(a, mapped(a, 0x20000000, seL4_AllRights, 0, T.seL4_RISCV_4K_Page, device));
    expect(a.access('store', 0x20000008, 7).accessed).toBe(7);
    expect(h.lastOutcomes()[0]!.touched.userWords).toBeUndefined();
    expect(h.view().userWord(frame + 8)).toBe(0);
    expect(a.access('load', 0x20000008).accessed).toBe(0);
  });

  it('accessUserState makes the access alone on a state, leaving the given state as it was', () => {
    const h = bootHarness();
    const before = h.state();
    const stored = accessUserState(before, h.plan.rootTCB, 'store', rootBufferVaddr + 4, 0x99);
    expect(stored?.accessed).toBe(0x99);
    expect(accessUserState(stored!.state, h.plan.rootTCB, 'load', rootBufferVaddr + 4)?.accessed).toBe(0x99);
    expect(accessUserState(before, h.plan.rootTCB, 'load', rootBufferVaddr + 4)?.accessed).toBe(0);
    expect(accessUserState(before, h.plan.rootTCB, 'load', badVaddr)).toBeNull();
  });

  it('two mappings of one frame share its words', () => {
    const a = faulterRunning();
    const frame = mapped(a, 0x20000000);
    const copy = a.slot();
    expect(a.w.h.api.seL4_CNode_Copy(ROOT_CNODE, copy, 32, ROOT_CNODE, frame, 32, seL4_AllRights)).toBe(ok);
    expect(call(a.w.h, copy, L.RISCVPageMap, [0x20001000, seL4_AllRights, 0], [ROOT_VSPACE]).error).toBe(ok);
    a.access('store', 0x20000040, 0x55);
    expect(a.access('load', 0x20001040).accessed).toBe(0x55);
  });
});

describe('an access that faults', () => {
  const kinds: ReadonlyArray<readonly [AccessKind, number]> = [['load', 0], ['store', 0], ['execute', 1]];

  it.each(kinds)('a %s of an unmapped address: handle_vm_fault\'s VMFault to the handler (label 6, IP, Addr, PrefetchFault %i, FSR)', (kind, prefetch) => {
    const a = faulterRunning();
    const { h } = a.w;
    h.enter({ kind: 'time', ticks: 3n });
    const o = a.access(kind, badVaddr, 9);
    expect(o.accessed).toBeUndefined();
    expect(o.current).toBe(a.w.addr(a.w.t0));
    // A kernel entry: update_time_stamp ran.
    expect(h.view().scheduler().curTimeTicks).toBe(h.view().scheduler().clockTicks);
    const fsr = vmFaultStatus[kind];
    expect(faultMessage(a)).toEqual([1, info(6, 0, 0, 4), pc, badVaddr, prefetch, fsr]);
    expect(a.w.tcb(a.w.t1)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'VMFault', words: [badVaddr, fsr, prefetch] } });
  });

  it('the kernel window faults: its leaves lack U', () => {
    const a = faulterRunning();
    a.access('load', 0x80001004);
    expect(faultMessage(a)).toEqual([1, info(6, 0, 0, 4), pc, 0x80001004, 0, vmFaultStatus.load]);
  });

  /** A read-only, execute-never frame at 0x20000000 and a KernelOnly, executable one at 0x20001000. */
  function rightsWorld(): Access {
    const a = faulterRunning();
    mapped(a, 0x20000000, seL4_CanRead, seL4_RISCV_ExecuteNever);
    const kernelOnly = a.retype(T.seL4_RISCV_4K_Page);
    expect(call(a.w.h, kernelOnly, L.RISCVPageMap, [0x20001000, 0, 0], [ROOT_VSPACE]).error).toBe(ok);
    return a;
  }

  it('rights decide what hits: a read-only leaf loads, a KernelOnly executable leaf fetches', () => {
    const a = rightsWorld();
    const t1 = a.w.addr(a.w.t1);
    expect(a.w.h.view().translate(t1, 0x20001000)).toMatchObject({ rights: 1, executable: true });
    expect(a.access('load', 0x20000000).accessed).toBe(0);
    expect(a.access('execute', 0x20001000).accessed).toBe(0);
  });

  const denied: ReadonlyArray<readonly [AccessKind, number]> = [['store', 0x20000004], ['execute', 0x20000008], ['load', 0x20001000], ['store', 0x20001000]];
  it.each(denied)('rights decide what faults: a %s at %i', (kind, vaddr) => {
    const a = rightsWorld();
    expect(a.access(kind, vaddr).accessed).toBeUndefined();
    expect(faultMessage(a).slice(3)).toEqual([vaddr, kind === 'execute' ? 1 : 0, vmFaultStatus[kind]]);
  });

  it('without a fault handler the thread becomes Inactive', () => {
    const w = ipcWorld({ t0: 200, t1: 150 });
    expect(sys(w, S.seL4_SysRecv, [[Reg.a0, w.ep], [Reg.a6, w.r0]]).current).toBe(w.addr(w.t1));
    const o = w.h.enter({ kind: 'access', user: { regs: [], ipcBuffer: [] }, access: 'load', vaddr: badVaddr });
    expect(o.accessed).toBeUndefined();
    expect(w.tcb(w.t1).state).toBe('Inactive');
  });
});

describe('the reply to a VMFault', () => {
  it.each([0, 1])('with label %i restarts the thread and writes no register', (label) => {
    const a = faulterRunning();
    a.access('store', badVaddr, 1);
    sys(a.w, S.seL4_SysSend, message(a.w.r0, info(label, 0, 0, 4), [0x4000, 0x5000, 0x6000, 0x7000]));
    expect(a.w.tcb(a.w.t1)).toMatchObject({ state: 'Restart', fault: null });
    const regs = seen(a.w, a.w.t1).regs;
    expect([regs[Reg.pc], regs[Reg.sp], regs[Reg.a0]]).toEqual([pc, 0, 0]);
  });

  it('a pager maps the page and replies; the restarted access then hits', () => {
    const a = faulterRunning();
    const { h } = a.w;
    a.access('store', badVaddr, 0xfeed);
    // t0, the pager, runs: it maps a frame at the faulting page, then replies and waits again.
    expect(h.view().current()).toBe(a.w.addr(a.w.t0));
    mapped(a, badVaddr - (badVaddr % 4096));
    const o = sys(a.w, S.seL4_SysReplyRecv, [...message(a.w.ep, info(0, 0, 0, 0)), [Reg.a6, a.w.r0]]);
    expect(o.current).toBe(a.w.addr(a.w.t1));
    expect(a.access('store', badVaddr, 0xfeed).accessed).toBe(0xfeed);
    expect(a.access('load', badVaddr & ~3).accessed).toBe(0xfeed);
  });
});

describe('stale caps and unmapped frames', () => {
  it('deleting the mapped copy of a frame cap unmaps it: the next access faults (FRAMEDIPC0003)', () => {
    const a = faulterRunning();
    const original = a.retype(T.seL4_RISCV_4K_Page);
    const table = a.retype(T.seL4_RISCV_PageTableObject);
    expect(call(a.w.h, table, L.RISCVPageTableMap, [0x20000000, 0], [ROOT_VSPACE]).error).toBe(ok);
    const copy = a.slot();
    expect(a.w.h.api.seL4_CNode_Copy(ROOT_CNODE, copy, 32, ROOT_CNODE, original, 32, seL4_AllRights)).toBe(ok);
    expect(call(a.w.h, copy, L.RISCVPageMap, [0x20000000, seL4_AllRights, 0], [ROOT_VSPACE]).error).toBe(ok);
    expect(a.access('store', 0x20000000, 3).accessed).toBe(3);
    expect(a.w.h.api.seL4_CNode_Delete(ROOT_CNODE, copy, 32)).toBe(ok);
    expect(a.access('store', 0x20000000, 3).accessed).toBeUndefined();
    expect(faultMessage(a).slice(3)).toEqual([0x20000000, 0, vmFaultStatus.store]);
  });

  it('a VSpace cap whose ASID no longer names its root (the pool deleted) translates nothing: get_vspace_of_thread gives the kernel\'s table', () => {
    const a = faulterRunning();
    const { h } = a.w;
    const t1 = a.w.addr(a.w.t1);
    const untyped = a.slot();
    expect(h.api.seL4_Untyped_Retype(bigUntyped(h), T.seL4_UntypedObject, 12, ROOT_CNODE, 0, 0, untyped, 1)).toBe(ok);
    const pool = a.slot();
    expect(call(h, seL4_CapASIDControl, L.RISCVASIDControlMakePool, [pool, 32], [untyped, ROOT_CNODE]).error).toBe(ok);
    const root = a.retype(T.seL4_RISCV_PageTableObject);
    expect(call(h, pool, L.RISCVASIDPoolAssign, [], [root]).error).toBe(ok);
    const table = a.retype(T.seL4_RISCV_PageTableObject);
    expect(call(h, table, L.RISCVPageTableMap, [0, 0], [root]).error).toBe(ok);
    const frame = a.retype(T.seL4_RISCV_4K_Page);
    expect(call(h, frame, L.RISCVPageMap, [0x5000, seL4_AllRights, 0], [root]).error).toBe(ok);
    // t1 moves to the new VSpace (its own call: the rest of this entry runs t1 on).
    expect(h.api.seL4_TCB_SetSpace(a.w.t1, a.w.ep1, ROOT_CNODE, 0, root, 0)).toBe(ok);
    expect(h.view().translate(t1, 0x5000)).toMatchObject({ frame: frameOf(a, frame) });
    expect(h.view().translate(t1, rootBufferVaddr)).toBeNull();
    expect(a.access('store', 0x5004, 0x77).accessed).toBe(0x77);
    expect(h.api.seL4_CNode_Delete(ROOT_CNODE, pool, 32)).toBe(ok);
    expect(h.view().cap({ cnode: t1, index: 1 })).toMatchObject({ type: 'pagetable', mapped: { asid: 16 } });
    expect(h.view().translate(t1, 0x5000)).toBeNull();
    expect(a.access('load', 0x5004).accessed).toBeUndefined();
    expect(faultMessage(a).slice(3)).toEqual([0x5004, 0, vmFaultStatus.load]);
  });
});
