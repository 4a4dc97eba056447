// The invariants of endpoints, notification queues and reply objects: a hand-built state with
// queued senders and receivers, a waiter, and a call stack of two replies keeps them all; a
// planted violation of each is reported under its l4v name.
import { describe, expect, it } from 'vitest';
import type { BlockingView, ObjectView } from '../../libsel4/index.ts';
import { validEpQ, validNtfnQ, validTcbState } from '../../refinement/invariants/endpoint.ts';
import { checkScheduling } from '../../refinement/invariants/index.ts';
import { replyTcbRefs, validReplies } from '../../refinement/invariants/reply.ts';
import type { SchedContextView, TCBView } from '../../refinement/invariants/schedcontext.ts';

const S1 = 0x80010000; // BlockedOnSend on E1 (a Call)
const S2 = 0x80011000; // BlockedOnSend on E1
const R1 = 0x80012000; // BlockedOnReceive on E2 with P1
const W = 0x80013000; // BlockedOnNotification on N
const C1 = 0x80014000; // BlockedOnReply on P2 (the head of X's call stack)
const C2 = 0x80015000; // BlockedOnReply on P3 (below P2)
const V = 0x80016000; // the passive server running on X
const E1 = 0x80020000;
const E2 = 0x80020010;
const E3 = 0x80020020; // idle
const N = 0x80020030;
const P1 = 0x80020040;
const P2 = 0x80020050;
const P3 = 0x80020060;
const P4 = 0x80020070; // free
const X = 0x80030000;

const noBlocking: BlockingView = { object: null, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null };

function tcb(addr: number, state: TCBView['state'], blocking: Partial<BlockingView> | null): TCBView {
  return {
    type: 'tcb', addr, state, priority: 10, mcp: 255, domain: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null,
    blocking: blocking === null ? null : { ...noBlocking, ...blocking },
    fault: null,
  };
}

const reply = (addr: number, tcbAddr: number | null, schedContext: number | null = null): ObjectView => ({ type: 'reply', addr, tcb: tcbAddr, schedContext });

const server: TCBView = { ...tcb(V, 'Running', null), schedContext: X };
const stack: SchedContextView = {
  type: 'schedcontext', addr: X, sizeBits: 8, tcb: V, periodTicks: 0n, consumedTicks: 0n, refillMax: 0, refills: [], sporadic: false, badge: 0,
  yieldFrom: null, notification: null, replies: [P2, P3],
};

const good: readonly ObjectView[] = [
  tcb(S1, 'BlockedOnSend', { object: E1, badge: 5, canGrant: true, isCall: true }),
  tcb(S2, 'BlockedOnSend', { object: E1 }),
  tcb(R1, 'BlockedOnReceive', { object: E2, reply: P1 }),
  tcb(W, 'BlockedOnNotification', { object: N }),
  tcb(C1, 'BlockedOnReply', { reply: P2 }),
  tcb(C2, 'BlockedOnReply', { reply: P3 }),
  server,
  { type: 'endpoint', addr: E1, state: 'Send', queue: [S1, S2] },
  { type: 'endpoint', addr: E2, state: 'Recv', queue: [R1] },
  { type: 'endpoint', addr: E3, state: 'Idle', queue: [] },
  { type: 'notification', addr: N, state: 'Waiting', word: 0, queue: [W], tcb: null, schedContext: null },
  reply(P1, R1),
  reply(P2, C1, X),
  reply(P3, C2),
  reply(P4, null),
  stack,
];

/** The good objects with some replaced (by address). */
function objects(...changed: ObjectView[]): Map<number, ObjectView> {
  const map = new Map(good.map((o) => [o.addr, o]));
  for (const o of changed) map.set(o.addr, o);
  return map;
}

const all = (m: ReadonlyMap<number, ObjectView>) => validTcbState(m) ?? validEpQ(m) ?? validNtfnQ(m) ?? replyTcbRefs(m) ?? validReplies(m);

