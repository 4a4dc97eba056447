// Interrupts (seL4's interrupt.c / Interrupt.lhs, riscv's Arch_checkIRQ and
// Arch_decodeIRQControlInvocation): IRQ control and IRQ handler invocations, the IRQ state table
// and the IRQ node, deleting IRQ handlers, the PLIC's pending and claimed bits, handleInterrupt.
import {
  InvocationLabel,
  irqInvalid,
  kernelTimerIRQ,
  irqNodeRef,
  maxIRQ,
  plicMaxIRQ,
  seL4_CanWrite,
  type Cap,
  type CapOf,
  type IrqState,
  type IrqView,
  type SlotRef,
  type SyscallError,
  type Word,
} from '../libsel4/index.ts';
import { cteDeleteOne, cteInsert } from './cnode.ts';
import { isSyscallError, lookupTargetSlot } from './cspace.ts';
import { sendSignal } from './notification.ts';
import { allSlots, getCap, getObject, irqLine, type ExecState, type Step } from './state.ts';
import type { InvocationArgs } from './syscall.ts';

/** IRQControl_Get or GetTrigger: a handler cap for `irq` into `dest`, a child of the IRQ control cap in `control`. */
export interface IRQControlInvocation {
  readonly kind: 'issueIRQHandler';
  readonly irq: number;
  readonly dest: SlotRef;
  readonly control: SlotRef;
}

export type IRQHandlerInvocation =
  | { readonly kind: 'ackIRQ'; readonly irq: number }
  | { readonly kind: 'setIRQHandler'; readonly irq: number; readonly cap: CapOf<'notification'>; readonly slot: SlotRef }
  | { readonly kind: 'clearIRQHandler'; readonly irq: number };

/** The IRQ node's slot of `irq` (getIRQSlot). */
export function irqSlot(irq: number): SlotRef {
  return { cnode: irqNodeRef, index: irq };
}

// ---------------------------------------------------------------- the IRQ state table

export function isIRQActive(state: ExecState, irq: number): boolean {
  return irqLine(state, irq).state !== 'Inactive';
}

/** setIRQState: the line's state; the line is masked exactly when Inactive (the PLIC bits stay). */
export function setIRQState(k: Step, irqState: IrqState, irq: number): void {
  k.setIRQLine({ ...irqLine(k.state, irq), state: irqState });
}

// ---------------------------------------------------------------- IRQ control

/** Arch_checkIRQ: the whole word must lie in 1..maxIRQ. */
function checkIRQ(irqWord: Word): SyscallError | null {
  if (irqWord > maxIRQ || irqWord === irqInvalid) return { error: 'RangeError', min: 1, max: maxIRQ };
  return null;
}

/** The checks Get and GetTrigger share, in seL4's order: range, not active, target slot, empty. */
function decodeIssueIRQHandler(state: ExecState, irqWord: Word, root: Cap, index: Word, depth: Word, control: SlotRef): IRQControlInvocation | SyscallError {
  const range = checkIRQ(irqWord);
  if (range !== null) return range;
  if (isIRQActive(state, irqWord)) return { error: 'RevokeFirst' };
  const dest = lookupTargetSlot(state, root, index, depth);
  if (isSyscallError(dest)) return dest;
  if (getCap(state, dest).type !== 'null') return { error: 'DeleteFirst' };
  return { kind: 'issueIRQHandler', irq: irqWord, dest, control };
}

/**
 * decodeIRQControlInvocation: Get (MR0 irq, MR1 index, MR2 depth) and riscv's GetTrigger (MR0 irq,
 * MR1 trigger, MR2 index, MR3 depth), each with the destination's root CNode as extra cap 0. The
 * trigger is accepted and not modelled (no interrupt's behaviour depends on it).
 */
