// Fault delivery on the impl: a faulting thread's fault goes to the endpoint cap in its TCB
// slot 3 (the root task here, waiting in Recv with a reply object, or receiving later); the
// fault message's label and words; the faulted thread BlockedOnReply with its fault pending;
// the reply restarting it or not, with the registers handleFaultReply writes; no handler;
// cancellation.
import { describe, expect, it } from 'vitest';
import {
  IPCBuffer,
  Reg,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  type KernelView,
  type Observation,
  usToTicks,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer } from '../../impl/index.ts';
import { CNODE, D, T, bootRoot, makeThread, regsOf, type Root } from './harness.ts';

const E = seL4_Error;
const S = seL4_Syscall;
const ROOT_TCB = seL4_CapInitThreadTCB;
const EP = 200;
const EP_BADGED = 201;
const REPLY = 204;
const FAULTER = 210; // TCB 210, SC 211, IPC buffer frame 212
const layer = createImplLayer({ debug: true });

function view(r: Root): KernelView {
  return layer.view(r.state);
}

function faultOf(r: Root, tcb: number): unknown {
  const object = view(r).object(tcb);
  if (object === null || object.type !== 'tcb') throw new Error(`no TCB at ${tcb.toString(16)}`);
  return object.fault;
}

/** The root's IPC buffer words MR4.. (buffer word i + 1 holds MR i). */
function rootBufferMRs(r: Root, from: number, to: number): Word[] {
  const buffer = layer.observe(r.state, r.plan.rootTCB).caller!.ipcBuffer!;
  return buffer.slice(IPCBuffer.msg + from, IPCBuffer.msg + to);
}

function enter(r: Root, sysno: number, regs: ReadonlyArray<readonly [number, Word]>): Observation {
  return r.enter({ kind: 'syscall', user: { regs: [...regs, [Reg.a7, syscallWord(sysno)]], ipcBuffer: [] } });
}

/** The root (priority 255) and a faulter thread (priority 100) whose fault handler is the badged endpoint cap (badge 0x55), or none. */
function setup(withHandler = true): { r: Root; faulter: number; ep: number; reply: number } {
  const r = bootRoot({}, { debug: true });
  const ut = r.untyped(16);
  const ok = (err: number) => expect(err).toBe(E.seL4_NoError);
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_BADGED, D, CNODE, EP, D, 0xf, 0x55));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_ReplyObject, 0, CNODE, 0, 0, REPLY, 1));
  const faulter = makeThread(r, FAULTER, 100, { budgetUs: 1000n, periodUs: 1000n, flags: 0 });
  if (withHandler) ok(r.api.seL4_TCB_SetSpace(FAULTER, EP_BADGED, CNODE, 0, seL4_CapInitThreadVSpace, 0));
  return { r, faulter, ep: (r.cap(EP) as { ptr: number }).ptr, reply: (r.cap(REPLY) as { ptr: number }).ptr };
}

/** The root waits in Recv on the endpoint with the reply object; the faulter runs. */
function rootReceives(r: Root, faulter: number): void {
  const obs = enter(r, S.seL4_SysRecv, [[Reg.a0, EP], [Reg.a6, REPLY]]);
  expect(obs.caller!.state).toBe('BlockedOnReceive');
  expect(obs.current).toBe(faulter);
}

/** The root lowers its priority below the faulter's, so the faulter runs until it blocks. */
function rootYieldsToFaulter(r: Root, faulter: number): void {
  expect(r.api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 50)).toBe(E.seL4_NoError);
  expect(r.obs().current).toBe(faulter);
}

