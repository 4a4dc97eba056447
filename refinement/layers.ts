// The three layers, by name. Only refinement/ sees them all.
import type { BootPlan, KernelLayer, LayerName } from '../libsel4/index.ts';
import { abstractLayer } from '../spec-abstract/index.ts';
import { executableLayer } from '../spec-executable/index.ts';
import { createImplLayer, type ImplState } from '../impl/index.ts';
import { boot, type RunningLayer } from './running.ts';

export interface LayerOptions {
  /** Run the impl with its internal assertions (debug build). */
  readonly implDebug: boolean;
  /** Replaces the impl by a wrapper around it: tests plant deliberate faults this way. */
  readonly wrapImpl?: (impl: KernelLayer<ImplState>) => KernelLayer<ImplState>;
}

export function bootLayer(name: LayerName, plan: BootPlan, options: LayerOptions = { implDebug: true }): RunningLayer {
  switch (name) {
    case 'abstract':
      return boot(abstractLayer, plan);
    case 'executable':
      return boot(executableLayer, plan);
    case 'impl': {
      const impl = createImplLayer({ debug: options.implDebug });
      return boot(options.wrapImpl ? options.wrapImpl(impl) : impl, plan);
    }
  }
}
