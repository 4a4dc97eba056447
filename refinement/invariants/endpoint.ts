// Invariants of endpoints and notification queues, named after l4v's (Invariants_AI on the MCS
// branch): a blocked thread's state names an object of the right type (valid_tcb_state, with
// the view's rule that `blocking` is set exactly in the BlockedOn* states); an endpoint is Idle
// exactly when its queue is empty (valid_ep); and the queues and the blocked threads agree both
// ways (valid_ep_q, valid_ntfn_q: sym_refs of the queue links): a queued thread is blocked on
// that object in the state its queue means, once, and a thread so blocked is in that queue.
import { hex, type ObjectView, type ThreadState } from '../../libsel4/index.ts';
import { tcbAt } from './schedcontext.ts';
import { ObjectsByType } from './by-type.ts';

const blockedStates: ReadonlySet<ThreadState> = new Set(['BlockedOnReceive', 'BlockedOnSend', 'BlockedOnReply', 'BlockedOnNotification']);

/** The object type each blocked state names in `blocking.object` (BlockedOnReply names a reply instead). */
const blockedOn: Partial<Record<ThreadState, ObjectView['type']>> = { BlockedOnSend: 'endpoint', BlockedOnReceive: 'endpoint', BlockedOnNotification: 'notification' };

/** valid_tcb_state: `blocking` is set exactly when blocked, and names an object of the type the state needs. */
export function validTcbState(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const t of byType.of('tcb')) {
    const at = () => `valid_tcb_state: tcb ${hex(t.addr)} is ${t.state}`;
    if (!blockedStates.has(t.state)) {
      if (t.blocking !== null) return `${at()} but shows what it is blocked on`;
      continue;
    }
    if (t.blocking === null) return `${at()} but shows nothing it is blocked on`;
    const type = blockedOn[t.state];
    if (type !== undefined && (t.blocking.object === null || objects.get(t.blocking.object)?.type !== type)) {
      return `${at()} on ${t.blocking.object === null ? 'nothing' : hex(t.blocking.object)}, which is no ${type}`;
    }
    const reply = t.blocking.reply;
    if (reply !== null && objects.get(reply)?.type !== 'reply') return `${at()} with reply ${hex(reply)}, which is not a reply object`;
    if (t.state === 'BlockedOnReply' && reply === null) return `${at()} with no reply object`;
  }
  return null;
}

/** The state of a thread in the queue of `o`. */
function queuedState(o: Extract<ObjectView, { type: 'endpoint' | 'notification' }>): ThreadState {
  if (o.type === 'notification') return 'BlockedOnNotification';
  return o.state === 'Send' ? 'BlockedOnSend' : 'BlockedOnReceive';
}

/** Each queued thread is a TCB blocked on `o` in the queue's state, and is queued once. */
function queueMembers(objects: ReadonlyMap<number, ObjectView>, o: Extract<ObjectView, { type: 'endpoint' | 'notification' }>, name: string): string | null {
  const seen = new Set<number>();
  const wanted = queuedState(o);
  for (const addr of o.queue) {
    const at = () => `${name}: thread ${hex(addr)} in the queue of ${o.type} ${hex(o.addr)}`;
    if (seen.has(addr)) return `${at()} is queued twice`;
    seen.add(addr);
    const t = tcbAt(objects, addr);
    if (t === null) return `${at()} is not a TCB`;
    if (t.state !== wanted) return `${at()} is ${t.state}, not ${wanted}`;
    if (t.blocking?.object !== o.addr) return `${at()} is blocked on ${t.blocking?.object == null ? 'nothing' : hex(t.blocking.object)}`;
  }
  return null;
}

/** Each thread blocked on an object of `type` in a state queued there is in that object's queue. */
function blockedAreQueued(objects: ReadonlyMap<number, ObjectView>, byType: ObjectsByType, type: 'endpoint' | 'notification', name: string): string | null {
  for (const t of byType.of('tcb')) {
    if (blockedOn[t.state] !== type || t.blocking?.object == null) continue;
    const o = objects.get(t.blocking.object);
    if (o?.type !== type) continue; // valid_tcb_state reports it
    if (!o.queue.includes(t.addr) || queuedState(o) !== t.state) return `${name}: thread ${hex(t.addr)} is ${t.state} on ${hex(o.addr)} but not in its queue as such`;
  }
  return null;
}

/** valid_ep and valid_ep_q: Idle iff the queue is empty; senders or receivers queued as the state says, both ways. */
export function validEpQ(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const o of byType.of('endpoint')) {
    if ((o.state === 'Idle') !== (o.queue.length === 0)) return `valid_ep: endpoint ${hex(o.addr)} is ${o.state} with ${o.queue.length} queued threads`;
    const wrong = queueMembers(objects, o, 'valid_ep_q');
    if (wrong) return wrong;
  }
  return blockedAreQueued(objects, byType, 'endpoint', 'valid_ep_q');
}

/**
 * valid_ntfn and valid_ntfn_q: Waiting iff threads wait, the word 0 unless Active; the waiters of a
 * notification are its BlockedOnNotification threads, each once, both ways.
 */
export function validNtfnQ(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const o of byType.of('notification')) {
    if ((o.state === 'Waiting') !== (o.queue.length > 0)) return `valid_ntfn: notification ${hex(o.addr)} is ${o.state} with ${o.queue.length} waiting threads`;
    if (o.state !== 'Active' && o.word !== 0) return `valid_ntfn: notification ${hex(o.addr)} is ${o.state} with word ${hex(o.word)}`;
    const wrong = queueMembers(objects, o, 'valid_ntfn_q');
    if (wrong) return wrong;
  }
  return blockedAreQueued(objects, byType, 'notification', 'valid_ntfn_q');
}
