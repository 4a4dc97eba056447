// The executable specification as a kernel layer: boot, one step per kernel entry, the
// user-visible observation, and the read-only view.
import type { KernelEvent, KernelLayer, KernelView, Observation, Outcome, Touched } from '../libsel4/index.ts';
import { boot } from './boot.ts';
import { cdtParent } from './cnode.ts';
import { objectView } from './objects.ts';
import { schedule } from './scheduler.ts';
import { getObject, getSlot, getTCB, Step, userWord, type ExecState } from './state.ts';
import { applyUserWrites, handleSyscall } from './syscall.ts';
import { ipcBufferContents } from './tcb.ts';

export * from './state.ts';
export { cdtParent, cdtParents, isMDBParentOf } from './cnode.ts';
export { objectView } from './objects.ts';
export { boot } from './boot.ts';

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
  };
}

/**
 * One kernel entry by the current thread: its user writes are applied, then the kernel runs. With
 * no runnable thread nothing happens. An entry that reaches behaviour the model does not cover
 * changes nothing beyond the user writes, and the observation names what was not modelled.
 */
export function step(state: ExecState, event: KernelEvent): readonly Outcome<ExecState>[] {
  const thread = state.current;
  if (thread === null) return [{ state, observation: { current: null, caller: null, unmodelled: null }, touched: nothingTouched }];
  if (event.kind !== 'syscall') return [{ state, observation: { ...observe(state, thread), unmodelled: event.kind }, touched: nothingTouched }];
  const k = new Step(state);
  applyUserWrites(k, thread, event.user);
  const unmodelled = handleSyscall(k, thread);
  schedule(k, thread);
  return [{ state: k.state, observation: { ...observe(k.state, thread), unmodelled }, touched: k.touched(), witness: k.choices }];
}

export function view(state: ExecState): KernelView {
  return {
    cap: (slot) => getSlot(state, slot)?.cap ?? null,
    cdtParent: (slot) => cdtParent(state, slot),
    object: (addr) => {
      const obj = getObject(state, addr);
      return obj === null ? null : objectView(obj);
    },
    objects: () => [...state.objects.keys()].sort((a, b) => a - b).map((addr) => objectView(state.objects.get(addr)!)),
    current: () => state.current,
    userWord: (paddr) => userWord(state, paddr),
    scheduler: () => ({
      clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: null,
      readyQueues: [], releaseQueue: [], timerDeadlineTicks: null,
    }),
  };
}

export const executableLayer: KernelLayer<ExecState> = {
  name: 'executable',
  boot,
  step,
  view,
  observe,
};
