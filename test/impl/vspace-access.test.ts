// The impl's user memory (issue 11, V2): loads, stores and fetches translated through the
// current Sv32 page tables (4 KiB and 4 MiB leaves, rights, U, the kernel window, device frames,
// shared frames, stale VSpace caps; sel4-facts 24.10), and VM faults (24.12): their FSR, address
// and message, the handler's reply restarting the access, no handler. A hit is no kernel entry.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as L,
  Reg,
  seL4_CapASIDControl,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error as E,
  seL4_MessageInfo_new,
  seL4_Syscall as S,
  syscallWord,
  type AccessKind,
  type Observation,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer } from '../../impl/index.ts';
import { accessUserMemory } from '../../impl/vspace.ts';
import { CNODE, D, T, bootRoot, deviceUntyped, makeThread, regsOf, type Root } from './harness.ts';

const layer = createImplLayer({ debug: true });
const ROOT_TCB = seL4_CapInitThreadTCB;
/** The new VSpace's addresses: a page table's 4 MiB window, and a 4 MiB frame's. */
const VA = 0x0040_0000;
const MVA = 0x0080_0000;

/** A Call of `label` on `service` with message words `mrs` and extra caps `caps`; returns the error code. */
function call(r: Root, label: number, service: number, mrs: number[], caps: number[] = []): number {
  mrs.forEach((v, i) => r.api.seL4_SetMR(i, v));
  caps.forEach((c, i) => r.api.seL4_SetCap(i, c));
  return r.api.seL4_Call(service, seL4_MessageInfo_new(label, 0, caps.length, mrs.length)) >>> 12;
}

const ok = (err: number) => expect(err).toBe(E.seL4_NoError);
const ptrOf = (r: Root, slot: number) => (r.cap(slot) as { ptr: number }).ptr;

/**
 * Root slots from the first empty one: pool P, VSpace root R (ASID 16), its page table PT at VA,
 * frames F (read-write, at VA), RO (read-only, never executable, VA + 4 KiB), KO (kernel-only,
 * executable, VA + 8 KiB), the 4 MiB frame M (MVA), a device frame DEV (VA + 12 KiB), the
 * endpoint EP (and a badged copy EPB), a reply object REPLY, spare slots from `free`.
 */
interface World {
  readonly r: Root;
  readonly P: number;
  readonly R: number;
  readonly PT: number;
  readonly F: number;
  readonly RO: number;
  readonly KO: number;
  readonly M: number;
  readonly DEV: number;
  readonly EP: number;
  readonly EPB: number;
  readonly REPLY: number;
  readonly free: number;
}

function world(): World {
  const r = bootRoot({ memory: { base: 0x8000_0000, sizeBytes: 16 << 20 } }, { debug: true });
  const s = r.plan.bootInfo.empty.start;
  const w = { r, U: s, P: s + 1, R: s + 2, PT: s + 3, F: s + 4, RO: s + 5, KO: s + 6, M: s + 7, DEV: s + 8, EP: s + 9, EPB: s + 10, REPLY: s + 11, free: s + 12 };
  const big = r.untyped(23);
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_Mega_Page, 0, CNODE, 0, 0, w.M, 1));
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_UntypedObject, 12, CNODE, 0, 0, w.U, 1));
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, w.R, 2));
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, w.F, 3));
  ok(r.api.seL4_Untyped_Retype(deviceUntyped(r), T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, w.DEV, 1));
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, CNODE, 0, 0, w.EP, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, w.EPB, D, CNODE, w.EP, D, 0xf, 0x55));
  ok(r.api.seL4_Untyped_Retype(big, T.seL4_ReplyObject, 0, CNODE, 0, 0, w.REPLY, 1));
  ok(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [w.P, D], [w.U, CNODE]));
  ok(call(r, L.RISCVASIDPoolAssign, w.P, [], [w.R]));
  ok(call(r, L.RISCVPageTableMap, w.PT, [VA, 0], [w.R]));
  // rights: 3 read-write, 2 read-only, 0 kernel-only; attributes bit 0: execute never
  ok(call(r, L.RISCVPageMap, w.F, [VA, 3, 0], [w.R]));
  ok(call(r, L.RISCVPageMap, w.RO, [VA + 0x1000, 2, 1], [w.R]));
  ok(call(r, L.RISCVPageMap, w.KO, [VA + 0x2000, 0, 0], [w.R]));
  ok(call(r, L.RISCVPageMap, w.DEV, [VA + 0x3000, 3, 0], [w.R]));
  ok(call(r, L.RISCVPageMap, w.M, [MVA, 3, 0], [w.R]));
  return w;
}

