// Fault delivery on the executable spec: cap faults, unknown syscalls and user exceptions sent to
// the handler endpoint in TCB slot 3, the fault message, the handler's reply (handleFaultReply),
// a fault queued before the handler waits, no handler, and cancellation.
import { describe, expect, it } from 'vitest';
import {
  messageInfoFromWord,
  Reg,
  seL4_CanGrant,
  seL4_CanWrite,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall as S,
  type Word,
} from '../../libsel4/index.ts';
import { getTCB } from '../../spec-executable/index.ts';
import { ROOT } from './harness.ts';
import { IPC } from './ipc-harness.ts';

const E = seL4_Error;
const badge = 0x77;
const info = (label: number, length: number) => seL4_MessageInfo_new(label, 0, 0, length);
/** Distinct register values for the faulting thread: pc 0x1000, sp 0x2000, ra 0x3000, a0-a6 0xa0..0xa6. */
const faulterRegs: ReadonlyArray<readonly [number, Word]> = [
  [Reg.pc, 0x1000], [Reg.sp, 0x2000], [Reg.ra, 0x3000],
  [Reg.a0, 0xa0], [Reg.a1, 0xa1], [Reg.a2, 0xa2], [Reg.a3, 0xa3], [Reg.a4, 0xa4], [Reg.a5, 0xa5], [Reg.a6, 0xa6],
];

