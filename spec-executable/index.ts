// The executable specification as a kernel layer: boot, one step per kernel entry, the
// user-visible observation, and the read-only view.
import { maxReleaseTicks, type AccessEvent, type KernelEvent, type KernelLayer, type KernelView, type ObjectView, type Observation, type Outcome, type SchedulerView, type Touched } from '../libsel4/index.ts';
import { boot } from './boot.ts';
import { cdtParent } from './cnode.ts';
import { objectView } from './objects.ts';
import { isPLICSource, raiseInterrupt } from './interrupt.ts';
import { raiseEntryInterrupt } from './preemption.ts';
import { firstNonZeroUserWord, getObject, getSlot, getTCB, irqLine, Step, UnmodelledBehaviour, userWord, type ExecState, type KObject, type SchedState } from './state.ts';
import { applyUserWrites, handleExceptionEntry, handleSyscallEntry, handleTimerInterrupt, handleVMFaultEntry, takePendingInterrupts } from './syscall.ts';
import { accessUserMemory, translate } from './vspace.ts';
import { ipcBufferContents } from './tcb.ts';

export * from './state.ts';
export { cdtParent, cdtParents, isMDBParentOf } from './cnode.ts';
export { objectView } from './objects.ts';
export { boot } from './boot.ts';
export { schedInvariantViolation } from './scheduler.ts';
export { ipcInvariantViolation } from './endpoint.ts';
export { accessUserMemory, vspaceInvariantViolation } from './vspace.ts';
export { irqInvariantViolation } from './interrupt.ts';
export { preemptionInvariantViolation } from './preemption.ts';

const nothingTouched: Touched = Object.freeze({ slots: [], objects: [] });

/** What the user sees: the calling thread (state, registers, IPC buffer) and who runs next. */
export function observe(state: ExecState, caller: number | null): Observation {
  const tcb = caller === null ? null : getTCB(state, caller);
  return {
    current: state.current,
    caller:
      tcb === null
        ? null
        : { tcb: tcb.addr, state: tcb.state, regs: tcb.regs, ipcBuffer: ipcBufferContents(state, tcb.addr) },
    unmodelled: null,
    restarted: false,
  };
}

/** An outcome that leaves `state` as it is, reporting what was not modelled (if anything). */
function unchanged(state: ExecState, caller: number | null, unmodelled: string | null, touched: Touched = nothingTouched): Outcome<ExecState> {
  return { state, observation: { ...observe(state, caller), unmodelled }, touched };
}

/**
 * Runs a kernel entry (a syscall's `raise` its points did not reach is raised when its work is
 * done), then the interrupts that are pending and deliverable when it returns to user mode, each
 * its own entry; one that reaches unmodelled behaviour gives `fallback` instead.
 */
function run(k: Step, caller: number | null, fallback: { state: ExecState; touched: Touched }, kernel: () => void): Outcome<ExecState> {
  try {
    kernel();
    raiseEntryInterrupt(k);
    takePendingInterrupts(k);
  } catch (e) {
    if (!(e instanceof UnmodelledBehaviour)) throw e;
    return unchanged(fallback.state, caller, e.what, fallback.touched);
  }
  const observation = { ...observe(k.state, caller), unmodelled: null, restarted: k.restarted };
  return {
    state: k.state,
    observation: k.preempted === null ? observation : { ...observation, preempted: k.preempted },
    touched: k.touched(),
    witness: k.choices,
  };
}

/** When the timer interrupt comes: at the deadline, but after at least one tick of user time. */
function interruptAt(clockTicks: bigint, deadlineTicks: bigint | null): bigint | null {
  if (deadlineTicks === null) return null;
  return deadlineTicks > clockTicks ? deadlineTicks : clockTicks + 1n;
}

/**
 * `time`: the current thread (or idle) computes; the clock stops when the timer interrupt comes
 * (then it enters the kernel) and never passes MAX_RELEASE_TIME. The observation's caller is the
 * thread that was computing.
 */
function passTime(state: ExecState, ticks: bigint): Outcome<ExecState> {
  if (ticks < 0n) throw new Error(`a time event needs a tick count >= 0, got ${ticks}`);
  const caller = state.current;
  const { clockTicks, timerDeadlineTicks } = state.sched;
  const endTicks = clockTicks + ticks < maxReleaseTicks ? clockTicks + ticks : maxReleaseTicks;
  const k = new Step(state);
  const interruptTicks = interruptAt(clockTicks, timerDeadlineTicks);
  if (interruptTicks === null || interruptTicks > endTicks) {
    k.setSched({ clockTicks: endTicks });
    return unchanged(k.state, caller, null);
  }
  k.setSched({ clockTicks: interruptTicks });
  return run(k, caller, { state, touched: nothingTouched }, () => handleTimerInterrupt(k));
}

