// What the recordings showed the model lacked, now in every layer (run here on all three in
// lockstep, so the layers must also agree): Signal and the non-blocking receive on
// notifications (binding them is in test/refinement/notification-binding.test.ts), and
// IllegalOperation for a label the invoked object does not know.
import { describe, expect, it } from 'vitest';
import {
  firstRamUntypedSlot,
  InvocationLabel,
  Reg,
  seL4_AllRights,
  seL4_CanRead,
  seL4_CapInitThreadCNode as root,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_CapDomain,
  seL4_CapIRQControl,
  seL4_Error as E,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  seL4_Syscall as S,
  syscallWord,
  type Observation,
} from '../../libsel4/index.ts';
import { pairNames } from '../../refinement/lockstep/index.ts';
import { bootSystem } from '../../refinement/system.ts';

function setup() {
  const sys = bootSystem({ layer: 'lockstep', pairs: pairNames });
  const free = sys.plan.bootInfo.empty.start;
  const untyped = firstRamUntypedSlot(sys.plan.bootInfo);
  const raw = (sysno: number, a0: number, a1 = 0): Observation => sys.api.rawSyscall([[Reg.a0, a0], [Reg.a1, a1], [Reg.a7, syscallWord(sysno)]]);
  return { sys, free, untyped, raw };
}

describe('notifications: Signal and poll', () => {
  it('ORs the badges of every signal into the word; a poll takes it and leaves the notification idle', () => {
    const { sys, free, untyped, raw } = setup();
    const { seL4_Untyped_Retype, seL4_CNode_Mint } = sys.api;
    expect(seL4_Untyped_Retype(untyped, T.seL4_NotificationObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_AllRights, 0x11)).toBe(E.seL4_NoError);
    expect(seL4_CNode_Mint(root, free + 2, 32, root, free, 32, seL4_AllRights, 0x102)).toBe(E.seL4_NoError);
    raw(S.seL4_SysSend, free + 1);
    raw(S.seL4_SysNBSend, free + 2, seL4_MessageInfo_new(7, 0, 0, 3));
    const ntfn = sys.view().cap({ cnode: sys.plan.rootCNode, index: free })!;
    expect(sys.view().object(ntfn.type === 'notification' ? ntfn.ptr : -1)).toMatchObject({ word: 0x113 });
    const polled = raw(S.seL4_SysNBWait, free, 0x55);
    expect(polled.caller!.regs[Reg.a0]).toBe(0x113);
    expect(polled.caller!.regs[Reg.a1]).toBe(0x55);
    expect(raw(S.seL4_SysNBRecv, free).caller!.regs[Reg.a0]).toBe(0);
    const call = raw(S.seL4_SysCall, free + 1, seL4_MessageInfo_new(3, 0, 0, 2));
    expect(call.caller!.regs[Reg.a1]).toBe(0);
    expect(raw(S.seL4_SysNBWait, free).caller!.regs[Reg.a0]).toBe(0x11);
  });

  it('a notification cap without Write cannot signal, without Read cannot receive (a cap fault)', () => {
    const { sys, free, untyped, raw } = setup();
    expect(sys.api.seL4_Untyped_Retype(untyped, T.seL4_NotificationObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    expect(sys.api.seL4_CNode_Mint(root, free + 1, 32, root, free, 32, seL4_CanRead, 4)).toBe(E.seL4_NoError);
    const call = raw(S.seL4_SysCall, free + 1);
    expect(call.caller!.regs[Reg.a1]! >>> 12).toBe(E.seL4_InvalidCapability);
    expect(call.caller!.regs[Reg.a2]).toBe(0);
    expect(raw(S.seL4_SysNBWait, free).caller!.regs[Reg.a0]).toBe(0);
    expect(sys.api.seL4_CNode_Mint(root, free + 2, 32, root, free, 32, 0x1, 4)).toBe(E.seL4_NoError);
    expect(raw(S.seL4_SysNBWait, free + 2).caller!.state).toBe('Inactive');
  });

  it('a non-blocking receive on a cap that is no notification or endpoint is a cap fault; so is NBRecv on an endpoint with no reply cap in a6', () => {
    const { sys, free, untyped, raw } = setup();
    expect(sys.api.seL4_Untyped_Retype(untyped, T.seL4_EndpointObject, 0, root, 0, 0, free, 1)).toBe(E.seL4_NoError);
    const nbRecv = raw(S.seL4_SysNBRecv, free);
    expect(nbRecv.unmodelled).toBeNull();
    expect(nbRecv.caller!.state).toBe('Inactive');
  });

  it('a non-blocking receive on a TCB cap is a cap fault', () => {
    const { raw } = setup();
    expect(raw(S.seL4_SysNBWait, seL4_CapInitThreadTCB).caller!.state).toBe('Inactive');
  });
});

describe('a label the invoked object does not decode', () => {
  it('is IllegalOperation for every object with invocations of its own; its own labels are decoded or stay unmodelled', () => {
    const { raw } = setup();
    const label = (l: number) => seL4_MessageInfo_new(l, 0, 0, 2);
    for (const cap of [seL4_CapInitThreadTCB, seL4_CapInitThreadVSpace, 4, 5, 11, 14]) {
      const reply = raw(S.seL4_SysCall, cap, label(InvocationLabel.CNodeCopy));
      expect(reply.unmodelled, `cap ${cap}`).toBeNull();
      expect(reply.caller!.regs[Reg.a1], `cap ${cap}`).toBe(seL4_MessageInfo_new(E.seL4_IllegalOperation, 0, 0, 0));
    }
    const bind = raw(S.seL4_SysCall, seL4_CapInitThreadTCB, label(InvocationLabel.TCBBindNotification));
    expect(bind.unmodelled).toBeNull();
    expect(bind.caller!.regs[Reg.a1]).toBe(seL4_MessageInfo_new(E.seL4_TruncatedMessage, 0, 0, 0));
    const issue = raw(S.seL4_SysCall, seL4_CapIRQControl, label(InvocationLabel.IRQIssueIRQHandler));
    expect(issue.unmodelled).toBeNull();
    expect(issue.caller!.regs[Reg.a1]).toBe(seL4_MessageInfo_new(E.seL4_TruncatedMessage, 0, 0, 0));
    expect(raw(S.seL4_SysCall, seL4_CapDomain, label(InvocationLabel.DomainSetSet)).unmodelled).toBe('domain invocation');
  });
});
