// The default workload makes IPC: every IPC syscall, threads blocked on each kind of object,
// passive servers running on donated contexts that replies return, deletion with threads queued;
// its composite steps reach what realistic bugs need: a cap to another endpoint sent with Grant
// (derived into the receive slot) beside one to the endpoint itself (unwrapped), badged sends
// cancelled with senders of another badge queued, threads queued ahead of earlier arrivals of a
// lower priority, a head reply deleted and its caller cancelled while it waits.
// Needs the IPC slice in the layers checked (issue 10).
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../refinement/check.ts';
import { Reg, irqAtBoot, messageInfoFromWord, seL4_CanGrant, type KernelView, type ObjectView } from '../../libsel4/index.ts';
import type { Knowledge } from '../../refinement/knowledge.ts';
import { ThreadStates, ipcEvents, ipcKey, parseCoverageRequirement, unreachedPairs } from '../../refinement/coverage.ts';
import { eachWorkloadStep } from './workload-runs.ts';

describe('the IPC workload', () => {
  const summary = runCheck({ runs: 100, steps: 100, seed: 7, pairs: ['impl-abstract'], invariantsEveryStep: false });

  it('passes on the impl and the abstract spec', () => {
    expect(summary.failure).toBeNull();
  });

  it('reaches every IPC syscall, on endpoints, replies and notifications', () => {
    const required = parseCoverageRequirement(
      [
        'seL4_SysRecv:caller BlockedOnReceive',
        'seL4_SysWait:caller BlockedOnReceive',
        'seL4_SysReplyRecv:caller BlockedOnReceive',
        'seL4_SysNBSendRecv:caller BlockedOnReceive',
        'seL4_SysNBSendWait:caller BlockedOnReceive',
        'seL4_SysNBRecv:returned',
        'seL4_SysNBWait:returned',
        'Call to endpoint:caller BlockedOnReply',
        'Call to endpoint:caller BlockedOnSend',
        'Send to endpoint:returned',
        'NBSend to endpoint:returned',
        'Send to reply:returned',
        'Send to notification:returned',
      ].join(','),
    );
    expect(unreachedPairs(summary.coverage, required)).toEqual([]);
  });

  it('blocks threads on each kind of object, donates contexts and returns them by replies', () => {
    const events = summary.coverage.get(ipcKey);
    const reached = ipcEvents.filter((e) => (events?.get(e) ?? 0) > 0);
    expect(reached).toEqual([...ipcEvents]);
  });
});

describe('IPC coverage requirements', () => {
  it('parse the IPC events and the IPC keys, and reject unknown ones', () => {
    expect(parseCoverageRequirement('IPC:donation,Call to endpoint:caller BlockedOnReply')).toEqual([
      { invocation: 'IPC', result: 'donation' },
      { invocation: 'Call to endpoint', result: 'caller BlockedOnReply' },
    ]);
    expect(() => parseCoverageRequirement('IPC:teleport')).toThrow(/unknown result 'teleport'/);
    expect(() => parseCoverageRequirement('Call to thread:returned')).toThrow(/unknown invocation/);
  });
});