/** A handler at `handlerPriority` and a faulter at `faulterPriority` whose slot 3 holds a badged Send+Grant cap to `ep`. */
function setup(handlerPriority: number, faulterPriority: number, withHandler = true) {
  const h = new IPC();
  const { ep, reply } = h.ipcObjects();
  const faultCap = h.mint(ep, seL4_CanWrite | seL4_CanGrant, badge);
  const handler = h.thread(handlerPriority);
  const faulter = h.thread(faulterPriority);
  if (withHandler) expect(h.api.seL4_TCB_SetSpace(faulter.tcbSlot, faultCap, ROOT, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
  h.yieldToThreads();
  return { h, ep, reply, epAddr: h.ptr(ep), replyAddr: h.ptr(reply), handler: handler.tcb, handlerSlots: handler, faulter: faulter.tcb, faulterSlot: faulter.tcbSlot };
}

/** The message the handler received: badge, tag, and words MR0.. (MR4 on from its IPC buffer). */
function received(h: IPC, tcb: number) {
  const regs = h.regs(tcb);
  const tag = messageInfoFromWord(regs[Reg.a1]!);
  const words = [regs[Reg.a2]!, regs[Reg.a3]!, regs[Reg.a4]!, regs[Reg.a5]!, ...h.buffer(tcb).slice(5, 1 + tag.length)].slice(0, tag.length);
  return { badge: regs[Reg.a0], tag, words };
}

describe('fault delivery to a handler waiting in Recv', () => {
  it('an unknown syscall: label 2, FaultIP, sp, ra, a0-a6, the number; the thread BlockedOnReply with its fault', () => {
    const { h, ep, reply, replyAddr, handler, faulter } = setup(200, 100);
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    h.enter({ kind: 'syscall', user: { regs: [...faulterRegs, [Reg.a7, 5]], ipcBuffer: [] } });
    expect(h.state.current).toBe(handler);
    expect(received(h, handler)).toEqual({
      badge, tag: { label: 2, capsUnwrapped: 0, extraCaps: 0, length: 11 },
      words: [0x1000, 0x2000, 0x3000, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 5],
    });
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: replyAddr }, fault: { type: 'UnknownSyscall', words: [5] } });
    expect(h.view(replyAddr)).toMatchObject({ tcb: faulter });

    // Label 0: FaultIP, sp, ra and a0 are written from the reply's four words and the thread restarts.
    h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, info(0, 4)], [Reg.a2, 0x1004], [Reg.a3, 0x2100], [Reg.a4, 0x3100], [Reg.a5, 0xb0]]);
    expect(h.state.current).toBe(faulter);
    expect(h.view(faulter)).toMatchObject({ state: 'Running', blocking: null, fault: null });
    const regs = h.regs(faulter);
    expect([regs[Reg.pc], regs[Reg.sp], regs[Reg.ra], regs[Reg.a0], regs[Reg.a1]]).toEqual([0x1004, 0x2100, 0x3100, 0xb0, 0xa1]);
  });

  it('a user exception: label 3, FaultIP, sp, number, code; a reply with a non-zero label writes FaultIP and sp and leaves it Inactive', () => {
    const { h, ep, reply, replyAddr, handler, faulter } = setup(200, 100);
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 2, code: 0x99 });
    expect(received(h, handler)).toEqual({ badge, tag: { label: 3, capsUnwrapped: 0, extraCaps: 0, length: 4 }, words: [0x1000, 0x2000, 2, 0x99] });
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: replyAddr }, fault: { type: 'UserException', words: [2, 0x99] } });

    // Only min(length, 2) registers are written: a third word is ignored.
    h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, info(1, 3)], [Reg.a2, 0x1008], [Reg.a3, 0x2200], [Reg.a4, 0x3300]]);
    expect(h.view(faulter)).toMatchObject({ state: 'Inactive', blocking: null, fault: null });
    const regs = h.regs(faulter);
    expect([regs[Reg.pc], regs[Reg.sp], regs[Reg.ra]]).toEqual([0x1008, 0x2200, 0x3000]);
    expect(h.state.current).toBe(h.rootTCB);
  });

  it('a receive-phase cap fault: label 1, FaultIP, the CPtr, 1, MissingCapability 0; any reply restarts it, no register written', () => {
    const { h, ep, reply, handler, faulter } = setup(200, 100);
    const empty = h.freeSlot();
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    h.sys(faulter, S.seL4_SysRecv, [[Reg.pc, 0x1000], [Reg.a0, empty]]);
    expect(received(h, handler)).toEqual({ badge, tag: { label: 1, capsUnwrapped: 0, extraCaps: 0, length: 5 }, words: [0x1000, empty, 1, 2, 0] });
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'CapFault', words: [empty, 1, 2, 0] } });

    h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, info(9, 1)], [Reg.a2, 0x5000]]);
    expect(h.state.current).toBe(faulter);
    expect(h.view(faulter)).toMatchObject({ state: 'Running', fault: null });
    expect(h.regs(faulter)[Reg.pc]).toBe(0x1000);
  });

  it('a send-phase cap fault on a failed lookup carries its lookup failure, inReceivePhase 0', () => {
    const { h, ep, reply, handler, faulter } = setup(200, 100);
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    // The root CNode's guard is 0: a CPtr with a high bit set fails the guard.
    h.sys(faulter, S.seL4_SysCall, [[Reg.pc, 0x1000], [Reg.a0, 0x80000000], [Reg.a1, info(0, 0)]]);
    const message = received(h, handler);
    expect(message.tag.label).toBe(1);
    expect(message.words.slice(0, 4)).toEqual([0x1000, 0x80000000, 0, 4]);
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'CapFault', words: message.words.slice(1) } });
  });
});

describe('fault delivery to a passive handler', () => {
  it('the faulted thread\'s SC is donated through the reply object and returns with the reply', () => {
    // The faulter (40) runs only once the root (50) drops below it.
    const { h, ep, reply, replyAddr, handler, handlerSlots, faulter } = setup(200, 40);
    const faulterSC = getTCB(h.state, faulter)!.schedContext;
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(h.api.seL4_SchedContext_UnbindObject(handlerSlots.scSlot, handlerSlots.tcbSlot)).toBe(E.seL4_NoError);
    expect(h.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 30)).toBe(E.seL4_NoError);
    h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 2, code: 0 });
    expect(h.state.current).toBe(handler);
    expect(h.view(handler)).toMatchObject({ state: 'Running', schedContext: faulterSC });
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', schedContext: null, fault: { type: 'UserException' } });
    expect(h.view(faulterSC!)).toMatchObject({ tcb: handler, replies: [replyAddr] });

    h.sys(handler, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a6, reply], [Reg.a1, info(0, 0)]]);
    expect(h.view(faulter)).toMatchObject({ state: 'Running', schedContext: faulterSC, fault: null });
    expect(h.view(handler)).toMatchObject({ state: 'BlockedOnReceive', schedContext: null });
    expect(h.state.current).toBe(faulter);
  });
});