describe('the IPC invariants', () => {
  it('hold on queued senders and receivers, a waiter and a call stack of two replies', () => {
    expect(all(objects())).toBeNull();
  });

  it('are checked with the scheduling invariants, under their names', () => {
    const counts = new Map<string, number>();
    const scheduler = { clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: null, readyQueues: [], releaseQueue: [], timerDeadlineTicks: 0n };
    const planted = objects({ type: 'endpoint', addr: E3, state: 'Recv', queue: [] });
    expect(checkScheduling({ objects: planted, scheduler, current: null }, counts)).toMatch(/^valid_ep: endpoint 0x80020020 is Recv with 0 queued threads/);
    expect([...counts.keys()]).toEqual(expect.arrayContaining(['valid_tcb_state', 'valid_ep/valid_ep_q']));
  });

  const planted: ReadonlyArray<readonly [string, readonly ObjectView[], RegExp]> = [
    ['a running thread that shows a blocking object', [tcb(S2, 'Running', { object: E1 })], /^valid_tcb_state: tcb 0x80011000 is Running but shows what it is blocked on/],
    ['a blocked thread that shows none', [tcb(W, 'BlockedOnNotification', null)], /^valid_tcb_state: tcb 0x80013000 is BlockedOnNotification but shows nothing/],
    ['a sender blocked on a notification', [tcb(S2, 'BlockedOnSend', { object: N })], /^valid_tcb_state: tcb 0x80011000 is BlockedOnSend on 0x80020030, which is no endpoint/],
    ['a caller without its reply object', [tcb(C2, 'BlockedOnReply', {})], /^valid_tcb_state: tcb 0x80015000 is BlockedOnReply with no reply object/],
    ['a receiver whose reply is an endpoint', [tcb(R1, 'BlockedOnReceive', { object: E2, reply: E3 })], /^valid_tcb_state: .* with reply 0x80020020, which is not a reply object/],
    ['an endpoint Idle with a queue', [{ type: 'endpoint', addr: E1, state: 'Idle', queue: [S1, S2] }], /^valid_ep: endpoint 0x80020000 is Idle with 2 queued/],
    ['an endpoint Send with an empty queue', [{ type: 'endpoint', addr: E3, state: 'Send', queue: [] }], /^valid_ep: endpoint 0x80020020 is Send with 0 queued/],
    ['a receiver queued as a sender', [{ type: 'endpoint', addr: E2, state: 'Send', queue: [R1] }], /^valid_ep_q: thread 0x80012000 in the queue of endpoint 0x80020010 is BlockedOnReceive, not BlockedOnSend/],
    ['a sender queued twice', [{ type: 'endpoint', addr: E1, state: 'Send', queue: [S1, S2, S1] }], /^valid_ep_q: thread 0x80010000 .* is queued twice/],
    ['a sender missing from its queue', [{ type: 'endpoint', addr: E1, state: 'Send', queue: [S1] }], /^valid_ep_q: thread 0x80011000 is BlockedOnSend on 0x80020000 but not in its queue/],
    ['a sender in the queue of another endpoint', [{ type: 'endpoint', addr: E1, state: 'Send', queue: [S1] }, { type: 'endpoint', addr: E3, state: 'Send', queue: [S2] }], /^valid_ep_q: thread 0x80011000 in the queue of endpoint 0x80020020 is blocked on 0x80020000/],
    ['a queued object that is no TCB', [{ type: 'endpoint', addr: E3, state: 'Recv', queue: [X] }], /^valid_ep_q: thread 0x80030000 .* is not a TCB/],
    ['a waiter missing from its notification', [{ type: 'notification', addr: N, state: 'Idle', word: 0, queue: [], tcb: null, schedContext: null }], /^valid_ntfn_q: thread 0x80013000 is BlockedOnNotification on 0x80020030 but not in its queue/],
    ['a notification Waiting with no waiters', [{ type: 'notification', addr: N, state: 'Waiting', word: 0, queue: [], tcb: null, schedContext: null }], /^valid_ntfn: notification 0x80020030 is Waiting with 0 waiting threads/],
    ['an Idle notification with a word', [{ type: 'notification', addr: N, state: 'Idle', word: 5, queue: [W], tcb: null, schedContext: null }], /^valid_ntfn: notification 0x80020030 is Idle with 1 waiting/],
    ['a pending word on a Waiting notification', [{ type: 'notification', addr: N, state: 'Waiting', word: 5, queue: [W], tcb: null, schedContext: null }], /^valid_ntfn: notification 0x80020030 is Waiting with word 0x00000005/],
    ['a running thread queued on a notification', [{ type: 'notification', addr: N, state: 'Waiting', word: 0, queue: [W, V], tcb: null, schedContext: null }], /^valid_ntfn_q: thread 0x80016000 .* is Running, not BlockedOnNotification/],
    ['a reply naming a thread that is not blocked with it', [reply(P4, V)], /^sym_refs: reply 0x80020070 names tcb 0x80016000, which is Running without it/],
    ['a receiver whose reply names no one', [reply(P1, null)], /^sym_refs: tcb 0x80012000 is BlockedOnReceive with reply 0x80020040, which does not name it/],
    ['a reply in two call stacks', [{ ...stack, addr: X + 0x100, tcb: null, replies: [P3] }], /^valid_replies: reply 0x80020060 in the call stack of 0x80030(000|100) is also in that of/],
    ['a reply twice in one call stack', [{ ...stack, replies: [P2, P3, P3] }], /^valid_replies: reply 0x80020060 .* is also in it once more/],
    ['a free reply in a call stack', [{ ...stack, replies: [P2, P3, P4] }], /^valid_replies: reply 0x80020070 in the call stack of 0x80030000 has no caller blocked on it/],
    ['a receiver\'s reply in a call stack', [{ ...stack, replies: [P2, P1] }], /^valid_replies: reply 0x80020040 .* has no caller blocked on it/],
    ['a head that does not name its context', [reply(P2, C1)], /^reply_sc: reply 0x80020050 names no scheduling context but heads the call stack of 0x80030000/],
    ['a reply below the head naming the context', [reply(P3, C2, X)], /^reply_sc: reply 0x80020060 names 0x80030000 but heads the call stack of none/],
  ];

  it.each(planted)('report %s', (_what, changed, message) => {
    expect(all(objects(...changed))).toMatch(message);
  });
});
