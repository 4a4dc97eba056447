// A kernel entry told as the libsel4 call the root task made, from the registers and IPC
// buffer the thread had when it entered, e.g.
// `seL4_CNode_Copy(service=2, dest_index=35, dest_depth=32, src_root=2, src_index=9, src_depth=32, rights=0x0)`,
// or as the other events: `time 500 µs (5000 ticks)`, `user exception: scause 2 (illegal instruction), code 0`,
// `interrupt: a device raises IRQ 5`.
import {
  IPCBuffer,
  Reg,
  invocationLabelName,
  messageInfoFromWord,
  msgRegisters,
  msgWordIndex,
  objectTypeName,
  plicMaxIRQ,
  registerNames,
  seL4_MsgMaxLength,
  seL4_Syscall,
  syscallFromWord,
  syscallName,
  errorName,
  hex,
  ticksPerMicrosecond,
  type AccessEvent,
  type KernelEvent,
  userWritesOf,
  type Observation,
  type RaiseDuringEntry,
  type ThreadObservation,
  type Word,
} from '../../libsel4/index.ts';

/** The thread's registers and IPC buffer as they are when the entry starts. */
export function stateAtEntry(regsBefore: readonly Word[], bufferBefore: readonly Word[] | null, event: KernelEvent): { regs: Word[]; buffer: Word[] } {
  const regs = [...regsBefore];
  for (const [i, v] of userWritesOf(event).regs) if (i >= 0 && i < regs.length) regs[i] = v;
  const buffer = bufferBefore ? [...bufferBefore] : new Array<Word>(128).fill(0);
  for (const [i, v] of userWritesOf(event).ipcBuffer) if (i >= 0 && i < buffer.length) buffer[i] = v;
  return { regs, buffer };
}

/** A word as libsel4 arguments are usually written: small numbers in decimal, large ones in hex. */
export const shown = (w: Word) => (w >= 0x10000 ? `0x${(w >>> 0).toString(16)}` : String(w));

interface Arg {
  readonly name: string;
  /** Message register index, or extra cap index when `cap`. */
  readonly at: number;
  readonly cap?: true;
}

const mr = (name: string, at: number): Arg => ({ name, at });
const cap = (name: string, at: number): Arg => ({ name, at, cap: true });
const slotArgs = [mr('index', 0), mr('depth', 1)];
const copyArgs = [mr('dest_index', 0), mr('dest_depth', 1), cap('src_root', 0), mr('src_index', 2), mr('src_depth', 3)];

/** The invocations in scope, by label: the libsel4 function and its arguments after `service`. */
const invocations: Readonly<Record<string, { readonly fn: string; readonly args: readonly Arg[] }>> = {
  UntypedRetype: {
    fn: 'seL4_Untyped_Retype',
    args: [mr('type', 0), mr('size_bits', 1), cap('root', 0), mr('node_index', 2), mr('node_depth', 3), mr('node_offset', 4), mr('num_objects', 5)],
  },
  CNodeRevoke: { fn: 'seL4_CNode_Revoke', args: slotArgs },
  CNodeDelete: { fn: 'seL4_CNode_Delete', args: slotArgs },
  CNodeCancelBadgedSends: { fn: 'seL4_CNode_CancelBadgedSends', args: slotArgs },
  CNodeCopy: { fn: 'seL4_CNode_Copy', args: [...copyArgs, mr('rights', 4)] },
  CNodeMint: { fn: 'seL4_CNode_Mint', args: [...copyArgs, mr('rights', 4), mr('badge', 5)] },
  CNodeMove: { fn: 'seL4_CNode_Move', args: copyArgs },
  CNodeMutate: { fn: 'seL4_CNode_Mutate', args: [...copyArgs, mr('badge', 4)] },
  CNodeRotate: {
    fn: 'seL4_CNode_Rotate',
    args: [
      mr('dest_index', 0), mr('dest_depth', 1), mr('dest_badge', 2), cap('pivot_root', 0), mr('pivot_index', 3),
      mr('pivot_depth', 4), mr('pivot_badge', 5), cap('src_root', 1), mr('src_index', 6), mr('src_depth', 7),
    ],
  },
  IRQIssueIRQHandler: { fn: 'seL4_IRQControl_Get', args: [mr('irq', 0), cap('root', 0), mr('index', 1), mr('depth', 2)] },
  RISCVIRQIssueIRQHandlerTrigger: { fn: 'seL4_IRQControl_GetTrigger', args: [mr('irq', 0), mr('trigger', 1), cap('root', 0), mr('index', 2), mr('depth', 3)] },
  IRQAckIRQ: { fn: 'seL4_IRQHandler_Ack', args: [] },
  IRQSetIRQHandler: { fn: 'seL4_IRQHandler_SetNotification', args: [cap('notification', 0)] },
  IRQClearIRQHandler: { fn: 'seL4_IRQHandler_Clear', args: [] },
};

