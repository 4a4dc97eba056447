// Invariants of reply objects and call stacks, named after l4v's (Invariants_AI and
// DetSchedInvs_AI on the MCS branch): a reply's TCB and the thread blocked with it name each
// other (sym_refs of reply_tcb / the thread state's reply: a caller BlockedOnReply on it, or a
// receiver BlockedOnReceive with it); a reply is in at most one call stack, once, and only while a
// caller is blocked on it (valid_replies); a reply names a scheduling context exactly when it
// heads that context's call stack (reply_sc / sc_replies).
import { hex, type ObjectView } from '../../libsel4/index.ts';
import { tcbAt } from './schedcontext.ts';
import { ObjectsByType } from './by-type.ts';

type ReplyView = Extract<ObjectView, { type: 'reply' }>;

function replyAt(objects: ReadonlyMap<number, ObjectView>, addr: number): ReplyView | null {
  const o = objects.get(addr);
  return o?.type === 'reply' ? o : null;
}

/** sym_refs for replies: reply.tcb is a thread BlockedOnReply or BlockedOnReceive with that reply, and conversely. */
export function replyTcbRefs(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  for (const o of byType.ofTypes(['reply', 'tcb'])) {
    if (o.type === 'reply' && o.tcb !== null) {
      const t = tcbAt(objects, o.tcb);
      const holds = t !== null && (t.state === 'BlockedOnReply' || t.state === 'BlockedOnReceive') && t.blocking?.reply === o.addr;
      if (!holds) return `sym_refs: reply ${hex(o.addr)} names tcb ${hex(o.tcb)}, which is ${t === null ? 'not a TCB' : `${t.state} without it`}`;
    }
    if (o.type === 'tcb' && o.blocking?.reply != null && (o.state === 'BlockedOnReply' || o.state === 'BlockedOnReceive')) {
      const r = replyAt(objects, o.blocking.reply);
      if (r?.tcb !== o.addr) return `sym_refs: tcb ${hex(o.addr)} is ${o.state} with reply ${hex(o.blocking.reply)}, which does not name it`;
    }
  }
  return null;
}

/**
 * valid_replies and reply_sc: each reply of a call stack is a reply object a caller is
 * BlockedOnReply on, in one stack only and once; a reply names a scheduling context exactly when
 * it heads that context's stack.
 */
export function validReplies(objects: ReadonlyMap<number, ObjectView>, byType = new ObjectsByType(objects)): string | null {
  const stackOf = new Map<number, number>();
  const headed = new Map<number, number>();
  for (const sc of byType.of('schedcontext')) {
    if (sc.replies.length > 0) headed.set(sc.replies[0]!, sc.addr);
    for (const addr of sc.replies) {
      const at = () => `valid_replies: reply ${hex(addr)} in the call stack of ${hex(sc.addr)}`;
      const other = stackOf.get(addr);
      if (other !== undefined) return `${at()} is also in ${other === sc.addr ? 'it once more' : `that of ${hex(other)}`}`;
      stackOf.set(addr, sc.addr);
      const r = replyAt(objects, addr);
      if (r === null) return `${at()} is not a reply object`;
      const caller = r.tcb === null ? null : tcbAt(objects, r.tcb);
      if (caller?.state !== 'BlockedOnReply') return `${at()} has no caller blocked on it`;
    }
  }
  for (const o of byType.of('reply')) {
    const headOf = headed.get(o.addr) ?? null;
    if (o.schedContext !== headOf) {
      return `reply_sc: reply ${hex(o.addr)} names ${o.schedContext === null ? 'no scheduling context' : hex(o.schedContext)} but heads the call stack of ${headOf === null ? 'none' : hex(headOf)}`;
    }
  }
  return null;
}
