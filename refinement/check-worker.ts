// A worker thread of a parallel check (parallel.ts): runs the batches the main thread sends it,
// reporting every passing run and the end of each batch, with its failure if it had one.
import { parentPort, workerData } from 'node:worker_threads';
import { runCheck } from './check.ts';
import { takeKernelCoverage } from './kernel-coverage.ts';
import type { LayerOptions } from './layers.ts';
import type { Batch, FromWorker, ToWorker, WorkerSetup } from './parallel.ts';

async function layerOptionsOf(setup: WorkerSetup): Promise<LayerOptions | undefined> {
  if (!setup.layerOptionsModule) return undefined;
  const module = (await import(setup.layerOptionsModule.url)) as Record<string, LayerOptions | undefined>;
  const options = module[setup.layerOptionsModule.name];
  if (!options) throw new Error(`${setup.layerOptionsModule.url} exports no '${setup.layerOptionsModule.name}'`);
  return options;
}

async function runBatch(port: NonNullable<typeof parentPort>, setup: WorkerSetup, layerOptions: LayerOptions | undefined, batch: Batch): Promise<void> {
  const check = setup.check;
  const post = (message: FromWorker) => port.postMessage(message);
  let shrinking = false;
  const summary = runCheck({
    ...check,
    seed: batch.seed,
    runs: batch.runs,
    ...(layerOptions ? { layerOptions } : {}),
    onRun: (record) => post({ type: 'run', batch: batch.index, record }),
    onProgress: (p) => {
      if (p.shrinking && !shrinking) post({ type: 'shrinking', batch: batch.index });
      shrinking ||= p.shrinking;
    },
  });
  const f = summary.failure;
  post({
    type: 'done',
    batch: batch.index,
    elapsedMs: summary.elapsedMs,
    foundAfterMs: summary.foundAfterMs,
    shrinkMs: summary.shrinkMs,
    kernelCoverage: setup.kernelCoverage ? await takeKernelCoverage() : null,
    failure: f && {
      seed: f.seed,
      path: f.path,
      kind: f.failure.kind,
      step: f.failure.step,
      pair: f.failure.pair,
      mismatch: { ...f.failure.mismatch },
      trace: f.trace,
      events: f.events,
      shrink: f.shrink,
      ...(f.config ? { config: f.config } : {}),
    },
  });
}

const port = parentPort;
if (!port) throw new Error('check-worker.ts runs as a worker thread of parallel.ts');
const { setup } = workerData as { setup: WorkerSetup };
const layerOptions = await layerOptionsOf(setup);
port.on('message', (message: ToWorker) => void runBatch(port, setup, layerOptions, message.batch));
