// A root task driving the impl layer through libsel4's user-side calls, with shorthands
// for the root CNode's slots and for reading error replies.
import {
  createSel4Api,
  planBoot,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_ObjectType,
  type BootConfigInput,
  type BootPlan,
  type Cap,
  type KernelEvent,
  type Observation,
  type Sel4Api,
  type SlotRef,
  type Touched,
  type Witness,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer, implLayer, type ImplLayerOptions, type ImplState } from '../../impl/index.ts';
import { decodeObject } from '../../impl/decode.ts';

export interface Root {
  readonly plan: BootPlan;
  readonly api: Sel4Api;
  readonly state: ImplState;
  readonly lastTouched: Touched;
  /** The choices the last entry witnessed. */
  readonly lastWitness: Witness;
  /** Slot `index` of the root CNode. */
  slot(index: number): SlotRef;
  cap(index: number): Cap | null;
  parent(index: number): SlotRef | null;
  /** The message registers of the last reply, `n` of them. */
  mrs(n: number): number[];
  /** The first boot untyped of at least 2^sizeBits bytes (non-device). */
  untyped(sizeBits: number): number;
  obs(): Observation;
  enter(event: KernelEvent): Observation;
}

export const T = seL4_ObjectType;
/** CNode slot of the root CNode cap, and the depth that addresses root slots directly. */
export const CNODE = 2;
export const D = 32;

export function bootRoot(config: BootConfigInput = {}, options?: ImplLayerOptions): Root {
  const layer = options === undefined ? implLayer : createImplLayer(options);
  const plan = planBoot(config);
  let state = layer.boot(plan);
  let lastTouched: Touched = { slots: [], objects: [] };
  let lastWitness: Witness = [];
  const enter = (event: KernelEvent): Observation => {
    const [outcome] = layer.step(state, event);
    state = outcome!.state;
    lastTouched = outcome!.touched;
    lastWitness = outcome!.witness ?? [];
    return outcome!.observation;
  };
  const api = createSel4Api({ enter }, layer.observe(state, plan.rootTCB));
  const view = () => layer.view(state);
  return {
    plan,
    api,
    get state() {
      return state;
    },
    get lastTouched() {
      return lastTouched;
    },
    get lastWitness() {
      return lastWitness;
    },
    slot: (index) => ({ cnode: plan.rootCNode, index }),
    cap: (index) => view().cap({ cnode: plan.rootCNode, index }),
    parent: (index) => view().cdtParent({ cnode: plan.rootCNode, index }),
    mrs: (n) => Array.from({ length: n }, (_, i) => api.seL4_GetMR(i)),
    untyped: (sizeBits) => {
      const i = plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= sizeBits);
      if (i < 0) throw new Error(`no untyped of 2^${sizeBits}`);
      return plan.bootInfo.untyped.start + i;
    },
    obs: () => api.lastObservation(),
    enter,
  };
}

/** The first device untyped's slot. */
export function deviceUntyped(root: Root): number {
  const i = root.plan.untypeds.findIndex((u) => u.isDevice);
  return root.plan.bootInfo.untyped.start + i;
}

/**
 * A resumed thread in the root's CSpace and VSpace: its TCB in root slot `slot`, its SC
 * (configured with `budgetUs` / `periodUs` and `flags`) in slot + 1, its IPC buffer frame
 * (at vaddr 0x2000) in slot + 2. Returns the TCB's address.
 */
export function makeThread(r: Root, slot: number, priority: number, sc: { budgetUs: bigint; periodUs: bigint; flags: number }): number {
  const ut = r.untyped(16);
  const check = (what: string, err: number) => {
    if (err !== 0) throw new Error(`makeThread: ${what} failed with error ${err}`);
  };
  check('TCB retype', r.api.seL4_Untyped_Retype(ut, T.seL4_TCBObject, 0, CNODE, 0, 0, slot, 1));
  check('SC retype', r.api.seL4_Untyped_Retype(ut, T.seL4_SchedContextObject, 8, CNODE, 0, 0, slot + 1, 1));
  check('frame retype', r.api.seL4_Untyped_Retype(ut, T.seL4_RISCV_4K_Page, 0, CNODE, 0, 0, slot + 2, 1));
  check('ConfigureFlags', r.api.seL4_SchedControl_ConfigureFlags(r.plan.bootInfo.schedcontrol.start, slot + 1, sc.budgetUs, sc.periodUs, 0, 0, sc.flags));
  check('Configure', r.api.seL4_TCB_Configure(slot, CNODE, 0, seL4_CapInitThreadVSpace, 0, 0x2000, slot + 2));
  check('SetSchedParams', r.api.seL4_TCB_SetSchedParams(slot, seL4_CapInitThreadTCB, priority, priority, slot + 1, 0));
  check('Resume', r.api.seL4_TCB_Resume(slot));
  return (r.cap(slot) as { ptr: number }).ptr;
}

/** A TCB's 32 registers, read from the impl's memory. */
export function regsOf(r: Root, tcb: number): readonly Word[] {
  const object = decodeObject(r.state, tcb);
  if (object === null || object.type !== 'tcb') throw new Error(`no TCB at ${tcb.toString(16)}`);
  return object.regs;
}