export function decodeIRQControlInvocation(state: ExecState, args: InvocationArgs, control: SlotRef): IRQControlInvocation | SyscallError {
  const L = InvocationLabel;
  if (args.label === L.IRQIssueIRQHandler) {
    if (args.length < 3 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
    return decodeIssueIRQHandler(state, args.arg(0), getCap(state, args.extraCaps[0]!), args.arg(1), args.arg(2), control);
  }
  if (args.label === L.RISCVIRQIssueIRQHandlerTrigger) {
    if (args.length < 4 || args.extraCaps.length < 1) return { error: 'TruncatedMessage' };
    return decodeIssueIRQHandler(state, args.arg(0), getCap(state, args.extraCaps[0]!), args.arg(2), args.arg(3), control);
  }
  return { error: 'IllegalOperation' };
}

/** invokeIRQControl: the line is Signal (unmasked) and the handler cap goes in as the control cap's child. */
export function performIRQControl(k: Step, inv: IRQControlInvocation): void {
  setIRQState(k, 'Signal', inv.irq);
  cteInsert(k, { type: 'irqhandler', irq: inv.irq }, inv.control, inv.dest);
}

// ---------------------------------------------------------------- IRQ handlers

/**
 * decodeIRQHandlerInvocation: Ack and Clear take nothing; SetNotification takes extra cap 0, which
 * must be a notification cap with the Write (CanSend) right.
 */
export function decodeIRQHandlerInvocation(state: ExecState, args: InvocationArgs, handler: CapOf<'irqhandler'>): IRQHandlerInvocation | SyscallError {
  const L = InvocationLabel;
  const irq = handler.irq;
  switch (args.label) {
    case L.IRQAckIRQ:
      return { kind: 'ackIRQ', irq };
    case L.IRQSetIRQHandler: {
      const slot = args.extraCaps[0];
      if (slot === undefined) return { error: 'TruncatedMessage' };
      const cap = getCap(state, slot);
      if (cap.type !== 'notification' || (cap.rights & seL4_CanWrite) === 0) return { error: 'InvalidCapability', capIndex: 0 };
      return { kind: 'setIRQHandler', irq, cap, slot };
    }
    case L.IRQClearIRQHandler:
      return { kind: 'clearIRQHandler', irq };
    default:
      return { error: 'IllegalOperation' };
  }
}

/**
 * invokeIRQHandler: Ack completes the kernel's claim (plic_complete_claim), so the PLIC may
 * deliver the source again; SetNotification replaces the IRQ node slot's cap with the given one,
 * as it is, a sibling of its source; Clear empties the slot.
 */
export function invokeIRQHandler(k: Step, inv: IRQHandlerInvocation): void {
  switch (inv.kind) {
    case 'ackIRQ':
      k.setIRQLine({ ...irqLine(k.state, inv.irq), claimed: false });
      return;
    case 'setIRQHandler':
      cteDeleteOne(k, irqSlot(inv.irq));
      cteInsert(k, inv.cap, inv.slot, irqSlot(inv.irq));
      return;
    case 'clearIRQHandler':
      cteDeleteOne(k, irqSlot(inv.irq));
      return;
  }
}

/** deletingIRQHandler: finalising the last handler cap of `irq` deletes its notification cap. */
export function deletingIRQHandler(k: Step, irq: number): void {
  const cap = k.cap(irqSlot(irq));
  if (cap.type !== 'notification' && cap.type !== 'null') throw new Error(`executable spec invariant: IRQ node slot ${irq} holds a ${cap.type} cap`);
  cteDeleteOne(k, irqSlot(irq));
}

/** deletedIRQHandler: after its last handler cap is gone the line is Inactive (masked) and can be issued again. */
export function deletedIRQHandler(k: Step, irq: number): void {
  setIRQState(k, 'Inactive', irq);
}

// ---------------------------------------------------------------- the PLIC and delivery

/** A device raises PLIC source `irq` (1..plicMaxIRQ): its pending bit is set, masked or not. */
export function raiseInterrupt(k: Step, irq: number): void {
  if (!isPLICSource(irq)) throw new Error(`executable spec invariant: ${irq} is no PLIC source (1..${plicMaxIRQ})`);
  k.setIRQLine({ ...irqLine(k.state, irq), pending: true });
}

export function isPLICSource(irq: number): boolean {
  return Number.isInteger(irq) && irq >= 1 && irq <= plicMaxIRQ;
}

/** The lowest source that interrupts the hart: pending, unmasked (not Inactive) and not claimed; null if none. */
function lowestDeliverableIRQ(lines: readonly IrqView[]): number | null {
  for (let irq = 1; irq <= plicMaxIRQ; irq++) {
    const line = lines[irq]!;
    if (line.pending && !line.claimed && line.state !== 'Inactive') return irq;
  }
  return null;
}

/** Each line table's lowest deliverable source, found once: tables are never changed, and every entry asks. */
const deliverable = new WeakMap<readonly IrqView[], number | null>();

export function nextDeliverableIRQ(state: ExecState): number | null {
  const { lines } = state.interrupts;
  let irq = deliverable.get(lines);
  if (irq === undefined) deliverable.set(lines, (irq = lowestDeliverableIRQ(lines)));
  return irq;
}

/** getActiveIRQ's plic_get_claim: the kernel claims the source (pending cleared) until Ack completes it. */
export function claimInterrupt(k: Step, irq: number): void {
  const line = irqLine(k.state, irq);
  if (!line.pending || line.claimed) throw new Error(`executable spec invariant: IRQ ${irq} claimed while not deliverable`);
  k.setIRQLine({ ...line, pending: false, claimed: true });
}

/**
 * handleInterrupt: a Signal line signals the notification cap in its IRQ node slot if that cap
 * may send (otherwise the interrupt is dropped); the timer's line acknowledges the deadline, so
 * the timer is reprogrammed; Reserved and Inactive lines do nothing here.
 */
export function handleInterrupt(k: Step, irq: number): void {
  switch (irqLine(k.state, irq).state) {
    case 'Signal': {
      const cap = k.cap(irqSlot(irq));
      if (cap.type === 'notification' && (cap.rights & seL4_CanWrite) !== 0) sendSignal(k, { kind: 'signal', ntfn: cap.ptr, badge: cap.badge });
      return;
    }
    case 'Timer':
      k.reprogram = true;
      return;
    case 'Reserved':
    case 'Inactive':
      return;
  }
}

// ---------------------------------------------------------------- invariants

/**
 * The interrupt state between kernel entries, as l4v's valid_irq_handlers and valid_irq_states
 * say, plus the PLIC's: the timer's line is Timer and never pending or claimed; an IRQ is Signal
 * exactly when a handler cap to it exists; an IRQ node slot holds nothing or a notification cap
 * that may send, and only for a Signal IRQ; no source is left deliverable (each entry takes them).
 */
export function irqInvariantViolation(state: ExecState): string | null {
  const timer = irqLine(state, kernelTimerIRQ);
  if (timer.state !== 'Timer' || timer.pending || timer.claimed) return `the timer's line is ${JSON.stringify(timer)}`;
  const handled = new Set<number>();
  for (const [, slot] of allSlots(state)) if (slot.cap.type === 'irqhandler') handled.add(slot.cap.irq);
  for (let irq = 0; irq < kernelTimerIRQ; irq++) {
    const { state: irqState } = irqLine(state, irq);
    if (irqState === 'Timer' || (irqState === 'Signal') !== handled.has(irq)) return `IRQ ${irq} is ${irqState} with${handled.has(irq) ? '' : 'out'} a handler cap`;
  }
  for (const [index, slot] of state.interrupts.node) {
    const cap = slot.cap;
    if (cap.type !== 'notification' || (cap.rights & seL4_CanWrite) === 0) return `IRQ node slot ${index} holds a ${cap.type} cap that cannot signal`;
    if (getObject(state, cap.ptr)?.type !== 'notification') return `IRQ node slot ${index} names no notification`;
    if (irqLine(state, index).state !== 'Signal') return `IRQ node slot ${index} is filled for a ${irqLine(state, index).state} IRQ`;
  }
  const deliverable = nextDeliverableIRQ(state);
  return deliverable === null ? null : `IRQ ${deliverable} is left deliverable`;
}