/** The root task's own accesses go through the VSpace whose root cap is in `vspace`. */
function rootUses(w: World, vspace: number): void {
  ok(w.r.api.seL4_TCB_SetSpace(ROOT_TCB, 0, CNODE, 0, vspace, 0));
}

/** The world, the root task's accesses going through R. */
function worldInR(): World {
  const w = world();
  rootUses(w, w.R);
  return w;
}

function access(r: Root, kind: AccessKind, vaddr: number, value?: number, regs: ReadonlyArray<readonly [number, Word]> = []): Observation {
  return r.enter({ kind: 'access', user: { regs, ipcBuffer: [] }, access: kind, vaddr, ...(value === undefined ? {} : { value }) });
}

const translate = (r: Root, vaddr: number) => layer.view(r.state).translate(r.plan.rootTCB, vaddr);
const userWord = (r: Root, paddr: number) => layer.view(r.state).userWord(paddr);

describe('impl user accesses that translate', () => {
  it('a store then a load through a 4 KiB leaf: the aligned word of the frame, its address touched; no kernel entry', () => {
    const w = worldInR();
    const { r } = w;
    const frame = ptrOf(r, w.F);
    const scheduler = layer.view(r.state).scheduler();
    const stored = access(r, 'store', VA + 0x7b6, 0xdead_beef);
    expect(stored).toMatchObject({ accessed: 0xdead_beef, unmodelled: null, restarted: false, current: r.plan.rootTCB });
    expect(stored.caller!.state).toBe('Running');
    expect(userWord(r, frame + 0x7b4)).toBe(0xdead_beef);
    expect(r.lastTouched.userWords).toEqual([frame + 0x7b4]);
    expect(r.lastTouched.objects).toEqual([frame]);
    expect(layer.view(r.state).scheduler()).toEqual(scheduler);
    const loaded = access(r, 'load', VA + 0x7b4);
    expect(loaded.accessed).toBe(0xdead_beef);
    expect(r.lastTouched.userWords).toBeUndefined();
    expect(access(r, 'execute', VA + 0x7b7).accessed).toBe(0xdead_beef);
    expect(translate(r, VA + 0x7b6)).toEqual({ paddr: frame + 0x7b4, frame, sizeBits: 12, rights: 3, executable: true });
  });

  it('a 4 MiB leaf maps the 22 low bits of the address', () => {
    const w = worldInR();
    const { r } = w;
    const frame = ptrOf(r, w.M);
    expect(access(r, 'store', MVA + 0x23_4567, 77).accessed).toBe(77);
    expect(userWord(r, frame + 0x23_4564)).toBe(77);
    expect(r.lastTouched.userWords).toEqual([frame + 0x23_4564]);
    expect(access(r, 'load', MVA + 0x23_4564).accessed).toBe(77);
    expect(access(r, 'load', MVA + 0x564).accessed).toBe(0);
    expect(translate(r, MVA + 0x3f_ffff)).toEqual({ paddr: frame + 0x3f_fffc, frame, sizeBits: 22, rights: 3, executable: true });
  });

  it('the function alone: the word, or NONE (-1) for a fault', () => {
    const w = worldInR();
    const { r } = w;
    const tcb = r.plan.rootTCB;
    expect(accessUserMemory(r.state, tcb, 'store', VA + 8, 0x8000_0001)).toBe(0x8000_0001);
    expect(accessUserMemory(r.state, tcb, 'load', VA + 8, 0)).toBe(0x8000_0001);
    expect(accessUserMemory(r.state, tcb, 'load', VA + 0x5000, 0)).toBe(-1);
  });

  it('rights: a read-only leaf loads but neither stores nor fetches; a kernel-only executable leaf only fetches', () => {
    const w = worldInR();
    const { r } = w;
    const ro = ptrOf(r, w.RO);
    const ko = ptrOf(r, w.KO);
    expect(translate(r, VA + 0x1010)).toEqual({ paddr: ro + 0x10, frame: ro, sizeBits: 12, rights: 2, executable: false });
    expect(translate(r, VA + 0x2010)).toEqual({ paddr: ko + 0x10, frame: ko, sizeBits: 12, rights: 1, executable: true });
    expect(access(r, 'load', VA + 0x1010).accessed).toBe(0);
    const tcb = r.plan.rootTCB;
    expect(accessUserMemory(r.state, tcb, 'store', VA + 0x1010, 5)).toBe(-1);
    expect(accessUserMemory(r.state, tcb, 'execute', VA + 0x1010, 0)).toBe(-1);
    expect(accessUserMemory(r.state, tcb, 'load', VA + 0x2010, 0)).toBe(-1);
    expect(accessUserMemory(r.state, tcb, 'store', VA + 0x2010, 5)).toBe(-1);
    expect(accessUserMemory(r.state, tcb, 'execute', VA + 0x2010, 0)).toBe(0);
    expect(userWord(r, ro + 0x10)).toBe(0);
  });

  it('a store to the IPC buffer\'s frame shows in the observed buffer; translate of no thread is null', () => {
    const { r } = world();
    const buffer = r.plan.ipcBufferVaddr;
    expect(r.obs().caller!.ipcBuffer![5]).not.toBe(0x5555);
    const obs = access(r, 'store', buffer + 5 * 4, 0x5555);
    expect(obs.caller!.ipcBuffer![5]).toBe(0x5555);
    expect(r.lastTouched.userWords).toEqual([r.plan.ipcBufferFrame + (buffer % 4096) + 5 * 4]);
    expect(layer.view(r.state).translate(r.plan.rootCNode, buffer)).toBeNull();
  });

  it('a device frame: a load reads 0, a store is dropped (no word touched)', () => {
    const w = worldInR();
    const { r } = w;
    const dev = ptrOf(r, w.DEV);
    expect(translate(r, VA + 0x3008)).toEqual({ paddr: dev + 8, frame: dev, sizeBits: 12, rights: 3, executable: true });
    expect(access(r, 'store', VA + 0x3008, 9).accessed).toBe(9);
    expect(r.lastTouched.userWords).toBeUndefined();
    expect(access(r, 'load', VA + 0x3008).accessed).toBe(0);
  });

  it('two VSpaces sharing a frame see each other\'s stores; every access sees the current PTEs (no TLB)', () => {
    const w = world();
    const { r } = w;
    // a copy of F (unmapped) mapped in the root task's own VSpace at 0x200000
    ok(r.api.seL4_CNode_Copy(CNODE, w.free, D, CNODE, w.F, D, 0xf));
    ok(call(r, L.RISCVPageMap, w.free, [0x20_0000, 3, 0], [seL4_CapInitThreadVSpace]));
    expect(access(r, 'store', 0x20_0040, 1234).accessed).toBe(1234);
    rootUses(w, w.R);
    expect(access(r, 'load', VA + 0x40).accessed).toBe(1234);
    expect(access(r, 'store', VA + 0x40, 4321).accessed).toBe(4321);
    rootUses(w, seL4_CapInitThreadVSpace);
    expect(access(r, 'load', 0x20_0040).accessed).toBe(4321);
    // unmapped: the next access faults at once (the root task has no handler: it becomes Inactive)
    ok(call(r, L.RISCVPageUnmap, w.free, [], []));
    expect(translate(r, 0x20_0040)).toBeNull();
    expect(access(r, 'load', 0x20_0040).caller!.state).toBe('Inactive');
  });
});