/** The thread's registers and IPC buffer as the kernel sees them at the entry. */
export interface Sent {
  readonly regs: readonly Word[];
  readonly buffer: readonly Word[];
}

export function sentBy(before: ThreadObservation | null, event: KernelEvent): Sent {
  return stateAtEntry(before?.regs ?? new Array<Word>(registerNames.length).fill(0), before?.ipcBuffer ?? null, event);
}

export function messageWord(sent: Sent, i: number): Word {
  return i < msgRegisters.length ? sent.regs[msgRegisters[i]!]! : (sent.buffer[msgWordIndex(i)] ?? 0);
}

export function listed(words: readonly Word[], most = 16): string {
  const head = words.slice(0, most).map(shown).join(', ');
  return words.length > most ? `${head}, ... (${words.length - most} more)` : head;
}

function decodeInvocation(sent: Sent): string {
  const service = sent.regs[Reg.a0]!;
  const info = messageInfoFromWord(sent.regs[Reg.a1]!);
  const label = invocationLabelName(info.label);
  const length = Math.min(info.length, seL4_MsgMaxLength);
  const known = invocations[label];
  // As the libsel4 stub sends it: exactly its message words, at least its extra caps.
  const stubLike = known && known.args.filter((a) => !a.cap).length === info.length && known.args.every((a) => !a.cap || a.at < info.extraCaps);
  if (known && stubLike) {
    const value = (a: Arg) => {
      const w = a.cap ? sent.buffer[IPCBuffer.capsOrBadges + a.at]! : messageWord(sent, a.at);
      if (a.name === 'type' && objectTypeName[w] !== undefined) return objectTypeName[w]!;
      return a.name === 'rights' ? `0x${w.toString(16)}` : shown(w);
    };
    return `${known.fn}(${[`service=${shown(service)}`, ...known.args.map((a) => `${a.name}=${value(a)}`)].join(', ')})`;
  }
  const mrs = Array.from({ length }, (_, i) => messageWord(sent, i));
  const caps = sent.buffer.slice(IPCBuffer.capsOrBadges, IPCBuffer.capsOrBadges + info.extraCaps);
  return `seL4_Call(cptr=${shown(service)}, label=${label}, length=${info.length}, extraCaps=${info.extraCaps}, mrs=[${listed(mrs)}], caps=[${listed(caps)}])`;
}

/** A number of ticks in µs, with the ticks: `500 µs (5000 ticks)`, `0.3 µs (3 ticks)`. */
export function ticksText(ticks: bigint): string {
  const whole = ticks / ticksPerMicrosecond;
  const rest = ticks % ticksPerMicrosecond;
  const fraction = rest === 0n ? '' : `.${rest.toString().padStart(ticksPerMicrosecond.toString().length - 1, '0').replace(/0+$/, '')}`;
  return `${whole}${fraction} µs (${ticks} tick${ticks === 1n ? '' : 's'})`;
}

/** The riscv exception causes (scause) a user thread can raise, by number. */
const exceptionCauses: Readonly<Record<number, string>> = {
  0: 'instruction address misaligned',
  1: 'instruction access fault',
  2: 'illegal instruction',
  3: 'breakpoint',
  4: 'load address misaligned',
  5: 'load access fault',
  6: 'store address misaligned',
  7: 'store access fault',
  12: 'instruction page fault',
  13: 'load page fault',
  15: 'store page fault',
};

/** A user exception as seL4_UserException reports it: `user exception: scause 2 (illegal instruction), code 0`. */
export function exceptionText(number: Word, code: Word): string {
  const cause = exceptionCauses[number];
  return `user exception: scause ${shown(number)}${cause ? ` (${cause})` : ''}, code ${shown(code)}`;
}

/** A device interrupt: `interrupt: a device raises IRQ 5`, or for a number that names no PLIC source, that nothing happens. */
export function interruptText(irq: number): string {
  const source = irq >= 1 && irq <= plicMaxIRQ;
  return `interrupt: a device raises IRQ ${shown(irq)}${source ? '' : ` (no PLIC source 1..${plicMaxIRQ}: nothing happens)`}`;
}

