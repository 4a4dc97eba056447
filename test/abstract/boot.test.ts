// The abstract spec's boot state and kernel entries that do not invoke objects.
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapInitThreadTCB,
  seL4_Syscall,
  syscallWord,
  TCBSlot,
} from '../../libsel4/index.ts';
import { abstractLayer, allFilledSlots, isOriginalCap } from '../../spec-abstract/index.ts';
import { bootHarness, lastReply } from './harness.ts';

describe('abstract boot', () => {
  it('materialises the boot plan: root caps, their CDT, objects and the running root thread', () => {
    const h = bootHarness();
    const v = h.view();
    const { plan } = h;
    for (const [index, cap] of plan.rootCaps) {
      expect(v.cap(h.root(index))).toEqual(cap);
      expect(v.cdtParent(h.root(index))).toBeNull();
      expect(isOriginalCap(h.state(), h.root(index))).toBe(true);
    }
    expect(v.cap(h.root(0))).toEqual({ type: 'null' });
    expect(v.cap(h.root(2 ** 12))).toBeNull();
    for (const [tcbSlot, rootSlot, cap] of plan.tcbCaps) {
      const slot = { cnode: plan.rootTCB, index: tcbSlot };
      expect(v.cap(slot)).toEqual(cap);
      expect(v.cdtParent(slot)).toEqual(h.root(rootSlot));
      expect(isOriginalCap(h.state(), slot)).toBe(false);
    }
    expect(v.cap({ cnode: plan.rootTCB, index: TCBSlot.faultHandler })).toEqual({ type: 'null' });
    expect(v.cap({ cnode: plan.rootTCB, index: 5 })).toBeNull();
    expect(v.objects().map((o) => o.addr)).toEqual(plan.objects.map((o) => o.addr).sort((a, b) => a - b));
    expect(v.object(plan.rootTCB)).toEqual({
      type: 'tcb', addr: plan.rootTCB, state: 'Running', priority: 255, mcp: 255, domain: 0,
      schedContext: plan.rootSC, ipcBufferVaddr: plan.ipcBufferVaddr, flags: 0, yieldTo: null, boundNotification: null, blocking: null, fault: null,
    });
    expect(v.object(plan.rootSC)).toEqual({
      type: 'schedcontext', addr: plan.rootSC, sizeBits: 7, tcb: plan.rootTCB, periodTicks: 0n, consumedTicks: 0n, refillMax: 2,
      refills: [{ releaseTicks: 0n, amountTicks: 50_000n }, { releaseTicks: 0n, amountTicks: 0n }], sporadic: false, badge: 0, yieldFrom: null, notification: null,
      replies: [],
    });
    expect(v.object(plan.rootCNode)).toEqual({ type: 'cnode', addr: plan.rootCNode, radix: 12 });
    expect(v.current()).toBe(plan.rootTCB);
    // schedule() at the end of boot: the root's SC is current, the timer set at the end of its budget.
    expect(v.scheduler()).toEqual({
      clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: plan.rootSC, readyQueues: [], releaseQueue: [],
      timerDeadlineTicks: 50_000n - 10n,
    });
    plan.bootInfoWords.forEach((w, i) => expect(v.userWord(plan.bootInfoFrame + 4 * i)).toBe(w));
    expect(allFilledSlots(h.state())).toHaveLength(plan.rootCaps.length + plan.tcbCaps.length);
  });

  it('observes the root thread with its registers and IPC buffer', () => {
    const h = bootHarness();
    const o = abstractLayer.observe(h.state(), h.plan.rootTCB);
    expect(o.current).toBe(h.plan.rootTCB);
    expect(o.unmodelled).toBeNull();
    expect(o.caller?.state).toBe('Running');
    expect(o.caller?.regs[Reg.pc]).toBe(0x10000);
    expect(o.caller?.regs[Reg.a0]).toBe(h.plan.bootInfoVaddr);
    expect(o.caller?.ipcBuffer).toEqual(new Array(128).fill(0));
  });
});

