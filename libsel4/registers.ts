// seL4_UserContext for RISC-V: 32 words in the order Read/WriteRegisters use.

export const registerNames = [
  'pc', 'ra', 'sp', 'gp',
  's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11',
  'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  't0', 't1', 't2', 't3', 't4', 't5', 't6', 'tp',
] as const;
export type RegisterName = (typeof registerNames)[number];
export const numRegisters = registerNames.length;

export const Reg = Object.fromEntries(registerNames.map((n, i) => [n, i])) as { readonly [K in RegisterName]: number };

/** Roles in the MCS syscall ABI. */
export const capRegister = Reg.a0;
export const badgeRegister = Reg.a0;
export const msgInfoRegister = Reg.a1;
export const msgRegisters = [Reg.a2, Reg.a3, Reg.a4, Reg.a5] as const;
export const replyRegister = Reg.a6;
export const syscallNumberRegister = Reg.a7;
export const nbsendRecvDestRegister = Reg.t0;
