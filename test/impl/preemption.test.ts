// Preemption points in the impl (docs/sel4-facts.md section 26): where an operation stops
// (ksWorkUnitsCompleted against the limit), what it leaves (the MDB, a Zombie's count, an
// untyped's free index and zeroed chunks), and the way out (no reply, the caller Restart,
// the interrupt taken) until the re-issued syscall finishes the work.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  Reg,
  createSel4Api,
  planBoot,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadVSpace,
  seL4_CapIRQControl,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  seL4_Syscall,
  type Cap,
  type KernelEvent,
  type Observation,
  type RaiseDuringEntry,
  type Sel4Api,
  type SlotRef,
  type Witness,
} from '../../libsel4/index.ts';
import { implLayer, readUserWord, type ImplState } from '../../impl/index.ts';

const E = seL4_Error;
const T = seL4_ObjectType;
const CNODE = 2;
const D = 32;
const IRQ = 5;
const IRQ_SLOT = 90;
/** IRQs 1..n in slots IRQ_SLOT + irq (one per preempted attempt: each stays claimed, no Ack between a stop and its syscall made again). */
function withIrqs(r: PRoot, n: number): void {
  for (let irq = 1; irq <= n; irq++) expect(r.api.seL4_IRQControl_Get(seL4_CapIRQControl, irq, CNODE, IRQ_SLOT + irq, D)).toBe(E.seL4_NoError);
}
const EP = 100;

interface PRoot {
  readonly api: Sel4Api;
  readonly state: ImplState;
  readonly rootCNode: number;
  /** The next syscall entry carries this `raise`. */
  raiseNext(raise: RaiseDuringEntry): void;
  /** The root's last syscall made again (its registers as the kernel left them). */
  reissue(raise?: RaiseDuringEntry): Observation;
  obs(): Observation;
  witness(): Witness;
  cap(index: number): Cap | null;
  capAt(slot: SlotRef): Cap | null;
  units(): number;
  untyped(sizeBits: number): number;
}

function boot(maxWorkUnitsPerPreemption: number): PRoot {
  const plan = planBoot({ maxWorkUnitsPerPreemption });
  let state = implLayer.boot(plan);
  let raise: RaiseDuringEntry | undefined;
  let last: Observation = implLayer.observe(state, plan.rootTCB);
  let witness: Witness = [];
  const enter = (event: KernelEvent): Observation => {
    const withRaise = event.kind === 'syscall' && raise !== undefined ? { ...event, raise } : event;
    raise = undefined;
    const [outcome] = implLayer.step(state, withRaise);
    state = outcome!.state;
    last = outcome!.observation;
    witness = outcome!.witness ?? [];
    return last;
  };
  const api = createSel4Api({ enter }, last);
  const view = () => implLayer.view(state);
  return {
    api,
    get state() {
      return state;
    },
    rootCNode: plan.rootCNode,
    raiseNext: (r) => {
      raise = r;
    },
    reissue: (r) => {
      raise = r;
      return enter({ kind: 'syscall', user: { regs: [], ipcBuffer: [] } });
    },
    obs: () => last,
    witness: () => witness,
    cap: (index) => view().cap({ cnode: plan.rootCNode, index }),
    capAt: (slot) => view().cap(slot),
    units: () => view().workUnitsCompleted() ?? -1,
    untyped: (sizeBits) => {
      const i = plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= sizeBits);
      if (i < 0) throw new Error(`no untyped of 2^${sizeBits}`);
      return plan.bootInfo.untyped.start + i;
    },
  };
}

/** IRQ 5 issued to root slot 90 (Signal, no notification: its delivery only claims it). */
function withIrq(r: PRoot): void {
  expect(r.api.seL4_IRQControl_Get(seL4_CapIRQControl, IRQ, CNODE, IRQ_SLOT, D)).toBe(E.seL4_NoError);
}

function ack(r: PRoot): void {
  expect(r.api.seL4_IRQHandler_Ack(IRQ_SLOT)).toBe(E.seL4_NoError);
}

