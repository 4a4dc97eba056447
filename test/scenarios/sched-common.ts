// What the scheduling and IPC scenarios share: the modes they run in, where the root task
// retypes from, and a booted system with its helpers' slots.
import { expect } from 'vitest';
import { seL4_CapInitThreadCNode, seL4_CapInitThreadTCB, seL4_Error, seL4_MinSchedContextBits, seL4_ObjectType, type BootInfo, type LayerName, type ObjectView, type Stub } from '../../libsel4/index.ts';
import { runSystem, startThread, type Program, type ProgramContext, type RunResult } from '../../refinement/run.ts';
import { bootSystem, type System } from '../../refinement/system.ts';

export const modes: (LayerName | 'lockstep')[] = ['abstract', 'executable', 'impl', 'lockstep'];

/** The root CNode slot of the biggest non-device untyped. */
export function biggestUntypedSlot(bi: BootInfo): number {
  const biggest = bi.untypedList.reduce((best, u, i) => (!u.isDevice && u.sizeBits > bi.untypedList[best]!.sizeBits ? i : best), 0);
  return bi.untyped.start + biggest;
}

type TcbView = Extract<ObjectView, { type: 'tcb' }>;

/** A booted system; helper i's TCB and SC caps go in root slots 2i and 2i + 1 from the first free one. */
export class HelperSlots {
  readonly system: System;
  protected readonly firstSlot: number;

  constructor(mode: LayerName | 'lockstep') {
    this.system = bootSystem({ layer: mode });
    this.firstSlot = this.system.plan.bootInfo.empty.start;
  }

  /** The TCB cap's slot of helper `i`; its SC's is the next one. */
  tcbSlot(i: number): number {
    return this.firstSlot + 2 * i;
  }

  /** The object the cap in root slot `slot` names. */
  protected ptrOf(slot: number): number {
    const cap = this.system.view().cap({ cnode: this.system.plan.rootCNode, index: slot });
    if (!cap || !('ptr' in cap)) throw new Error(`slot ${slot} names no object`);
    return cap.ptr;
  }

  tcbPtr(i: number): number {
    return this.ptrOf(this.tcbSlot(i));
  }

  tcb(i: number | 'root'): TcbView {
    const o = this.system.view().object(i === 'root' ? this.system.plan.rootTCB : this.tcbPtr(i));
    if (o?.type !== 'tcb') throw new Error(`helper ${i} has no TCB`);
    return o;
  }
}

export interface Helper {
  readonly program: Program;
  readonly priority: number;
  /** An IPC buffer (a new frame), needed for messages longer than four words and for caps. */
  readonly buffer?: boolean;
  readonly budgetUs?: bigint;
  /** The SC's period (default: the budget, a full budget). */
  readonly periodUs?: bigint;
  /** Arguments in a0, a1, ... */
  readonly args?: readonly number[];
}

/**
 * A booted system and where things go in the root CNode: helper i's TCB and SC caps at 2i, 2i+1
 * from the first free slot; objects from +40 (`object(j)`); frames from +80; free slots from +120.
 */
export class Scenario extends HelperSlots {
  object(j: number): number {
    return this.firstSlot + 40 + j;
  }

  free(j: number): number {
    return this.firstSlot + 120 + j;
  }

  /** The object a root slot's cap names, as the view shows it. */
  view(slot: number): ObjectView {
    const o = this.system.view().object(this.ptrOf(slot));
    if (!o) throw new Error(`slot ${slot} names no object`);
    return o;
  }

  scOf(i: number | 'root'): number {
    return i === 'root' ? this.system.plan.rootSC : this.ptrOf(this.tcbSlot(i) + 1);
  }

  /** Retypes one object of `type` into root slot `slot`. */
  *retype(sys: ProgramContext, type: number, slot: number): Stub<void> {
    expect(yield* sys.api.seL4_Untyped_Retype(biggestUntypedSlot(sys.plan.bootInfo), type, 0, seL4_CapInitThreadCNode, 0, 0, slot, 1)).toBe(seL4_Error.seL4_NoError);
  }

  /** Starts helpers in order as helpers `from`, `from` + 1, ..., each resumed last. */
  *start(sys: ProgramContext, helpers: readonly Helper[], from = 0): Stub<void> {
    const untyped = biggestUntypedSlot(sys.plan.bootInfo);
    for (const [n, h] of helpers.entries()) {
      const i = from + n;
      const tcb = this.tcbSlot(i);
      const budgetUs = h.budgetUs ?? 10_000n;
      expect(yield* startThread(sys, { program: h.program, untyped, slot: tcb, priority: h.priority, budgetUs, periodUs: h.periodUs ?? budgetUs, args: h.args, resume: false })).toBe(seL4_Error.seL4_NoError);
      if (h.buffer) {
        const frame = this.firstSlot + 80 + i;
        yield* this.retype(sys, seL4_ObjectType.seL4_RISCV_4K_Page, frame);
        expect(yield* sys.api.seL4_TCB_SetIPCBuffer(tcb, 0x2000_0000 + 0x1000 * i, frame)).toBe(seL4_Error.seL4_NoError);
      }
      expect(yield* sys.api.seL4_TCB_Resume(tcb)).toBe(seL4_Error.seL4_NoError);
    }
  }

  /** Retypes a scheduling context into root slot `slot`, configured with 10 ms every 10 ms unless `configure` is false. */
  *newSchedContext(sys: ProgramContext, slot: number, configure = true): Stub<void> {
    const { bootInfo } = sys.plan;
    expect(yield* sys.api.seL4_Untyped_Retype(biggestUntypedSlot(bootInfo), seL4_ObjectType.seL4_SchedContextObject, seL4_MinSchedContextBits, seL4_CapInitThreadCNode, 0, 0, slot, 1)).toBe(seL4_Error.seL4_NoError);
    if (configure) expect(yield* sys.api.seL4_SchedControl_ConfigureFlags(bootInfo.schedcontrol.start, slot, 10_000n, 10_000n, 0, 0, 0)).toBe(seL4_Error.seL4_NoError);
  }

  /** Sets the root task's priority: below its helpers, they run when it does. */
  *rootPriority(sys: ProgramContext, priority: number): Stub<void> {
    expect(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, priority)).toBe(seL4_Error.seL4_NoError);
  }

  /** Takes helper i's own SC away from it (it becomes passive), or gives it back. */
  *ownSC(sys: ProgramContext, i: number, bound: boolean): Stub<void> {
    const sc = this.tcbSlot(i) + 1;
    const error = bound ? yield* sys.api.seL4_SchedContext_Bind(sc, this.tcbSlot(i)) : yield* sys.api.seL4_SchedContext_Unbind(sc);
    expect(error).toBe(seL4_Error.seL4_NoError);
  }

  run(root: Program): RunResult {
    return runSystem(root, { system: this.system, maxSteps: 5000 });
  }
}
