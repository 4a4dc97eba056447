// The default workload makes IPC: every IPC syscall, threads blocked on each kind of object,
// passive servers running on donated contexts that replies return, deletion with threads queued.
// Needs the IPC slice in the layers checked (issue 10).
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../refinement/check.ts';
import type { KernelView, ObjectView } from '../../libsel4/index.ts';
import { ThreadStates, ipcEvents, ipcKey, parseCoverageRequirement, unreachedPairs } from '../../refinement/coverage.ts';

describe('the IPC workload', () => {
  const summary = runCheck({ runs: 100, steps: 100, seed: 6, pairs: ['impl-abstract'], invariantsEveryStep: false });

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
    // A notification's context lent to a passive waiter needs SchedContext_Bind of a notification first: rarer.
    expect(reached).toEqual(ipcEvents.filter((e) => e !== 'notification-lend'));
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
  });
  const sc = (addr: number, owner: number | null, notification: number | null): ObjectView => ({
    type: 'schedcontext', addr, sizeBits: 8, tcb: owner, periodTicks: 0n, consumedTicks: 0n, refillMax: 2, refills: [], sporadic: false, badge: 0, yieldFrom: null, notification, replies: [],
  });
  /** A view of `objects` alone. */
  const viewOf = (objects: readonly ObjectView[]): KernelView => {
    const map = new Map(objects.map((o) => [o.addr, o]));
    return { cap: () => null, cdtParent: () => null, object: (a) => map.get(a) ?? null, objects: () => [...map.values()], current: () => null, userWord: () => 0, scheduler: () => { throw new Error('not read'); } };
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