/**
 * `interrupt`: PLIC source `irq` is raised (pending) while the current thread (or idle) runs; if
 * it can be delivered it is taken at once. A number that names no source changes nothing.
 */
function deviceInterrupt(state: ExecState, irq: number): Outcome<ExecState> {
  const caller = state.current;
  if (!isPLICSource(irq)) return unchanged(state, caller, null);
  const k = new Step(state);
  raiseInterrupt(k, irq);
  return run(k, caller, { state, touched: nothingTouched }, () => {});
}

/**
 * `access` (the user writes already in `k`): a hit changes only the word a store writes and enters
 * no kernel (no time, no interrupt); a miss enters it as handleVMFaultEvent.
 */
function userAccess(k: Step, thread: number, event: AccessEvent, written: { state: ExecState; touched: Touched }): Outcome<ExecState> {
  const hit = accessUserMemory(k.state, thread, event.access, event.vaddr, event.value ?? 0);
  if (hit === null) return run(k, thread, written, () => handleVMFaultEntry(k, thread, event.access, event.vaddr));
  const touched = hit.storedAt === null ? written.touched : { ...written.touched, userWords: [hit.storedAt] };
  return { state: hit.state, observation: { ...observe(hit.state, thread), accessed: hit.word }, touched };
}

/**
 * One event: the current thread's syscall, exception or user memory access (its user writes
 * applied first), time passing, or a device interrupt; each kernel entry ends with the interrupts
 * that are then deliverable. Thread events while the idle thread runs change nothing. An entry that
 * reaches behaviour the model does not cover changes nothing beyond the user writes, and the
 * observation names what was not modelled.
 */
export function step(state: ExecState, event: KernelEvent): readonly Outcome<ExecState>[] {
  if (event.kind === 'time') return [passTime(state, event.ticks)];
  if (event.kind === 'interrupt') return [deviceInterrupt(state, event.irq)];
  const thread = state.current;
  if (thread === null) return [unchanged(state, null, null)];
  const k = new Step(state);
  if (event.kind === 'syscall') k.raise = event.raise ?? null;
  applyUserWrites(k, thread, event.user);
  const written = { state: k.state, touched: k.touched() };
  if (event.kind === 'access') return [userAccess(k, thread, event, written)];
  const kernel = event.kind === 'syscall' ? () => handleSyscallEntry(k, thread) : () => handleExceptionEntry(k, thread, event.number, event.code);
  return [run(k, thread, written, kernel)];
}

/** The scheduler's state as every layer shows it: non-empty ready queues highest priority first. */
function schedulerView(sched: SchedState): SchedulerView {
  const readyQueues = [...sched.readyQueues.entries()]
    .sort(([p], [q]) => q - p)
    .map(([priority, threads]) => ({ priority, threads }));
  return {
    clockTicks: sched.clockTicks, curTimeTicks: sched.curTimeTicks, consumedTicks: sched.consumedTicks,
    currentSchedContext: sched.curSC, readyQueues, releaseQueue: sched.releaseQueue, timerDeadlineTicks: sched.timerDeadlineTicks,
  };
}

/** Each object record's view, made once: records are never changed. */
const objectViews = new WeakMap<KObject, ObjectView>();

function cachedObjectView(obj: KObject): ObjectView {
  let seen = objectViews.get(obj);
  if (seen === undefined) objectViews.set(obj, (seen = objectView(obj)));
  return seen;
}

/** Every object's view by increasing address, listed once per state. */
const objectLists = new WeakMap<ExecState, readonly ObjectView[]>();

function allObjectViews(state: ExecState): ObjectView[] {
  let list = objectLists.get(state);
  if (list === undefined) {
    list = [...state.objects.entries()].sort(([a], [b]) => a - b).map(([, obj]) => cachedObjectView(obj));
    objectLists.set(state, list);
  }
  return list.slice();
}

export function view(state: ExecState): KernelView {
  return {
    translate: (thread, vaddr) => translate(state, thread, vaddr),
    cap: (slot) => getSlot(state, slot)?.cap ?? null,
    cdtParent: (slot) => cdtParent(state, slot),
    object: (addr) => {
      const obj = getObject(state, addr);
      return obj === null ? null : cachedObjectView(obj);
    },
    objects: () => allObjectViews(state),
    current: () => state.current,
    userWord: (paddr) => userWord(state, paddr),
    nonZeroWord: (from, to) => firstNonZeroUserWord(state, from, to),
    scheduler: () => schedulerView(state.sched),
    irq: (irq) => irqLine(state, irq),
    workUnitsCompleted: () => state.workUnitsCompleted,
  };
}

export const executableLayer: KernelLayer<ExecState> = {
  name: 'executable',
  boot,
  step,
  view,
  observe,
};
