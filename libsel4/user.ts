// User-side libsel4 for a simulated thread: message registers, the IPC buffer, the syscall
// stubs, and the object invocations with libsel4's names and argument orders. Each call that
// enters the kernel is written once, as a generator (a Stub) that yields its kernel entries and
// receives what its thread sees after each; user programs run the stubs as they are (yield*),
// and the root task's synchronous API drives the same stubs through a SyscallPort.
import type { Word } from './constants.ts';
import { seL4_Error } from './errors.ts';
import { IPCBuffer, ipcBufferWords, msgWordIndex } from './ipcbuffer.ts';
import { InvocationLabel } from './invocation.ts';
import type { AccessKind, KernelEvent, Observation, UserWrites } from './kernel.ts';
import { messageInfoFromWord, seL4_MessageInfo_new } from './messageinfo.ts';
import { Reg, msgRegisters, nbsendRecvDestRegister, numRegisters } from './registers.ts';
import { seL4_Syscall, syscallWord } from './syscalls.ts';
import { timeFromWords, timeWords } from './time.ts';

/** Where a user thread's kernel entries go: one layer, or all of them in lockstep. */
export interface SyscallPort {
  enter(event: KernelEvent): Observation;
}

export type seL4_CPtr = Word;

/**
 * A libsel4 call that enters the kernel: it yields each kernel entry it makes, receives the
 * observation of its thread when the thread runs again, and returns what libsel4 returns.
 */
export type Stub<R> = Generator<KernelEvent, R, Observation>;

/** What libsel4's receiving calls return: the message info received and the sender's badge (libsel4's `sender` out-parameter). */
export interface ReceiveResult {
  readonly info: Word;
  readonly sender: Word;
}

/**
 * The libsel4 calls of a thread, as generators: what a user program calls with `yield*`.
 * Message registers live in the IPC buffer as in libsel4: seL4_SetMR and seL4_GetMR read and
 * write its msg words; the syscall stubs copy MR0-3 into registers a2-a5 and back as libsel4's
 * riscv stubs do. The invocations return the seL4_Error of the reply, or libsel4's result struct.
 */
export interface Sel4Calls {
  /** Writes msg[i] of the IPC buffer. */
  seL4_SetMR(i: number, value: Word): void;
  /** Reads msg[i] of the IPC buffer (after an invocation, MR0-3 are there only if the stub copied them back: on an error). */
  seL4_GetMR(i: number): Word;
  seL4_SetCap(i: number, cptr: seL4_CPtr): void;
  /** caps_or_badges[i] of the IPC buffer: a cap to send (before a send). */
  seL4_GetCap(i: number): seL4_CPtr;
  /** caps_or_badges[i] of the IPC buffer: the badge of the i-th received cap the kernel unwrapped (after a receive). */
  seL4_GetBadge(i: number): Word;
  /** Receive-slot words of the IPC buffer. */
  seL4_SetCapReceivePath(root: seL4_CPtr, index: seL4_CPtr, depth: Word): void;
  seL4_GetCapReceivePath(): { readonly root: seL4_CPtr; readonly index: seL4_CPtr; readonly depth: Word };
  /** The observation of the last entry. */
  lastObservation(): Observation;

