// libsel4's calls as generator stubs: what they put in registers and the IPC buffer, and what
// they read back, as libsel4's riscv stubs do; checked against a scripted kernel.
import { describe, expect, it } from 'vitest';
import {
  isThreadEvent,
  IPCBuffer,
  InvocationLabel,
  Reg,
  createSel4Api,
  createSel4Calls,
  ipcBufferWords,
  messageInfoFromWord,
  msgWordIndex,
  numRegisters,
  runStub,
  seL4_AllRights,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_RISCV_ExecuteNever,
  seL4_ReadWrite,
  type KernelEvent,
  type Observation,
  type SyscallPort,
} from '../../libsel4/index.ts';

/** A thread's registers and IPC buffer; `kernel` answers each entry by changing them. */
function scriptedThread(kernel: (regs: number[], buffer: number[]) => void = () => {}) {
  const regs = new Array<number>(numRegisters).fill(0);
  const buffer = new Array<number>(ipcBufferWords).fill(0);
  const events: KernelEvent[] = [];
  const observe = (): Observation => ({ current: 1, caller: { tcb: 1, state: 'Running', regs: [...regs], ipcBuffer: [...buffer] }, unmodelled: null, restarted: false });
  const port: SyscallPort = {
    enter(event) {
      events.push(event);
      if (isThreadEvent(event)) {
        for (const [i, v] of event.user.regs) regs[i] = v;
        for (const [i, v] of event.user.ipcBuffer) buffer[i] = v;
      }
      kernel(regs, buffer);
      return observe();
    },
  };
  return { regs, buffer, events, port, initial: observe() };
}

const userWrites = (event: KernelEvent | undefined) => (event && isThreadEvent(event) ? event.user : { regs: [], ipcBuffer: [] });
const regsOf = (event: KernelEvent | undefined) => new Map(userWrites(event).regs);
const bufferOf = (event: KernelEvent | undefined) => new Map(userWrites(event).ipcBuffer);
const replyWith = (label: number, words: readonly number[]) => (regs: number[]) => {
  regs[Reg.a1] = seL4_MessageInfo_new(label, 0, 0, words.length);
  words.forEach((w, i) => (regs[Reg.a2 + i] = w));
};

describe('libsel4 message registers', () => {
  it('seL4_SetMR writes msg[i] of the IPC buffer; seL4_Call loads MR0-3 into a2-a5 and stores what comes back', () => {
    const t = scriptedThread(replyWith(0, [11, 12, 13, 14]));
    const api = createSel4Api(t.port, t.initial);
    api.seL4_SetMR(0, 7);
    api.seL4_SetMR(5, 9);
    expect(api.seL4_GetMR(0)).toBe(7);
    const info = seL4_MessageInfo_new(3, 0, 0, 6);
    expect(api.seL4_Call(4, info)).toBe(seL4_MessageInfo_new(0, 0, 0, 4));
    const sent = regsOf(t.events[0]);
    expect([Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => sent.get(r))).toEqual([4, info, 7, 0, 0, 0]);
    expect(bufferOf(t.events[0])).toEqual(new Map([[msgWordIndex(0), 7], [msgWordIndex(5), 9]]));
    expect([0, 1, 2, 3, 5].map(api.seL4_GetMR)).toEqual([11, 12, 13, 14, 9]);
    // The stores back reach the kernel with the next entry, as writes to the IPC buffer.
    api.seL4_Yield();
    expect(bufferOf(t.events[1])).toEqual(new Map([0, 1, 2, 3].map((i) => [msgWordIndex(i), 11 + i])));
    expect([...regsOf(t.events[1]).keys()]).toEqual([Reg.a7]);
  });

  it('a generated stub passes its first four words in a2-a5 and stores them back to MR0-3 only on an error', () => {
    let label = 0;
    const t = scriptedThread((regs) => replyWith(label, [77, 78])(regs));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_CNode_Delete(2, 5, 32)).toBe(seL4_Error.seL4_NoError);
    const sent = regsOf(t.events[0]);
    expect([Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => sent.get(r))).toEqual([5, 32, 0, 0]);
    expect(messageInfoFromWord(sent.get(Reg.a1)!)).toMatchObject({ label: InvocationLabel.CNodeDelete, length: 2 });
    expect(bufferOf(t.events[0]).size).toBe(0);
    expect(api.seL4_GetMR(0)).toBe(0);
    label = seL4_Error.seL4_FailedLookup;
    expect(api.seL4_CNode_Delete(2, 5, 32)).toBe(seL4_Error.seL4_FailedLookup);
    expect([api.seL4_GetMR(0), api.seL4_GetMR(1)]).toEqual([77, 78]);
  });

  it('sends CNode depths as seL4_Uint8 and Untyped_Retype node_depth as a whole word', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_CNode_Copy(2, 5, 256 + 32, 2, 6, 0x1ff, seL4_AllRights);
    const copy = regsOf(t.events[0]);
    expect([Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => copy.get(r))).toEqual([5, 32, 6, 0xff]);
    api.seL4_Untyped_Retype(20, 2, 0, 2, 0, 300, 40, 1);
    expect(regsOf(t.events[1]).get(Reg.a5)).toBe(300);
  });
});

