// Two IPC programs as a root task sets them up on seL4 (MCS), run on the model: a client and a
// passive server (the server has no scheduling context of its own and runs on the budget its
// client's Call donates, which the reply returns), and a producer that signals a notification
// for each item it makes and a consumer that waits on it. Prints what each saw and who ran when.
// Run: node bin/run-ts.js examples/ipc.ts [impl|executable|abstract|lockstep]
import { pathToFileURL } from 'node:url';
import {
  bootSystem,
  formatTimeline,
  messageInfoFromWord,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_Error,
  seL4_MessageInfo_new,
  seL4_ObjectType,
  startThread,
  runSystem,
  type LayerName,
  type ProgramContext,
  type RunResult,
  type Stub,
} from 'sel4-model';

/** What the programs of one run reported, in order. */
export type Log = string[];

function check(error: seL4_Error, what: string): void {
  if (error !== seL4_Error.seL4_NoError) throw new Error(`${what} failed: ${error}`);
}

/** Free root CNode slots from the first empty one: `slot(n)`. */
const slotFrom = (sys: ProgramContext) => (n: number) => sys.plan.bootInfo.empty.start + n;

/** The largest non-device untyped's slot. */
function untypedOf(sys: ProgramContext): number {
  return sys.plan.bootInfo.untyped.start + sys.plan.untypeds.findIndex((u) => !u.isDevice && u.sizeBits >= 16);
}

function* retype(sys: ProgramContext, type: number, slot: number): Stub<void> {
  check(yield* sys.api.seL4_Untyped_Retype(untypedOf(sys), type, 0, seL4_CapInitThreadCNode, 0, 0, slot, 1), `retyping into slot ${slot}`);
}

// ---- client and passive server ----

/**
 * The server: waits on the endpoint (a0) with its reply object (a1), then answers each request
 * (MR0, MR1) with their sum and waits again in one ReplyRecv. It logs the scheduling context it
 * runs on: the client's.
 */
function* serve(sys: ProgramContext, log: Log, scOf: (tcb: number) => number | null) {
  const [ep, reply] = sys.args as [number, number];
  let { info } = yield* sys.api.seL4_Recv(ep, reply);
  for (;;) {
    const [a, b] = [sys.api.seL4_GetMR(0), sys.api.seL4_GetMR(1)];
    log.push(`server: label ${messageInfoFromWord(info).label}: ${a} + ${b}, on scheduling context ${hexOf(scOf(sys.tcb))}`);
    sys.api.seL4_SetMR(0, a + b);
    ({ info } = yield* sys.api.seL4_ReplyRecv(ep, seL4_MessageInfo_new(0, 0, 0, 1), reply));
  }
}

/** The client: three Calls to the endpoint (a0), each followed by some computing. */
function* ask(sys: ProgramContext, log: Log, scOf: (tcb: number) => number | null) {
  const [ep] = sys.args as [number];
  log.push(`client: runs on scheduling context ${hexOf(scOf(sys.tcb))}`);
  for (const [a, b] of [[1, 2], [20, 22], [300, 400]] as const) {
    sys.api.seL4_SetMR(0, a);
    sys.api.seL4_SetMR(1, b);
    yield* sys.api.seL4_Call(ep, seL4_MessageInfo_new(7, 0, 0, 2));
    log.push(`client: ${a} + ${b} = ${sys.api.seL4_GetMR(0)}`);
    yield* sys.compute(200n);
  }
}

const hexOf = (addr: number | null) => (addr === null ? 'none' : `0x${addr.toString(16)}`);

/**
 * The root task makes an endpoint and a reply object, starts the server (priority 150) and
 * lets it wait, unbinds its scheduling context (now it is passive), and starts the client
 * (priority 100, 1 ms every 10 ms).
 */