  /** MR0-3 go in registers, come back in them, and are written back to the IPC buffer; returns the reply's message info. */
  seL4_Call(dest: seL4_CPtr, info: Word): Stub<Word>;
  seL4_Send(dest: seL4_CPtr, info: Word): Stub<void>;
  seL4_NBSend(dest: seL4_CPtr, info: Word): Stub<void>;
  /** A Send of an empty message. */
  seL4_Signal(dest: seL4_CPtr): Stub<void>;
  /**
   * The receiving calls (MCS): a0 the source cap, a6 the reply cap (0 for the Wait forms); the
   * badge comes back in a0, the message info in a1 and MR0-3 in a2-a5, which the stub stores to
   * the IPC buffer. seL4_Recv blocks; seL4_NBRecv polls.
   */
  seL4_Recv(src: seL4_CPtr, reply: seL4_CPtr): Stub<ReceiveResult>;
  seL4_NBRecv(src: seL4_CPtr, reply: seL4_CPtr): Stub<ReceiveResult>;
  /** Recv without a reply cap (seL4_SysWait): on a notification, or an endpoint when no Call is expected. */
  seL4_Wait(src: seL4_CPtr): Stub<ReceiveResult>;
  /** Polls a notification; the message registers received are written to the IPC buffer. */
  seL4_NBWait(src: seL4_CPtr): Stub<ReceiveResult>;
  /** seL4_Poll on MCS is seL4_NBWait. */
  seL4_Poll(src: seL4_CPtr): Stub<ReceiveResult>;
  /** Replies through `reply`, then receives on `src` with it; MR0-3 go in a2-a5 and come back. */
  seL4_ReplyRecv(src: seL4_CPtr, info: Word, reply: seL4_CPtr): Stub<ReceiveResult>;
  /** NBSend to `dest` (in t0), then Recv on `src` with `reply`. */
  seL4_NBSendRecv(dest: seL4_CPtr, info: Word, src: seL4_CPtr, reply: seL4_CPtr): Stub<ReceiveResult>;
  /** NBSend to `dest` (libsel4 passes it in a6, the reply register), then Wait on `src`. */
  seL4_NBSendWait(dest: seL4_CPtr, info: Word, src: seL4_CPtr): Stub<ReceiveResult>;
  seL4_Yield(): Stub<void>;
  /** Any kernel entry: `regs` are written (a7 holds the syscall number) before entering. */
  rawSyscall(regs: ReadonlyArray<readonly [number, Word]>): Stub<Observation>;
  /** The current thread (or idle) computes for `ticks` timer ticks: one `time` event. */
  passTime(ticks: bigint): Stub<Observation>;
  /** The current thread takes a user exception (riscv scause `number`, and `code`). */
  raiseException(number: Word, code: Word): Stub<Observation>;
  /**
   * Not libsel4: the thread's own load, store (of `value`) or instruction fetch of the aligned
   * word holding `vaddr`, through its page tables (one `access` event). Returns the word loaded,
   * fetched or stored, or null when the access faulted (the kernel was entered; seL4 makes the
   * access again when the thread next runs: the run loop and the check do).
   */
  userAccess(access: AccessKind, vaddr: Word, value?: Word): Stub<Word | null>;

