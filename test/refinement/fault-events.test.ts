// The fault events a check counts (coverage.ts, FaultStates), told from threads' states and
// pending faults before and after an entry; and that --require-coverage names them.
import { describe, expect, it } from 'vitest';
import { irqAtBoot, type FaultView, type KernelView, type ObjectView } from '../../libsel4/index.ts';
import { FaultStates, parseCoverageRequirement } from '../../refinement/coverage.ts';

type Tcb = Extract<ObjectView, { type: 'tcb' }>;

const tcb = (addr: number, state: Tcb['state'], fault: FaultView | null = null): Tcb => ({
  type: 'tcb', addr, state, priority: 10, mcp: 10, domain: 0, schedContext: null, ipcBufferVaddr: 0, flags: 0, yieldTo: null, boundNotification: null,
  blocking: state.startsWith('Blocked') ? { object: 0x100, badge: 0, canGrant: false, canGrantReply: false, isCall: false, reply: null } : null,
  fault,
});

const viewOf = (objects: readonly ObjectView[]): KernelView => {
  const map = new Map(objects.map((o) => [o.addr, o]));
  return { cap: () => null, cdtParent: () => null, object: (a) => map.get(a) ?? null, objects: () => [...map.values()], current: () => null, userWord: () => 0, nonZeroWord: () => null, scheduler: () => { throw new Error('not read'); }, irq: irqAtBoot, workUnitsCompleted: () => null, translate: () => null, };
};

const [F, H] = [0xf000, 0xa000];
const exception: FaultView = { type: 'UserException', words: [2, 0] };
const receivePhase: FaultView = { type: 'CapFault', words: [0x80000000, 1, 4, 0, 0] };
const timeout: FaultView = { type: 'Timeout', words: [7] };

describe('the fault events of an entry', () => {
  it('tell a delivery (per fault type, the receive phase apart), a restarting reply and one that stops the thread', () => {
    const faults = new FaultStates(viewOf([tcb(F, 'Running'), tcb(H, 'BlockedOnReceive')]));
    expect(faults.step(viewOf([tcb(F, 'BlockedOnReply', exception), tcb(H, 'Running')]), [F, H], 'UserException')).toEqual(['delivered-user-exception']);
    // Touched again, unchanged (a fresh but equal fault view): nothing.
    expect(faults.step(viewOf([tcb(F, 'BlockedOnReply', { ...exception })]), [F], 'Yield')).toEqual([]);
    expect(faults.step(viewOf([tcb(F, 'Restart')]), [F], 'Send to reply')).toEqual(['reply-restart']);
    expect(faults.step(viewOf([tcb(F, 'BlockedOnReply', receivePhase), tcb(H, 'Running')]), [F, H], 'seL4_SysRecv')).toEqual(['delivered-cap-fault-receive']);
    expect(faults.step(viewOf([tcb(F, 'Inactive')]), [F], 'seL4_SysReplyRecv')).toEqual(['reply-no-restart']);
  });

  it('tell a fault cleared by a delete or suspend from a reply, and a timeout fault a reply raised', () => {
    const faults = new FaultStates(viewOf([tcb(F, 'BlockedOnReply', exception)]));
    expect(faults.step(viewOf([tcb(F, 'Inactive')]), [F], 'CNodeDelete')).toEqual(['cancelled']);
    faults.step(viewOf([tcb(F, 'BlockedOnReply')]), [F], 'Call to endpoint');
    expect(faults.step(viewOf([tcb(F, 'BlockedOnSend', timeout)]), [F], 'Send to reply')).toEqual(['timeout-on-reply']);
  });

  it('count no delivery for a faulted thread made Inactive while no receiver was woken (a suspend of a queued one)', () => {
    const faults = new FaultStates(viewOf([tcb(F, 'BlockedOnSend', exception), tcb(H, 'Running')]));
    expect(faults.step(viewOf([tcb(F, 'Inactive', exception), tcb(H, 'Running')]), [F, H], 'TCBSuspend')).toEqual([]);
  });

  it('are named by --require-coverage', () => {
    expect(parseCoverageRequirement('Fault:delivered-timeout,Fault:timeout-on-reply')).toEqual([
      { invocation: 'Fault', result: 'delivered-timeout' },
      { invocation: 'Fault', result: 'timeout-on-reply' },
    ]);
    expect(() => parseCoverageRequirement('Fault:double-fault')).toThrow(/unknown result 'double-fault'/);
  });
});