describe('fault delivery without a waiting handler', () => {
  it('a fault sent before the handler waits is queued (BlockedOnSend, not a call) and received later', () => {
    const { h, ep, reply, epAddr, replyAddr, handler, faulter } = setup(100, 200);
    h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 8, code: 1 });
    expect(h.view(faulter)).toMatchObject({
      state: 'BlockedOnSend', blocking: { object: epAddr, badge, canGrant: true, canGrantReply: false, isCall: false, reply: null },
      fault: { type: 'UserException', words: [8, 1] },
    });
    expect(h.view(epAddr)).toMatchObject({ state: 'Send', queue: [faulter] });
    expect(h.state.current).toBe(handler);
    h.sys(handler, S.seL4_SysRecv, [[Reg.a0, ep], [Reg.a6, reply]]);
    expect(received(h, handler)).toEqual({ badge, tag: { label: 3, capsUnwrapped: 0, extraCaps: 0, length: 4 }, words: [0x1000, 0x2000, 8, 1] });
    expect(h.view(faulter)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply: replyAddr }, fault: { type: 'UserException' } });
    expect(h.view(epAddr)).toMatchObject({ state: 'Idle', queue: [] });
  });

  it('a handler receiving without a reply object (Wait) leaves the faulted thread Inactive, its fault still recorded', () => {
    const { h, ep, handler, faulter } = setup(200, 100);
    h.sys(handler, S.seL4_SysWait, [[Reg.a0, ep]]);
    h.enter({ kind: 'syscall', user: { regs: [...faulterRegs, [Reg.a7, 7]], ipcBuffer: [] } });
    expect(received(h, handler).tag).toMatchObject({ label: 2, length: 11 });
    expect(h.view(faulter)).toMatchObject({ state: 'Inactive', fault: { type: 'UnknownSyscall', words: [7] } });
  });

  it('no handler (a null cap in slot 3): the thread becomes Inactive with no fault pending', () => {
    const { h, faulter } = setup(100, 200, false);
    h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 2, code: 0 });
    expect(h.view(faulter)).toMatchObject({ state: 'Inactive', blocking: null, fault: null });
  });
});

describe('cancellation clears the fault', () => {
  it('suspending a thread queued with its fault, or blocked on the handler\'s reply, clears it', () => {
    const queued = setup(100, 200);
    queued.h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 2, code: 0 });
    expect(queued.h.view(queued.faulter)).toMatchObject({ state: 'BlockedOnSend', fault: { type: 'UserException' } });
    queued.h.sys(queued.handler, S.seL4_SysWait, [[Reg.a0, queued.h.freeSlot()]]);
    expect(queued.h.state.current).toBe(queued.h.rootTCB);
    expect(queued.h.api.seL4_TCB_Suspend(queued.faulterSlot)).toBe(E.seL4_NoError);
    expect(queued.h.view(queued.faulter)).toMatchObject({ state: 'Inactive', fault: null });
    expect(queued.h.view(queued.epAddr)).toMatchObject({ state: 'Idle', queue: [] });

    const replied = setup(200, 100);
    replied.h.sys(replied.handler, S.seL4_SysRecv, [[Reg.a0, replied.ep], [Reg.a6, replied.reply]]);
    replied.h.enter({ kind: 'exception', user: { regs: faulterRegs, ipcBuffer: [] }, number: 2, code: 0 });
    expect(replied.h.view(replied.faulter)).toMatchObject({ state: 'BlockedOnReply', fault: { type: 'UserException' } });
    replied.h.sys(replied.handler, S.seL4_SysWait, [[Reg.a0, replied.h.freeSlot()]]);
    expect(replied.h.api.seL4_TCB_Suspend(replied.faulterSlot)).toBe(E.seL4_NoError);
    expect(replied.h.view(replied.faulter)).toMatchObject({ state: 'Inactive', fault: null });
    expect(replied.h.view(replied.replyAddr)).toMatchObject({ tcb: null });
  });
});
