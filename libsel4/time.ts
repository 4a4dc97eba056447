// Time on riscv32 MCS (qemu-riscv-virt, the platform of the conformance recordings): the timer
// counts at 10 MHz; user-visible amounts (SchedControl budgets and periods, SchedContext_Consumed)
// are in microseconds, kernel state in ticks. The values are those seL4 reports in its replies
// (see ../shared/conformance/README.md) and its riscv timer.h and sporadic.h; every layer uses these.

/** TIMER_CLOCK_HZ / 10^6. */
export const ticksPerMicrosecond = 10n;
/** The largest 64-bit time: clocks and amounts are unsigned 64-bit values. */
export const maxTicks = (1n << 64n) - 1n;
/** The kernel's worst-case execution time estimate on RISC-V (µs, KERNEL_WCET_SCALE 1). */
export const kernelWcetMicroseconds = 10n;
/** MIN_BUDGET_US: two kernel WCETs. */
export const minBudgetMicroseconds = 2n * kernelWcetMicroseconds;
/** MAX_PERIOD_US: the largest period whose ticks still leave headroom in 64 bits, (2^64 - 1) / ticks per µs / 8. */
export const maxPeriodMicroseconds = maxTicks / ticksPerMicrosecond / 8n;
/** CONFIG_BOOT_THREAD_TIME_SLICE: the root task's round-robin budget, 5 ms. */
export const bootThreadTimeSliceMicroseconds = 5000n;

export function usToTicks(us: bigint): bigint {
  return us * ticksPerMicrosecond;
}

export function ticksToUs(ticks: bigint): bigint {
  return ticks / ticksPerMicrosecond;
}

/** The message words of a 64-bit seL4_Time on riscv32: low word first, then high. */
export function timeWords(value: bigint): [number, number] {
  return [Number(BigInt.asUintN(32, value)), Number(BigInt.asUintN(32, value >> 32n))];
}

/** A 64-bit seL4_Time from its low and high message words. */
export function timeFromWords(lowWord: number, highWord: number): bigint {
  return (BigInt(highWord >>> 0) << 32n) | BigInt(lowWord >>> 0);
}

/** MIN_BUDGET in ticks. */
export const minBudgetTicks = usToTicks(minBudgetMicroseconds);
/** getTimerPrecision: one microsecond's worth of ticks. */
export const timerPrecisionTicks = usToTicks(1n);
/** MAX_PERIOD_TICKS: the idle thread's budget, and the largest budget or period. */
export const maxPeriodTicks = usToTicks(maxPeriodMicroseconds);
/**
 * MAX_RELEASE_TIME: seL4 relies on the clock never passing it, so that no release time
 * overflows. The model's clock stops there: a `time` event never takes it further.
 */
export const maxReleaseTicks = maxTicks - 5n * maxPeriodTicks;
