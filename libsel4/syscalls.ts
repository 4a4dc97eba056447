// Syscall numbers of the MCS kernel (passed in a7).

export const seL4_Syscall = {
  seL4_SysCall: -1,
  seL4_SysReplyRecv: -2,
  seL4_SysNBSendRecv: -3,
  seL4_SysNBSendWait: -4,
  seL4_SysSend: -5,
  seL4_SysNBSend: -6,
  seL4_SysRecv: -7,
  seL4_SysNBRecv: -8,
  seL4_SysWait: -9,
  seL4_SysNBWait: -10,
  seL4_SysYield: -11,
} as const;
export type seL4_Syscall = (typeof seL4_Syscall)[keyof typeof seL4_Syscall];

export const SYSCALL_MIN = -11;
export const SYSCALL_MAX = -1;

/** The syscall number as the a7 register word carries it. */
export function syscallWord(sysno: number): number {
  return sysno >>> 0;
}

/** The syscall number read back from an a7 word, as a signed value. */
export function syscallFromWord(word: number): number {
  return word | 0;
}

export function syscallName(sysno: number): string {
  for (const [name, value] of Object.entries(seL4_Syscall)) if (value === sysno) return name;
  return `unknown(${sysno})`;
}