describe('TCB register transfers', () => {
  it('WriteRegisters claims the whole seL4_UserContext, pc and ra in a4-a5, the rest up to count in the buffer', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    const regs = Array.from({ length: numRegisters }, (_, i) => 100 + i);
    api.seL4_TCB_WriteRegisters(7, true, 0, 18, regs);
    const sent = regsOf(t.events[0]);
    expect([Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => sent.get(r))).toEqual([1, 18, 100, 101]);
    expect(messageInfoFromWord(sent.get(Reg.a1)!).length).toBe(2 + numRegisters);
    const buffer = bufferOf(t.events[0]);
    expect([...buffer.keys()]).toEqual(Array.from({ length: 16 }, (_, i) => msgWordIndex(4 + i)));
    expect([...buffer.values()]).toEqual(regs.slice(2, 18));
  });

  it('ReadRegisters reads pc..gp from a2-a5 and the rest up to count from the buffer; nothing on an error', () => {
    let label = 0;
    const t = scriptedThread((regs, buffer) => {
      replyWith(label, [1, 2, 3, 4])(regs);
      for (let i = 4; i < 10; i++) buffer[msgWordIndex(i)] = i + 1;
      buffer[msgWordIndex(10)] = 99;
    });
    const api = createSel4Api(t.port, t.initial);
    const read = api.seL4_TCB_ReadRegisters(7, false, 0, 10);
    expect(read.error).toBe(seL4_Error.seL4_NoError);
    expect(read.regs).toEqual([...Array.from({ length: 10 }, (_, i) => i + 1), ...new Array(numRegisters - 10).fill(0)]);
    label = seL4_Error.seL4_InvalidCapability;
    expect(api.seL4_TCB_ReadRegisters(7, false, 0, 10)).toEqual({ error: seL4_Error.seL4_InvalidCapability, regs: null });
  });

  it('SchedContext_Consumed joins MR0 and MR1 into 64 bits of microseconds', () => {
    const t = scriptedThread(replyWith(0, [0x89abcdef, 0x1]));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_SchedContext_Consumed(9)).toEqual({ error: seL4_Error.seL4_NoError, consumed: 0x189abcdefn });
  });
});