/** The first point at or after `from` (counted in the entry) where the counter, starting at `units`, reaches the limit. */
function stopPoint(units: number, limit: number, from: number): number {
  let point = from;
  while ((units + point) % limit !== 0) point++;
  return point;
}

function copies(r: PRoot, from: number, n: number): void {
  for (let i = 0; i < n; i++) expect(r.api.seL4_CNode_Copy(CNODE, from + 1 + i, D, CNODE, from, D, 0xf)).toBe(E.seL4_NoError);
}

function countCaps(r: PRoot, from: number, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (r.cap(from + i)?.type !== 'null') count++;
  return count;
}

/** The root's a1 after the entry: the message info it sent (no reply written) or a reply's. */
function a1(r: PRoot): number {
  return r.obs().caller!.regs[Reg.a1]!;
}

describe('impl preemption points', () => {
  it('a revoke of many copies stops at the check after the raised interrupt and the re-issued syscall finishes it', () => {
    const limit = 7;
    const r = boot(limit);
    withIrq(r);
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1)).toBe(E.seL4_NoError);
    copies(r, EP, 30);
    const units = r.units();
    r.raiseNext({ irq: IRQ, afterWorkUnits: 3 });
    r.api.seL4_CNode_Revoke(CNODE, EP, D);
    const done = stopPoint(units, limit, 3);
    expect(r.obs().preempted).toEqual({ at: 'revoke', reason: 'irq' });
    expect(r.obs().restarted).toBe(true);
    // The revoke's point after its done-th deletion: the entry's done-th point.
    expect(r.witness().at(-1)).toEqual({ point: 'preemption', at: 'revoke', entryPoint: done });
    expect(r.witness().filter((c) => c.point === 'revoke')).toHaveLength(done);
    expect(countCaps(r, EP + 1, 30)).toBe(30 - done);
    expect(r.units()).toBe(0);
    // no reply: a1 still holds the Revoke's message info; the root runs again (activateThread)
    expect(a1(r)).toBe(seL4_MessageInfo_new(InvocationLabel.CNodeRevoke, 0, 0, 2));
    expect(r.obs().caller!.state).toBe('Running');
    expect(r.obs().current).toBe(r.obs().caller!.tcb);
    // the interrupt was taken by checkInterrupt: claimed until Ack
    expect(implLayer.view(r.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });
    // made again: the rest is deleted, the original stays
    const obs = r.reissue();
    expect(obs.preempted).toBeUndefined();
    expect(obs.restarted).toBe(false);
    expect(countCaps(r, EP + 1, 30)).toBe(0);
    expect(r.cap(EP)).toMatchObject({ type: 'endpoint' });
    expect(a1(r)).toBe(seL4_MessageInfo_new(0, 0, 0, 0));
    expect(r.units()).toBe((30 - done) % limit);
  });

  it('an exposed delete of a CNode leaves its Zombie with a lower count after each preempted attempt', () => {
    const limit = 3;
    const r = boot(limit);
    withIrqs(r, 16);
    expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_CapTableObject, 4, CNODE, 0, 0, 200, 1)).toBe(E.seL4_NoError);
    let count = 16;
    r.raiseNext({ irq: 1, afterWorkUnits: 1 });
    r.api.seL4_CNode_Delete(CNODE, 200, D);
    let attempts = 1;
    while (r.obs().preempted !== undefined) {
      expect(r.obs().preempted).toEqual({ at: 'finalise', reason: 'irq' });
      const zombie = r.cap(200);
      expect(zombie).toMatchObject({ type: 'zombie', zombieType: 4 });
      const now = (zombie as { count: number }).count;
      expect(now).toBeLessThan(count);
      count = now;
      // the attempt stopped at its first check: the counter had `limit` units to go at most
      expect(r.units()).toBe(0);
      attempts++;
      r.reissue({ irq: attempts, afterWorkUnits: 1 });
      if (r.obs().preempted !== undefined) expect((r.cap(200) as { count: number }).count).toBe(Math.max(count - limit, 0));
    }
    expect(r.cap(200)).toEqual({ type: 'null' });
    expect(attempts).toBe(Math.ceil(16 / limit) + 1);
  });

  it('a reset is preempted per chunk: the free index lowered one chunk at a time, each chunk zeroed, the rest kept', () => {
    const r = boot(1);
    withIrqs(r, 5);
    // a 2^12 untyped child, a TCB in it with non-zero registers, then deleted
    expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_UntypedObject, 12, CNODE, 0, 0, 300, 1)).toBe(E.seL4_NoError);
    const ut = r.cap(300) as { ptr: number };
    expect(r.api.seL4_Untyped_Retype(300, T.seL4_TCBObject, 0, CNODE, 0, 0, 301, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_WriteRegisters(301, false, 0, 32, Array.from({ length: 32 }, (_, i) => 0x1000 + i))).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Revoke(CNODE, 300, D)).toBe(E.seL4_NoError);
    const usedBytes = 1024;
    expect(r.cap(300)).toMatchObject({ type: 'untyped', freeIndex: usedBytes });
    const nonZero = (below: number) => {
      const words: number[] = [];
      for (let off = 0; off < below; off += 4) if (readUserWord(r.state, ut.ptr + off) !== 0) words.push(off);
      return words;
    };
    const before = nonZero(usedBytes);
    expect(before.length).toBeGreaterThan(0);
    r.raiseNext({ irq: 1, afterWorkUnits: 1 });
    r.api.seL4_Untyped_Retype(300, T.seL4_EndpointObject, 0, CNODE, 0, 0, 301, 1);
    let irq = 1;
    for (let free = usedBytes - 256; free > 0; free -= 256) {
      expect(r.obs().preempted).toEqual({ at: 'reset', reason: 'irq' });
      expect(r.cap(300)).toMatchObject({ type: 'untyped', freeIndex: free });
      expect(r.cap(301)).toEqual({ type: 'null' });
      expect(nonZero(usedBytes)).toEqual(before.filter((off) => off < free));
      irq++;
      r.reissue({ irq, afterWorkUnits: 1 });
    }
    // the last point comes after the free index reached 0: the reset is done, the Retype not
    expect(r.obs().preempted).toEqual({ at: 'reset', reason: 'irq' });
    expect(r.cap(300)).toMatchObject({ freeIndex: 0 });
    expect(nonZero(usedBytes)).toEqual([]);
    r.reissue();
    expect(r.obs().preempted).toBeUndefined();
    expect(r.cap(301)).toMatchObject({ type: 'endpoint', ptr: ut.ptr });
    expect(r.cap(300)).toMatchObject({ freeIndex: 16 });
  });

  it('a device untyped, and one smaller than a chunk, are reset at once with no point', () => {
    const r = boot(1);
    withIrqs(r, 2);
    // a 2^7 untyped child holding an endpoint, emptied: its reset clears 128 bytes at once
    expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_UntypedObject, 7, CNODE, 0, 0, 300, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(300, T.seL4_EndpointObject, 0, CNODE, 0, 0, 301, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Revoke(CNODE, 300, D)).toBe(E.seL4_NoError);
    const units = r.units();
    r.raiseNext({ irq: 1, afterWorkUnits: 1 });
    expect(r.api.seL4_Untyped_Retype(300, T.seL4_NotificationObject, 0, CNODE, 0, 0, 301, 1)).toBe(E.seL4_NoError);
    expect(r.obs().preempted).toBeUndefined();
    expect(r.units()).toBe(units);
    // a boot device untyped (full free index): its first Retype resets it without clearing or points
    const plan = planBoot({ maxWorkUnitsPerPreemption: 1 });
    const device = plan.untypeds.findIndex((u) => u.isDevice);
    expect(device).toBeGreaterThanOrEqual(0);
    r.raiseNext({ irq: 2, afterWorkUnits: 1 });
    expect(r.api.seL4_Untyped_Retype(plan.bootInfo.untyped.start + device, T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, 302, 1)).toBe(E.seL4_NoError);
    expect(r.obs().preempted).toBeUndefined();
    expect(r.units()).toBe(units);
  });

  it('deleting the caller\'s own SC stops the operation at the next check for the budget, with no interrupt', () => {
    const r = boot(1);
    expect(r.api.seL4_Untyped_Retype(r.untyped(17), T.seL4_CapTableObject, 2, CNODE, 0, 0, 200, 1)).toBe(E.seL4_NoError);
    const cnode = r.cap(200) as { ptr: number };
    // the root's SC cap (its only one) moved into the CNode's last slot, reduced first
    expect(r.api.seL4_CNode_Move(200, 3, 2, CNODE, seL4_CapInitThreadSC, D)).toBe(E.seL4_NoError);
    expect(r.capAt({ cnode: cnode.ptr, index: 3 })).toMatchObject({ type: 'schedcontext' });
    const tcb = r.obs().caller!.tcb;
    r.api.seL4_CNode_Delete(CNODE, 200, D);
    const obs = r.obs();
    expect(obs.preempted).toEqual({ at: 'finalise', reason: 'budget' });
    expect(obs.restarted).toBe(true);
    expect(r.capAt({ cnode: cnode.ptr, index: 3 })).toEqual({ type: 'null' });
    expect(r.cap(200)).toMatchObject({ type: 'zombie', count: 3 });
    // the root, left in Restart with no SC, cannot run: the idle thread does
    expect(obs.current).toBeNull();
    expect(implLayer.view(r.state).object(tcb)).toMatchObject({ type: 'tcb', state: 'Restart' });
  });

  it('the work-unit counter is kept across entries and threads, and no other syscall changes it', () => {
    const limit = 10;
    const r = boot(limit);
    const ut = r.untyped(12);
    const sizeBits = (r.cap(ut) as { sizeBits: number }).sizeBits;
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1)).toBe(E.seL4_NoError);
    const afterReset = r.units();
    expect(afterReset).toBe(2 ** (sizeBits - 8) % limit); // the boot untyped's first Retype cleared all its chunks
    copies(r, EP, 3);
    expect(r.units()).toBe(afterReset);
    expect(r.api.seL4_CNode_Revoke(CNODE, EP, D)).toBe(E.seL4_NoError);
    const afterRevoke = (afterReset + 3) % limit;
    expect(r.units()).toBe(afterRevoke);
    r.api.seL4_Yield();
    copies(r, EP, 1);
    expect(r.units()).toBe(afterRevoke);
    expect(r.api.seL4_CNode_Revoke(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(r.units()).toBe((afterRevoke + 1) % limit);
  });

  it('a raise no point of the entry reached is raised when the work is done, and taken at the end of the entry', () => {
    const r = boot(1);
    withIrq(r);
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1)).toBe(E.seL4_NoError);
    copies(r, EP, 3);
    // three points, raised before a fourth: the revoke runs to its end, then the interrupt is taken
    r.raiseNext({ irq: IRQ, afterWorkUnits: 4 });
    expect(r.api.seL4_CNode_Revoke(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(r.obs().preempted).toBeUndefined();
    expect(countCaps(r, EP + 1, 3)).toBe(0);
    expect(implLayer.view(r.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });
    ack(r);
    // an entry with no points at all
    r.raiseNext({ irq: IRQ, afterWorkUnits: 1 });
    expect(r.api.seL4_CNode_Copy(CNODE, EP + 1, D, CNODE, EP, D, 0xf)).toBe(E.seL4_NoError);
    expect(implLayer.view(r.state).irq(IRQ)).toMatchObject({ pending: false, claimed: true });
    ack(r);
    // raised at its point: the revoke of two copies stops at the second
    copies(r, EP + 1, 2);
    r.raiseNext({ irq: IRQ, afterWorkUnits: 2 });
    r.api.seL4_CNode_Revoke(CNODE, EP, D);
    expect(r.obs().preempted).toEqual({ at: 'revoke', reason: 'irq' });
    expect(countCaps(r, EP + 1, 3)).toBe(1);
  });

  it('a preempted first phase of ReplyRecv (a Retype\'s reset) skips the receive; finished, the receive runs', () => {
    const r = boot(1);
    withIrq(r);
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1)).toBe(E.seL4_NoError);
    const ut = r.untyped(16);
    // the first phase invokes the cap in the reply register: an Untyped_Retype of a boot untyped (its reset: 256 chunks)
    const retype = [T.seL4_NotificationObject, 0, 0, 0, 150, 1];
    retype.forEach((w, i) => r.api.seL4_SetMR(i, w));
    r.api.seL4_SetCap(0, CNODE);
    r.raiseNext({ irq: IRQ, afterWorkUnits: 1 });
    r.api.seL4_ReplyRecv(EP, seL4_MessageInfo_new(InvocationLabel.UntypedRetype, 0, 1, 6), ut);
    expect(r.obs().preempted).toEqual({ at: 'reset', reason: 'irq' });
    expect(r.obs().caller!.state).toBe('Running');
    expect(r.obs().current).toBe(r.obs().caller!.tcb);
    expect(r.obs().caller!.regs[Reg.a7]).toBe(seL4_Syscall.seL4_SysReplyRecv >>> 0);
    // made again without interrupts: the reset and Retype finish, then the receive (the reply
    // register names an untyped, not a reply cap: a cap fault with no handler, the root stops)
    let obs = r.reissue();
    while (obs.preempted !== undefined) obs = r.reissue();
    expect(r.cap(150)).toMatchObject({ type: 'notification' });
    expect(obs.caller!.state).toBe('Inactive');
  });

  it('a TCB_Configure whose CSpace root deletion would have points is refused before it starts (slotCapLongRunningDelete)', () => {
    const r = boot(1);
    withIrqs(r, 1);
    const ut = r.untyped(17);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_TCBObject, 0, CNODE, 0, 0, 400, 1)).toBe(E.seL4_NoError);
    expect(r.api.seL4_Untyped_Retype(ut, T.seL4_CapTableObject, 4, CNODE, 0, 0, 401, 1)).toBe(E.seL4_NoError);
    const tcb = (r.cap(400) as { ptr: number }).ptr;
    const cnode = (r.cap(401) as { ptr: number }).ptr;
    expect(r.api.seL4_TCB_Configure(400, 401, 0, seL4_CapInitThreadVSpace, 0, 0, 0)).toBe(E.seL4_NoError);
    // the thread's slot 0 now holds the CNode's last cap: replacing it would be a long-running delete
    expect(r.api.seL4_CNode_Delete(CNODE, 401, D)).toBe(E.seL4_NoError);
    const units = r.units();
    r.raiseNext({ irq: 1, afterWorkUnits: 1 });
    expect(r.api.seL4_TCB_Configure(400, CNODE, 0, seL4_CapInitThreadVSpace, 0, 0, 0)).toBe(E.seL4_IllegalOperation);
    expect(r.obs().preempted).toBeUndefined();
    expect(r.units()).toBe(units);
    expect(r.capAt({ cnode: tcb, index: 0 })).toMatchObject({ type: 'cnode', ptr: cnode });
  });

  it('an exception is never preempted and counts no work units', () => {
    const r = boot(1);
    withIrq(r);
    const units = r.units();
    const obs = r.api.raiseException(2, 0);
    expect(obs.preempted).toBeUndefined();
    expect(obs.restarted).toBe(false);
    expect(r.units()).toBe(units);
    expect(implLayer.view(r.state).irq(IRQ)).toMatchObject({ pending: false, claimed: false });
  });
});