/** The entry as the libsel4 call that made it, or the time, exception or interrupt event; `before` is the calling thread before the entry. */
export function decodeEntry(before: ThreadObservation | null, event: KernelEvent): string {
  if (event.kind === 'time') return `time ${ticksText(event.ticks)}`;
  if (event.kind === 'exception') return exceptionText(event.number, event.code);
  if (event.kind === 'interrupt') return interruptText(event.irq);
  if (event.kind === 'access') return accessText(event);
  const call = decodeSyscall(sentBy(before, event));
  return event.raise ? `${call}, ${raiseText(event.raise)}` : call;
}

/** A user access as the program made it: `load 0x10000`, `store 0x10000 0x2a`, `execute 0x10000`. */
export function accessText(event: AccessEvent): string {
  return `${event.access} ${hex(event.vaddr)}${event.access === 'store' ? ` ${shown(event.value ?? 0)}` : ''}`;
}

/** What an access led to: `-> 0x2a` (the word loaded, fetched or stored), or `faulted: VMFault` and what became of the thread. */
export function accessAnswer(obs: Observation): string {
  if (obs.accessed !== undefined) return `-> ${shown(obs.accessed)}`;
  if (obs.restarted) return 'faulted: restarted (budget used up)';
  return `faulted: VMFault${obs.caller ? `, caller ${obs.caller.state}` : ''}`;
}

/** A syscall's raise: `IRQ 5 raised before work unit 3`. */
export function raiseText(raise: RaiseDuringEntry): string {
  return `IRQ ${shown(raise.irq)} raised before work unit ${raise.afterWorkUnits}`;
}

function decodeSyscall(sent: Sent): string {
  const sysno = syscallFromWord(sent.regs[Reg.a7]!);
  const a0 = shown(sent.regs[Reg.a0]!);
  switch (sysno) {
    case seL4_Syscall.seL4_SysCall:
      return decodeInvocation(sent);
    case seL4_Syscall.seL4_SysYield:
      return 'seL4_Yield()';
    case seL4_Syscall.seL4_SysSend:
    case seL4_Syscall.seL4_SysNBSend: {
      const info = messageInfoFromWord(sent.regs[Reg.a1]!);
      return `${syscallName(sysno).replace('seL4_Sys', 'seL4_')}(dest=${a0}, label=${invocationLabelName(info.label)}, length=${info.length}, extraCaps=${info.extraCaps})`;
    }
    default:
      if (sysno >= seL4_Syscall.seL4_SysYield && sysno <= seL4_Syscall.seL4_SysCall) {
        return `${syscallName(sysno).replace('seL4_Sys', 'seL4_')}(a0=${a0}, a1=${shown(sent.regs[Reg.a1]!)})`;
      }
      return `unknown syscall ${sysno} (a0=${a0})`;
  }
}

/**
 * What an event led to: for a syscall what the kernel answered (answerOf); for the passing of
 * time and an interrupt who runs next (`0x80010000 runs`, `idle runs`); for a user exception what became of the thread.
 */
export function eventAnswer(event: KernelEvent, sysno: number, obs: Observation): string {
  if (event.kind === 'syscall' || obs.unmodelled) return answerOf(sysno, obs);
  if (event.kind === 'access') return accessAnswer(obs);
  if (event.kind === 'exception') return obs.caller ? `caller ${obs.caller.state}` : 'no thread ran';
  return `${obs.current === null ? 'idle' : hex(obs.current)} runs`;
}

/** What the kernel answered a syscall, as the check reports it: an seL4 error name, `returned`, `caller Inactive`, ... */
export function answerOf(sysno: number, obs: Observation): string {
  if (obs.unmodelled) return `unmodelled: ${obs.unmodelled}`;
  if (obs.preempted) return `preempted at a ${obs.preempted.at} point (${obs.preempted.reason === 'irq' ? 'interrupt pending' : 'budget'}): restarted`;
  if (obs.restarted) return 'restarted (budget used up)';
  const caller = obs.caller;
  if (!caller) return 'no thread ran';
  if (caller.state !== 'Running') return `caller ${caller.state}`;
  if (sysno !== seL4_Syscall.seL4_SysCall) return 'returned';
  const label = messageInfoFromWord(caller.regs[Reg.a1]!).label;
  return errorName[label] ?? `label ${label}`;
}