describe('the IPC events of an entry', () => {
  type Tcb = Extract<ObjectView, { type: 'tcb' }>;
  const tcb = (addr: number, state: Tcb['state'], schedContext: number | null): Tcb => ({
    type: 'tcb', addr, state, priority: 10, mcp: 10, domain: 0, schedContext, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null,
    blocking: state.startsWith('Blocked') ? { object: 0x100, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null } : null,
    fault: null,
  });
  const sc = (addr: number, owner: number | null, notification: number | null): ObjectView => ({
    type: 'schedcontext', addr, sizeBits: 8, tcb: owner, periodTicks: 0n, consumedTicks: 0n, refillMax: 2, refills: [], sporadic: false, badge: 0, yieldFrom: null, notification, replies: [],
  });
  /** A view of `objects` alone. */
  const viewOf = (objects: readonly ObjectView[]): KernelView => {
    const map = new Map(objects.map((o) => [o.addr, o]));
    return { cap: () => null, cdtParent: () => null, object: (a) => map.get(a) ?? null, objects: () => [...map.values()], current: () => null, userWord: () => 0, nonZeroWord: () => null, scheduler: () => { throw new Error('not read'); }, irq: irqAtBoot, workUnitsCompleted: () => null, translate: () => null, };
  };
  const [A, B, D, X, Y, N] = [0xa000, 0xb000, 0xd000, 0x1000, 0x2000, 0x3000];

  it('tell blocking, waking, a donation, its return by a reply, and a notification lend from a bind', () => {
    const threads = new ThreadStates(viewOf([tcb(A, 'Running', X), tcb(B, 'BlockedOnReceive', null), tcb(D, 'BlockedOnNotification', null)]));
    // A calls B, a passive server: A waits for the reply, B runs on A's context.
    expect(threads.step(viewOf([tcb(A, 'BlockedOnReply', null), tcb(B, 'Running', X)]), [A, B])).toEqual(['blocked-on-reply', 'woken', 'donation']);
    // B replies: the context goes back to A.
    expect(threads.step(viewOf([tcb(A, 'Running', X), tcb(B, 'BlockedOnReceive', null)]), [A, B])).toEqual(['woken', 'reply-return', 'blocked-on-receive']);
    // D is signalled and given the notification's context; then D is deleted.
    expect(threads.step(viewOf([tcb(D, 'Running', Y), sc(Y, D, N)]), [D, Y])).toEqual(['woken', 'notification-lend']);
    expect(threads.step(viewOf([]), [D])).toEqual([]);
    // A context bound to a thread that was not blocked (SchedContext_Bind) is no IPC event.
    expect(threads.step(viewOf([tcb(A, 'Running', Y), sc(Y, A, N)]), [A, Y])).toEqual([]);
  });
});

interface Reached {
  /** Sends with Grant to a waiting receiver whose extra cap to another endpoint lands in a root slot. */
  otherEndpointLanded: number;
  /** Sends with Grant to a waiting receiver whose extra cap to the same endpoint arrives unwrapped. */
  sameEndpointUnwrapped: number;
  /** CancelBadgedSends of a badge while senders of another badge are queued too: those stay. */
  cancelBesideOtherBadge: number;
  /** Threads that block on an endpoint ahead of one queued before them. */
  aheadOnEndpoint: number;
  /** Threads that block on a notification ahead of one queued before them. */
  aheadOnNotification: number;
  /** Deletes of a reply heading a call stack while its caller waits on it. */
  headReplyDeleted: number;
  /** Suspends of a caller waiting on a reply that heads a call stack: the stack is cut. */
  headCallerSuspended: number;
}

const rootCap = (view: KernelView, k: Knowledge, index: number) => view.cap({ cnode: k.rootCNode, index });

/** The name and first arguments of a call's text: `seL4_Send(0x5, 0x1003; mrs=[...], caps=[7, 9])`. */
function parsed(text: string): { name: string; args: number[]; caps: number[] } {
  const name = text.slice(0, text.indexOf('('));
  const args = text.slice(name.length + 1).split(/[;)]/)[0]!.split(', ').map(Number);
  const caps = /caps=\[([^\]]*)\]/.exec(text)?.[1]?.split(', ').filter((c) => c !== '').map(Number) ?? [];
  return { name, args, caps };
}

/** The endpoint caps in the root CNode to the endpoint at `ptr`. */
function endpointCaps(view: KernelView, k: Knowledge, ptr: number): number {
  return Array.from({ length: 2 ** k.rootRadix() }, (_, i) => rootCap(view, k, i)).filter((c) => c?.type === 'endpoint' && c.ptr === ptr).length;
}

/** A send with Grant to an endpoint a receiver waits on: the receiver, and the endpoints of its extra caps other than the destination's. */
function grantSend(view: KernelView, k: Knowledge, call: ReturnType<typeof parsed>) {
  const dest = rootCap(view, k, call.args[0]!);
  if (!/^seL4_(Send|NBSend|Call)$/.test(call.name) || dest?.type !== 'endpoint' || (dest.rights & seL4_CanGrant) === 0) return null;
  const ep = view.object(dest.ptr);
  if (ep?.type !== 'endpoint' || ep.state !== 'Recv') return null;
  const sent = call.caps.map((c) => rootCap(view, k, c)).flatMap((c) => (c?.type === 'endpoint' ? [c.ptr] : []));
  return { receiver: ep.queue[0]!, others: sent.filter((p) => p !== dest.ptr), same: sent.includes(dest.ptr) };
}

