// Preemptible operations (docs/sel4-facts.md section 26): Revoke, finalisation and untyped reset
// stop at a preemption point when a device interrupt is pending (or the current SC is gone),
// the caller is left Restart, and the next attempt continues from the state left behind. Each
// scenario runs on every layer and in lockstep; sel4test's PREEMPT_REVOKE is the first, scaled.
import { describe, expect, it } from 'vitest';
import {
  InvocationLabel,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapNull,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  type BootConfigInput,
  type Cap,
  type LayerName,
  type Observation,
} from '../../libsel4/index.ts';
import { runSystem, startThread, type Program } from '../../refinement/run.ts';
import { bootSystem, type System } from '../../refinement/system.ts';
import { biggestUntypedSlot, modes } from './sched-common.ts';

const R = seL4_CapInitThreadCNode;
const E = seL4_Error;
const T = seL4_ObjectType;
/** The PLIC source every scenario raises. */
const irq = 1;

interface Booted {
  readonly sys: System;
  readonly big: number;
  /** Free root slots from here. */
  readonly free: number;
  /** The root slot of IRQ 1's handler cap. */
  readonly handler: number;
  cap(slot: number): Cap;
  capIn(cnodeSlot: number, index: number): Cap;
  /** The syscall armed with IRQ 1 raised before its `units`-th point, the handler acknowledged after. */
  armed<R>(units: number, call: () => R): { result: R; observation: Observation };
}

function boot(mode: LayerName | 'lockstep', config: BootConfigInput): Booted {
  const sys = bootSystem({ layer: mode, config });
  const bi = sys.plan.bootInfo;
  const free = bi.empty.start + 1;
  const handler = bi.empty.start;
  expect(sys.api.seL4_IRQControl_Get(seL4_CapIRQControl, irq, R, handler, 32)).toBe(E.seL4_NoError);
  const cap = (slot: number) => sys.view().cap({ cnode: sys.plan.rootCNode, index: slot })!;
  return {
    sys,
    big: biggestUntypedSlot(bi),
    free,
    handler,
    cap,
    capIn(cnodeSlot, index) {
      const cnode = cap(cnodeSlot);
      if (!('ptr' in cnode)) throw new Error(`root slot ${cnodeSlot} holds no CNode`);
      return sys.view().cap({ cnode: cnode.ptr, index })!;
    },
    armed(units, call) {
      sys.raiseDuringNext({ irq, afterWorkUnits: units });
      const result = call();
      const observation = sys.api.lastObservation();
      expect(sys.api.seL4_IRQHandler_Ack(handler)).toBe(E.seL4_NoError);
      return { result, observation };
    },
  };
}

/** Makes `call` again, armed at unit 1, until it is not preempted: the points where each attempt stopped. */
function untilDone(b: Booted, call: () => seL4_Error, after: (attempt: number) => void = () => {}): { result: seL4_Error; stops: string[] } {
  const stops: string[] = [];
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const { result, observation } = b.armed(1, call);
    if (observation.preempted === undefined) return { result, stops };
    expect(observation.restarted).toBe(true);
    stops.push(`${observation.preempted.at}/${observation.preempted.reason}`);
    after(attempt);
  }
  throw new Error('the call never completed');
}

/**
 * The abstract spec alone may stop at any point where stopping is allowed, or not (a choice: it
 * answers the outcome that runs to the end); in lockstep it stops where the layer below stopped.
 */
const stopping = modes.filter((m) => m !== 'abstract');

