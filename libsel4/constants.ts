// Word-size and layout constants of libsel4 for riscv32 with MCS.

export type Word = number; // an unsigned 32-bit value, always kept in [0, 2^32)

export const seL4_WordBits = 32;
export const seL4_WordSizeBits = 2;
export const seL4_BadgeBits = 28;
export const seL4_GuardBits = 18;
export const seL4_GuardSizeBits = 5;
export const seL4_SlotBits = 4;
export const seL4_TCBBits = 10;
export const seL4_EndpointBits = 4;
export const seL4_NotificationBits = 5;
export const seL4_ReplyBits = 4;
export const seL4_PageBits = 12;
export const seL4_LargePageBits = 22;
export const seL4_PageTableBits = 12;
export const seL4_VSpaceBits = 12;
export const seL4_ASIDPoolBits = 12;
export const seL4_MinUntypedBits = 4;
export const seL4_MaxUntypedBits = 29;
export const seL4_MinSchedContextBits = 7;
export const seL4_IPCBufferSizeBits = 9;
export const seL4_BootInfoFrameBits = 12;
export const seL4_MsgMaxLength = 120;
export const seL4_MsgMaxExtraCaps = 3;
export const seL4_NumASIDPoolsBits = 5;
export const seL4_ASIDPoolIndexBits = 4;
export const seL4_MinPrio = 0;
export const seL4_MaxPrio = 255;

/** Registers that carry message words MR0..MR3 (a2..a5). */
export const seL4_FastMessageRegisters = 4;
/** CONFIG_RETYPE_FAN_OUT_LIMIT. */
export const seL4_RetypeFanOutLimit = 256;
/** CONFIG_ROOT_CNODE_SIZE_BITS default. */
export const defaultRootCNodeSizeBits = 12;
/** seL4_UserTop: user virtual addresses are below this. */
export const seL4_UserTop = 0x80000000;
/** seL4_RISCV_VMAttributes: bit 0 maps a frame without execute permission; the other bits are ignored. */
export const seL4_RISCV_ExecuteNever = 0x1;
export const seL4_RISCV_Default_VMAttributes = 0;

export const wordMask = 0xffffffff;
export const badgeMask = (1 << seL4_BadgeBits) - 1;

/** Truncates any JS number to an unsigned 32-bit word. */
export function toWord(value: number): Word {
  return value >>> 0;
}

/** mask(bits) for 0 <= bits <= 32, as an unsigned word. */
export function maskBits(bits: number): Word {
  return bits >= 32 ? 0xffffffff : ((1 << bits) >>> 0) - 1;
}

/** riscv32 on qemu-riscv-virt, single core: PLIC sources 1..95 (PLIC_MAX_IRQ), 0 is irqInvalid. */
export const plicMaxIRQ = 95;
/** KERNEL_TIMER_IRQ: the kernel's timer, one above the PLIC's sources (no IPIs on one core). */
export const kernelTimerIRQ = plicMaxIRQ + 1;
/** maxIRQ: the highest IRQ number the kernel knows (IRQControl_Get's range is 1..maxIRQ). */
export const maxIRQ = kernelTimerIRQ;
export const irqInvalid = 0;

/** CONFIG_RESET_CHUNK_BITS: resetUntypedCap zeroes a non-device untyped in chunks of this size, a preemption point after each. */
export const resetChunkBits = 8;