describe('impl user accesses that fault', () => {
  it('the kernel window, unmapped addresses, a level-1 table\'s non-leaf: no translation, each access faults', () => {
    const w = worldInR();
    const { r } = w;
    const tcb = r.plan.rootTCB;
    for (const vaddr of [0x8000_0000, 0xffc0_0000, 0x8040_1000, VA + 0x5000, 0x1000, 0xc00_0000]) {
      expect(translate(r, vaddr)).toBeNull();
      for (const kind of ['load', 'store', 'execute'] as const) expect(accessUserMemory(r.state, tcb, kind, vaddr, 1)).toBe(-1);
    }
  });

  it('a stale VSpace cap: its pool deleted, then its ASID reassigned to another root', () => {
    const w = worldInR();
    const { r } = w;
    const tcb = r.plan.rootTCB;
    expect(accessUserMemory(r.state, tcb, 'load', VA, 0)).toBe(0);
    ok(r.api.seL4_CNode_Delete(CNODE, w.P, D));
    expect(translate(r, VA)).toBeNull();
    expect(accessUserMemory(r.state, tcb, 'load', VA, 0)).toBe(-1);
    // a new pool gets the same ASIDs; another root takes ASID 16
    ok(r.api.seL4_Untyped_Retype(r.untyped(13), T.seL4_UntypedObject, 12, CNODE, 0, 0, w.free, 1));
    ok(call(r, L.RISCVASIDControlMakePool, seL4_CapASIDControl, [w.free + 1, D], [w.free, CNODE]));
    ok(r.api.seL4_Untyped_Retype(r.untyped(13), T.seL4_RISCV_PageTableObject, 0, CNODE, 0, 0, w.free + 2, 1));
    ok(call(r, L.RISCVASIDPoolAssign, w.free + 1, [], [w.free + 2]));
    expect(r.cap(w.free + 2)).toMatchObject({ mapped: { asid: 16, vaddr: 0 } });
    expect(translate(r, VA)).toBeNull();
    expect(accessUserMemory(r.state, tcb, 'load', VA, 0)).toBe(-1);
  });

  it('a mapped level-1 table as the VSpace: its ASID names another root, so every access faults', () => {
    const w = world();
    const { r } = w;
    rootUses(w, w.PT);
    const tcb = r.plan.rootTCB;
    // walked as a root, the table's entry 0 (F's leaf) would map vaddr 0..4 MiB
    expect(translate(r, 0x10)).toBeNull();
    expect(accessUserMemory(r.state, tcb, 'load', 0x10, 0)).toBe(-1);
    expect(accessUserMemory(r.state, tcb, 'load', VA + 0x10, 0)).toBe(-1);
  });

  it('rejects an access kind or address the model cannot make', () => {
    const { r } = world();
    const user = { regs: [], ipcBuffer: [] };
    expect(() => r.enter({ kind: 'access', user, access: 'read' as AccessKind, vaddr: 0 })).toThrow(RangeError);
    expect(() => r.enter({ kind: 'access', user, access: 'load', vaddr: 2 ** 32 })).toThrow(RangeError);
    expect(() => r.enter({ kind: 'access', user, access: 'load', vaddr: -4 })).toThrow(RangeError);
  });
});