describe('one definition, two forms', () => {
  it("a program's generator calls make the same entries as the root task's synchronous ones", () => {
    const script = (regs: number[]) => replyWith(seL4_Error.seL4_RangeError, [1, 32])(regs);
    const sync = scriptedThread(script);
    const api = createSel4Api(sync.port, sync.initial);
    api.seL4_SetCap(0, 2);
    api.seL4_CNode_Mint(2, 300, 32, 2, 301, 32, seL4_AllRights, 5);
    api.seL4_TCB_SetPriority(1, 1, 200);
    const generated = scriptedThread(script);
    const calls = createSel4Calls(generated.initial);
    calls.seL4_SetCap(0, 2);
    runStub(calls.seL4_CNode_Mint(2, 300, 32, 2, 301, 32, seL4_AllRights, 5), generated.port);
    const stub = calls.seL4_TCB_SetPriority(1, 1, 200);
    const first = stub.next();
    expect(first.done).toBe(false);
    const last = stub.next(generated.port.enter(first.value as KernelEvent));
    expect(last).toEqual({ done: true, value: seL4_Error.seL4_RangeError });
    expect(generated.events).toEqual(sync.events);
    expect(bufferOf(sync.events[0]).get(IPCBuffer.capsOrBadges)).toBe(2);
  });
});

describe('the IPC stubs (MCS, riscv)', () => {
  /** The kernel delivers a message: badge 0x55 in a0, a 6-word message of label 9 in a1, words in a2-a5 and the buffer. */
  const deliver = (regs: number[], buffer: number[]) => {
    regs[Reg.a0] = 0x55;
    replyWith(9, [21, 22, 23, 24, 25, 26])(regs);
    buffer[msgWordIndex(4)] = 25;
    buffer[msgWordIndex(5)] = 26;
    buffer[IPCBuffer.capsOrBadges] = 0x77;
  };
  const sentRegs = (event: KernelEvent | undefined, regs: readonly number[]) => regs.map((r) => regsOf(event).get(r));

  it('seL4_Recv passes the source in a0 and the reply in a6, returns the info and badge and stores MR0-3', () => {
    const t = scriptedThread(deliver);
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_Recv(6, 8)).toEqual({ info: seL4_MessageInfo_new(9, 0, 0, 6), sender: 0x55 });
    expect(sentRegs(t.events[0], [Reg.a0, Reg.a6, Reg.a7])).toEqual([6, 8, (-7) >>> 0]);
    expect([0, 1, 2, 3, 4, 5].map(api.seL4_GetMR)).toEqual([21, 22, 23, 24, 25, 26]);
    expect(api.seL4_GetBadge(0)).toBe(0x77);
  });

  it('seL4_Wait, seL4_NBWait and seL4_Poll enter with a6 = 0 (no reply); seL4_NBRecv with the reply', () => {
    const t = scriptedThread(deliver);
    const api = createSel4Api(t.port, t.initial);
    api.seL4_Wait(3);
    api.seL4_NBWait(3);
    api.seL4_Poll(3);
    api.seL4_NBRecv(3, 4);
    expect(t.events.map((e) => sentRegs(e, [Reg.a0, Reg.a6, Reg.a7]))).toEqual([
      [3, 0, (-9) >>> 0],
      [3, 0, (-10) >>> 0],
      [3, 0, (-10) >>> 0],
      [3, 4, (-8) >>> 0],
    ]);
  });

  it('seL4_ReplyRecv sends MR0-3 in a2-a5 with the source in a0 and the reply in a6, and receives in them', () => {
    const t = scriptedThread(deliver);
    const api = createSel4Api(t.port, t.initial);
    [31, 32, 33].forEach((w, i) => api.seL4_SetMR(i, w));
    const info = seL4_MessageInfo_new(1, 0, 0, 3);
    expect(api.seL4_ReplyRecv(6, info, 8)).toEqual({ info: seL4_MessageInfo_new(9, 0, 0, 6), sender: 0x55 });
    expect(sentRegs(t.events[0], [Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5, Reg.a6, Reg.a7])).toEqual([6, info, 31, 32, 33, 0, 8, (-2) >>> 0]);
    expect(regsOf(t.events[0]).has(Reg.t0)).toBe(false);
    expect([0, 1, 2, 3].map(api.seL4_GetMR)).toEqual([21, 22, 23, 24]);
  });

  it('seL4_NBSendRecv puts the destination in t0; seL4_NBSendWait puts it in a6 and 0 in t0, as libsel4 does', () => {
    const t = scriptedThread(deliver);
    const api = createSel4Api(t.port, t.initial);
    api.seL4_SetMR(0, 41);
    const info = seL4_MessageInfo_new(2, 0, 0, 1);
    expect(api.seL4_NBSendRecv(10, info, 11, 12).sender).toBe(0x55);
    expect(sentRegs(t.events[0], [Reg.a0, Reg.a1, Reg.a2, Reg.a6, Reg.t0, Reg.a7])).toEqual([11, info, 41, 12, 10, (-3) >>> 0]);
    api.seL4_SetMR(0, 42);
    expect(api.seL4_NBSendWait(10, info, 11).info).toBe(seL4_MessageInfo_new(9, 0, 0, 6));
    expect(sentRegs(t.events[1], [Reg.a0, Reg.a1, Reg.a2, Reg.a6, Reg.t0, Reg.a7])).toEqual([11, info, 42, 10, 0, (-4) >>> 0]);
  });

  it('seL4_Signal sends an empty message of a0 and a1 only; seL4_GetCapReceivePath reads back the receive slot', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_SetCapReceivePath(2, 40, 32);
    expect(api.seL4_GetCapReceivePath()).toEqual({ root: 2, index: 40, depth: 32 });
    api.seL4_SetCap(1, 17);
    expect(api.seL4_GetCap(1)).toBe(17);
    api.seL4_Signal(5);
    expect([...regsOf(t.events[0]).keys()].sort((a, b) => a - b)).toEqual([Reg.a0, Reg.a1, Reg.a7]);
    expect(sentRegs(t.events[0], [Reg.a0, Reg.a1])).toEqual([5, 0]);
    expect(bufferOf(t.events[0]).get(IPCBuffer.receiveIndex)).toBe(40);
  });
});