/** Whether CancelBadgedSends of root slot `index` finds senders of its badge and of another queued. */
function cancelsBesideOtherBadge(view: KernelView, k: Knowledge, index: number): boolean {
  const cap = rootCap(view, k, index);
  const ep = cap?.type === 'endpoint' ? view.object(cap.ptr) : null;
  if (cap?.type !== 'endpoint' || ep?.type !== 'endpoint' || ep.state !== 'Send') return false;
  const badges = ep.queue.map((t) => {
    const o = view.object(t);
    return o?.type === 'tcb' ? o.blocking?.badge : undefined;
  });
  return badges.includes(cap.badge) && badges.some((b) => b !== cap.badge);
}

/** Whether `reply` heads a call stack and its caller waits on it. */
function headAwaited(view: KernelView, reply: number | null): boolean {
  const o = reply === null ? null : view.object(reply);
  const caller = o?.type === 'reply' && o.tcb !== null ? view.object(o.tcb) : null;
  return o?.type === 'reply' && o.schedContext !== null && caller?.type === 'tcb' && caller.state === 'BlockedOnReply';
}

function observe(runs: number, steps: number, seed: number): Reached {
  const reached: Reached = { otherEndpointLanded: 0, sameEndpointUnwrapped: 0, cancelBesideOtherBadge: 0, aheadOnEndpoint: 0, aheadOnNotification: 0, headReplyDeleted: 0, headCallerSuspended: 0 };
  eachWorkloadStep(runs, steps, seed, (sys, k, resolved) => {
    const before = sys.view();
    const c = parsed(resolved.text);
    const send = grantSend(before, k, c);
    const other = send?.others[0];
    const othersBefore = other === undefined ? 0 : endpointCaps(before, k, other);
    if (c.name === 'seL4_CNode_CancelBadgedSends' && cancelsBesideOtherBadge(before, k, c.args[1]!)) reached.cancelBesideOtherBadge++;
    const target = rootCap(before, k, c.name === 'seL4_CNode_Delete' ? c.args[1]! : c.args[0]!);
    if (c.name === 'seL4_CNode_Delete' && target?.type === 'reply' && headAwaited(before, target.ptr)) reached.headReplyDeleted++;
    const suspended = c.name === 'seL4_TCB_Suspend' && target?.type === 'thread' ? before.object(target.ptr) : null;
    if (suspended?.type === 'tcb' && headAwaited(before, suspended.blocking?.reply ?? null)) reached.headCallerSuspended++;
    const current = before.current();
    resolved.run(sys.api, sys);
    const after = sys.view();
    if (other !== undefined && endpointCaps(after, k, other) > othersBefore) reached.otherEndpointLanded++;
    if (send?.same && messageInfoFromWord(sys.observe(send.receiver).caller?.regs[Reg.a1] ?? 0).capsUnwrapped !== 0) reached.sameEndpointUnwrapped++;
    const me = current === null ? null : after.object(current);
    const on = me?.type === 'tcb' ? (me.blocking?.object ?? null) : null;
    const queue = on === null ? null : after.object(on);
    if ((queue?.type === 'endpoint' || queue?.type === 'notification') && queue.queue.indexOf(current!) < queue.queue.length - 1) {
      if (queue.type === 'endpoint') reached.aheadOnEndpoint++;
      else reached.aheadOnNotification++;
    }
  });
  return reached;
}

const situations: readonly [string, keyof Reached][] = [
  ['sends a cap to another endpoint with Grant: it lands in the receive slot', 'otherEndpointLanded'],
  ['sends a cap to the endpoint itself with Grant: it arrives unwrapped', 'sameEndpointUnwrapped'],
  ['cancels the badged sends of one badge with senders of another queued', 'cancelBesideOtherBadge'],
  ['queues a thread on an endpoint ahead of an earlier one of lower priority', 'aheadOnEndpoint'],
  ['queues a thread on a notification ahead of an earlier one of lower priority', 'aheadOnNotification'],
  ['deletes a reply heading a call stack while its caller waits', 'headReplyDeleted'],
  ['suspends a caller waiting on a reply that heads a call stack', 'headCallerSuspended'],
];

describe("the workload's IPC composite steps on the impl alone", () => {
  const reached = observe(100, 100, 1);

  it.each(situations)('%s', (_, situation) => {
    expect(reached[situation]).toBeGreaterThan(0);
  });
});