  seL4_Untyped_Retype(service: seL4_CPtr, type: Word, size_bits: Word, root: seL4_CPtr, node_index: Word, node_depth: Word, node_offset: Word, num_objects: Word): Stub<seL4_Error>;
  seL4_CNode_Revoke(service: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  seL4_CNode_Delete(service: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  seL4_CNode_CancelBadgedSends(service: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  seL4_CNode_Copy(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, rights: Word): Stub<seL4_Error>;
  seL4_CNode_Mint(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, rights: Word, badge: Word): Stub<seL4_Error>;
  seL4_CNode_Move(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word): Stub<seL4_Error>;
  seL4_CNode_Mutate(service: seL4_CPtr, dest_index: Word, dest_depth: Word, src_root: seL4_CPtr, src_index: Word, src_depth: Word, badge: Word): Stub<seL4_Error>;
  seL4_CNode_Rotate(
    service: seL4_CPtr, dest_index: Word, dest_depth: Word, dest_badge: Word,
    pivot_root: seL4_CPtr, pivot_index: Word, pivot_depth: Word, pivot_badge: Word,
    src_root: seL4_CPtr, src_index: Word, src_depth: Word,
  ): Stub<seL4_Error>;

  /** `regs` (seL4_UserContext order) only on success, as libsel4 fills its out-parameter. */
  seL4_TCB_ReadRegisters(service: seL4_CPtr, suspend_source: boolean, arch_flags: Word, count: Word): Stub<{ error: seL4_Error; regs: Word[] | null }>;
  /** `regs` in seL4_UserContext order; the first `count` are sent. */
  seL4_TCB_WriteRegisters(service: seL4_CPtr, resume_target: boolean, arch_flags: Word, count: Word, regs: readonly Word[]): Stub<seL4_Error>;
  seL4_TCB_CopyRegisters(service: seL4_CPtr, source: seL4_CPtr, suspend_source: boolean, resume_target: boolean, transfer_frame: boolean, transfer_integer: boolean, arch_flags: Word): Stub<seL4_Error>;
  seL4_TCB_Configure(service: seL4_CPtr, cspace_root: seL4_CPtr, cspace_root_data: Word, vspace_root: seL4_CPtr, vspace_root_data: Word, buffer: Word, bufferFrame: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_SetPriority(service: seL4_CPtr, authority: seL4_CPtr, priority: Word): Stub<seL4_Error>;
  seL4_TCB_SetMCPriority(service: seL4_CPtr, authority: seL4_CPtr, mcp: Word): Stub<seL4_Error>;
  seL4_TCB_SetSchedParams(service: seL4_CPtr, authority: seL4_CPtr, mcp: Word, priority: Word, sched_context: seL4_CPtr, fault_ep: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_SetTimeoutEndpoint(service: seL4_CPtr, timeout_fault_ep: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_SetIPCBuffer(service: seL4_CPtr, buffer: Word, bufferFrame: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_SetSpace(service: seL4_CPtr, fault_ep: seL4_CPtr, cspace_root: seL4_CPtr, cspace_root_data: Word, vspace_root: seL4_CPtr, vspace_root_data: Word): Stub<seL4_Error>;
  seL4_TCB_Suspend(service: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_Resume(service: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_BindNotification(service: seL4_CPtr, notification: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_UnbindNotification(service: seL4_CPtr): Stub<seL4_Error>;
  seL4_TCB_SetTLSBase(service: seL4_CPtr, tls_base: Word): Stub<seL4_Error>;
  /** seL4_TCB_SetFlags_t: the flags now set (0 on error). */
  seL4_TCB_SetFlags(service: seL4_CPtr, clear: Word, set: Word): Stub<{ error: seL4_Error; flags: Word }>;
  /** Budget and period in microseconds (seL4_Time, 64 bits). */
  seL4_SchedControl_ConfigureFlags(service: seL4_CPtr, schedcontext: seL4_CPtr, budget: bigint, period: bigint, extra_refills: Word, badge: Word, flags: Word): Stub<seL4_Error>;
  seL4_SchedContext_Bind(service: seL4_CPtr, cap: seL4_CPtr): Stub<seL4_Error>;
  seL4_SchedContext_Unbind(service: seL4_CPtr): Stub<seL4_Error>;
  seL4_SchedContext_UnbindObject(service: seL4_CPtr, cap: seL4_CPtr): Stub<seL4_Error>;
  /** seL4_SchedContext_Consumed_t: microseconds consumed (0 on error). */
  seL4_SchedContext_Consumed(service: seL4_CPtr): Stub<{ error: seL4_Error; consumed: bigint }>;
  /** seL4_SchedContext_YieldTo_t: microseconds consumed (0 on error). */
  seL4_SchedContext_YieldTo(service: seL4_CPtr): Stub<{ error: seL4_Error; consumed: bigint }>;

  /** A pool from a 4 KiB untyped into the slot (`index`, `depth`) of CSpace `root`. */
  seL4_RISCV_ASIDControl_MakePool(service: seL4_CPtr, untyped: seL4_CPtr, root: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  seL4_RISCV_ASIDPool_Assign(service: seL4_CPtr, vspace: seL4_CPtr): Stub<seL4_Error>;
  /** `attr` is a seL4_RISCV_VMAttributes word. */
  seL4_RISCV_PageTable_Map(service: seL4_CPtr, vspace: seL4_CPtr, vaddr: Word, attr: Word): Stub<seL4_Error>;
  seL4_RISCV_PageTable_Unmap(service: seL4_CPtr): Stub<seL4_Error>;
  /** `rights` is a seL4_CapRights_t word masking the frame cap's rights; `attr` a seL4_RISCV_VMAttributes word. */
  seL4_RISCV_Page_Map(service: seL4_CPtr, vspace: seL4_CPtr, vaddr: Word, rights: Word, attr: Word): Stub<seL4_Error>;
  seL4_RISCV_Page_Unmap(service: seL4_CPtr): Stub<seL4_Error>;
  /** seL4_RISCV_Page_GetAddress_t: the frame's physical address (0 on error). */
  seL4_RISCV_Page_GetAddress(service: seL4_CPtr): Stub<{ error: seL4_Error; paddr: Word }>;

  /** An IRQ handler cap for `irq` into the slot (`index`, `depth`) of CSpace `root`. */
  seL4_IRQControl_Get(service: seL4_CPtr, irq: Word, root: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  /** Get with a trigger mode (riscv: 1 edge, 0 level). */
  seL4_IRQControl_GetTrigger(service: seL4_CPtr, irq: Word, trigger: Word, root: seL4_CPtr, index: Word, depth: Word): Stub<seL4_Error>;
  seL4_IRQHandler_Ack(service: seL4_CPtr): Stub<seL4_Error>;
  seL4_IRQHandler_SetNotification(service: seL4_CPtr, notification: seL4_CPtr): Stub<seL4_Error>;
  seL4_IRQHandler_Clear(service: seL4_CPtr): Stub<seL4_Error>;
}

/** The synchronous form of a set of calls: each Stub runs to its end and returns its result. */
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Stub<infer R> ? (...args: A) => R : T[K];
};

/** The calls a root task makes, each returning as soon as the kernel has answered. */
export type Sel4Api = Synchronous<Sel4Calls>;

/** seL4_SchedContext_Sporadic: the flag of SchedControl_ConfigureFlags for a sporadic server. */
export const seL4_SchedContext_Sporadic = 1;

/** The calls of Sel4Calls that enter the kernel. */
type StubCalls = { [K in keyof Sel4Calls as Sel4Calls[K] extends (...args: never[]) => Stub<unknown> ? K : never]: Sel4Calls[K] };
/** The calls of Sel4Calls that stay in user space. */
type LocalCalls = Omit<Sel4Calls, keyof StubCalls>;

/** Runs a stub to its end, each of its kernel entries through `port`. */
export function runStub<R>(stub: Stub<R>, port: SyscallPort): R {
  let step = stub.next();
  while (!step.done) step = stub.next(port.enter(step.value));
  return step.value;
}

function synchronous<T extends Record<string, (...args: never[]) => Stub<unknown>>>(stubs: T, port: SyscallPort): Synchronous<T> {
  const calls: Record<string, unknown> = {};
  for (const [name, stub] of Object.entries(stubs)) calls[name] = (...args: never[]) => runStub(stub(...args), port);
  return calls as Synchronous<T>;
}

/** libsel4 on riscv32 passes the first seL4_FastMessageRegisters (4) message words in a2-a5. */
const fastWords = msgRegisters.length;

/** The libsel4 calls of a thread whose state is `initial` when it starts making them. */
function threadCalls(initial: Observation): { local: LocalCalls; stubs: StubCalls } {
  let last = initial;
  let regWrites = new Map<number, Word>();
  let bufferWrites = new Map<number, Word>();

  const reg = (index: number): Word => regWrites.get(index) ?? last.caller?.regs[index] ?? 0;
  const bufferWord = (index: number): Word => bufferWrites.get(index) ?? last.caller?.ipcBuffer?.[index] ?? 0;

  /** A store to the IPC buffer; storing the value a word already holds writes nothing. */
  function store(index: number, value: Word): void {
    const word = value >>> 0;
    const buffer = last.caller?.ipcBuffer;
    const unchanged = buffer && index >= 0 && index < ipcBufferWords && !bufferWrites.has(index) && buffer[index] === word;
    if (!unchanged) bufferWrites.set(index, word);
  }

  const setMR = (i: number, value: Word): void => store(msgWordIndex(i), value);
  const getMR = (i: number): Word => bufferWord(msgWordIndex(i));

  function takeUserWrites(): UserWrites {
    const user = { regs: [...regWrites.entries()], ipcBuffer: [...bufferWrites.entries()] };
    regWrites = new Map();
    bufferWrites = new Map();
    return user;
  }

  function* enter(event: KernelEvent): Stub<Observation> {
    last = yield event;
    return last;
  }

  /** Enters with the syscall number in a7 and `regs` written before. */
  function* syscall(sysno: number, regs: ReadonlyArray<readonly [number, Word]>): Stub<Observation> {
    for (const [i, v] of regs) regWrites.set(i, v >>> 0);
    regWrites.set(Reg.a7, syscallWord(sysno));
    return yield* enter({ kind: 'syscall', user: takeUserWrites() });
  }

  /** riscv_sys_send / send_recv: a0 the cap, a1 the message info, a2-a5 the fast message words. */
  const sendRegs = (dest: seL4_CPtr, info: Word, fast: readonly Word[]): Array<[number, Word]> => [
    [Reg.a0, dest],
    [Reg.a1, info],
    ...msgRegisters.map((r, i): [number, Word] => [r, fast[i] ?? 0]),
  ];
  /** MR0-3 as libsel4's seL4_Call and seL4_Send load them: from the IPC buffer. */
  const bufferedFastWords = (): Word[] => msgRegisters.map((_, i) => getMR(i));
  /** libsel4 stores a2-a5, as the kernel left them, to MR0-3 of the IPC buffer. */
  const copyBackFastWords = (): void => msgRegisters.forEach((r, i) => setMR(i, reg(r)));

  function* call(dest: seL4_CPtr, info: Word): Stub<Word> {
    yield* syscall(seL4_Syscall.seL4_SysCall, sendRegs(dest, info, bufferedFastWords()));
    copyBackFastWords();
    return reg(Reg.a1);
  }

  /** What a receiving stub returns once a2-a5 are stored back: the info in a1, the badge in a0. */
  const received = (): ReceiveResult => {
    copyBackFastWords();
    return { info: reg(Reg.a1), sender: reg(Reg.a0) };
  };

  /** riscv_sys_recv: a0 the cap, a6 the reply cap. */
  function* receive(sysno: number, src: seL4_CPtr, reply: seL4_CPtr): Stub<ReceiveResult> {
    yield* syscall(sysno, [[Reg.a0, src], [Reg.a6, reply]]);
    return received();
  }

  /**
   * riscv_sys_send_recv (ReplyRecv) and riscv_sys_nbsend_recv (NBSendRecv, NBSendWait): a0 the
   * source cap, a1 the info, a2-a5 MR0-3 from the buffer, a6 the reply cap, t0 the destination.
   */
  function* sendReceive(sysno: number, src: seL4_CPtr, info: Word, a6: seL4_CPtr, t0: seL4_CPtr | null): Stub<ReceiveResult> {
    const regs = [...sendRegs(src, info, bufferedFastWords()), [Reg.a6, a6] as [number, Word]];
    if (t0 !== null) regs.push([nbsendRecvDestRegister, t0]);
    yield* syscall(sysno, regs);
    return received();
  }

  /**
   * A stub generated by libsel4's syscall_stub_gen.py: the caps in the IPC buffer, the first four
   * words in registers (0 past the message) and the rest in the buffer, seL4_CallWithMRs; the
   * error is the reply's label, and on an error a2-a5 are copied back to MR0-3.
   */
  function* invoke(label: number, service: seL4_CPtr, words: readonly Word[], caps: readonly seL4_CPtr[], length = words.length): Stub<seL4_Error> {
    caps.forEach((c, i) => store(IPCBuffer.capsOrBadges + i, c));
    for (let i = fastWords; i < words.length; i++) setMR(i, words[i]!);
    const info = seL4_MessageInfo_new(label, 0, caps.length, length);
    yield* syscall(seL4_Syscall.seL4_SysCall, sendRegs(service, info, words.slice(0, fastWords)));
    const error = messageInfoFromWord(reg(Reg.a1)).label as seL4_Error;
    if (error !== seL4_Error.seL4_NoError) copyBackFastWords();
    return error;
  }

  /** Word i of a successful reply as the generated stub reads it: MR0-3 from a2-a5, the rest from the IPC buffer. */
  const replyWord = (i: number): Word => (i < fastWords ? reg(msgRegisters[i]!) : getMR(i));
  const bit = (flag: boolean): Word => (flag ? 1 : 0);
  /** An seL4_Uint8 argument: the stub sends its low 8 bits. */
  const uint8 = (value: Word): Word => value & 0xff;
  /** A call whose reply carries a 64-bit time in MR0 (low) and MR1 (high). */
  function* consumedOf(label: number, service: seL4_CPtr): Stub<{ error: seL4_Error; consumed: bigint }> {
    const error = yield* invoke(label, service, [], []);
    return { error, consumed: error === seL4_Error.seL4_NoError ? timeFromWords(replyWord(0), replyWord(1)) : 0n };
  }

  const L = InvocationLabel;
  const local: LocalCalls = {
    seL4_SetMR: setMR,
    seL4_GetMR: getMR,
    seL4_SetCap: (i, cptr) => store(IPCBuffer.capsOrBadges + i, cptr),
    seL4_SetCapReceivePath: (root, index, depth) => {
      store(IPCBuffer.receiveCNode, root);
      store(IPCBuffer.receiveIndex, index);
      store(IPCBuffer.receiveDepth, depth);
    },
    seL4_GetCap: (i) => bufferWord(IPCBuffer.capsOrBadges + i),
    seL4_GetBadge: (i) => bufferWord(IPCBuffer.capsOrBadges + i),
    seL4_GetCapReceivePath: () => ({ root: bufferWord(IPCBuffer.receiveCNode), index: bufferWord(IPCBuffer.receiveIndex), depth: bufferWord(IPCBuffer.receiveDepth) }),
    lastObservation: () => last,
  };
  const stubs: StubCalls = {
    seL4_Call: call,
    *seL4_Send(dest, info) {
      yield* syscall(seL4_Syscall.seL4_SysSend, sendRegs(dest, info, bufferedFastWords()));
    },
    *seL4_NBSend(dest, info) {
      yield* syscall(seL4_Syscall.seL4_SysNBSend, sendRegs(dest, info, bufferedFastWords()));
    },
    *seL4_Signal(dest) {
      yield* syscall(seL4_Syscall.seL4_SysSend, [[Reg.a0, dest], [Reg.a1, seL4_MessageInfo_new(0, 0, 0, 0)]]);
    },
    seL4_Recv: (src, reply) => receive(seL4_Syscall.seL4_SysRecv, src, reply),
    seL4_NBRecv: (src, reply) => receive(seL4_Syscall.seL4_SysNBRecv, src, reply),
    seL4_Wait: (src) => receive(seL4_Syscall.seL4_SysWait, src, 0),
    seL4_NBWait: (src) => receive(seL4_Syscall.seL4_SysNBWait, src, 0),
    seL4_Poll: (src) => receive(seL4_Syscall.seL4_SysNBWait, src, 0),
    seL4_ReplyRecv: (src, info, reply) => sendReceive(seL4_Syscall.seL4_SysReplyRecv, src, info, reply, null),
    seL4_NBSendRecv: (dest, info, src, reply) => sendReceive(seL4_Syscall.seL4_SysNBSendRecv, src, info, reply, dest),
    // libsel4's seL4_NBSendWait passes 0 as the destination (t0) and `dest` as the reply (a6).
    seL4_NBSendWait: (dest, info, src) => sendReceive(seL4_Syscall.seL4_SysNBSendWait, src, info, dest, 0),
    *seL4_Yield() {
      yield* syscall(seL4_Syscall.seL4_SysYield, []);
    },
    *rawSyscall(regs) {
      for (const [i, v] of regs) regWrites.set(i, v >>> 0);
      return yield* enter({ kind: 'syscall', user: takeUserWrites() });
    },
    passTime: (ticks) => enter({ kind: 'time', ticks }),
    raiseException: (number, code) => enter({ kind: 'exception', user: takeUserWrites(), number: number >>> 0, code: code >>> 0 }),
    *userAccess(access, vaddr, value) {
      const event = { kind: 'access', user: takeUserWrites(), access, vaddr: vaddr >>> 0, ...(access === 'store' ? { value: (value ?? 0) >>> 0 } : {}) } as const;
      const observation = yield* enter(event);
      return observation.accessed ?? null;
    },

    seL4_Untyped_Retype: (service, type, size_bits, root, node_index, node_depth, node_offset, num_objects) =>
      invoke(L.UntypedRetype, service, [type, size_bits, node_index, node_depth, node_offset, num_objects], [root]),
    seL4_CNode_Revoke: (service, index, depth) => invoke(L.CNodeRevoke, service, [index, uint8(depth)], []),
    seL4_CNode_Delete: (service, index, depth) => invoke(L.CNodeDelete, service, [index, uint8(depth)], []),
    seL4_CNode_CancelBadgedSends: (service, index, depth) => invoke(L.CNodeCancelBadgedSends, service, [index, uint8(depth)], []),
    seL4_CNode_Copy: (service, dest_index, dest_depth, src_root, src_index, src_depth, rights) =>
      invoke(L.CNodeCopy, service, [dest_index, uint8(dest_depth), src_index, uint8(src_depth), rights], [src_root]),
    seL4_CNode_Mint: (service, dest_index, dest_depth, src_root, src_index, src_depth, rights, badge) =>
      invoke(L.CNodeMint, service, [dest_index, uint8(dest_depth), src_index, uint8(src_depth), rights, badge], [src_root]),
    seL4_CNode_Move: (service, dest_index, dest_depth, src_root, src_index, src_depth) =>
      invoke(L.CNodeMove, service, [dest_index, uint8(dest_depth), src_index, uint8(src_depth)], [src_root]),
    seL4_CNode_Mutate: (service, dest_index, dest_depth, src_root, src_index, src_depth, badge) =>
      invoke(L.CNodeMutate, service, [dest_index, uint8(dest_depth), src_index, uint8(src_depth), badge], [src_root]),
    seL4_CNode_Rotate: (service, dest_index, dest_depth, dest_badge, pivot_root, pivot_index, pivot_depth, pivot_badge, src_root, src_index, src_depth) =>
      invoke(
        L.CNodeRotate, service,
        [dest_index, uint8(dest_depth), dest_badge, pivot_index, uint8(pivot_depth), pivot_badge, src_index, uint8(src_depth)],
        [pivot_root, src_root],
      ),

    *seL4_TCB_ReadRegisters(service, suspend_source, arch_flags, count) {
      const error = yield* invoke(L.TCBReadRegisters, service, [bit(suspend_source) | (uint8(arch_flags) << 8), count], []);
      if (error !== seL4_Error.seL4_NoError) return { error, regs: null };
      // pc, ra, sp, gp come from a2-a5 whatever the count; the others up to `count` from the buffer.
      return { error, regs: Array.from({ length: numRegisters }, (_, i) => (i < fastWords || i < count ? replyWord(i) : 0)) };
    },
    seL4_TCB_WriteRegisters: (service, resume_target, arch_flags, count, regs) => {
      // The message always claims the whole seL4_UserContext; pc and ra ride in a4-a5, the rest up to `count` in the buffer.
      const sent = Array.from({ length: Math.max(2, Math.min(count, numRegisters)) }, (_, i) => regs[i] ?? 0);
      return invoke(L.TCBWriteRegisters, service, [bit(resume_target) | (uint8(arch_flags) << 8), count, ...sent], [], 2 + numRegisters);
    },
    seL4_TCB_CopyRegisters: (service, source, suspend_source, resume_target, transfer_frame, transfer_integer, arch_flags) =>
      invoke(
        L.TCBCopyRegisters, service,
        [bit(suspend_source) | (bit(resume_target) << 1) | (bit(transfer_frame) << 2) | (bit(transfer_integer) << 3) | (uint8(arch_flags) << 8)],
        [source],
      ),
    seL4_TCB_Configure: (service, cspace_root, cspace_root_data, vspace_root, vspace_root_data, buffer, bufferFrame) =>
      invoke(L.TCBConfigure, service, [cspace_root_data, vspace_root_data, buffer], [cspace_root, vspace_root, bufferFrame]),
    seL4_TCB_SetPriority: (service, authority, priority) => invoke(L.TCBSetPriority, service, [priority], [authority]),
    seL4_TCB_SetMCPriority: (service, authority, mcp) => invoke(L.TCBSetMCPriority, service, [mcp], [authority]),
    seL4_TCB_SetSchedParams: (service, authority, mcp, priority, sched_context, fault_ep) =>
      invoke(L.TCBSetSchedParams, service, [mcp, priority], [authority, sched_context, fault_ep]),
    seL4_TCB_SetTimeoutEndpoint: (service, timeout_fault_ep) => invoke(L.TCBSetTimeoutEndpoint, service, [], [timeout_fault_ep]),
    seL4_TCB_SetIPCBuffer: (service, buffer, bufferFrame) => invoke(L.TCBSetIPCBuffer, service, [buffer], [bufferFrame]),
    seL4_TCB_SetSpace: (service, fault_ep, cspace_root, cspace_root_data, vspace_root, vspace_root_data) =>
      invoke(L.TCBSetSpace, service, [cspace_root_data, vspace_root_data], [fault_ep, cspace_root, vspace_root]),
    seL4_TCB_Suspend: (service) => invoke(L.TCBSuspend, service, [], []),
    seL4_TCB_Resume: (service) => invoke(L.TCBResume, service, [], []),
    seL4_TCB_BindNotification: (service, notification) => invoke(L.TCBBindNotification, service, [], [notification]),
    seL4_TCB_UnbindNotification: (service) => invoke(L.TCBUnbindNotification, service, [], []),
    seL4_TCB_SetTLSBase: (service, tls_base) => invoke(L.TCBSetTLSBase, service, [tls_base], []),
    *seL4_TCB_SetFlags(service, clear, set) {
      const error = yield* invoke(L.TCBSetFlags, service, [clear, set], []);
      return { error, flags: error === seL4_Error.seL4_NoError ? replyWord(0) : 0 };
    },
    seL4_SchedControl_ConfigureFlags: (service, schedcontext, budget, period, extra_refills, badge, flags) =>
      invoke(L.SchedControlConfigureFlags, service, [...timeWords(budget), ...timeWords(period), extra_refills, badge, flags], [schedcontext]),
    seL4_SchedContext_Bind: (service, cap) => invoke(L.SchedContextBind, service, [], [cap]),
    seL4_SchedContext_Unbind: (service) => invoke(L.SchedContextUnbind, service, [], []),
    seL4_SchedContext_UnbindObject: (service, cap) => invoke(L.SchedContextUnbindObject, service, [], [cap]),
    seL4_SchedContext_Consumed: (service) => consumedOf(L.SchedContextConsumed, service),
    seL4_SchedContext_YieldTo: (service) => consumedOf(L.SchedContextYieldTo, service),

    seL4_RISCV_ASIDControl_MakePool: (service, untyped, root, index, depth) =>
      invoke(L.RISCVASIDControlMakePool, service, [index, uint8(depth)], [untyped, root]),
    seL4_RISCV_ASIDPool_Assign: (service, vspace) => invoke(L.RISCVASIDPoolAssign, service, [], [vspace]),
    seL4_RISCV_PageTable_Map: (service, vspace, vaddr, attr) => invoke(L.RISCVPageTableMap, service, [vaddr, attr], [vspace]),
    seL4_RISCV_PageTable_Unmap: (service) => invoke(L.RISCVPageTableUnmap, service, [], []),
    seL4_RISCV_Page_Map: (service, vspace, vaddr, rights, attr) => invoke(L.RISCVPageMap, service, [vaddr, rights, attr], [vspace]),
    seL4_RISCV_Page_Unmap: (service) => invoke(L.RISCVPageUnmap, service, [], []),
    *seL4_RISCV_Page_GetAddress(service) {
      const error = yield* invoke(L.RISCVPageGetAddress, service, [], []);
      return { error, paddr: error === seL4_Error.seL4_NoError ? replyWord(0) : 0 };
    },

    seL4_IRQControl_Get: (service, irq, root, index, depth) => invoke(L.IRQIssueIRQHandler, service, [irq, index, uint8(depth)], [root]),
    seL4_IRQControl_GetTrigger: (service, irq, trigger, root, index, depth) =>
      invoke(L.RISCVIRQIssueIRQHandlerTrigger, service, [irq, trigger, index, uint8(depth)], [root]),
    seL4_IRQHandler_Ack: (service) => invoke(L.IRQAckIRQ, service, [], []),
    seL4_IRQHandler_SetNotification: (service, notification) => invoke(L.IRQSetIRQHandler, service, [], [notification]),
    seL4_IRQHandler_Clear: (service) => invoke(L.IRQClearIRQHandler, service, [], []),
  };
  return { local, stubs };
}

/** The libsel4 calls of a user program's thread, whose state is `initial` when the program starts. */
export function createSel4Calls(initial: Observation): Sel4Calls {
  const { local, stubs } = threadCalls(initial);
  return { ...local, ...stubs };
}

/** The root task's synchronous libsel4 calls, its entries going to `port`; `initial` is its state at start. */
export function createSel4Api(port: SyscallPort, initial: Observation): Sel4Api {
  const { local, stubs } = threadCalls(initial);
  return { ...local, ...synchronous(stubs, port) };
}
