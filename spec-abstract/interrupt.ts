// Interrupts (l4v Interrupt_A invoke_irq_control, invoke_irq_handler, handle_interrupt;
// Decode_A decode_irq_control_invocation, decode_irq_handler_invocation; RISCV64 ArchDecode_A
// and ArchInterrupt_A; seL4's interrupt.c). Each IRQ line has a state (interrupt_states) and the
// PLIC's pending and claimed bits; the IRQ node holds one cap slot per IRQ, where SetNotification
// installs the notification cap a Signal line signals. A line is masked exactly when Inactive.
import {
  InvocationLabel,
  maxIRQ,
  plicMaxIRQ,
  seL4_CanWrite,
  type Cap,
  type CapOf,
  type SlotRef,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { cteInsert } from './cdt.ts';
import { cteDeleteOne } from './cnode.ts';
import { lookupSlotForCNodeOp } from './cspace.ts';
import { sendSignal } from './notification.ts';
import { irqSlot } from './objects.ts';
import { capAt, irqLineOf, irqLines, updateIrqLine, updateSched, type IrqLine, type Kernel, type Readable } from './state.ts';
import type { InvocationMessage } from './syscall.ts';

export type IrqState = IrqLine['state'];

/** IRQControl_Get and GetTrigger: an IRQ handler cap for `irq` into `dest`, a child of the control cap. */
export interface IRQControlInvocation {
  readonly irq: number;
  readonly dest: SlotRef;
  readonly control: SlotRef;
}

export type IRQHandlerInvocation =
  | { readonly op: 'ack'; readonly irq: number }
  | { readonly op: 'set'; readonly irq: number; readonly cap: CapOf<'notification'>; readonly src: SlotRef }
  | { readonly op: 'clear'; readonly irq: number };

type Decoded<T> = { readonly invocation: T } | { readonly error: SyscallError };

const truncated = { error: { error: 'TruncatedMessage' } } as const;
const illegal = { error: { error: 'IllegalOperation' } } as const;

/** is_irq_active: the line is issued (or the timer's). */
export function isIrqActive(s: Readable, irq: number): boolean {
  return irqLineOf(s, irq).state !== 'Inactive';
}

/** set_irq_state (the line is masked exactly when the state is Inactive: the state says it). */
export function setIrqState(k: Kernel, irq: number, state: IrqState): void {
  updateIrqLine(k, irq, { state });
}

/**
 * The checks IRQControl_Get and GetTrigger share, in seL4's order: arch_check_irq (the whole
 * word: 0 and above maxIRQ are RangeError 1..maxIRQ), is_irq_active (RevokeFirst), the target
 * slot's lookup, and ensure_empty (DeleteFirst).
 */
function decodeIssue(s: Readable, irqWord: Word, root: Cap, index: Word, depth: Word, control: SlotRef): Decoded<IRQControlInvocation> {
  if (irqWord > maxIRQ || irqWord === 0) return { error: { error: 'RangeError', min: 1, max: maxIRQ } };
  if (isIrqActive(s, irqWord)) return { error: { error: 'RevokeFirst' } };
  const target = lookupSlotForCNodeOp(s, false, root, index, depth);
  if ('error' in target) return target;
  if (capAt(s, target.slot).type !== 'null') return { error: { error: 'DeleteFirst' } };
  return { invocation: { irq: irqWord, dest: target.slot, control } };
}

/**
 * decode_irq_control_invocation: Get (MR0 irq, MR1 index, MR2 depth) and riscv's GetTrigger (MR0
 * irq, MR1 trigger, MR2 index, MR3 depth), each with the destination root as extra cap 0. The
 * trigger is accepted and has no effect the model shows.
 */
export function decodeIRQControlInvocation(s: Readable, msg: InvocationMessage, control: SlotRef): Decoded<IRQControlInvocation> {
  const { label, length, mr, extraCaps } = msg;
  if (label === InvocationLabel.IRQIssueIRQHandler) {
    if (length < 3 || extraCaps.length < 1) return truncated;
    return decodeIssue(s, mr(0), extraCaps[0]!.cap, mr(1), mr(2), control);
  }
  if (label === InvocationLabel.RISCVIRQIssueIRQHandlerTrigger) {
    if (length < 4 || extraCaps.length < 1) return truncated;
    return decodeIssue(s, mr(0), extraCaps[0]!.cap, mr(2), mr(3), control);
  }
  return illegal;
}

/** invoke_irq_control: the line becomes Signal (unmasked), the handler cap goes in below the control cap. */
export function performIRQControl(k: Kernel, inv: IRQControlInvocation): void {
  setIrqState(k, inv.irq, 'Signal');
  cteInsert(k, { type: 'irqhandler', irq: inv.irq }, inv.control, inv.dest);
}

/**
 * decode_irq_handler_invocation: Ack; SetNotification with a notification cap with CanSend as
 * extra cap 0 (missing: TruncatedMessage; another cap: InvalidCapability 0); Clear.
 */
export function decodeIRQHandlerInvocation(msg: InvocationMessage, cap: CapOf<'irqhandler'>): Decoded<IRQHandlerInvocation> {
  const { irq } = cap;
  switch (msg.label) {
    case InvocationLabel.IRQAckIRQ:
      return { invocation: { op: 'ack', irq } };
    case InvocationLabel.IRQSetIRQHandler: {
      const extra = msg.extraCaps[0];
      if (extra === undefined) return truncated;
      if (extra.cap.type !== 'notification' || (extra.cap.rights & seL4_CanWrite) === 0) return { error: { error: 'InvalidCapability', capIndex: 0 } };
      return { invocation: { op: 'set', irq, cap: extra.cap, src: extra.slot } };
    }
    case InvocationLabel.IRQClearIRQHandler:
      return { invocation: { op: 'clear', irq } };
    default:
      return illegal;
  }
}

/**
 * invoke_irq_handler: Ack completes the PLIC claim (plic_complete_claim); SetNotification deletes
 * what the IRQ's slot held and inserts the notification cap as it is, placed relative to its
 * source; Clear deletes what the slot holds.
 */
export function performIRQHandler(k: Kernel, inv: IRQHandlerInvocation): void {
  switch (inv.op) {
    case 'ack':
      updateIrqLine(k, inv.irq, { claimed: false });
      break;
    case 'set':
      cteDeleteOne(k, irqSlot(inv.irq));
      cteInsert(k, inv.cap, inv.src, irqSlot(inv.irq));
      break;
    case 'clear':
      cteDeleteOne(k, irqSlot(inv.irq));
      break;
  }
}

/**
 * finalise_cap of the final IRQ handler cap of `irq`: deleting_irq_handler empties the IRQ's slot,
 * and post_cap_deletion's deleted_irq_handler makes the line Inactive (done here: nothing runs
 * between the two).
 */
export function finaliseIRQHandler(k: Kernel, irq: number): void {
  cteDeleteOne(k, irqSlot(irq));
  setIrqState(k, irq, 'Inactive');
}

/** A PLIC source: 1..plicMaxIRQ (IRQ 0 is irqInvalid, maxIRQ the kernel timer). */
export function isPlicSource(irq: number): boolean {
  return Number.isInteger(irq) && irq >= 1 && irq <= plicMaxIRQ;
}

/** A device raises source `irq`: its pending bit is set. */
export function raiseInterrupt(k: Kernel, irq: number): void {
  if (!isPlicSource(irq)) throw new RangeError(`IRQ ${irq} is not a PLIC source`);
  updateIrqLine(k, irq, { pending: true });
}

/** The lowest source the PLIC would interrupt the hart with: pending, unmasked (not Inactive), unclaimed. */
export function deliverableInterrupt(s: Readable): number | null {
  const lines = irqLines(s);
  let irq = deliverable.get(lines);
  if (irq === undefined) deliverable.set(lines, (irq = lowestDeliverable(lines)));
  return irq;
}

/** deliverableInterrupt by list of lines, found once per list: a list is never changed once written (a write makes a new one). */
const deliverable = new WeakMap<readonly IrqLine[], number | null>();

function lowestDeliverable(lines: readonly IrqLine[]): number | null {
  for (let irq = 1; irq <= plicMaxIRQ; irq++) {
    const line = lines[irq]!;
    if (line.pending && !line.claimed && line.state !== 'Inactive') return irq;
  }
  return null;
}

/** getActiveIRQ: the kernel claims the source (pending cleared, claimed until Ack). */
export function claimInterrupt(k: Kernel, irq: number): void {
  updateIrqLine(k, irq, { pending: false, claimed: true });
}

/**
 * handle_interrupt: a Signal line signals the notification cap in its IRQ slot if it has CanSend
 * (else nothing: no handler installed; riscv does not mask here); the timer's line asks for the
 * timer to be reprogrammed; Reserved does nothing. An Inactive line cannot be delivered.
 */
export function handleInterrupt(k: Kernel, irq: number): void {
  const line = irqLineOf(k, irq);
  switch (line.state) {
    case 'Signal': {
      const cap = capAt(k, irqSlot(irq));
      if (cap.type === 'notification' && (cap.rights & seL4_CanWrite) !== 0) sendSignal(k, { ntfn: cap.ptr, badge: cap.badge });
      break;
    }
    case 'Timer':
      updateSched(k, { reprogram: true });
      break;
    case 'Reserved':
      break;
    case 'Inactive':
      throw new Error(`abstract spec invariant: the masked IRQ ${irq} was delivered`);
  }
}