describe('abstract kernel entry', () => {
  it('applies user register and IPC buffer writes before the kernel runs (Yield changes nothing else)', () => {
    const h = bootHarness();
    h.api.seL4_SetMR(0, 7);
    h.api.seL4_SetMR(10, 0xdeadbeef);
    h.api.seL4_Yield();
    const o = h.api.lastObservation();
    expect(o.caller?.ipcBuffer?.[1]).toBe(7); // seL4_SetMR writes msg[0]; Yield loads no message register
    expect(o.caller?.ipcBuffer?.[11]).toBe(0xdeadbeef);
    expect(h.view().userWord(h.plan.ipcBufferFrame + 44)).toBe(0xdeadbeef);
    expect(o.current).toBe(h.plan.rootTCB);
  });

  it('makes the thread Inactive on an unknown syscall (no fault handler) and then does nothing', () => {
    const h = bootHarness();
    const o = h.api.rawSyscall([[Reg.a7, syscallWord(-12)]]);
    expect(o.caller?.state).toBe('Inactive');
    expect(o.current).toBeNull();
    expect(h.lastOutcomes()[0]!.touched.objects).toContain(h.plan.rootTCB);
    const before = h.state();
    const after = h.api.rawSyscall([[Reg.a7, syscallWord(seL4_Syscall.seL4_SysCall)]]);
    expect(after).toEqual({ current: null, caller: null, unmodelled: null, restarted: false });
    expect(h.state()).toBe(before);
  });

  it('treats a7 = 0 and large words as unknown syscalls', () => {
    for (const a7 of [0, 1, 0x7fffffff, syscallWord(-100)]) {
      const h = bootHarness();
      expect(h.api.rawSyscall([[Reg.a7, a7]]).caller?.state).toBe('Inactive');
    }
  });

  it('makes a receive on an empty slot a cap fault: with no fault handler the thread becomes Inactive', () => {
    for (const sysno of [-2, -3, -4, -7, -8, -9, -10]) {
      const h = bootHarness();
      const o = h.api.rawSyscall([[Reg.a0, 0], [Reg.a6, 0], [Reg.t0, 0], [Reg.a7, syscallWord(sysno)]]);
      expect(o.unmodelled).toBeNull();
      expect(o.caller?.state).toBe('Inactive');
    }
  });

  it('answers invocations of every cap it models (IRQ control too); a label the object does not know is IllegalOperation', () => {
    const h = bootHarness();
    const label = (l: number) => seL4_MessageInfo_new(l, 0, 0, 0);
    const o = h.api.rawSyscall([[Reg.a0, seL4_CapInitThreadTCB], [Reg.a1, label(InvocationLabel.TCBBindNotification)], [Reg.a7, syscallWord(-1)]]);
    expect(o.unmodelled).toBeNull();
    expect(o.caller!.regs[Reg.a1]! >>> 12).toBe(seL4_Error.seL4_TruncatedMessage);
    const irq = h.api.rawSyscall([[Reg.a0, seL4_CapIRQControl], [Reg.a1, label(InvocationLabel.IRQIssueIRQHandler)], [Reg.a7, syscallWord(-1)]]);
    expect(irq.unmodelled).toBeNull();
    expect(irq.caller!.regs[Reg.a1]! >>> 12).toBe(seL4_Error.seL4_TruncatedMessage);
    const foreign = h.api.rawSyscall([[Reg.a0, seL4_CapInitThreadTCB], [Reg.a1, label(InvocationLabel.CNodeCopy)], [Reg.a7, syscallWord(-1)]]);
    expect(foreign.unmodelled).toBeNull();
    expect(foreign.caller!.regs[Reg.a1]! >>> 12).toBe(seL4_Error.seL4_IllegalOperation);
  });

  it('answers a Call on an empty slot with InvalidCapability(0), and Send with nothing', () => {
    const h = bootHarness();
    h.api.seL4_SetMR(1, 99);
    const reply = h.api.seL4_Call(0, 0);
    expect(reply).toBe(((2 << 12) | 1) >>> 0);
    expect(h.api.seL4_GetMR(0)).toBe(0);
    expect(h.api.seL4_GetMR(1)).toBe(99);
    expect(h.api.lastObservation().caller?.regs[Reg.a0]).toBe(0);
    const before = h.view().objects();
    h.api.seL4_Send(0, 0);
    expect(h.api.lastObservation().caller?.regs[Reg.a1]).toBe(0);
    expect(h.api.lastObservation().caller?.state).toBe('Running');
    expect(h.view().objects()).toEqual(before);
  });

  it('turns a failed lookup of the invoked cap into a cap fault for Call and Send, but not NBSend', () => {
    const h = bootHarness();
    // Revoking the root CNode cap deletes the thread's CSpace root (TCB slot 0, its only child).
    expect(h.api.seL4_CNode_Revoke(seL4_CapInitThreadCNode, seL4_CapInitThreadCNode, 32)).toBe(0);
    expect(h.view().cap({ cnode: h.plan.rootTCB, index: 0 })).toEqual({ type: 'null' });
    h.api.seL4_NBSend(1, 0);
    expect(h.api.lastObservation().caller?.state).toBe('Running');
    h.api.seL4_Send(1, 0);
    expect(h.api.lastObservation().caller?.state).toBe('Inactive');
    expect(h.api.lastObservation().current).toBeNull();
    expect(h.view().cap(h.root(2))?.type).toBe('cnode');
  });

  it('looks up extra caps only with an IPC buffer, and faults on a bad one', () => {
    const h = bootHarness();
    // Delete the IPC buffer: revoking root slot 10 removes TCB slot 2 (its child).
    expect(h.api.seL4_CNode_Revoke(2, seL4_CapInitThreadIPCBuffer, 32)).toBe(0);
    expect(h.api.lastObservation().caller?.ipcBuffer).toBeNull();
    // Copy needs an extra cap: without a buffer it is a truncated message.
    expect(h.api.seL4_CNode_Copy(2, 100, 32, 2, 2, 32, 0xf)).toBe(7);
  });

  it('cuts an error reply to the four message registers when there is no IPC buffer', () => {
    const h = bootHarness();
    h.api.seL4_CNode_Delete(2, 100, 12);
    expect(lastReply(h)).toEqual({ error: 6, mrs: [0, 4, 12, 0, 20] });
    h.api.seL4_CNode_Revoke(2, seL4_CapInitThreadIPCBuffer, 32);
    h.api.seL4_CNode_Delete(2, 100, 12);
    expect(lastReply(h)).toEqual({ error: 6, mrs: [0, 4, 12, 0] });
  });

  it('drops IPC buffer writes of a thread without an IPC buffer', () => {
    const h = bootHarness();
    h.api.seL4_CNode_Revoke(2, seL4_CapInitThreadIPCBuffer, 32);
    h.api.seL4_SetMR(5, 1234);
    h.api.seL4_Yield();
    expect(h.view().userWord(h.plan.ipcBufferFrame + 4 * IPCBuffer.msg + 20)).toBe(0);
  });
});
