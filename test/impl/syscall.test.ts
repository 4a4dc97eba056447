// Kernel entry on the impl: syscall dispatch, the invocation path (invoked and extra cap
// lookups, faults, error replies), and what an entry reports.
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  seL4_CapDomain,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
} from '../../libsel4/index.ts';
import { fastImplLayer, implLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot } from './harness.ts';

const E = seL4_Error;
const S = seL4_Syscall;

describe('impl syscall entry', () => {
  it('boots the root thread Running with its registers, IPC buffer and bootinfo', () => {
    const r = bootRoot();
    const obs = implLayer.observe(r.state, r.plan.rootTCB);
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(obs.caller!.state).toBe('Running');
    expect(obs.caller!.regs[Reg.pc]).toBe(0x10000);
    expect(obs.caller!.regs[Reg.a0]).toBe(r.plan.bootInfoVaddr);
    expect(obs.caller!.ipcBuffer).toEqual(new Array(128).fill(0));
    const view = implLayer.view(r.state);
    r.plan.bootInfoWords.forEach((w, i) => expect(view.userWord(r.plan.bootInfoFrame + 4 * i)).toBe(w));
    expect(view.object(r.plan.rootTCB)).toEqual({
      type: 'tcb', addr: r.plan.rootTCB, state: 'Running', priority: 255, mcp: 255, domain: 0,
      schedContext: r.plan.rootSC, ipcBufferVaddr: r.plan.ipcBufferVaddr, flags: 0, yieldTo: null, boundNotification: null,
      blocking: null,
      fault: null,
    });
    // configure_sched_context: round robin, MIN_REFILLS, 5 ms released at 0 and an empty tail
    expect(view.object(r.plan.rootSC)).toEqual({
      type: 'schedcontext', addr: r.plan.rootSC, sizeBits: 7, tcb: r.plan.rootTCB, periodTicks: 0n, consumedTicks: 0n,
      refillMax: 2, refills: [{ releaseTicks: 0n, amountTicks: 50000n }, { releaseTicks: 0n, amountTicks: 0n }],
      sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [],
    });
    // the deadline one timer precision before the root's budget ends
    expect(view.scheduler()).toEqual({
      clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: r.plan.rootSC,
      readyQueues: [], releaseQueue: [], timerDeadlineTicks: 49990n,
    });
    expect(view.objects().map((o) => o.addr)).toEqual(r.plan.objects.map((o) => o.addr).sort((a, b) => a - b));
  });

  it('an unknown syscall stops the thread (no fault handler); then nothing runs', () => {
    const r = bootRoot();
    const obs = r.api.rawSyscall([[Reg.a7, syscallWord(-12)]]);
    expect(obs.caller!.state).toBe('Inactive');
    expect(obs.current).toBeNull();
    expect(obs.unmodelled).toBeNull();
    const again = r.api.rawSyscall([[Reg.a7, syscallWord(S.seL4_SysYield)]]);
    expect(again).toEqual({ current: null, caller: null, unmodelled: null, restarted: false });
    expect(r.api.rawSyscall([[Reg.a7, 5]]).current).toBeNull();
  });

  it('Yield changes nothing; a blocking receive on the null cap is a cap fault (no handler: Inactive)', () => {
    const r = bootRoot();
    const obs = r.api.rawSyscall([[Reg.a7, syscallWord(S.seL4_SysYield)]]);
    expect(obs.caller!.state).toBe('Running');
    expect(obs.unmodelled).toBeNull();
    for (const sysno of [S.seL4_SysRecv, S.seL4_SysReplyRecv, S.seL4_SysWait]) {
      const fresh = bootRoot();
      const o = fresh.api.rawSyscall([[Reg.a0, 0], [Reg.a7, syscallWord(sysno)]]);
      expect(o.unmodelled).toBeNull();
      expect(o.caller!.state).toBe('Inactive');
    }
  });

  it('invoking an empty slot is InvalidCapability(0); Send and NBSend drop the error', () => {
    const r = bootRoot();
    expect(r.api.seL4_Call(200, seL4_MessageInfo_new(0, 0, 0, 0)) >>> 12).toBe(E.seL4_InvalidCapability);
    expect(r.mrs(1)).toEqual([0]);
    const a1 = seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 0);
    r.api.seL4_Send(CNODE, a1);
    expect(r.obs().caller!.regs[Reg.a1]).toBe(a1);
    expect(r.obs().caller!.state).toBe('Running');
  });

  it('a failed lookup of the invoked cap is a cap fault for Call and Send, nothing for NBSend', () => {
    for (const sysno of [S.seL4_SysCall, S.seL4_SysSend, S.seL4_SysNBSend]) {
      const r = bootRoot();
      const obs = r.api.rawSyscall([[Reg.a0, 0x80000000], [Reg.a1, 0], [Reg.a7, syscallWord(sysno)]]);
      expect(obs.caller!.state).toBe(sysno === S.seL4_SysNBSend ? 'Running' : 'Inactive');
      expect(r.lastTouched.slots).toEqual([]);
    }
  });

  it('a failed extra cap lookup faults before decoding', () => {
    const r = bootRoot();
    r.api.seL4_SetCap(0, 0xffffffff);
    r.api.seL4_SetMR(0, 1);
    r.api.seL4_SetMR(1, 32);
    r.api.seL4_Call(CNODE, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 1, 2));
    expect(r.obs().caller!.state).toBe('Inactive');
    expect(r.cap(seL4_CapInitThreadTCB)).toMatchObject({ type: 'thread' });
  });

  it('other cap types are unmodelled and change nothing', () => {
    const r = bootRoot();
    const issue = seL4_MessageInfo_new(InvocationLabel.DomainSetSet, 0, 0, 0);
    const obs = r.api.rawSyscall([[Reg.a0, seL4_CapDomain], [Reg.a1, issue], [Reg.a7, syscallWord(S.seL4_SysCall)]]);
    expect(obs.unmodelled).toBe('domain invocation');
    expect(obs.caller!.state).toBe('Running');
    expect(obs.caller!.regs[Reg.a1]).toBe(issue);
    // The root has no bound notification: UnbindNotification is decoded, IllegalOperation.
    const unbind = seL4_MessageInfo_new(InvocationLabel.TCBUnbindNotification, 0, 0, 0);
    const unbound = r.api.rawSyscall([[Reg.a0, seL4_CapInitThreadTCB], [Reg.a1, unbind], [Reg.a7, syscallWord(S.seL4_SysCall)]]);
    expect(unbound.unmodelled).toBeNull();
    expect(unbound.caller!.regs[Reg.a1]! >>> 12).toBe(E.seL4_IllegalOperation);
  });

  it('a label the invoked object does not know is IllegalOperation', () => {
    const r = bootRoot();
    const copy = seL4_MessageInfo_new(InvocationLabel.CNodeCopy, 0, 0, 0);
    const obs = r.api.rawSyscall([[Reg.a0, seL4_CapInitThreadTCB], [Reg.a1, copy], [Reg.a7, syscallWord(S.seL4_SysCall)]]);
    expect(obs.unmodelled).toBeNull();
    expect(obs.caller!.regs[Reg.a1]! >>> 12).toBe(E.seL4_IllegalOperation);
  });

  it('clamps the message length to 120 and reads long arguments from the IPC buffer', () => {
    const r = bootRoot();
    // length field 127: clamped to 120, so a Delete with a huge length still decodes
    r.api.seL4_SetMR(0, 200);
    r.api.seL4_SetMR(1, D);
    expect(r.api.seL4_Call(CNODE, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 127)) >>> 12).toBe(E.seL4_NoError);
    // Retype reads MR4 and MR5 from IPC buffer words 5 and 6
    expect(r.api.seL4_Untyped_Retype(r.untyped(12), T.seL4_EndpointObject, 0, CNODE, 0, 0, 300, 2)).toBe(E.seL4_NoError);
    expect(r.obs().caller!.ipcBuffer![IPCBuffer.msg + 4]).toBe(300);
    expect(r.cap(301)).toMatchObject({ type: 'endpoint' });
  });

  it('writes error words beyond MR3 into the IPC buffer and reports the writes', () => {
    const r = bootRoot();
    expect(r.api.seL4_CNode_Delete(CNODE, 5, 3)).toBe(E.seL4_FailedLookup); // GuardMismatch: five words
    const obs = r.obs();
    expect(obs.caller!.regs[Reg.a1]).toBe(seL4_MessageInfo_new(E.seL4_FailedLookup, 0, 0, 5));
    expect(obs.caller!.regs[Reg.a0]).toBe(0);
    expect(obs.caller!.ipcBuffer![IPCBuffer.msg + 4]).toBe(20);
    expect(r.lastTouched.objects).toEqual(expect.arrayContaining([r.plan.rootTCB, r.plan.ipcBufferFrame]));
  });

  it('reports touched slots as refs, TCB slots named by the TCB', () => {
    const r = bootRoot();
    expect(r.api.seL4_CNode_Move(CNODE, 200, D, CNODE, CNODE, D)).toBe(E.seL4_NoError);
    const key = (s: { cnode: number; index: number }) => `${s.cnode}:${s.index}`;
    expect(r.lastTouched.slots.map(key).sort()).toEqual([r.slot(2), r.slot(200), { cnode: r.plan.rootTCB, index: 0 }].map(key).sort());
    expect(implLayer.view(r.state).cdtParent({ cnode: r.plan.rootTCB, index: 0 })).toEqual(r.slot(200));
  });

  it('the fast layer (no checks) behaves the same', () => {
    const plan = bootRoot().plan;
    const fast = fastImplLayer.boot(plan);
    const slow = implLayer.boot(plan);
    const event = { kind: 'syscall' as const, user: { regs: [[Reg.a0, CNODE], [Reg.a1, seL4_MessageInfo_new(InvocationLabel.CNodeDelete, 0, 0, 2)], [Reg.a2, 3], [Reg.a3, 32], [Reg.a7, syscallWord(-1)]] as [number, number][], ipcBuffer: [] } };
    expect(fastImplLayer.step(fast, event)[0]!.observation).toEqual(implLayer.step(slow, event)[0]!.observation);
    expect(fast.debug).toBe(false);
  });
});