describe.each(stopping)('preemption on %s', (mode) => {
  it('PREEMPT_REVOKE, scaled: a revoke of 300 copies interrupted every 100 units wakes the driver between attempts', () => {
    const sys = bootSystem({ layer: mode });
    const bi = sys.plan.bootInfo;
    const [handler, ntfn, ep, driverTcb] = [bi.empty.start, bi.empty.start + 1, bi.empty.start + 2, bi.empty.start + 3];
    const copies = 300;
    const firstCopy = bi.empty.start + 10;
    let wakes = 0;
    let revokeUnderWay = false;
    let wakesDuringRevoke = 0;
    const driver: Program = function* driver(ctx) {
      for (;;) {
        yield* ctx.api.seL4_Wait(ntfn);
        wakes++;
        if (revokeUnderWay) wakesDuringRevoke++;
        yield* ctx.api.seL4_IRQHandler_Ack(handler);
      }
    };
    let revoked: seL4_Error | null = null;
    const root: Program = function* root(ctx) {
      const big = biggestUntypedSlot(bi);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_NotificationObject, 0, R, 0, 0, ntfn, 1)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, R, 0, 0, ep, 1)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_IRQControl_Get(seL4_CapIRQControl, irq, R, handler, 32)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_IRQHandler_SetNotification(handler, ntfn)).toBe(E.seL4_NoError);
      expect(yield* startThread(ctx, { program: driver, untyped: big, slot: driverTcb, priority: 255, budgetUs: 10_000n, periodUs: 10_000n })).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 100)).toBe(E.seL4_NoError);
      for (let i = 0; i < copies; i++) expect(yield* ctx.api.seL4_CNode_Copy(R, firstCopy + i, 32, R, ep, 32, 0xf)).toBe(E.seL4_NoError);
      revokeUnderWay = true;
      ctx.raiseAfter(irq, 100);
      revoked = yield* ctx.api.seL4_CNode_Revoke(R, ep, 32);
      revokeUnderWay = false;
    };
    runSystem(root, { system: sys, maxSteps: 2000 });
    expect(revoked).toBe(E.seL4_NoError);
    expect(wakesDuringRevoke).toBeGreaterThanOrEqual(2);
    expect(wakes).toBeGreaterThanOrEqual(wakesDuringRevoke);
    const view = sys.view();
    for (let i = 0; i < copies; i++) expect(view.cap({ cnode: sys.plan.rootCNode, index: firstCopy + i })).toEqual({ type: 'null' });
    expect(view.cap({ cnode: sys.plan.rootCNode, index: ep })?.type).toBe('endpoint');
  });

  it('a CNode holding the last cap to another, deleted with limit 1: its Zombie count goes down attempt by attempt, the inner one parked', () => {
    const b = boot(mode, { maxWorkUnitsPerPreemption: 1 });
    const [outer, inner] = [b.free, b.free + 1];
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_CapTableObject, 3, R, 0, 0, outer, 1)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_CapTableObject, 1, R, 0, 0, inner, 1)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_EndpointObject, 0, R, outer, 32, 0, 7)).toBe(E.seL4_NoError);
    const innerPtr = (b.cap(inner) as { ptr: number }).ptr;
    expect(b.sys.api.seL4_CNode_Move(outer, 7, 3, R, inner, 32)).toBe(E.seL4_NoError);
    const counts: number[] = [];
    const { result, stops } = untilDone(b, () => b.sys.api.seL4_CNode_Delete(R, outer, 32), () => {
      const zombie = b.cap(outer);
      expect(zombie.type).toBe('zombie');
      if (zombie.type === 'zombie') counts.push(zombie.count);
    });
    expect(result).toBe(E.seL4_NoError);
    expect(stops.length).toBeGreaterThanOrEqual(7);
    expect(new Set(stops)).toEqual(new Set(['finalise/irq']));
    expect(counts[0]!).toBeLessThanOrEqual(8);
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeLessThan(counts[i - 1]!);
    expect(b.cap(outer)).toEqual({ type: 'null' });
    expect(b.sys.view().cap({ cnode: innerPtr, index: 0 })).toEqual({ type: 'zombie', ptr: innerPtr, zombieType: 1, count: 2 });
  });

  it('a used 4 KiB untyped reset with limit 1: the free index goes down a chunk per attempt, the last attempt places the object at offset 0', () => {
    const b = boot(mode, { maxWorkUnitsPerPreemption: 1 });
    const [u, at] = [b.free, b.free + 1];
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_UntypedObject, 12, R, 0, 0, u, 1)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_Untyped_Retype(u, T.seL4_EndpointObject, 0, R, 0, 0, at, 256)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_CNode_Revoke(R, u, 32)).toBe(E.seL4_NoError);
    const freeIndexes: number[] = [];
    const { result, stops } = untilDone(b, () => b.sys.api.seL4_Untyped_Retype(u, T.seL4_EndpointObject, 0, R, 0, 0, at, 1), () => {
      const cap = b.cap(u);
      if (cap.type === 'untyped') freeIndexes.push(cap.freeIndex);
    });
    expect(result).toBe(E.seL4_NoError);
    expect(new Set(stops)).toEqual(new Set(['reset/irq']));
    expect(freeIndexes).toEqual(Array.from({ length: 16 }, (_, i) => 0xf00 - 0x100 * i));
    const untyped = b.cap(u);
    const endpoint = b.cap(at);
    expect(untyped.type === 'untyped' && endpoint.type === 'endpoint' && endpoint.ptr === untyped.ptr).toBe(true);
  });

  it('the budget clause: a delete of a CNode holding the root task\'s own SC stops with no interrupt; an SC bound again lets it finish', () => {
    const sys = bootSystem({ layer: mode, config: { maxWorkUnitsPerPreemption: 1 } });
    const bi = sys.plan.bootInfo;
    const [cnode, helperTcb, newSc, frame] = [bi.empty.start, bi.empty.start + 1, bi.empty.start + 3, bi.empty.start + 4];
    let seenStopped = false;
    const helper: Program = function* helper(ctx) {
      const root = sys.view().object(sys.plan.rootTCB);
      seenStopped = root?.type === 'tcb' && root.state === 'Restart' && root.schedContext === null;
      expect(yield* ctx.api.seL4_SchedContext_Bind(newSc, seL4_CapInitThreadTCB)).toBe(E.seL4_NoError);
    };
    let deleted: seL4_Error | null = null;
    const root: Program = function* root(ctx) {
      const big = biggestUntypedSlot(bi);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_CapTableObject, 2, R, 0, 0, cnode, 1)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_EndpointObject, 0, R, cnode, 32, 0, 3)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_SchedContextObject, seL4_MinSchedContextBits, R, 0, 0, newSc, 1)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_SchedControl_ConfigureFlags(bi.schedcontrol.start, newSc, 10_000n, 10_000n, 0, 0, 0)).toBe(E.seL4_NoError);
      // The helper's Bind sends a cap: it needs an IPC buffer.
      expect(yield* startThread(ctx, { program: helper, untyped: big, slot: helperTcb, priority: 10, budgetUs: 10_000n, periodUs: 10_000n, resume: false })).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_Untyped_Retype(big, T.seL4_RISCV_4K_Page, 0, R, 0, 0, frame, 1)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_TCB_SetIPCBuffer(helperTcb, 0x2000_0000, frame)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_TCB_Resume(helperTcb)).toBe(E.seL4_NoError);
      expect(yield* ctx.api.seL4_CNode_Move(cnode, 3, 2, R, seL4_CapInitThreadSC, 32)).toBe(E.seL4_NoError);
      deleted = yield* ctx.api.seL4_CNode_Delete(R, cnode, 32);
    };
    runSystem(root, { system: sys, maxSteps: 200 });
    expect(seenStopped).toBe(true);
    expect(deleted).toBe(E.seL4_NoError);
    expect(sys.view().cap({ cnode: sys.plan.rootCNode, index: cnode })).toEqual({ type: 'null' });
  });

  it('a ReplyRecv whose first phase is a Retype with a reset, preempted: no receive happens', () => {
    const b = boot(mode, { maxWorkUnitsPerPreemption: 1 });
    const [u, at, ntfn] = [b.free, b.free + 1, b.free + 2];
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_UntypedObject, 12, R, 0, 0, u, 1)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_Untyped_Retype(u, T.seL4_EndpointObject, 0, R, 0, 0, at, 1)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_CNode_Delete(R, at, 32)).toBe(E.seL4_NoError);
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_NotificationObject, 0, R, 0, 0, ntfn, 1)).toBe(E.seL4_NoError);
    const mrs = [T.seL4_EndpointObject, 0, 0, 0, at, 1];
    const info = seL4_MessageInfo_new(InvocationLabel.UntypedRetype, 0, 1, mrs.length);
    b.sys.raiseDuringNext({ irq, afterWorkUnits: 1 });
    mrs.forEach((w, i) => b.sys.api.seL4_SetMR(i, w));
    b.sys.api.seL4_SetCap(0, R);
    b.sys.api.seL4_ReplyRecv(ntfn, info, u);
    const observation = b.sys.api.lastObservation();
    expect(observation.preempted).toEqual({ at: 'reset', reason: 'irq' });
    const root = b.sys.view().object(b.sys.plan.rootTCB);
    expect(root?.type === 'tcb' ? root.state : null).not.toBe('BlockedOnNotification');
    expect(b.cap(at)).toEqual({ type: 'null' });
  });
});

