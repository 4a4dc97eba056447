// The three layers, by name. Only refinement/ sees them all.
import type { BootPlan, LayerName } from '../libsel4/index.ts';
import { abstractLayer } from '../spec-abstract/index.ts';
import { executableLayer } from '../spec-executable/index.ts';
import { createImplLayer } from '../impl/index.ts';
import { boot, type RunningLayer } from './running.ts';

export interface LayerOptions {
  /** Run the impl with its internal assertions (debug build). */
  readonly implDebug: boolean;
}

export function bootLayer(name: LayerName, plan: BootPlan, options: LayerOptions = { implDebug: true }): RunningLayer {
  switch (name) {
    case 'abstract':
      return boot(abstractLayer, plan);
    case 'executable':
      return boot(executableLayer, plan);
    case 'impl':
      return boot(createImplLayer({ debug: options.implDebug }), plan);
  }
}