/** A faulter thread (priority 100) in VSpace R with the badged endpoint as fault handler (or none); the root waits on EP. */
function faulterWorld(withHandler: boolean): World & { faulter: number } {
  const w = world();
  const { r } = w;
  const faulter = makeThread(r, w.free + 10, 100, { budgetUs: 1000n, periodUs: 1000n, flags: 0 });
  ok(r.api.seL4_TCB_SetSpace(w.free + 10, withHandler ? w.EPB : 0, CNODE, 0, w.R, 0));
  const obs = r.enter({ kind: 'syscall', user: { regs: [[Reg.a0, w.EP], [Reg.a6, w.REPLY], [Reg.a7, syscallWord(S.seL4_SysRecv)]], ipcBuffer: [] } });
  expect(obs.current).toBe(faulter);
  return { ...w, faulter };
}

const faultOf = (r: Root, tcb: number) => {
  const object = layer.view(r.state).object(tcb);
  if (object === null || object.type !== 'tcb') throw new Error('no TCB');
  return object;
};

describe('impl VM faults', () => {
  const cases: readonly [AccessKind, number, number, number][] = [
    ['load', VA + 0x5003, 5, 0],
    ['store', VA + 0x1006, 7, 0],
    ['execute', VA + 0x1002, 1, 1],
    ['load', 0x8000_0010, 5, 0],
  ];
  for (const [kind, vaddr, fsr, prefetch] of cases) {
    it(`${kind} at ${vaddr.toString(16)} faults: VMFault [address, FSR ${fsr}, ${prefetch}], message label 6 [FaultIP, Addr, PrefetchFault, FSR] to the handler`, () => {
      const w = faulterWorld(true);
      const { r, faulter } = w;
      const obs = access(r, kind, vaddr, 3, [[Reg.pc, 0x1_0040], [Reg.a0, 99]]);
      expect(obs.accessed).toBeUndefined();
      expect(obs).toMatchObject({ unmodelled: null, restarted: false, current: r.plan.rootTCB });
      expect(obs.caller!.state).toBe('BlockedOnReply');
      expect(faultOf(r, faulter).fault).toEqual({ type: 'VMFault', words: [vaddr, fsr, prefetch] });
      const root = regsOf(r, r.plan.rootTCB);
      expect(root[Reg.a0]).toBe(0x55);
      expect(root[Reg.a1]).toBe(seL4_MessageInfo_new(6, 0, 0, 4));
      expect([root[Reg.a2], root[Reg.a3], root[Reg.a4], root[Reg.a5]]).toEqual([0x1_0040, vaddr, prefetch, fsr]);
      expect(r.lastTouched.userWords).toBeUndefined();
    });
  }

  it('a fault enters the kernel (the time is updated); a hit does not', () => {
    const w = faulterWorld(true);
    const { r } = w;
    r.enter({ kind: 'time', ticks: 50n });
    const before = layer.view(r.state).scheduler();
    expect(before.curTimeTicks).toBeLessThan(before.clockTicks);
    expect(access(r, 'store', VA + 4, 1).accessed).toBe(1);
    expect(layer.view(r.state).scheduler()).toEqual(before);
    access(r, 'load', VA + 0x5000);
    const after = layer.view(r.state).scheduler();
    expect(after.curTimeTicks).toBe(before.clockTicks);
  });

  it('a miss whose budget cannot cover the entry raises no fault (its round-robin SC refilled, the thread runs again); the access made again faults', () => {
    const w = faulterWorld(true);
    const { r, faulter } = w;
    const before = layer.view(r.state).scheduler();
    expect(before.timerDeadlineTicks).not.toBeNull();
    // up to one tick before the end of the faulter's budget: no timer interrupt yet
    r.enter({ kind: 'time', ticks: before.timerDeadlineTicks! - before.clockTicks - 1n });
    expect(layer.view(r.state).current()).toBe(faulter);
    expect(access(r, 'store', VA, 6).accessed).toBe(6);
    const obs = access(r, 'load', VA + 0x5000);
    expect(obs).toMatchObject({ restarted: true, unmodelled: null, current: faulter });
    expect(obs.accessed).toBeUndefined();
    expect(faultOf(r, faulter)).toMatchObject({ state: 'Running', fault: null });
    expect(access(r, 'load', VA + 0x5000).caller!.state).toBe('BlockedOnReply');
    expect(faultOf(r, faulter).fault).toEqual({ type: 'VMFault', words: [VA + 0x5000, 5, 0] });
  });

  it('the handler maps the page and replies (a non-zero label too): the thread restarts with its registers as they were, and the access hits', () => {
    const w = faulterWorld(true);
    const { r, faulter } = w;
    access(r, 'load', VA + 0x5010, undefined, [[Reg.pc, 0x1_0080], [Reg.a0, 7], [Reg.a2, 8]]);
    expect(faultOf(r, faulter).state).toBe('BlockedOnReply');
    ok(r.api.seL4_Untyped_Retype(r.untyped(13), T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, w.free + 5, 1));
    ok(call(r, L.RISCVPageMap, w.free + 5, [VA + 0x5000, 3, 0], [w.R]));
    const frame = ptrOf(r, w.free + 5);
    const regs = regsOf(r, faulter);
    const replied = r.enter({
      kind: 'syscall',
      user: { regs: [[Reg.a0, w.REPLY], [Reg.a1, seL4_MessageInfo_new(9, 0, 0, 2)], [Reg.a2, 0xbad], [Reg.a3, 0xbad], [Reg.a7, syscallWord(S.seL4_SysSend)]], ipcBuffer: [] },
    });
    expect(replied.unmodelled).toBeNull();
    expect(faultOf(r, faulter)).toMatchObject({ state: 'Restart', fault: null });
    expect(regsOf(r, faulter)).toEqual(regs);
    // the root waits again: the faulter runs and makes the access again
    const obs = r.enter({ kind: 'syscall', user: { regs: [[Reg.a0, w.EP], [Reg.a6, w.REPLY], [Reg.a7, syscallWord(S.seL4_SysRecv)]], ipcBuffer: [] } });
    expect(obs.current).toBe(faulter);
    expect(access(r, 'store', VA + 0x5010, 0x600d).accessed).toBe(0x600d);
    expect(userWord(r, frame + 0x10)).toBe(0x600d);
    expect(regsOf(r, faulter)[Reg.pc]).toBe(0x1_0080);
  });

  it('without a fault handler the thread becomes Inactive, no fault recorded', () => {
    const w = faulterWorld(false);
    const { r, faulter } = w;
    const obs = access(r, 'execute', 0x123);
    expect(obs.caller!.state).toBe('Inactive');
    expect(obs.current).not.toBe(faulter);
    expect(faultOf(r, faulter).fault).toBeNull();
  });
});
