// A booted layer behind one interface, whatever its state type.
import type { BootPlan, KernelEvent, KernelLayer, KernelView, LayerName, Observation, Touched } from '../libsel4/index.ts';

/** One allowed result of a step, not yet adopted. */
export interface Candidate {
  readonly observation: Observation;
  readonly touched: Touched;
  readonly choice: string | undefined;
  readonly state: unknown;
  readonly view: KernelView;
  /** Makes this candidate the layer's current state. */
  adopt(): void;
}

export interface RunningLayer {
  readonly name: LayerName;
  view(): KernelView;
  observe(caller: number | null): Observation;
  /** Every outcome the layer allows for the event (exactly one for deterministic layers). */
  step(event: KernelEvent): Candidate[];
  /** The layer's own state, for abstraction functions and invariant checks. */
  state(): unknown;
}

export function boot<S>(layer: KernelLayer<S>, plan: BootPlan): RunningLayer {
  let state = layer.boot(plan);
  return {
    name: layer.name,
    view: () => layer.view(state),
    observe: (caller) => layer.observe(state, caller),
    state: () => state,
    step(event) {
      return layer.step(state, event).map((o) => {
        let view: KernelView | null = null;
        return {
          observation: o.observation,
          touched: o.touched,
          choice: o.choice,
          state: o.state,
          get view() {
            return (view ??= layer.view(o.state));
          },
          adopt: () => {
            state = o.state;
          },
        };
      });
    },
  };
}