describe('impl fault delivery', () => {
  it('an unknown syscall goes to a handler waiting in Recv: label 2, 11 words, the thread BlockedOnReply; a reply with label 0 writes FaultIP, sp, ra and restarts it', () => {
    const { r, faulter, ep, reply } = setup();
    rootReceives(r, faulter);
    const regs: [number, Word][] = [[Reg.pc, 0x1000], [Reg.sp, 0x2000], [Reg.ra, 0x3000], [Reg.a0, 10], [Reg.a1, 11], [Reg.a2, 12], [Reg.a3, 13], [Reg.a4, 14], [Reg.a5, 15], [Reg.a6, 16]];
    const obs = r.enter({ kind: 'syscall', user: { regs: [...regs, [Reg.a7, 77]], ipcBuffer: [] } });
    expect(obs.unmodelled).toBeNull();
    expect(obs.caller!.state).toBe('BlockedOnReply');
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(faultOf(r, faulter)).toEqual({ type: 'UnknownSyscall', words: [77] });
    expect(view(r).object(faulter)).toMatchObject({ blocking: { reply } });
    expect(view(r).object(reply)).toMatchObject({ tcb: faulter });
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });
    for (const touched of [ep, faulter, reply, r.plan.rootTCB]) expect(r.lastTouched.objects).toContain(touched);
    const root = regsOf(r, r.plan.rootTCB);
    expect(root[Reg.a0]).toBe(0x55);
    expect(root[Reg.a1]).toBe(seL4_MessageInfo_new(2, 0, 0, 11));
    expect([root[Reg.a2], root[Reg.a3], root[Reg.a4], root[Reg.a5]]).toEqual([0x1000, 0x2000, 0x3000, 10]);
    expect(rootBufferMRs(r, 4, 11)).toEqual([11, 12, 13, 14, 15, 16, 77]);

    // the reply: label 0, 3 words: FaultIP, sp, ra; a0 is not written (length 3)
    const replied = enter(r, S.seL4_SysSend, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 3)], [Reg.a2, 0x1004], [Reg.a3, 0x2100], [Reg.a4, 0x3100], [Reg.a5, 99]]);
    expect(replied.unmodelled).toBeNull();
    expect(replied.current).toBe(r.plan.rootTCB);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Restart', fault: null });
    expect(view(r).object(reply)).toMatchObject({ tcb: null });
    const after = regsOf(r, faulter);
    expect([after[Reg.pc], after[Reg.sp], after[Reg.ra], after[Reg.a0], after[Reg.a7]]).toEqual([0x1004, 0x2100, 0x3100, 10, 77]);
  });

  it('a user exception queued before the handler waits: the Recv takes it at once; a reply with label 1 leaves the thread Inactive', () => {
    const { r, faulter, ep, reply } = setup();
    rootYieldsToFaulter(r, faulter);
    const obs = r.enter({ kind: 'exception', user: { regs: [[Reg.pc, 0x4000], [Reg.sp, 0x5000]], ipcBuffer: [] }, number: 2, code: 7 });
    expect(obs.unmodelled).toBeNull();
    expect(obs.caller!.state).toBe('BlockedOnSend');
    expect(view(r).object(faulter)).toMatchObject({ blocking: { object: ep, badge: 0x55, canGrant: true, canGrantReply: true, isCall: false } });
    expect(faultOf(r, faulter)).toEqual({ type: 'UserException', words: [2, 7] });
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(view(r).object(ep)).toMatchObject({ state: 'Send', queue: [faulter] });

    const got = enter(r, S.seL4_SysRecv, [[Reg.a0, EP], [Reg.a6, REPLY]]);
    expect(got.caller!.state).toBe('Running');
    const root = got.caller!.regs;
    expect([root[Reg.a0], root[Reg.a1], root[Reg.a2], root[Reg.a3], root[Reg.a4], root[Reg.a5]]).toEqual([0x55, seL4_MessageInfo_new(3, 0, 0, 4), 0x4000, 0x5000, 2, 7]);
    expect(view(r).object(faulter)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply } });

    const replied = enter(r, S.seL4_SysSend, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(1, 0, 0, 2)], [Reg.a2, 0x4004], [Reg.a3, 0x5100]]);
    expect(replied.current).toBe(r.plan.rootTCB);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Inactive', fault: null });
    const after = regsOf(r, faulter);
    expect([after[Reg.pc], after[Reg.sp]]).toEqual([0x4004, 0x5100]); // written even though it does not restart
  });

  it('a cap fault (guard mismatch of an invoked cap): label 1, the CPtr, phase 0 and the lookup failure; any reply restarts the thread with its registers as they were', () => {
    const { r, faulter } = setup();
    rootReceives(r, faulter);
    const cptr = 0x8000_0005; // the root CNode's 20-bit guard is 0
    const obs = r.enter({ kind: 'syscall', user: { regs: [[Reg.pc, 0x6000], [Reg.a0, cptr], [Reg.a1, 0], [Reg.a7, syscallWord(S.seL4_SysCall)]], ipcBuffer: [] } });
    expect(obs.caller!.state).toBe('BlockedOnReply');
    expect(faultOf(r, faulter)).toEqual({ type: 'CapFault', words: [cptr, 0, 4, 32, 0, 20] });
    const root = regsOf(r, r.plan.rootTCB);
    expect(root[Reg.a1]).toBe(seL4_MessageInfo_new(1, 0, 0, 7));
    expect([root[Reg.a2], root[Reg.a3], root[Reg.a4], root[Reg.a5]]).toEqual([0x6000, cptr, 0, 4]);
    expect(rootBufferMRs(r, 4, 7)).toEqual([32, 0, 20]);

    const before = regsOf(r, faulter);
    enter(r, S.seL4_SysSend, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(9, 0, 0, 2)], [Reg.a2, 1], [Reg.a3, 2]]);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Restart', fault: null });
    expect(regsOf(r, faulter)).toEqual(before);
  });

  it('a receive-phase cap fault (Recv on a cap without Read) has phase 1 and MissingCapability 0', () => {
    const { r, faulter } = setup();
    expect(r.api.seL4_CNode_Mint(CNODE, 202, D, CNODE, EP, D, 0x1, 0)).toBe(E.seL4_NoError); // write only
    rootReceives(r, faulter);
    enter(r, S.seL4_SysRecv, [[Reg.pc, 0x7000], [Reg.a0, 202], [Reg.a6, REPLY]]);
    expect(faultOf(r, faulter)).toEqual({ type: 'CapFault', words: [202, 1, 2, 0] });
    expect(regsOf(r, r.plan.rootTCB)[Reg.a1]).toBe(seL4_MessageInfo_new(1, 0, 0, 5));
  });

  it('a handler in Wait (no reply object) takes the message and the thread becomes Inactive, its fault left set', () => {
    const { r, faulter } = setup();
    expect(enter(r, S.seL4_SysWait, [[Reg.a0, EP]]).current).toBe(faulter);
    r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(view(r).object(faulter)).toMatchObject({ state: 'Inactive', fault: { type: 'UserException', words: [2, 0] } });
    expect(regsOf(r, r.plan.rootTCB)[Reg.a1]).toBe(seL4_MessageInfo_new(3, 0, 0, 4));
  });

  it('no fault handler: the thread becomes Inactive with no fault pending', () => {
    const { r, faulter } = setup(false);
    rootYieldsToFaulter(r, faulter);
    const obs = r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(obs.unmodelled).toBeNull();
    expect(obs.caller!.state).toBe('Inactive');
    expect(faultOf(r, faulter)).toBeNull();
    expect(obs.current).toBe(r.plan.rootTCB);
  });

  it('cancellation: Suspend clears the pending fault; deleting the endpoint leaves a faulted sender Inactive (restart_thread_if_no_fault)', () => {
    const { r, faulter, ep } = setup();
    rootYieldsToFaulter(r, faulter);
    r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 2, code: 0 });
    expect(r.api.seL4_TCB_Suspend(FAULTER)).toBe(E.seL4_NoError);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Inactive', fault: null });
    expect(view(r).object(ep)).toMatchObject({ state: 'Idle', queue: [] });

    expect(r.api.seL4_TCB_Resume(FAULTER)).toBe(E.seL4_NoError);
    expect(r.obs().current).toBe(faulter);
    r.enter({ kind: 'exception', user: { regs: [], ipcBuffer: [] }, number: 3, code: 0 });
    expect(view(r).object(faulter)).toMatchObject({ state: 'BlockedOnSend' });
    expect(r.api.seL4_CNode_Revoke(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(r.api.seL4_CNode_Delete(CNODE, EP, D)).toBe(E.seL4_NoError);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Inactive', fault: { type: 'UserException', words: [3, 0] } });
  });

  it('a timeout fault: a sporadic thread with a timeout handler whose budget runs out at the timer interrupt; label 5, badge and consumed µs; the reply restarts it and its spent SC waits for release', () => {
    const { r, faulter, reply } = setup(false);
    const faulterSC = (r.cap(FAULTER + 1) as { ptr: number }).ptr;
    expect(r.api.seL4_SchedControl_ConfigureFlags(r.plan.bootInfo.schedcontrol.start, FAULTER + 1, 1000n, 10_000n, 0, 0x77, 0)).toBe(E.seL4_NoError);
    expect(r.api.seL4_TCB_SetTimeoutEndpoint(FAULTER, EP_BADGED)).toBe(E.seL4_NoError);
    rootReceives(r, faulter);
    const obs = r.enter({ kind: 'time', ticks: usToTicks(5000n) });
    expect(obs.unmodelled).toBeNull();
    expect(obs.current).toBe(r.plan.rootTCB);
    expect(view(r).object(faulter)).toMatchObject({ state: 'BlockedOnReply', blocking: { reply }, fault: { type: 'Timeout', words: [0x77] } });
    const root = regsOf(r, r.plan.rootTCB);
    expect([root[Reg.a0], root[Reg.a1], root[Reg.a2], root[Reg.a4]]).toEqual([0x55, seL4_MessageInfo_new(5, 0, 0, 3), 0x77, 0]);
    expect(root[Reg.a3]).toBeGreaterThan(900); // the budget consumed, in µs
    expect(root[Reg.a3]).toBeLessThanOrEqual(1000);
    expect(view(r).object(faulterSC)).toMatchObject({ consumedTicks: 0n, tcb: faulter }); // read and reset (no donation)

    enter(r, S.seL4_SysSend, [[Reg.a0, REPLY], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 2)], [Reg.a2, 0x1234], [Reg.a3, 0x4321]]);
    expect(view(r).object(faulter)).toMatchObject({ state: 'Restart', fault: null });
    const after = regsOf(r, faulter);
    expect([after[Reg.pc], after[Reg.ra]]).toEqual([0x1234, 0x4321]);
    expect(view(r).scheduler().releaseQueue).toEqual([faulter]);
  });
});