describe.each(stopping)('the work unit count on %s', (mode) => {
  it('carries over between entries: a revoke is stopped at the deletion where the count reaches the limit', () => {
    const limit = 5;
    const b = boot(mode, { maxWorkUnitsPerPreemption: limit });
    const ep = b.free;
    expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_EndpointObject, 0, R, 0, 0, ep, 1)).toBe(E.seL4_NoError);
    for (const round of [0, 1, 2]) {
      for (let i = 1; i <= 3; i++) expect(b.sys.api.seL4_CNode_Copy(R, ep + i, 32, R, ep, 32, 0xf)).toBe(E.seL4_NoError);
      const before = b.sys.view().workUnitsCompleted()!;
      expect(before).toBeGreaterThanOrEqual(0);
      expect(before).toBeLessThan(limit);
      const { observation } = b.armed(1, () => b.sys.api.seL4_CNode_Revoke(R, ep, 32));
      const left = [1, 2, 3].filter((i) => b.cap(ep + i).type !== 'null').length;
      if (before + 3 >= limit) {
        expect(observation.preempted, `round ${round}`).toEqual({ at: 'revoke', reason: 'irq' });
        expect(3 - left).toBe(limit - before);
        expect(b.sys.view().workUnitsCompleted()).toBe(0);
        expect(b.sys.api.seL4_CNode_Revoke(R, ep, 32)).toBe(E.seL4_NoError);
      } else {
        expect(observation.preempted, `round ${round}`).toBeUndefined();
        expect(left).toBe(0);
        expect(b.sys.view().workUnitsCompleted()).toBe(before + 3);
      }
    }
  });
});

