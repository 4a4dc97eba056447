// The scheduler's part of the abstraction impl -> executable: the impl's globals (clock,
// ksCurTime, ksConsumed, ksCurSC, the timer deadline) and its queues, read through its view,
// become the executable spec's SchedState. Both layers' scheduler states are then compared
// through their views (compareScheduler); the abstract spec's through its view too.
import { Map as IMap } from 'immutable';
import type * as E from '../../spec-executable/index.ts';
import * as I from '../../impl/index.ts';

/** The impl's scheduler globals and queues (read through its view) as the executable spec keeps them. */
export function implSched(impl: I.ImplState): E.SchedState {
  const s = I.implLayer.view(impl).scheduler();
  return {
    clockTicks: s.clockTicks,
    curTimeTicks: s.curTimeTicks,
    consumedTicks: s.consumedTicks,
    curSC: s.currentSchedContext,
    readyQueues: IMap(s.readyQueues.map((q) => [q.priority, q.threads] as const)),
    releaseQueue: s.releaseQueue,
    timerDeadlineTicks: s.timerDeadlineTicks,
  };
}
