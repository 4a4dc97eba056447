// A booted system as a test or the CLI uses it: one layer alone, or several in lockstep,
// driven through libsel4's calls as the root task.
import {
  createSel4Api,
  planBoot,
  type BootConfigInput,
  type BootPlan,
  type KernelEvent,
  type KernelView,
  type LayerName,
  type Observation,
  type RaiseDuringEntry,
  type Sel4Api,
  type Touched,
} from '../libsel4/index.ts';
import { bootLayer, type LayerOptions } from './layers.ts';
import { Lockstep, RefinementFailure, defaultPairs, parsePair, type InvariantCheck, type PairName } from './lockstep/index.ts';
import type { RunningLayer } from './running.ts';

export interface SystemOptions {
  /** One layer, or 'lockstep' to run the layers of `pairs` side by side. */
  readonly layer?: LayerName | 'lockstep';
  readonly config?: BootConfigInput;
  readonly pairs?: readonly PairName[];
  readonly invariants?: InvariantCheck | null;
  /** With `invariants`: check them after every step, not only at `finish`. */
  readonly invariantsEveryStep?: boolean;
  readonly layerOptions?: LayerOptions;
}

export interface System {
  readonly plan: BootPlan;
  /** The root task's libsel4 calls. */
  readonly api: Sel4Api;
  /** Every entry made so far, replayable with `replay`. */
  readonly trace: readonly KernelEvent[];
  /** Enters the kernel with any event (recorded in `trace`), as the current thread or the idle thread. */
  enter(event: KernelEvent): Observation;
  /**
   * A device raises PLIC source `irq` now (an `interrupt` event, recorded in `trace`): any word is
   * accepted (outside 1..plicMaxIRQ nothing happens); anything else throws an Error saying why.
   */
  interrupt(irq: number): Observation;
  /**
   * Arms the next syscall entered (through `api` or `enter`) with `raise`: a device raises PLIC
   * source `raise.irq` inside that entry, before its `raise.afterWorkUnits`-th preemption point.
   */
  raiseDuringNext(raise: RaiseDuringEntry): void;
  /** What a thread sees of itself now (the lowest running layer's observation). */
  observe(tcb: number): Observation;
  /** A read-only view of a layer's state (default: the lowest running layer). */
  view(layer?: LayerName): KernelView;
  /** Set when running in lockstep. */
  readonly lockstep: Lockstep | null;
  /** What the last entry wrote, as each running layer reported it. */
  lastTouched(): readonly Touched[];
}

/** Boots a layer for the lockstep check: a layer that throws at boot is a failure at step -1. */
function bootChecked(name: LayerName, plan: BootPlan, options: LayerOptions | undefined): RunningLayer {
  try {
    return bootLayer(name, plan, options);
  } catch (error) {
    throw new RefinementFailure('crash', -1, name, { path: `${name} threw at boot`, lower: String(error), upper: 'a booted state' });
  }
}

const plans = new Map<string, BootPlan>();
const plansKept = 16;

/** A configuration's boot plan, computed once per distinct configuration: a check boots every run from it. */
function planOf(config: BootConfigInput = {}): BootPlan {
  const key = JSON.stringify(config);
  let plan = plans.get(key);
  if (!plan) {
    plan = planBoot(config);
    if (plans.size >= plansKept) plans.clear();
    plans.set(key, plan);
  }
  return plan;
}

export function bootSystem(options: SystemOptions = {}): System {
  const plan = planOf(options.config);
  const mode = options.layer ?? 'lockstep';
  const trace: KernelEvent[] = [];
  let lockstep: Lockstep | null = null;
  let single: RunningLayer | null = null;
  let enter: (event: KernelEvent) => Observation;
  let singleTouched: readonly Touched[] = [];
  if (mode === 'lockstep') {
    const pairs = (options.pairs ?? defaultPairs).map(parsePair);
    const names = [...new Set(pairs.flatMap((p) => [p.lower, p.upper]))];
    lockstep = new Lockstep(names.map((n) => bootChecked(n, plan, options.layerOptions)), pairs, options.invariants ?? null, options.invariantsEveryStep ?? false);
    const ls = lockstep;
    enter = (event) => ls.enter(event);
  } else {
    const layer = bootLayer(mode, plan, options.layerOptions);
    single = layer;
    enter = (event) => {
      const [first] = layer.step(event);
      first!.adopt();
      singleTouched = [first!.touched];
      return first!.observation;
    };
  }
  const lowest = lockstep ? lockstep.lowest : single!;
  let armed: RaiseDuringEntry | null = null;
  const port = {
    enter(given: KernelEvent): Observation {
      const event = armed !== null && given.kind === 'syscall' ? { ...given, raise: armed } : given;
      if (event.kind === 'syscall') armed = null;
      trace.push(event);
      return enter(event);
    },
  };
  const api = createSel4Api(port, lowest.observe(plan.rootTCB));
  return {
    plan,
    api,
    trace,
    enter: port.enter,
    interrupt: (irq) => port.enter({ kind: 'interrupt', irq: checkedIrq(irq, 'an interrupt\'s irq') }),
    raiseDuringNext(raise) {
      armed = checkedRaise(raise);
    },
    observe: (tcb) => lowest.observe(tcb),
    lockstep,
    lastTouched: () => (lockstep ? lockstep.lastTouched : singleTouched),
    view(layer) {
      if (layer === undefined) return lowest.view();
      const running = lockstep ? lockstep.layer(layer) : single?.name === layer ? single : undefined;
      if (!running) throw new Error(`layer ${layer} is not running in this system`);
      return running.view();
    },
  };
}

/** `irq` if it is a word (an integer from 0 to 0xffffffff), the IRQ number of a device interrupt; else an Error naming `what`. */
export function checkedIrq(irq: unknown, what: string): number {
  if (typeof irq === 'number' && Number.isInteger(irq) && irq >= 0 && irq <= 0xffffffff) return irq;
  const shown = typeof irq === 'bigint' ? `${irq}n` : typeof irq === 'string' ? `'${irq}'` : String(irq);
  throw new Error(`${what} must be an IRQ number (an integer from 0 to 0xffffffff), not ${shown}`);
}

/** `raise` if its irq is a word and afterWorkUnits a positive integer; else an Error saying which is wrong. */
export function checkedRaise(raise: unknown): RaiseDuringEntry {
  if (typeof raise !== 'object' || raise === null) throw new Error(`a raise must be { irq, afterWorkUnits }, not ${String(raise)}`);
  const irq = checkedIrq('irq' in raise ? raise.irq : undefined, 'a raise\'s irq');
  const units = 'afterWorkUnits' in raise ? raise.afterWorkUnits : undefined;
  if (typeof units !== 'number' || !Number.isInteger(units) || units < 1 || units > 0xffffffff) {
    throw new Error(`a raise's afterWorkUnits must be an integer from 1 to 0xffffffff, not ${String(units)}`);
  }
  return { irq, afterWorkUnits: units };
}
