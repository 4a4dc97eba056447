// A small hand-made conformance data file for the tests that must run without the recordings:
// a recorded boot state shaped like seL4's (device untypeds, RAM untypeds with gaps where the
// root task's objects were, image frames), and traces whose replies are written by hand.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationLabel, seL4_MessageInfo_new, seL4_Syscall, syscallWord, type BootInfo } from '../../libsel4/index.ts';

/** Untypeds as seL4 lists them: device memory first, then RAM, with a 256 KiB gap at 0x80100000 for the root task. */
const untypedList = [
  { paddr: 0x00000000, sizeBits: 24, isDevice: 1 },
  { paddr: 0x10000000, sizeBits: 28, isDevice: 1 },
  { paddr: 0x80000000, sizeBits: 20, isDevice: 0 },
  { paddr: 0x80140000, sizeBits: 18, isDevice: 0 },
  { paddr: 0x80180000, sizeBits: 19, isDevice: 0 },
  { paddr: 0x80200000, sizeBits: 21, isDevice: 0 },
];

export const syntheticBootInfo = {
  extraLen: 0, nodeID: 0, numNodes: 1, numIOPTLevels: 0, ipcBuffer: 0x20000,
  empty: { start: 28, end: 256 }, sharedFrames: { start: 0, end: 0 }, userImageFrames: { start: 19, end: 22 },
  userImagePaging: { start: 16, end: 17 }, ioSpaceCaps: { start: 0, end: 0 }, extraBIPages: { start: 17, end: 18 },
  initThreadCNodeSizeBits: 8, initThreadDomain: 0, schedcontrol: { start: 18, end: 19 }, untyped: { start: 22, end: 28 },
  untypedList,
};

/** The boot info as libsel4 holds it (device flags as booleans). */
export function bootInfoOf(recorded: typeof syntheticBootInfo): BootInfo {
  return { ...recorded, untypedList: recorded.untypedList.map((u) => ({ ...u, isDevice: u.isDevice === 1 })) };
}

type Regs = Record<'a0' | 'a1' | 'a2' | 'a3' | 'a4' | 'a5' | 'a6' | 'a7', number>;

/** A Call entry: registers in, and the registers and IPC buffer words the kernel gave back. */
export function callEntry(inRegs: Omit<Regs, 'a6' | 'a7'>, ipcIn: [number, number][], outRegs: Omit<Regs, 'a6' | 'a7'>) {
  const call = syscallWord(seL4_Syscall.seL4_SysCall);
  const length = outRegs.a1 & 0x7f;
  const ipcOut = Array.from({ length: Math.min(128, length + 5) }, (_, i): [number, number] => [i, 0]);
  for (const [i, v] of ipcIn) if (i < ipcOut.length) ipcOut[i] = [i, v];
  return { in: { regs: { ...inRegs, a6: 0, a7: call }, ipcBuffer: ipcIn }, out: { regs: { ...outRegs, a6: 0, a7: call }, ipcBuffer: ipcOut } };
}

/** seL4_CNode_Copy(root, dest, 32, root, src, 32, all rights) answered with `reply` (MRs beyond the reply keep their input). */
export function copyEntry(dest: number, src: number, reply: { label: number; mrs: number[] }) {
  const args = [dest, 32, src, 32];
  const mr = (i: number) => (i < reply.mrs.length ? reply.mrs[i]! : args[i]!);
  return callEntry(
    { a0: 2, a1: seL4_MessageInfo_new(InvocationLabel.CNodeCopy, 0, 1, 5), a2: args[0]!, a3: args[1]!, a4: args[2]!, a5: args[3]! },
    [[5, 15], [122, 2]],
    { a0: 0, a1: seL4_MessageInfo_new(reply.label, 0, 0, reply.mrs.length), a2: mr(0), a3: mr(1), a4: mr(2), a5: mr(3) },
  );
}

/** A whole data file around `traces` (capTypesRange: the empty region only). */
export function syntheticFile(traces: unknown[]) {
  return {
    format: 'sel4-conformance',
    version: 1,
    recordedOn: { kernel: 'none (hand-written for the tests)', arch: 'riscv32', config: 'MCS', emulator: 'none' },
    bootInfo: syntheticBootInfo,
    capTypesRange: { start: 28, end: 256 },
    traces,
  };
}

/** Writes data files (name -> JSON value, or raw text) into a fresh folder; returns it. */
export function writeData(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sel4-conformance-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}
