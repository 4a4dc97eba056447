import { describe, expect, it } from 'vitest';
import {
  InvocationLabel as IL,
  Reg,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapDomain,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  syscallWord,
  type KernelEvent,
} from '../../libsel4/index.ts';
import { allObjects, allSlots, type ExecState } from '../../spec-executable/index.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;

function snapshot(state: ExecState): string {
  const state_ = {
    objects: [...allObjects(state)].map((o) => ({ ...o, slots: undefined })),
    slots: [...allSlots(state)],
    memory: [...state.memory.entries()],
    current: state.current,
    sched: { ...state.sched, readyQueues: [...state.sched.readyQueues.entries()] },
  };
  return JSON.stringify(state_, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

describe('syscall dispatch', () => {
  it('a syscall number outside -11..-1 is an UnknownSyscall fault: without a handler the thread stops', () => {
    for (const a7 of [0, 1, 0xfffffff4, 0x80000000]) {
      const h = new ExecHarness();
      const obs = h.api.rawSyscall([[Reg.a7, a7], [Reg.s0, 42]]);
      expect(obs.caller!.state).toBe('Inactive');
      expect(obs.caller!.regs[Reg.s0]).toBe(42);
      expect(obs.current).toBeNull();
      expect(h.last!.touched.objects).toContain(h.plan.rootTCB);
    }
  });

  it('Yield applies the user writes and changes nothing else', () => {
    const h = new ExecHarness();
    const before = h.state;
    const obs = h.api.rawSyscall([[Reg.s1, 7], [Reg.a7, syscallWord(S.seL4_SysYield)]]);
    expect(obs).toMatchObject({ current: h.plan.rootTCB, unmodelled: null, caller: { state: 'Running' } });
    expect(obs.caller!.regs[Reg.s1]).toBe(7);
    expect(h.state.objects.get(h.plan.rootCNode)).toBe(before.objects.get(h.plan.rootCNode));
  });

  it('a receive-side syscall on an empty slot is a cap fault: without a handler the thread stops', () => {
    for (const sysno of [S.seL4_SysReplyRecv, S.seL4_SysNBSendRecv, S.seL4_SysNBSendWait, S.seL4_SysRecv, S.seL4_SysWait, S.seL4_SysNBRecv, S.seL4_SysNBWait]) {
      const h = new ExecHarness();
      const obs = h.syscall(sysno, [[Reg.a0, h.empty], [Reg.a6, h.empty], [Reg.t0, h.empty], [Reg.s2, 9]]);
      expect(obs).toMatchObject({ unmodelled: null, current: null, caller: { state: 'Inactive' } });
      expect(obs.caller!.regs[Reg.s2]).toBe(9);
    }
  });

  it('invoking a cap type without modelled invocations is reported and changes nothing else', () => {
    const h = new ExecHarness();
    const before = h.state;
    h.call(seL4_CapDomain, IL.DomainSetSet, []);
    expect(h.observation().unmodelled).toBe('domain invocation');
    expect(h.observation().caller!.regs[Reg.a0]).toBe(seL4_CapDomain);
    expect(h.state.objects.get(h.plan.rootCNode)).toBe(before.objects.get(h.plan.rootCNode));
    expect(h.call(seL4_CapInitThreadTCB, IL.TCBBindNotification, [])).toBe(E.seL4_TruncatedMessage);
    expect(h.observation().unmodelled).toBeNull();
    expect(h.observation().caller!.state).toBe('Running');
  });
});

describe('the invocation path', () => {
  it('invoking an empty slot is InvalidCapability(0), replied with badge 0', () => {
    const h = new ExecHarness();
    expect(h.call(h.empty, IL.CNodeDelete, [1, 32])).toBe(E.seL4_InvalidCapability);
    expect(h.mrs()).toEqual([0]);
    expect(h.reg(Reg.a0)).toBe(0);
    expect(h.replyInfo()).toEqual({ label: E.seL4_InvalidCapability, capsUnwrapped: 0, extraCaps: 0, length: 1 });
  });

  it('a success reply is badge 0 and an empty message; the message registers are left as they were', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Copy(ROOT, h.empty, 32, ROOT, seL4_CapInitThreadTCB, 32, 0xf)).toBe(E.seL4_NoError);
    expect(h.reg(Reg.a0)).toBe(0);
    expect(h.reg(Reg.a1)).toBe(0);
    expect([Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => h.reg(r))).toEqual([h.empty, 32, seL4_CapInitThreadTCB, 32]);
    expect(h.observation().caller!.ipcBuffer![5]).toBe(0xf);
  });

  it('error words past MR3 go to the IPC buffer', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Delete(ROOT, 0x1000, 32)).toBe(E.seL4_FailedLookup);
    expect(h.replyInfo().length).toBe(5);
    expect(h.observation().caller!.ipcBuffer![5]).toBe(20);
  });

  it('Send and NBSend perform the invocation but never reply', () => {
    const h = new ExecHarness();
    const info = seL4_MessageInfo_new(IL.CNodeCopy, 0, 0, 5);
    expect(h.api.seL4_CNode_Copy(ROOT, h.empty, 32, ROOT, seL4_CapInitThreadTCB, 32, 0xf)).toBe(E.seL4_NoError);
    h.send(ROOT, IL.CNodeDelete, [h.empty, 32]);
    expect(h.cap(h.empty)).toEqual({ type: 'null' });
    expect(h.reg(Reg.a1)).toBe(seL4_MessageInfo_new(IL.CNodeDelete, 0, 0, 2));
    // An error is discarded too.
    const obs = h.api.rawSyscall([[Reg.a0, ROOT], [Reg.a1, info], [Reg.a7, syscallWord(S.seL4_SysNBSend)]]);
    expect(obs.caller!.state).toBe('Running');
    expect(obs.caller!.regs[Reg.a1]).toBe(info);
    expect(obs.caller!.regs[Reg.a0]).toBe(ROOT);
  });

  it('a failed lookup of the invoked cap is a cap fault for Call and Send, ignored by NBSend', () => {
    const nb = new ExecHarness();
    expect(nb.send(0x1000, IL.CNodeDelete, [1, 32], S.seL4_SysNBSend).caller!.state).toBe('Running');
    const send = new ExecHarness();
    expect(send.send(0x1000, IL.CNodeDelete, [1, 32]).caller!.state).toBe('Inactive');
    const call = new ExecHarness();
    call.call(0x1000, IL.CNodeDelete, [1, 32]);
    expect(call.observation()).toMatchObject({ current: null, caller: { state: 'Inactive' } });
  });

  it('a failed lookup of an extra cap is a cap fault too', () => {
    const h = new ExecHarness();
    h.call(ROOT, IL.CNodeCopy, [h.empty, 32, 1, 32, 0xf], [0x2000]);
    expect(h.observation().caller!.state).toBe('Inactive');
    expect(h.cap(h.empty)).toEqual({ type: 'null' });
  });

  it('only looks up as many extra caps as the message info says, and clamps the length to 120', () => {
    const h = new ExecHarness();
    h.api.seL4_SetCap(1, 0x2000);
    expect(h.call(ROOT, IL.CNodeCopy, [h.empty, 32, 1, 32, 0xf], [ROOT], { length: 127 })).toBe(E.seL4_NoError);
    expect(h.cap(h.empty)).toMatchObject({ type: 'thread' });
  });

  it('without an IPC buffer: length at most 4, no extra caps, error words stop at MR3', () => {
    const h = new ExecHarness();
    expect(h.api.seL4_CNode_Revoke(ROOT, seL4_CapInitThreadIPCBuffer, 32)).toBe(E.seL4_NoError);
    expect(h.observation().caller!.ipcBuffer).toBeNull();
    // Retype needs 6 words and a root cap: truncated.
    expect(h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_EndpointObject, 0, ROOT, 0, 0, h.empty, 1)).toBe(E.seL4_TruncatedMessage);
    expect(h.call(ROOT, IL.CNodeMove, [h.empty, 32, 1, 32], [ROOT])).toBe(E.seL4_TruncatedMessage);
    expect(h.api.seL4_CNode_Delete(ROOT, 0x1000, 32)).toBe(E.seL4_FailedLookup);
    expect(h.replyInfo().length).toBe(4);
    expect(h.mrs(4)).toEqual([0, 4, 32, 0]);
    // Deleting itself: no reply, the thread stops.
    expect(h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadTCB, 32)).toBe(IL.CNodeDelete);
    expect(h.observation().caller!.state).toBe('Inactive');
  });

  it('user writes outside the registers or the IPC buffer are ignored', () => {
    const h = new ExecHarness();
    const event: KernelEvent = {
      kind: 'syscall',
      user: { regs: [[40, 1], [-1, 2], [1.5, 3], [Reg.a7, syscallWord(S.seL4_SysYield)]], ipcBuffer: [[128, 5], [-3, 5], [127, 0xffffffff]] },
    };
    const obs = h.enter(event);
    expect(obs.caller!.regs.length).toBe(32);
    expect(obs.caller!.ipcBuffer![127]).toBe(0xffffffff);
    expect(h.last!.touched.objects).toContain(h.plan.ipcBufferFrame);
  });
});

describe('persistence', () => {
  it('a step never changes the state it was given', () => {
    const h = new ExecHarness();
    const s0 = h.state;
    const before = snapshot(s0);
    h.api.seL4_Untyped_Retype(h.bigUntyped, T.seL4_CapTableObject, 3, ROOT, 0, 0, h.empty, 2);
    h.api.seL4_CNode_Mint(ROOT, h.empty + 2, 32, ROOT, h.empty, 32, 0xf, 0x5);
    h.api.seL4_CNode_Move(ROOT, h.empty + 3, 32, ROOT, h.empty + 1, 32);
    h.api.seL4_CNode_Revoke(ROOT, h.bigUntyped, 32);
    h.api.seL4_CNode_Delete(ROOT, seL4_CapInitThreadTCB, 32);
    expect(snapshot(s0)).toBe(before);
    expect(L.view(s0).current()).toBe(h.plan.rootTCB);
    expect(L.view(h.state).current()).toBeNull();
  });
});
