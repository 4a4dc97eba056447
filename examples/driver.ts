// A device driver as a root task sets one up on seL4 (MCS), run on the model: the root task asks
// IRQ control for a handler cap of the device's IRQ (seL4_IRQControl_Get), retypes a
// notification and installs a badged cap to it as the handler's notification
// (seL4_IRQHandler_SetNotification), and starts the driver thread. The driver waits on the
// notification; each device interrupt (raised by the run's device schedule) signals it with the
// badge; the driver handles the device (computes) and acknowledges the interrupt
// (seL4_IRQHandler_Ack), which lets the interrupt controller deliver the line again. An interrupt
// raised while the driver handles the last one stays pending and is delivered at its Ack; an
// interrupt of a line nobody asked for is masked: nothing happens.
// Run: node bin/run-ts.js examples/driver.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  formatTimeline,
  runSystem,
  seL4_AllRights,
  seL4_CapIRQControl,
  seL4_CapInitThreadCNode,
  seL4_Error,
  seL4_ObjectType,
  startThread,
  type DeviceInterrupt,
  type LayerName,
  type ProgramContext,
  type RunResult,
} from 'sel4-model';

/** What the programs of one run reported, in order. */
export type Log = string[];

/** The device's interrupt line (a PLIC source), and the badge its notification cap carries. */
export const deviceIRQ = 5;
export const deviceBadge = 0x20;
/** A line no handler was asked for: the controller keeps it masked. */
export const unusedIRQ = 9;
/** Interrupts the driver handles before it ends. */
export const interruptsHandled = 3;
/** Microseconds the driver spends on each interrupt. */
export const handlingUs = 50n;

/** When the device interrupts: the third while the driver still handles the second. */
export const deviceSchedule: readonly DeviceInterrupt[] = [
  { atUs: 1000n, irq: deviceIRQ },
  { atUs: 1500n, irq: unusedIRQ },
  { atUs: 2000n, irq: deviceIRQ },
  { atUs: 2020n, irq: deviceIRQ },
];

function check(error: seL4_Error, what: string): void {
  if (error !== seL4_Error.seL4_NoError) throw new Error(`${what} failed: ${error}`);
}

/** The driver: a0 the notification, a1 the IRQ handler. Waits, handles, acknowledges, `interruptsHandled` times. */
function* drive(sys: ProgramContext, log: Log) {
  const [notification, handler] = sys.args as [number, number];
  for (let n = 1; n <= interruptsHandled; n++) {
    const { sender } = yield* sys.api.seL4_Wait(notification);
    log.push(`driver: interrupt ${n}, badge 0x${sender.toString(16)}`);
    yield* sys.compute(handlingUs);
    check(yield* sys.api.seL4_IRQHandler_Ack(handler), 'acknowledging the interrupt');
    log.push(`driver: interrupt ${n} handled and acknowledged`);
  }
}

/** The root task sets up the IRQ handler and the notification, starts the driver (priority 150) and ends. */
export function driver(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log } {
  const log: Log = [];
  const root = function* (sys: ProgramContext) {
    const R = seL4_CapInitThreadCNode;
    const slot = (n: number) => sys.plan.bootInfo.empty.start + n;
    const untyped = sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
    const [notification, badged, handler, driverTCB] = [slot(0), slot(1), slot(2), slot(3)];
    check(yield* sys.api.seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_NotificationObject, 0, R, 0, 0, notification, 1), 'retyping the notification');
    check(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, notification, 32, seL4_AllRights, deviceBadge), 'minting the badged cap');
    check(yield* sys.api.seL4_IRQControl_Get(seL4_CapIRQControl, deviceIRQ, R, handler, 32), 'getting the IRQ handler');
    check(yield* sys.api.seL4_IRQHandler_SetNotification(handler, badged), "setting the handler's notification");
    function* driverProgram(s: ProgramContext) {
      yield* drive(s, log);
    }
    const thread = { program: driverProgram, untyped, slot: driverTCB, priority: 150, budgetUs: 1000n, periodUs: 10_000n, args: [notification, handler] };
    check(yield* startThread(sys, thread), 'starting the driver');
    log.push('root: driver started, waiting for its device');
  };
  const result = runSystem(root, { system: { layer }, devices: deviceSchedule, maxTimeUs: 100_000n });
  return { result, log };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  const { result, log } = driver(layer);
  console.log(`Driver: stopped (${result.stop}): ${result.detail}`);
  for (const line of log) console.log(`  ${line}`);
  for (const e of result.entries.filter((x) => x.event.kind === 'interrupt')) {
    console.log(`  interrupt ${e.event.kind === 'interrupt' ? e.event.irq : ''} raised at ${Number(e.clockTicks) / 10} µs`);
  }
  console.log(formatTimeline(result.timeline));
}
