// Interrupts, as seL4's interrupt.c with riscv's Arch_checkIRQ and
// Arch_decodeIRQControlInvocation (arch/riscv/object/interrupt.c) and the PLIC's part of
// hardware.c: IRQControl_Get and GetTrigger issue an IRQ handler cap, the IRQ handler
// invocations (Ack, SetNotification, Clear), deleting the last handler cap of an IRQ, and
// handleInterrupt.
//
// State (fields of ImplState): intStateIRQTable as `irqStates` (IrqStateNum per IRQ 0..maxIRQ;
// setIRQState masks exactly the Inactive lines), the PLIC's `irqPending` and `irqClaimed` per
// source, and `deliverableIRQs`, the number of sources pending, unmasked and unclaimed, so that
// the end of a kernel entry finds the interrupts to take with one comparison. Every change of
// these goes through setIRQState, raiseIRQ, claimIRQ and completeClaim, which keep the count.
// intStateIRQNode is kernel memory after RAM (state.ts): its slots are CTEs like any.
import {
  InvocationLabel,
  irqInvalid,
  irqStates,
  kernelTimerIRQ,
  maxIRQ,
  plicMaxIRQ,
  seL4_CanWrite,
  type IrqView,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { cteDeleteOne, cteInsert, isNullSlot, slotBytes, slotW0, slotW1 } from './cnode.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { sendSignal } from './notification.ts';
import { syscallArg, type InvocationContext } from './syscall.ts';
import { fail, type ImplState } from './state.ts';
import { CapTag, capRightsBits, capTag, endpointBadge, endpointPtr, type CapWords } from './structures.ts';

/** irq_state_t: the values of intStateIRQTable (irqStates of libsel4 by index). */
export const IrqStateNum = { Inactive: 0, Signal: 1, Timer: 2, Reserved: 3 } as const;

/** intStateIRQNode + irq: the IRQ's slot in the IRQ node. */
export function irqSlot(state: ImplState, irq: number): number {
  return state.irqNode + irq * slotBytes;
}

/** isIRQActive: the IRQ is issued (or the timer's). */
function isIRQActive(state: ImplState, irq: number): boolean {
  return state.irqStates[irq] !== IrqStateNum.Inactive;
}

/** The PLIC would interrupt the hart for this source: pending, enabled (not Inactive) and not claimed. */
function isDeliverable(state: ImplState, irq: number): boolean {
  return state.irqPending[irq] === 1 && state.irqClaimed[irq] === 0 && state.irqStates[irq] !== IrqStateNum.Inactive;
}

/** After one IRQ's fields changed: the count follows its deliverability. */
function recount(state: ImplState, irq: number, wasDeliverable: boolean): void {
  state.deliverableIRQs += (isDeliverable(state, irq) ? 1 : 0) - (wasDeliverable ? 1 : 0);
  if (state.debug) checkIrqInvariants(state);
}

/**
 * The count is right; the timer's line never pending or claimed at the PLIC; an IRQ node slot
 * holds nothing or a notification cap, and only for a Signal IRQ (valid_irq_handlers).
 */
function checkIrqInvariants(state: ImplState): void {
  let count = 0;
  for (let irq = 0; irq <= maxIRQ; irq++) {
    if (isDeliverable(state, irq)) count++;
    const tag = capTag(slotW0(state, irqSlot(state, irq)));
    if (tag !== CapTag.null && (tag !== CapTag.notification || state.irqStates[irq] !== IrqStateNum.Signal)) {
      fail(`IRQ node slot ${irq} holds a cap with tag ${tag} while its IRQ is in state ${state.irqStates[irq]}`);
    }
  }
  if (count !== state.deliverableIRQs) fail(`${state.deliverableIRQs} deliverable IRQs counted, ${count} found`);
  if (state.irqPending[kernelTimerIRQ] !== 0 || state.irqClaimed[kernelTimerIRQ] !== 0) fail('the timer IRQ is pending or claimed at the PLIC');
}

/** setIRQState: the table entry, and the line masked exactly when Inactive. */
export function setIRQState(state: ImplState, irqState: number, irq: number): void {
  const was = isDeliverable(state, irq);
  state.irqStates[irq] = irqState;
  recount(state, irq, was);
}

/** A device raises PLIC source `irq`: its pending bit is set. Numbers naming no source are ignored. */
export function raiseIRQ(state: ImplState, irq: number): void {
  if (!Number.isInteger(irq) || irq < 1 || irq > plicMaxIRQ) return;
  const was = isDeliverable(state, irq);
  state.irqPending[irq] = 1;
  recount(state, irq, was);
}

/** plic_get_claim: the kernel claims a deliverable source (pending cleared, claimed set). */
function claimIRQ(state: ImplState, irq: number): void {
  if (state.debug && !isDeliverable(state, irq)) fail(`claiming IRQ ${irq}, which is not deliverable`);
  state.irqPending[irq] = 0;
  state.irqClaimed[irq] = 1;
  recount(state, irq, true);
}

/** plic_complete_claim: the source may be delivered again. */
function completeClaim(state: ImplState, irq: number): void {
  const was = isDeliverable(state, irq);
  state.irqClaimed[irq] = 0;
  recount(state, irq, was);
}

/** getActiveIRQ for device interrupts: claims the lowest deliverable source (there is one). */
export function claimLowestDeliverable(state: ImplState): number {
  for (let irq = 1; irq <= plicMaxIRQ; irq++) {
    if (isDeliverable(state, irq)) {
      claimIRQ(state, irq);
      return irq;
    }
  }
  return fail(`${state.deliverableIRQs} deliverable IRQs counted, none found`);
}

/**
 * handleInterrupt: a Signal IRQ signals the notification whose cap its IRQ node slot holds, if
 * that cap may send (else nothing: no handler); the timer asks for a new deadline. riscv does
 * not mask the line; ackInterrupt only forgets the kernel's active IRQ (the PLIC claim stays).
 */
export function handleInterrupt(state: ImplState, irq: number): void {
  switch (state.irqStates[irq]) {
    case IrqStateNum.Signal: {
      const slot = irqSlot(state, irq);
      const w0 = slotW0(state, slot);
      const w1 = slotW1(state, slot);
      if (capTag(w0) === CapTag.notification && (capRightsBits(w1) & seL4_CanWrite) !== 0) {
        sendSignal(state, { op: 'signal', ntfn: endpointPtr(w1), badge: endpointBadge(w0) });
      }
      return;
    }
    case IrqStateNum.Timer:
      state.reprogram = true; // ackDeadlineIRQ
      return;
    case IrqStateNum.Reserved:
      return;
    default:
      fail(`IRQ ${irq} taken while masked (Inactive)`);
  }
}

// ---- invocations ----

export type IrqInvocation =
  | { readonly op: 'irqIssue'; readonly irq: number; readonly control: number; readonly dest: number }
  | { readonly op: 'irqAck' | 'irqClear'; readonly irq: number }
  | { readonly op: 'irqSetNotification'; readonly irq: number; readonly cap: CapWords; readonly src: number };

const truncated: SyscallError = { error: 'TruncatedMessage' };
const illegal: SyscallError = { error: 'IllegalOperation' };

/**
 * decodeIRQControlInvocation: Get (MR0 irq, MR1 index, MR2 depth) or riscv's GetTrigger (MR0
 * irq, MR1 trigger, MR2 index, MR3 depth), extra cap 0 the destination's root. The PLIC has
 * HAVE_SET_TRIGGER; the trigger itself is not modelled. Any other label: IllegalOperation.
 */
export function decodeIRQControlInvocation(state: ImplState, ctx: InvocationContext, control: number): IrqInvocation | SyscallError {
  if (ctx.label === InvocationLabel.IRQIssueIRQHandler) {
    if (ctx.length < 3 || ctx.extraCaps.length < 1) return truncated;
    return decodeIssue(state, ctx, control, syscallArg(state, ctx, 0), syscallArg(state, ctx, 1), syscallArg(state, ctx, 2));
  }
  if (ctx.label === InvocationLabel.RISCVIRQIssueIRQHandlerTrigger) {
    if (ctx.length < 4 || ctx.extraCaps.length < 1) return truncated;
    return decodeIssue(state, ctx, control, syscallArg(state, ctx, 0), syscallArg(state, ctx, 2), syscallArg(state, ctx, 3));
  }
  return illegal;
}

/** Arch_checkIRQ (the whole word), isIRQActive, lookupTargetSlot, ensureEmptySlot: in seL4's order. */
function decodeIssue(state: ImplState, ctx: InvocationContext, control: number, irq: Word, index: Word, depth: Word): IrqInvocation | SyscallError {
  if (irq > maxIRQ || irq === irqInvalid) return { error: 'RangeError', min: 1, max: maxIRQ };
  if (isIRQActive(state, irq)) return { error: 'RevokeFirst' };
  const dest = lookupSlotForCNodeOp(state, false, ctx.extraCaps[0]!, index, depth);
  if (typeof dest !== 'number') return dest;
  if (!isNullSlot(state, dest)) return { error: 'DeleteFirst' };
  return { op: 'irqIssue', irq, control, dest };
}

/** decodeIRQHandlerInvocation: Ack, SetNotification (extra cap 0: a notification cap with Write), Clear. */
export function decodeIRQHandlerInvocation(state: ImplState, ctx: InvocationContext, irq: number): IrqInvocation | SyscallError {
  switch (ctx.label) {
    case InvocationLabel.IRQAckIRQ:
      return { op: 'irqAck', irq };
    case InvocationLabel.IRQSetIRQHandler: {
      if (ctx.extraCaps.length < 1) return truncated;
      const src = ctx.extraCaps[0]!;
      const cap = { w0: slotW0(state, src), w1: slotW1(state, src) };
      if (capTag(cap.w0) !== CapTag.notification || (capRightsBits(cap.w1) & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
      return { op: 'irqSetNotification', irq, cap, src };
    }
    case InvocationLabel.IRQClearIRQHandler:
      return { op: 'irqClear', irq };
    default:
      return illegal;
  }
}

/**
 * invokeIRQControl (the IRQ becomes Signal, unmasked; its handler cap is the control cap's
 * child), invokeIRQHandler_AckIRQ (plic_complete_claim), _SetIRQHandler (the IRQ node slot's
 * cap deleted, then the extra cap inserted as it is, after its source) and _ClearIRQHandler.
 */
export function performIrqInvocation(state: ImplState, inv: IrqInvocation): void {
  switch (inv.op) {
    case 'irqIssue':
      setIRQState(state, IrqStateNum.Signal, inv.irq);
      cteInsert(state, CapTag.irqhandler, inv.irq, inv.control, inv.dest);
      return;
    case 'irqAck':
      completeClaim(state, inv.irq);
      return;
    case 'irqSetNotification': {
      const slot = irqSlot(state, inv.irq);
      cteDeleteOne(state, slot);
      cteInsert(state, inv.cap.w0, inv.cap.w1, inv.src, slot);
      return;
    }
    case 'irqClear':
      cteDeleteOne(state, irqSlot(state, inv.irq));
  }
  if (state.debug) checkIrqInvariants(state);
}

/** deletingIRQHandler: finalising the last handler cap of `irq` deletes its notification cap. */
export function deletingIRQHandler(state: ImplState, irq: number): void {
  if (state.debug && (irq === irqInvalid || irq >= kernelTimerIRQ)) fail(`a handler cap of IRQ ${irq}, which Get never issues`);
  cteDeleteOne(state, irqSlot(state, irq));
}

/** deletedIRQHandler (postCapDeletion): the IRQ is Inactive again, masked. */
export function deletedIRQHandler(state: ImplState, irq: number): void {
  setIRQState(state, IrqStateNum.Inactive, irq);
}

/** Boot (init_irqs): every IRQ Inactive but the kernel timer's. */
export function initIRQs(state: ImplState): void {
  setIRQState(state, IrqStateNum.Timer, kernelTimerIRQ);
}

/** The view of IRQ line `irq` (0..maxIRQ). */
export function irqView(state: ImplState, irq: number): IrqView {
  if (!Number.isInteger(irq) || irq < 0 || irq > maxIRQ) throw new RangeError(`IRQ ${irq} is outside 0..${maxIRQ}`);
  return {
    irq,
    state: irqStates[state.irqStates[irq]!] ?? fail(`IRQ ${irq}: invalid state ${state.irqStates[irq]}`),
    pending: state.irqPending[irq] === 1,
    claimed: state.irqClaimed[irq] === 1,
  };
}