/** What an invocation stub sent: the service, the label, the words in a2-a5 and the extra caps. */
const sent = (event: KernelEvent | undefined) => {
  const regs = regsOf(event);
  const info = messageInfoFromWord(regs.get(Reg.a1)!);
  const caps = Array.from({ length: info.extraCaps }, (_, i) => bufferOf(event).get(IPCBuffer.capsOrBadges + i));
  return { service: regs.get(Reg.a0), label: info.label, words: [Reg.a2, Reg.a3, Reg.a4, Reg.a5].slice(0, info.length).map((r) => regs.get(r)), caps };
};

describe('the RISC-V VSpace stubs (object-api-arch.xml order)', () => {
  it('MakePool sends index and depth (a seL4_Uint8) with the untyped and the CNode as extra caps', () => {
    const t = scriptedThread(replyWith(0, []));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_RISCV_ASIDControl_MakePool(5, 40, 2, 41, 256 + 32)).toBe(seL4_Error.seL4_NoError);
    expect(sent(t.events[0])).toEqual({ service: 5, label: InvocationLabel.RISCVASIDControlMakePool, words: [41, 32], caps: [40, 2] });
  });

  it('Assign sends the VSpace root as its one extra cap and no word', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_RISCV_ASIDPool_Assign(6, 42);
    expect(sent(t.events[0])).toEqual({ service: 6, label: InvocationLabel.RISCVASIDPoolAssign, words: [], caps: [42] });
  });

  it('PageTable_Map sends vaddr and attributes; Page_Map vaddr, rights and attributes; both with the VSpace as extra cap', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_RISCV_PageTable_Map(43, 42, 0x40000000, 0);
    api.seL4_RISCV_Page_Map(44, 41, 0x40001000, seL4_ReadWrite, seL4_RISCV_ExecuteNever);
    expect(sent(t.events[0])).toEqual({ service: 43, label: InvocationLabel.RISCVPageTableMap, words: [0x40000000, 0], caps: [42] });
    expect(sent(t.events[1])).toEqual({ service: 44, label: InvocationLabel.RISCVPageMap, words: [0x40001000, 3, 1], caps: [41] });
  });

  it('the Unmaps send an empty message with no cap', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_RISCV_PageTable_Unmap(43);
    api.seL4_RISCV_Page_Unmap(44);
    expect(sent(t.events[0])).toEqual({ service: 43, label: InvocationLabel.RISCVPageTableUnmap, words: [], caps: [] });
    expect(sent(t.events[1])).toEqual({ service: 44, label: InvocationLabel.RISCVPageUnmap, words: [], caps: [] });
  });

  it('GetAddress returns MR0 as paddr on success, and 0 with the error otherwise', () => {
    let label = 0;
    const t = scriptedThread((regs) => replyWith(label, [0xbfff4000])(regs));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_RISCV_Page_GetAddress(44)).toEqual({ error: seL4_Error.seL4_NoError, paddr: 0xbfff4000 });
    expect(sent(t.events[0])).toEqual({ service: 44, label: InvocationLabel.RISCVPageGetAddress, words: [], caps: [] });
    label = seL4_Error.seL4_IllegalOperation;
    expect(api.seL4_RISCV_Page_GetAddress(44)).toEqual({ error: seL4_Error.seL4_IllegalOperation, paddr: 0 });
  });
});

