// A kernel entry told as the libsel4 call the root task made, from the registers and IPC
// buffer the thread had when it entered: `seL4_CNode_Copy(2, 35, 32, 2, 9, 32, 0x0)`.
import {
  IPCBuffer,
  InvocationLabel,
  Reg,
  invocationLabelName,
  messageInfoFromWord,
  msgRegisters,
  seL4_Syscall,
  syscallFromWord,
  syscallName,
  type KernelEvent,
  type Word,
} from '../libsel4/index.ts';

/** Where each argument of a libsel4 invocation stub comes from: message word i, or extra cap i. */
type ArgSource = { readonly mr: number } | { readonly cap: number };

const mr = (i: number): ArgSource => ({ mr: i });
const cap = (i: number): ArgSource => ({ cap: i });

const stubs: Record<number, { readonly name: string; readonly args: readonly ArgSource[] }> = {
  [InvocationLabel.UntypedRetype]: { name: 'seL4_Untyped_Retype', args: [mr(0), mr(1), cap(0), mr(2), mr(3), mr(4), mr(5)] },
  [InvocationLabel.CNodeRevoke]: { name: 'seL4_CNode_Revoke', args: [mr(0), mr(1)] },
  [InvocationLabel.CNodeDelete]: { name: 'seL4_CNode_Delete', args: [mr(0), mr(1)] },
  [InvocationLabel.CNodeCancelBadgedSends]: { name: 'seL4_CNode_CancelBadgedSends', args: [mr(0), mr(1)] },
  [InvocationLabel.CNodeCopy]: { name: 'seL4_CNode_Copy', args: [mr(0), mr(1), cap(0), mr(2), mr(3), mr(4)] },
  [InvocationLabel.CNodeMint]: { name: 'seL4_CNode_Mint', args: [mr(0), mr(1), cap(0), mr(2), mr(3), mr(4), mr(5)] },
  [InvocationLabel.CNodeMove]: { name: 'seL4_CNode_Move', args: [mr(0), mr(1), cap(0), mr(2), mr(3)] },
  [InvocationLabel.CNodeMutate]: { name: 'seL4_CNode_Mutate', args: [mr(0), mr(1), cap(0), mr(2), mr(3), mr(4)] },
  [InvocationLabel.CNodeRotate]: {
    name: 'seL4_CNode_Rotate',
    args: [mr(0), mr(1), mr(2), cap(0), mr(3), mr(4), mr(5), cap(1), mr(6), mr(7)],
  },
};

const text = (w: Word) => (w > 9 ? `0x${(w >>> 0).toString(16)}` : String(w));

/** The thread's registers and IPC buffer as they are when the entry starts. */
export function stateAtEntry(regsBefore: readonly Word[], bufferBefore: readonly Word[] | null, event: KernelEvent): { regs: Word[]; buffer: Word[] } {
  const regs = [...regsBefore];
  for (const [i, v] of event.user.regs) if (i >= 0 && i < regs.length) regs[i] = v;
  const buffer = bufferBefore ? [...bufferBefore] : new Array<Word>(128).fill(0);
  for (const [i, v] of event.user.ipcBuffer) if (i >= 0 && i < buffer.length) buffer[i] = v;
  return { regs, buffer };
}

/** The entry as a libsel4 call: an invocation stub when the label is one in scope, else the raw syscall. */
export function describeEntry(regs: readonly Word[], buffer: readonly Word[]): string {
  const sysno = syscallFromWord(regs[Reg.a7]!);
  const info = messageInfoFromWord(regs[Reg.a1]!);
  const word = (i: number) => (i < msgRegisters.length ? regs[msgRegisters[i]!]! : buffer[IPCBuffer.msg + i] ?? 0);
  const capWord = (i: number) => buffer[IPCBuffer.capsOrBadges + i] ?? 0;
  const stub = stubs[info.label];
  const wellFormed =
    stub !== undefined &&
    stub.args.every((a) => ('mr' in a ? a.mr < info.length : a.cap < info.extraCaps)) &&
    info.length === stub.args.filter((a) => 'mr' in a).length;
  if (sysno === seL4_Syscall.seL4_SysCall && stub && wellFormed) {
    const args = [regs[Reg.a0]!, ...stub.args.map((a) => ('mr' in a ? word(a.mr) : capWord(a.cap)))];
    return `${stub.name}(${args.map(text).join(', ')})`;
  }
  const parts = [`cptr ${text(regs[Reg.a0]!)}`, `label ${invocationLabelName(info.label)}`, `length ${info.length}`, `extraCaps ${info.extraCaps}`];
  if (info.length > 0) parts.push(`mrs [${Array.from({ length: Math.min(info.length, 8) }, (_, i) => text(word(i))).join(', ')}${info.length > 8 ? ', ...' : ''}]`);
  if (info.extraCaps > 0) parts.push(`caps [${Array.from({ length: info.extraCaps }, (_, i) => text(capWord(i))).join(', ')}]`);
  const name = sysno >= -11 && sysno <= -1 ? syscallName(sysno).replace('seL4_Sys', 'seL4_') : `syscall ${sysno}`;
  return `${name}(${parts.join(', ')})`;
}
