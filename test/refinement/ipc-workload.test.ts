// The default workload makes IPC: every IPC syscall, threads blocked on each kind of object,
// passive servers running on donated contexts that replies return, deletion with threads queued.
// Needs the IPC slice in the layers checked (issue 10).
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../refinement/check.ts';
import { ipcEvents, ipcKey, parseCoverageRequirement, unreachedPairs } from '../../refinement/coverage.ts';

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
