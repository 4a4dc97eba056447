// Invariants of notification bindings, named after l4v's (Invariants_AI on the MCS branch):
// the links between a thread and its bound notification (tcb_bound_notification /
// ntfn_bound_tcb) and between a scheduling context and its notification (sc_ntfn /
// ntfn_sc) are symmetric (sym_refs).
import { hex, type ObjectView } from '../../libsel4/index.ts';
import { ObjectsByType } from './by-type.ts';

/** What the object at `addr` names back through the link mirroring one of kind `from`. */
function backLink(objects: ReadonlyMap<number, ObjectView>, addr: number, from: 'tcb' | 'schedcontext' | 'ntfnTcb' | 'ntfnSc'): number | null {
  const o = objects.get(addr);
  if (from === 'tcb') return o?.type === 'notification' ? o.tcb : null;
  if (from === 'schedcontext') return o?.type === 'notification' ? o.schedContext : null;
  if (from === 'ntfnTcb') return o?.type === 'tcb' ? o.boundNotification : null;
  return o?.type === 'schedcontext' ? o.notification : null;
}

type Link = readonly [string, number, 'tcb' | 'schedcontext' | 'ntfnTcb' | 'ntfnSc'];

const noLinks: readonly Link[] = [];

/** The links of one object that must be mirrored: [what, target, kind]. */
function linksOf(o: ObjectView): readonly Link[] {
  if (o.type === 'tcb' && o.boundNotification !== null) return [['bound notification', o.boundNotification, 'tcb']];
  if (o.type === 'schedcontext' && o.notification !== null) return [['notification', o.notification, 'schedcontext']];
  if (o.type !== 'notification') return noLinks;
  const links: [string, number, 'ntfnTcb' | 'ntfnSc'][] = [];
  if (o.tcb !== null) links.push(['bound TCB', o.tcb, 'ntfnTcb']);
  if (o.schedContext !== null) links.push(['scheduling context', o.schedContext, 'ntfnSc']);
  return links;
}

/** sym_refs for notification bindings: each link has its mirror on the other side. */
export function notificationRefs(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const o of byType.ofTypes(['tcb', 'schedcontext', 'notification'])) {
    for (const [what, target, kind] of linksOf(o)) {
      if (backLink(objects, target, kind) !== o.addr) return `sym_refs: ${o.type} ${hex(o.addr)} has ${what} ${hex(target)}, which does not name it back`;
    }
  }
  return null;
}
