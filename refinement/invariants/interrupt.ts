// Invariants of interrupts, named after l4v's (Invariants_AI valid_irq_node, valid_irq_handlers,
// valid_irq_states): what the IRQ node's slots may hold, IRQ handler caps only for issued lines,
// the timer's line, and no interrupt left deliverable when the kernel returns to user mode.
import { irqNodeRef, kernelTimerIRQ, maxIRQ, plicMaxIRQ, slotKey, type IrqView } from '../../libsel4/index.ts';
import type { Filled } from '../listing.ts';

/** valid_irq_node: an IRQ node slot holds a notification cap or nothing. */
export function validIrqNode(filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    if (slot.cnode !== irqNodeRef) continue;
    if (!Number.isInteger(slot.index) || slot.index < 0 || slot.index > maxIRQ) return `valid_irq_node: a cap in IRQ node slot ${slot.index}, outside 0..${maxIRQ}`;
    if (cap.type !== 'notification') return `valid_irq_node: irq node slot ${slot.index} holds a ${cap.type} cap`;
  }
  return null;
}

/** valid_irq_handlers: every IRQ handler cap, in any slot, names a line in 1..maxIRQ that is issued (Signal). */
export function validIrqHandlers(irqs: readonly IrqView[], filled: readonly Filled[]): string | null {
  for (const { slot, cap } of filled) {
    if (cap.type !== 'irqhandler') continue;
    const line = irqs[cap.irq];
    if (cap.irq < 1 || line === undefined) return `valid_irq_handlers: ${slotKey(slot)} holds a handler cap for IRQ ${cap.irq}, outside 1..${maxIRQ}`;
    if (line.state !== 'Signal') return `valid_irq_handlers: ${slotKey(slot)} holds a handler cap for IRQ ${cap.irq}, whose state is ${line.state}`;
  }
  return null;
}

/**
 * valid_irq_states, between kernel entries: one line per IRQ 0..maxIRQ; the timer's line is Timer,
 * never pending or claimed, and no other line is Timer; only PLIC sources (1..plicMaxIRQ) are ever
 * pending or claimed; and no source is left pending, unmasked and unclaimed (every entry ends by
 * taking those).
 */
export function validIrqStates(irqs: readonly IrqView[]): string | null {
  if (irqs.length !== maxIRQ + 1) return `valid_irq_states: ${irqs.length} IRQ lines, not ${maxIRQ + 1}`;
  for (const [irq, line] of irqs.entries()) {
    if (line.irq !== irq) return `valid_irq_states: line ${irq} names IRQ ${line.irq}`;
    const isTimer = irq === kernelTimerIRQ;
    if (isTimer !== (line.state === 'Timer')) return `valid_irq_states: IRQ ${irq} is ${line.state}${isTimer ? ', not the timer\'s Timer' : ''}`;
    const isSource = irq >= 1 && irq <= plicMaxIRQ;
    if (!isSource && (line.pending || line.claimed)) return `valid_irq_states: IRQ ${irq}, no PLIC source, is ${line.pending ? 'pending' : 'claimed'}`;
    if (line.pending && !line.claimed && line.state !== 'Inactive') return `valid_irq_states: IRQ ${irq} is pending, unmasked and unclaimed when the kernel returns`;
  }
  return null;
}

/** The interrupt invariants over the IRQ lines and every non-null slot (the IRQ node's included). */
export function irqInvariants(irqs: readonly IrqView[], filled: readonly Filled[]): string | null {
  return validIrqStates(irqs) ?? validIrqNode(filled) ?? validIrqHandlers(irqs, filled);
}