export function clientServer(layer: LayerName | 'lockstep' = 'executable'): { result: RunResult; log: Log } {
  const log: Log = [];
  const system = bootSystem({ layer });
  const scOf = (tcb: number) => {
    const o = system.view().object(tcb);
    return o?.type === 'tcb' ? o.schedContext : null;
  };
  const root = function* (sys: ProgramContext) {
    const slot = slotFrom(sys);
    const [ep, reply, serverTCB, clientTCB] = [slot(0), slot(1), slot(2), slot(4)];
    yield* retype(sys, seL4_ObjectType.seL4_EndpointObject, ep);
    yield* retype(sys, seL4_ObjectType.seL4_ReplyObject, reply);
    const common = { untyped: untypedOf(sys), budgetUs: 1000n, periodUs: 10_000n };
    function* server(s: ProgramContext) {
      yield* serve(s, log, scOf);
    }
    function* client(s: ProgramContext) {
      yield* ask(s, log, scOf);
    }
    check(yield* startThread(sys, { ...common, program: server, slot: serverTCB, priority: 150, args: [ep, reply] }), 'starting the server');
    // Below the server, the root task lets it reach its Recv; then takes its scheduling context.
    check(yield* sys.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 120), 'lowering the root task');
    check(yield* sys.api.seL4_SchedContext_Unbind(serverTCB + 1), 'unbinding the server');
    log.push('root: the server waits, passive');
    check(yield* startThread(sys, { ...common, program: client, slot: clientTCB, priority: 100, args: [ep] }), 'starting the client');
  };
  const result = runSystem(root, { system, maxTimeUs: 100_000n });
  return { result, log };
}

// ---- producer and consumer ----

/** The producer: makes `count` (a1) items, computing 300 µs for each, and signals the notification (a0) after each. */
function* produce(sys: ProgramContext, made: number[]) {
  const [ntfn, count] = sys.args as [number, number];
  for (let i = 1; i <= count; i++) {
    yield* sys.compute(300n);
    made.push(i);
    yield* sys.api.seL4_Signal(ntfn);
  }
}

/** The consumer: waits on the notification (a0) and takes every item made since, until it has `count` (a1). */
function* consume(sys: ProgramContext, made: number[], log: Log) {
  const [ntfn, count] = sys.args as [number, number];
  let taken = 0;
  while (taken < count) {
    const { sender } = yield* sys.api.seL4_Wait(ntfn);
    const items = made.splice(0);
    taken += items.length;
    log.push(`consumer: badge ${sender}, took ${items.join(', ')}`);
  }
}

/**
 * The root task makes a notification, mints a cap with badge 5 for the producer, and starts
 * the consumer (priority 120) and the producer (priority 100), each with its own budget.
 */
export function producerConsumer(layer: LayerName | 'lockstep' = 'executable', count = 4): { result: RunResult; log: Log } {
  const log: Log = [];
  const made: number[] = [];
  const root = function* (sys: ProgramContext) {
    const slot = slotFrom(sys);
    const [ntfn, badged] = [slot(0), slot(1)];
    yield* retype(sys, seL4_ObjectType.seL4_NotificationObject, ntfn);
    const R = seL4_CapInitThreadCNode;
    check(yield* sys.api.seL4_CNode_Mint(R, badged, 32, R, ntfn, 32, seL4_AllRights, 5), 'minting the badged cap');
    const common = { untyped: untypedOf(sys), budgetUs: 2000n, periodUs: 10_000n };
    function* consumer(s: ProgramContext) {
      yield* consume(s, made, log);
    }
    function* producer(s: ProgramContext) {
      yield* produce(s, made);
    }
    check(yield* startThread(sys, { ...common, program: consumer, slot: slot(2), priority: 120, args: [ntfn, count] }), 'starting the consumer');
    check(yield* startThread(sys, { ...common, program: producer, slot: slot(4), priority: 100, args: [badged, count] }), 'starting the producer');
  };
  const result = runSystem(root, { system: { layer }, maxTimeUs: 100_000n });
  return { result, log };
}

function show(title: string, { result, log }: { result: RunResult; log: Log }): void {
  console.log(`${title}: stopped (${result.stop}): ${result.detail}`);
  for (const line of log) console.log(`  ${line}`);
  console.log(formatTimeline(result.timeline));
  console.log();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const layer = (process.argv[2] ?? 'executable') as LayerName | 'lockstep';
  show('Client and passive server', clientServer(layer));
  show('Producer and consumer', producerConsumer(layer));
}