describe('the IRQ stubs (object-api.xml and object-api-arch.xml order)', () => {
  it('IRQControl_Get sends irq, index and depth (a seL4_Uint8) with the root CNode as extra cap', () => {
    const t = scriptedThread(replyWith(0, []));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_IRQControl_Get(4, 7, 2, 50, 256 + 32)).toBe(seL4_Error.seL4_NoError);
    expect(sent(t.events[0])).toEqual({ service: 4, label: InvocationLabel.IRQIssueIRQHandler, words: [7, 50, 32], caps: [2] });
  });

  it('IRQControl_GetTrigger sends irq, trigger, index and depth with the root CNode as extra cap', () => {
    const t = scriptedThread(replyWith(0, []));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_IRQControl_GetTrigger(4, 0xffffffff, 1, 2, 51, 32)).toBe(seL4_Error.seL4_NoError);
    expect(sent(t.events[0])).toEqual({ service: 4, label: InvocationLabel.RISCVIRQIssueIRQHandlerTrigger, words: [0xffffffff, 1, 51, 32], caps: [2] });
  });

  it('Ack and Clear send an empty message; SetNotification the notification as its one extra cap', () => {
    const t = scriptedThread();
    const api = createSel4Api(t.port, t.initial);
    api.seL4_IRQHandler_Ack(50);
    api.seL4_IRQHandler_SetNotification(50, 60);
    api.seL4_IRQHandler_Clear(50);
    expect(t.events.map(sent)).toEqual([
      { service: 50, label: InvocationLabel.IRQAckIRQ, words: [], caps: [] },
      { service: 50, label: InvocationLabel.IRQSetIRQHandler, words: [], caps: [60] },
      { service: 50, label: InvocationLabel.IRQClearIRQHandler, words: [], caps: [] },
    ]);
  });

  it('each returns the reply label as its error, and leaves MR0-3 as the error reply put them', () => {
    const t = scriptedThread(replyWith(seL4_Error.seL4_RangeError, [1, 96]));
    const api = createSel4Api(t.port, t.initial);
    expect(api.seL4_IRQControl_Get(4, 97, 2, 50, 32)).toBe(seL4_Error.seL4_RangeError);
    expect([api.seL4_GetMR(0), api.seL4_GetMR(1)]).toEqual([1, 96]);
    expect(api.seL4_IRQHandler_Ack(50)).toBe(seL4_Error.seL4_RangeError);
  });
});