it('the abstract spec alone runs an armed operation to its end: stopping is a choice only a witness takes', () => {
  const b = boot('abstract', { maxWorkUnitsPerPreemption: 1 });
  const [outer, inner] = [b.free, b.free + 1];
  expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_CapTableObject, 3, R, 0, 0, outer, 1)).toBe(E.seL4_NoError);
  expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_CapTableObject, 1, R, 0, 0, inner, 1)).toBe(E.seL4_NoError);
  expect(b.sys.api.seL4_CNode_Move(outer, 7, 3, R, inner, 32)).toBe(E.seL4_NoError);
  const { result, observation } = b.armed(1, () => b.sys.api.seL4_CNode_Delete(R, outer, 32));
  expect(result).toBe(E.seL4_NoError);
  expect(observation.preempted).toBeUndefined();
  expect(b.cap(outer)).toEqual({ type: 'null' });
});

/**
 * seL4 refuses a TCB_SetSpace (and Configure) whose old CSpace root's deletion would be long
 * (slotCapLongRunningDelete: the last cap to a CNode), so a ThreadControlCaps invocation is never
 * preempted in practice.
 */
it.each(modes)('TCB_SetSpace replacing the last cap to a CNode is refused on %s: IllegalOperation, nothing deleted', (mode) => {
  const b = boot(mode, { maxWorkUnitsPerPreemption: 1 });
  const [tcb, cnode] = [b.free, b.free + 1];
  expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_TCBObject, 0, R, 0, 0, tcb, 1)).toBe(E.seL4_NoError);
  expect(b.sys.api.seL4_Untyped_Retype(b.big, T.seL4_CapTableObject, 2, R, 0, 0, cnode, 1)).toBe(E.seL4_NoError);
  expect(b.sys.api.seL4_TCB_Configure(tcb, cnode, 0, seL4_CapInitThreadVSpace, 0, 0, seL4_CapNull)).toBe(E.seL4_NoError);
  expect(b.sys.api.seL4_CNode_Delete(R, cnode, 32)).toBe(E.seL4_NoError);
  const tcbPtr = (b.cap(tcb) as { ptr: number }).ptr;
  const { result, observation } = b.armed(1, () => b.sys.api.seL4_TCB_SetSpace(tcb, seL4_CapNull, R, 0, seL4_CapInitThreadVSpace, 0));
  expect(result).toBe(E.seL4_IllegalOperation);
  expect(observation.preempted).toBeUndefined();
  expect(b.sys.view().cap({ cnode: tcbPtr, index: 0 })?.type).toBe('cnode');
});
