// A booted abstract layer driven through libsel4's calls, for the abstract spec's tests.
import {
  createSel4Api,
  messageInfoFromWord,
  msgRegisters,
  msgWordIndex,
  Reg,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  planBoot,
  type BootConfigInput,
  type BootPlan,
  type KernelEvent,
  type KernelView,
  type Observation,
  type Outcome,
  type Sel4Api,
  type SlotRef,
  type Witness,
} from '../../libsel4/index.ts';
import { abstractLayer, type AbstractState } from '../../spec-abstract/index.ts';

export interface Harness {
  readonly plan: BootPlan;
  readonly api: Sel4Api;
  /** The current state (the first outcome of every step is adopted). */
  state(): AbstractState;
  view(): KernelView;
  /** Every outcome of the last step. */
  lastOutcomes(): readonly Outcome<AbstractState>[];
  /** Enters the kernel directly with an event. */
  enter(event: KernelEvent): Observation;
  /** Runs `body` with the spec following `witness` on every entry it makes (as under the checker). */
  following<T>(witness: Witness, body: () => T): T;
  /** Root CNode slot `index`. */
  root(index: number): SlotRef;
  /** First empty root CNode slot at boot. */
  readonly free: number;
  /** First untyped cap slot. */
  readonly untyped: number;
}

export function bootHarness(config: BootConfigInput = {}): Harness {
  const plan = planBoot(config);
  let state = abstractLayer.boot(plan);
  let outcomes: readonly Outcome<AbstractState>[] = [];
  let witness: Witness | undefined;
  const enter = (event: KernelEvent): Observation => {
    outcomes = abstractLayer.step(state, event, witness);
    state = outcomes[0]!.state;
    return outcomes[0]!.observation;
  };
  const api = createSel4Api({ enter }, abstractLayer.observe(state, plan.rootTCB));
  return {
    plan,
    api,
    state: () => state,
    view: () => abstractLayer.view(state),
    lastOutcomes: () => outcomes,
    enter,
    following: (w, body) => {
      witness = w;
      try {
        return body();
      } finally {
        witness = undefined;
      }
    },
    root: (index) => ({ cnode: plan.rootCNode, index }),
    free: plan.bootInfo.empty.start,
    untyped: plan.bootInfo.untyped.start,
  };
}

export interface Reply {
  /** The reply's label: the seL4_Error. */
  readonly error: number;
  /** The reply's length. */
  readonly length: number;
  /** MR0.. of the reply (as many as `length`). */
  readonly mrs: readonly number[];
  readonly observation: Observation;
}

/**
 * A Call with any label, message words and extra caps, as a user could make it (the libsel4
 * stubs only make well-formed ones). `length` defaults to the number of words.
 */
export function call(h: Harness, service: number, label: number, mrs: readonly number[], caps: readonly number[] = [], length = mrs.length): Reply {
  mrs.slice(msgRegisters.length).forEach((v, i) => h.api.seL4_SetMR(msgRegisters.length + i, v));
  caps.forEach((c, i) => h.api.seL4_SetCap(i, c));
  const observation = h.api.rawSyscall([
    [Reg.a0, service],
    [Reg.a1, seL4_MessageInfo_new(label, 0, caps.length, length)],
    ...msgRegisters.map((r, i): [number, number] => [r, mrs[i] ?? 0]),
    [Reg.a7, syscallWord(seL4_Syscall.seL4_SysCall)],
  ]);
  const info = messageInfoFromWord(observation.caller?.regs[Reg.a1] ?? 0);
  return { error: info.label, length: info.length, mrs: replyWords(observation, info.length), observation };
}

/** The first `length` words of the message a thread received: MR0-3 in a2-a5, the rest in its IPC buffer. */
function replyWords(observation: Observation, length: number): number[] {
  const at = (i: number) => (i < msgRegisters.length ? observation.caller?.regs[msgRegisters[i]!] : observation.caller?.ipcBuffer?.[msgWordIndex(i)]);
  return Array.from({ length }, (_, i) => at(i) ?? 0);
}

/** The error code and message words of the last reply, for compact assertions. */
export function lastReply(h: Harness): { error: number; mrs: number[] } {
  const observation = h.api.lastObservation();
  const info = messageInfoFromWord(observation.caller?.regs[Reg.a1] ?? 0);
  return { error: info.label, mrs: replyWords(observation, info.length) };
}
