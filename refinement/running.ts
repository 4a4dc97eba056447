// A booted layer behind one interface, whatever its state type.
import type { BootPlan, KernelEvent, KernelLayer, KernelView, LayerName, Observation, Outcome, Touched, Witness } from '../libsel4/index.ts';

/** One allowed result of a step, not yet adopted. */
export interface Candidate {
  readonly observation: Observation;
  readonly touched: Touched;
  readonly choice: string | undefined;
  /** The choices a deterministic layer made, for the abstract spec to follow. */
  readonly witness: Witness | undefined;
  readonly state: unknown;
  readonly view: KernelView;
  /** Makes this candidate the layer's current state. */
  adopt(): void;
}

export interface RunningLayer {
  readonly name: LayerName;
  view(): KernelView;
  observe(caller: number | null): Observation;
  /**
   * Every outcome the layer allows for the event (exactly one for deterministic layers); the
   * abstract spec given a witness follows it to one outcome, or throws ChoiceRejected.
   */
  step(event: KernelEvent, witness?: Witness): Candidate[];
  /** The layer's own state, for abstraction functions and invariant checks. */
  state(): unknown;
}

class Booted<S> implements RunningLayer {
  private current: S;
  constructor(
    private readonly layer: KernelLayer<S>,
    plan: BootPlan,
  ) {
    this.current = layer.boot(plan);
  }
  get name(): LayerName {
    return this.layer.name;
  }
  view(): KernelView {
    return this.layer.view(this.current);
  }
  observe(caller: number | null): Observation {
    return this.layer.observe(this.current, caller);
  }
  state(): unknown {
    return this.current;
  }
  step(event: KernelEvent, witness?: Witness): Candidate[] {
    return this.layer.step(this.current, event, witness).map((o) => new OutcomeCandidate(this, o));
  }
  adopt(state: S): void {
    this.current = state;
  }
  viewOf(state: S): KernelView {
    return this.layer.view(state);
  }
}

class OutcomeCandidate<S> implements Candidate {
  private cachedView: KernelView | null = null;
  constructor(
    private readonly owner: Booted<S>,
    private readonly outcome: Outcome<S>,
  ) {}
  get observation(): Observation {
    return this.outcome.observation;
  }
  get touched(): Touched {
    return this.outcome.touched;
  }
  get choice(): string | undefined {
    return this.outcome.choice;
  }
  get witness(): Witness | undefined {
    return this.outcome.witness;
  }
  get state(): unknown {
    return this.outcome.state;
  }
  get view(): KernelView {
    return (this.cachedView ??= this.owner.viewOf(this.outcome.state));
  }
  adopt(): void {
    this.owner.adopt(this.outcome.state);
  }
}

export function boot<S>(layer: KernelLayer<S>, plan: BootPlan): RunningLayer {
  return new Booted(layer, plan);
}
