// seL4_CapRights word: bit 0 Write, 1 Read, 2 Grant, 3 GrantReply.
import type { Word } from './constants.ts';

export const seL4_CanWrite = 0x1;
export const seL4_CanRead = 0x2;
export const seL4_CanGrant = 0x4;
export const seL4_CanGrantReply = 0x8;
export const seL4_AllRights = 0xf;
export const seL4_ReadWrite = 0x3;
export const seL4_NoWrite = 0xe;
export const seL4_NoRead = 0xd;
export const seL4_NoRights = 0x0;

export function seL4_CapRights_new(grantReply: number, grant: number, read: number, write: number): Word {
  return ((grantReply & 1) << 3) | ((grant & 1) << 2) | ((read & 1) << 1) | (write & 1);
}

/** Frame VM rights as RISC-V's vm_rights_t numbers them. */
export const VMRights = { VMKernelOnly: 1, VMReadOnly: 2, VMReadWrite: 3 } as const;
export type VMRights = (typeof VMRights)[keyof typeof VMRights];

/** maskVMRights: what is left of frame rights `vm` under a cap-rights mask. */
export function maskVMRights(vm: VMRights, mask: Word): VMRights {
  const read = (mask & seL4_CanRead) !== 0;
  const write = (mask & seL4_CanWrite) !== 0;
  if (vm === VMRights.VMReadOnly && read) return VMRights.VMReadOnly;
  if (vm === VMRights.VMReadWrite && read) return write ? VMRights.VMReadWrite : VMRights.VMReadOnly;
  return VMRights.VMKernelOnly;
}

/**
 * Whose access to an IPC buffer is being checked: the kernel writes a receiver's buffer (the
 * frame must be read-write), reads a sender's (read-only will do); the thread's own stores
 * and the observation of its buffer are not the kernel's lookup (`user`).
 */
export type IPCBufferAccess = 'user' | 'sender' | 'receiver';

/** lookupIPCBuffer's rights check on the buffer frame cap's VM rights. */
export function ipcBufferRightsAllow(vmRights: VMRights, access: IPCBufferAccess): boolean {
  if (access === 'user') return true;
  return vmRights === VMRights.VMReadWrite || (access === 'sender' && vmRights === VMRights.VMReadOnly);
}
