// A booted abstract layer with two new threads, two scheduling contexts (2^8) and an
// endpoint, for the tests of TCB, SchedControl and SchedContext invocations and scheduling.
import {
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapInitThreadSC,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_ObjectType as T,
  type ObjectView,
  type SchedulerView,
} from '../../libsel4/index.ts';
import { bootHarness, type Harness } from './harness.ts';
import { bigUntyped } from './spaces.ts';

export const ROOT_TCB = seL4_CapInitThreadTCB;
export const ROOT_CNODE = seL4_CapInitThreadCNode;
export const ROOT_VSPACE = seL4_CapInitThreadVSpace;
export const ROOT_IPC_BUFFER = seL4_CapInitThreadIPCBuffer;
export const ROOT_SC = seL4_CapInitThreadSC;
export const ok = seL4_Error.seL4_NoError;

export interface World {
  readonly h: Harness;
  /** Root CNode slots of the two new TCBs, the two SCs and the endpoint. */
  readonly t0: number;
  readonly t1: number;
  readonly s0: number;
  readonly s1: number;
  readonly ep: number;
  /** The SchedControl cap's slot. */
  readonly control: number;
  /** The address of the object named by the cap in a root CNode slot. */
  addr(slot: number): number;
  tcb(slot: number): Extract<ObjectView, { type: 'tcb' }>;
  sc(slot: number): Extract<ObjectView, { type: 'schedcontext' }>;
  sched(): SchedulerView;
}

export function world(): World {
  const h = bootHarness();
  const api = h.api;
  const f = h.free;
  const untyped = bigUntyped(h);
  const made = [
    api.seL4_Untyped_Retype(untyped, T.seL4_TCBObject, 0, ROOT_CNODE, 0, 0, f, 2),
    api.seL4_Untyped_Retype(untyped, T.seL4_SchedContextObject, 8, ROOT_CNODE, 0, 0, f + 2, 2),
    api.seL4_Untyped_Retype(untyped, T.seL4_EndpointObject, 0, ROOT_CNODE, 0, 0, f + 4, 1),
  ];
  if (made.some((e) => e !== ok)) throw new Error(`setting up the world failed: ${made.join(', ')}`);
  const addr = (slot: number): number => {
    const cap = h.view().cap(h.root(slot));
    if (cap === null || !('ptr' in cap)) throw new Error(`no object cap in slot ${slot}`);
    return cap.ptr;
  };
  const object = <K extends ObjectView['type']>(slot: number, type: K): Extract<ObjectView, { type: K }> => {
    const o = h.view().object(addr(slot));
    if (o?.type !== type) throw new Error(`slot ${slot} does not name a ${type}`);
    return o as Extract<ObjectView, { type: K }>;
  };
  return {
    h, t0: f, t1: f + 1, s0: f + 2, s1: f + 3, ep: f + 4, control: h.plan.bootInfo.schedcontrol.start,
    addr,
    tcb: (slot) => object(slot, 'tcb'),
    sc: (slot) => object(slot, 'schedcontext'),
    sched: () => h.view().scheduler(),
  };
}

/** µs to ticks, for expected values. */
export const ticks = (us: number): bigint => BigInt(us) * 10n;

/**
 * Gives thread `t` the root's CSpace and VSpace, SC `s` configured with `budgetUs` per
 * `periodUs` (round robin when equal) and priority `priority`, then resumes it.
 */
export function runnable(w: World, t: number, s: number, priority: number, budgetUs: number, periodUs = budgetUs, flags = 0, extraRefills = 0): void {
  const api = w.h.api;
  const results = [
    api.seL4_TCB_Configure(t, ROOT_CNODE, 0, ROOT_VSPACE, 0, 0, 0),
    api.seL4_SchedControl_ConfigureFlags(w.control, s, BigInt(budgetUs), BigInt(periodUs), extraRefills, 0, flags),
    api.seL4_TCB_SetSchedParams(t, ROOT_TCB, priority, priority, s, 0),
    api.seL4_TCB_Resume(t),
  ];
  if (results.some((e) => e !== ok)) throw new Error(`making thread ${t} runnable failed: ${results.join(', ')}`);
}
