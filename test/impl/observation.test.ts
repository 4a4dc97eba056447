// The impl's observation of a caller's IPC buffer reuses the words it observed last: they must
// follow every step's writes, also those of a step that observed another thread (a fault
// message filling the waiting handler's buffer while the faulting thread, without a buffer, is
// the caller).
import { describe, expect, it } from 'vitest';
import {
  Reg,
  ipcBufferWords,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_MinSchedContextBits,
  seL4_ObjectType,
  seL4_Syscall,
  type KernelEvent,
} from '../../libsel4/index.ts';
import { bootSystem } from '../../refinement/system.ts';
import { ipcBufferAddr } from '../../impl/tcb.ts';
import { zeroRange } from '../../impl/state.ts';
import { implLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot } from './harness.ts';

const unknownSyscall = 100;

describe('the observed IPC buffer', () => {
  it('shows the words a fault message wrote while a thread without a buffer was the caller', () => {
    const system = bootSystem({ layer: 'impl' });
    const { api } = system;
    const info = system.plan.bootInfo;
    const untyped = info.untyped.start + system.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    const [tcb, sc, ep, reply] = [info.empty.start, info.empty.start + 1, info.empty.start + 2, info.empty.start + 3];
    const cnode = seL4_CapInitThreadCNode;
    const errors = [
      api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_TCBObject, 0, cnode, 0, 0, tcb, 1),
      api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_SchedContextObject, seL4_MinSchedContextBits, cnode, 0, 0, sc, 1),
      api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, cnode, 0, 0, ep, 1),
      api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_ReplyObject, 0, cnode, 0, 0, reply, 1),
      api.seL4_TCB_SetSpace(tcb, ep, cnode, 0, seL4_CapInitThreadVSpace, 0),
      api.seL4_SchedControl_ConfigureFlags(info.schedcontrol.start, sc, 10_000n, 10_000n, 0, 0, 0),
      api.seL4_TCB_SetSchedParams(tcb, seL4_CapInitThreadTCB, 100, 100, sc, ep),
      api.seL4_TCB_Resume(tcb),
    ];
    expect(errors).toEqual(errors.map(() => 0));
    const root = system.view().current()!;
    api.seL4_Recv(ep, reply); // observes the root's buffer; the new thread (no IPC buffer) runs
    expect(system.view().current()).not.toBe(root);
    const fault: KernelEvent = { kind: 'syscall', user: { regs: [[Reg.a7, unknownSyscall], [Reg.a1, 0x2222], [Reg.a2, 0x3333], [Reg.a6, 0x6666]], ipcBuffer: [] } };
    system.enter(fault); // the unknown-syscall fault message goes to the root, partly in its buffer
    expect(system.view().current()).toBe(root);
    const yielded = system.enter({ kind: 'syscall', user: { regs: [[Reg.a7, seL4_Syscall.seL4_SysYield >>> 0]], ipcBuffer: [] } });
    const observed = yielded.caller!.ipcBuffer!;
    const frame = system.view().cap({ cnode: root, index: 2 });
    if (frame === null || frame.type !== 'frame') throw new Error('the root has no IPC buffer frame');
    const base = frame.ptr + (info.ipcBuffer & 0xfff);
    expect(observed).toEqual(Array.from({ length: ipcBufferWords }, (_, i) => system.view().userWord(base + 4 * i)));
    expect(observed).toContain(0x6666);
  });

  it('is kept through a step that creates objects (no memory written), and read afresh after memory is zeroed', () => {
    const r = bootRoot();
    const slot = r.plan.bootInfo.empty.start;
    const retype = (at: number) => r.api.seL4_Untyped_Retype(r.untyped(16), T.seL4_EndpointObject, 0, CNODE, 0, 0, at, 1);
    expect(retype(slot + 1)).toBe(0); // a child: the untyped is not reset by the next retypes
    expect(retype(slot)).toBe(0);
    expect(r.api.seL4_CNode_Delete(CNODE, slot, D)).toBe(0);
    const before = r.obs().caller!.ipcBuffer!;
    expect(retype(slot)).toBe(0); // writes the same words again: nothing to patch
    expect(r.obs().caller!.ipcBuffer).toBe(before);
    const buffer = ipcBufferAddr(r.state, r.plan.rootTCB, 'user');
    zeroRange(r.state, buffer, 4 * ipcBufferWords);
    const after = implLayer.observe(r.state, r.plan.rootTCB).caller!.ipcBuffer!; // as the zeroing step's own observation
    expect(after).not.toBe(before);
    expect(after).toEqual(new Array(ipcBufferWords).fill(0));
  });
});
