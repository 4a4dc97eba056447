// The impl's IPC fastpath: with every condition holding, Call and ReplyRecv are done by the
// fastpath; each condition failing sends the entry to the slow path, named in the observation.
// Either way the state afterwards is word for word the one the slow path alone leaves (the same
// script run with the fastpath switched off). Random IPC programs run alike with it on and off.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Reg,
  seL4_AllRights,
  seL4_CanGrant,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  type Observation,
  type Touched,
  type Word,
} from '../../libsel4/index.ts';
import { createImplLayer, type ImplState } from '../../impl/index.ts';
import { unknownSyscallFault } from '../../impl/fault.ts';
import { setTcbFault } from '../../impl/tcb.ts';
import { CNODE, D, T, bootRoot, makeThread, type Root } from './harness.ts';

const S = seL4_Syscall;
const ROOT = seL4_CapInitThreadTCB;
// root CNode slots
const EP = 200;
const EP_BADGED = 201;
const NTFN = 202;
const NTFN_BADGED = 203;
const REPLY = 204;
const REPLY2 = 205;
const EP_NO_GRANT = 206;
const EP_NO_WRITE = 207;
const EP_IDLE = 208;
const EP_NO_READ = 209;
const REPLY3 = 240;
const EMPTY = 250;
const SERVER = 210; // TCB, SC 211, IPC buffer frame 212
const OTHER = 213; // a third thread: TCB, SC 214, frame 215
const SERVER2 = 216; // a second passive server: TCB, SC 217, frame 218
const SPARE_SC = 219;
const roundRobin = { budgetUs: 1000n, periodUs: 1000n, flags: 0 };

/** A syscall of whichever thread is current. */
function enter(r: Root, sysno: number, regs: ReadonlyArray<readonly [number, Word]>): Observation {
  return r.enter({ kind: 'syscall', user: { regs: [...regs, [Reg.a7, syscallWord(sysno)]], ipcBuffer: [] } });
}

const ok = (err: number) => expect(err).toBe(0);

/** An entry's fastpath outcome: `outcome` with the fastpath on, none with it off. */
function expectOutcome(r: Root, obs: Observation, outcome: string): void {
  expect(obs.fastpath).toBe(r.state.fastpath ? outcome : undefined);
}

/** Endpoints (full rights badged 0x55, without Grant, without Write, without Read, an idle one), a notification, two reply objects, and a server at `priority`. */
function objects(r: Root, priority: number): void {
  const ut = r.untyped(16);
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_BADGED, D, CNODE, EP, D, seL4_AllRights, 0x55));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_NO_GRANT, D, CNODE, EP, D, seL4_CanRead | seL4_CanWrite, 0x66));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_NO_WRITE, D, CNODE, EP, D, seL4_CanRead | seL4_CanGrant, 0x77));
  ok(r.api.seL4_CNode_Mint(CNODE, EP_NO_READ, D, CNODE, EP, D, seL4_CanWrite | seL4_CanGrant, 0x88));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_EndpointObject, 0, CNODE, 0, 0, EP_IDLE, 1));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_NotificationObject, 0, CNODE, 0, 0, NTFN, 1));
  ok(r.api.seL4_CNode_Mint(CNODE, NTFN_BADGED, D, CNODE, NTFN, D, seL4_CanWrite | seL4_CanRead, 0x9));
  ok(r.api.seL4_Untyped_Retype(ut, T.seL4_ReplyObject, 0, CNODE, 0, 0, REPLY, 2));
  makeThread(r, SERVER, priority, roundRobin);
}

/**
 * The root waits on the notification; the current thread (a server) signals it and waits on
 * the endpoint, with the reply object (`withReply`) or without; its SC is then unbound (`passive`).
 */
function serverWaits(r: Root, serverSlot: number, reply: number | null, passive: boolean): void {
  enter(r, S.seL4_SysWait, [[Reg.a0, NTFN]]);
  expect(r.state.current).toBe((r.cap(serverSlot) as { ptr: number }).ptr);
  const blocked = reply === null
    ? enter(r, S.seL4_SysNBSendWait, [[Reg.a6, NTFN_BADGED], [Reg.a0, EP], [Reg.a1, 0]])
    : enter(r, S.seL4_SysNBSendRecv, [[Reg.t0, NTFN_BADGED], [Reg.a0, EP], [Reg.a6, reply], [Reg.a1, 0]]);
  expect(blocked.caller!.state).toBe('BlockedOnReceive');
  expect(r.state.current).toBe(r.plan.rootTCB);
  if (passive) ok(r.api.seL4_SchedContext_UnbindObject(serverSlot + 1, serverSlot));
}

/** A Call of `length` words through `cap` (extra caps in the IPC buffer when `caps`), from whichever thread is current. */
function call(r: Root, cap: number, length = 2, caps = 0): Observation {
  return enter(r, S.seL4_SysCall, [[Reg.a0, cap], [Reg.a1, seL4_MessageInfo_new(7, 0, caps, length)], [Reg.a2, 11], [Reg.a3, 22], [Reg.a4, 33], [Reg.a5, 44]]);
}

/** A ReplyRecv of `length` words on `ep` with `reply`, from whichever thread is current. */
function replyRecv(r: Root, ep = EP, reply = REPLY, length = 2): Observation {
  return enter(r, S.seL4_SysReplyRecv, [[Reg.a0, ep], [Reg.a1, seL4_MessageInfo_new(3, 0, 0, length)], [Reg.a2, 55], [Reg.a3, 66], [Reg.a6, reply]]);
}

/** Time passes for the current thread up to one tick before the timer interrupt: too little budget is left for an entry. */
function exhaustBudget(r: Root): void {
  const deadline = r.state.timerDeadlineTicks!;
  r.enter({ kind: 'time', ticks: deadline - r.state.clockTicks - 1n });
}

/** The usual start: a passive server (priority 100) waits with a reply object. */
function passiveServer(r: Root): void {
  objects(r, 100);
  serverWaits(r, SERVER, REPLY, true);
}

/** The usual start, then a fastpath Call from the root: the server runs on the root's SC. */
function called(r: Root): void {
  passiveServer(r);
  expectOutcome(r, call(r, EP_BADGED), 'taken');
}

/** Two passive servers wait on the endpoint (the one at 120 first); the root calls the first, which runs on its context. */
function chain(r: Root): void {
  objects(r, 100);
  makeThread(r, SERVER2, 120, roundRobin);
  serverWaits(r, SERVER2, REPLY2, true);
  serverWaits(r, SERVER, REPLY, true);
  expectOutcome(r, call(r, EP_BADGED), 'taken');
}

/** A case: a script from boot whose last entry is the one looked at. */
interface Case {
  readonly name: string;
  readonly outcome: string;
  readonly script: (r: Root) => Observation;
}

const callCases: Case[] = [
  { name: 'all conditions hold', outcome: 'taken', script: (r) => (passiveServer(r), call(r, EP_BADGED)) },
  { name: 'five words', outcome: 'caps-or-long-message', script: (r) => (passiveServer(r), call(r, EP_BADGED, 5)) },
  { name: 'an extra cap', outcome: 'caps-or-long-message', script: (r) => (passiveServer(r), call(r, EP_BADGED, 1, 1)) },
  {
    // No kernel path leaves a running thread with a pending fault: planted, as seL4 still checks.
    name: 'a pending fault of the caller', outcome: 'caller-fault',
    script: (r) => {
      passiveServer(r);
      const fault = unknownSyscallFault(9);
      setTcbFault(r.state, r.plan.rootTCB, fault.w0, fault.w1);
      return call(r, EP_BADGED);
    },
  },
  { name: 'an empty slot', outcome: 'no-send-cap', script: (r) => (passiveServer(r), call(r, EMPTY)) },
  { name: 'a notification cap', outcome: 'no-send-cap', script: (r) => (passiveServer(r), call(r, NTFN_BADGED)) },
  { name: 'an endpoint cap without Write', outcome: 'no-send-cap', script: (r) => (passiveServer(r), call(r, EP_NO_WRITE)) },
  { name: 'no receiver waiting', outcome: 'no-receiver', script: (r) => (passiveServer(r), call(r, EP_IDLE)) },
  {
    name: 'a receiver without a VSpace', outcome: 'receiver-no-vspace',
    script: (r) => {
      passiveServer(r);
      ok(r.api.seL4_CNode_Revoke(CNODE, seL4_CapInitThreadVSpace, D));
      return call(r, EP_BADGED);
    },
  },
  {
    name: 'a receiver below the caller and a ready thread', outcome: 'receiver-priority',
    script: (r) => {
      passiveServer(r);
      makeThread(r, OTHER, 150, roundRobin);
      return call(r, EP_BADGED);
    },
  },
  { name: 'an endpoint cap without Grant or GrantReply', outcome: 'no-grant', script: (r) => (passiveServer(r), call(r, EP_NO_GRANT)) },
  { name: 'a receiver with its own SC', outcome: 'receiver-has-sc', script: (r) => (objects(r, 100), serverWaits(r, SERVER, REPLY, false), call(r, EP_BADGED)) },
  { name: 'a receiver without a reply object', outcome: 'receiver-no-reply', script: (r) => (objects(r, 100), serverWaits(r, SERVER, null, true), call(r, EP_BADGED)) },
  { name: 'a budget too small for the entry', outcome: 'budget', script: (r) => (passiveServer(r), exhaustBudget(r), call(r, EP_BADGED)) },
  {
    name: 'a call stack two deep (a passive server calls another)', outcome: 'taken',
    script: (r) => (chain(r), call(r, EP_BADGED)),
  },
];

const replyRecvCases: Case[] = [
  { name: 'all conditions hold', outcome: 'taken', script: (r) => (called(r), replyRecv(r)) },
  { name: 'five words', outcome: 'caps-or-long-message', script: (r) => (called(r), replyRecv(r, EP, REPLY, 5)) },
  {
    name: 'a pending fault of the server (planted)', outcome: 'caller-fault',
    script: (r) => {
      called(r);
      const fault = unknownSyscallFault(9);
      setTcbFault(r.state, r.state.current!, fault.w0, fault.w1);
      return replyRecv(r);
    },
  },
  { name: 'a notification cap to receive on', outcome: 'no-receive-cap', script: (r) => (called(r), replyRecv(r, NTFN)) },
  { name: 'an endpoint cap without Read', outcome: 'no-receive-cap', script: (r) => (called(r), replyRecv(r, EP_NO_READ)) },
  { name: 'no reply cap', outcome: 'no-reply-cap', script: (r) => (called(r), replyRecv(r, EP, EP)) },
  {
    name: 'an active bound notification', outcome: 'notification-active',
    script: (r) => {
      passiveServer(r);
      ok(r.api.seL4_TCB_BindNotification(SERVER, NTFN));
      expectOutcome(r, call(r, EP_BADGED), 'taken');
      enter(r, S.seL4_SysNBSend, [[Reg.a0, NTFN_BADGED], [Reg.a1, 0]]);
      return replyRecv(r);
    },
  },
  {
    name: 'a sender waiting', outcome: 'sender-waiting',
    script: (r) => {
      passiveServer(r);
      makeThread(r, OTHER, 150, roundRobin);
      expectOutcome(r, call(r, EP_BADGED), 'receiver-priority');
      // the thread at 150 runs first and blocks sending; then the server runs
      enter(r, S.seL4_SysSend, [[Reg.a0, EP_BADGED], [Reg.a1, 0]]);
      return replyRecv(r);
    },
  },
  { name: 'a reply object no call stack holds', outcome: 'reply-not-head', script: (r) => (called(r), replyRecv(r, EP, REPLY2)) },
  {
    name: 'a faulted client', outcome: 'client-fault',
    script: (r) => {
      passiveServer(r);
      ok(r.api.seL4_TCB_SetSpace(ROOT, EP_BADGED, CNODE, 0, seL4_CapInitThreadVSpace, 0));
      // an unknown syscall: the fault goes to the server, on the root's donated SC
      r.enter({ kind: 'syscall', user: { regs: [[Reg.a7, 9]], ipcBuffer: [] } });
      return replyRecv(r);
    },
  },
  {
    name: 'a client without a VSpace', outcome: 'client-no-vspace',
    script: (r) => {
      called(r);
      ok(r.api.seL4_CNode_Revoke(CNODE, seL4_CapInitThreadVSpace, D));
      return replyRecv(r);
    },
  },
  {
    name: 'a client below a ready thread', outcome: 'client-priority',
    script: (r) => {
      objects(r, 200);
      serverWaits(r, SERVER, REPLY, true);
      makeThread(r, OTHER, 150, roundRobin);
      ok(r.api.seL4_TCB_Suspend(OTHER));
      ok(r.api.seL4_TCB_SetPriority(ROOT, ROOT, 120));
      expectOutcome(r, call(r, EP_BADGED), 'taken');
      ok(r.api.seL4_TCB_Resume(OTHER));
      return replyRecv(r);
    },
  },
  {
    name: 'a client given an SC while it waits', outcome: 'client-has-sc',
    script: (r) => {
      called(r);
      ok(r.api.seL4_Untyped_Retype(r.untyped(16), T.seL4_SchedContextObject, 8, CNODE, 0, 0, SPARE_SC, 1));
      ok(r.api.seL4_SchedControl_ConfigureFlags(r.plan.bootInfo.schedcontrol.start, SPARE_SC, 1000n, 1000n, 0, 0, 0));
      ok(r.api.seL4_SchedContext_Bind(SPARE_SC, ROOT));
      return replyRecv(r);
    },
  },
  { name: 'a budget too small for the entry', outcome: 'budget', script: (r) => (called(r), exhaustBudget(r), replyRecv(r)) },
  {
    name: 'a call stack two deep: the inner reply pops to the outer', outcome: 'taken',
    script: (r) => {
      chain(r);
      expectOutcome(r, call(r, EP_BADGED), 'taken');
      return replyRecv(r);
    },
  },
];

/** Every word of RAM (a small RAM keeps this cheap) and the kernel's globals. */
function snapshot(state: ImplState): { ram: Uint32Array; globals: unknown } {
  return {
    ram: state.mem.snapshot(),
    globals: {
      current: state.current, clockTicks: state.clockTicks, curTimeTicks: state.curTimeTicks, consumedTicks: state.consumedTicks,
      curSC: state.curSC, schedulerAction: state.schedulerAction, reprogram: state.reprogram, timerDeadlineTicks: state.timerDeadlineTicks,
      readyHeads: [...state.readyHeads], readyTails: [...state.readyTails], l1Bitmap: state.l1Bitmap, l2Bitmap: [...state.l2Bitmap],
      releaseHead: state.releaseHead, releaseTail: state.releaseTail,
    },
  };
}

/** The address of the first word where two RAMs differ, or null. */
function firstDifference(a: Uint32Array, b: Uint32Array, base: number): string | null {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `0x${(base + i * 4).toString(16)}: ${a[i]} with the fastpath, ${b[i]} without`;
  return null;
}

const smallRam = { memory: { base: 0x80000000, sizeBytes: 1 << 20 } };
const view = createImplLayer({ debug: true }).view;

/** A step's touched slots and objects, each sorted (the checker compares them as sets). */
function touchedSet(touched: Touched): { slots: string[]; objects: number[] } {
  return { slots: touched.slots.map((s) => `${s.cnode}:${s.index}`).sort(), objects: [...touched.objects].sort((a, b) => a - b) };
}

/** Runs the script with the fastpath on and off: the last entry's outcome, and the same state either way. */
function checkCase(c: Case): void {
  const on = bootRoot({ ...smallRam, fastpath: true }, { debug: true });
  const off = bootRoot({ ...smallRam, fastpath: false }, { debug: true });
  const seen = c.script(on);
  const slow = c.script(off);
  expect(seen.fastpath).toBe(c.outcome);
  expect(slow.fastpath).toBeUndefined();
  expect({ ...seen, fastpath: undefined }).toEqual(slow);
  // what the entry wrote, as the checker compares it: the fastpath marks every object it writes through its pages of RAM
  expect(touchedSet(on.lastTouched)).toEqual(touchedSet(off.lastTouched));
  const a = snapshot(on.state);
  const b = snapshot(off.state);
  expect(firstDifference(a.ram, b.ram, on.state.ramBase)).toBeNull();
  expect(a.globals).toEqual(b.globals);
  expect(view(on.state).objects()).toEqual(view(off.state).objects());
  expect(view(on.state).scheduler()).toEqual(view(off.state).scheduler());
}

describe('impl fastpath: seL4_Call', () => {
  for (const c of callCases) it(`${c.name}: ${c.outcome}, the same state as the slow path`, () => checkCase(c));
});

describe('impl fastpath: seL4_ReplyRecv', () => {
  for (const c of replyRecvCases) it(`${c.name}: ${c.outcome}, the same state as the slow path`, () => checkCase(c));
});

/** One drawn entry of a random IPC program (fields beyond what an entry uses are ignored). */
interface Drawn {
  readonly kind: number;
  readonly cap: number;
  readonly reply: number;
  readonly length: number;
  readonly caps: number;
  readonly word: number;
}

const capsToUse = [EP, EP_BADGED, EP_NO_GRANT, EP_NO_READ, NTFN_BADGED, REPLY, REPLY2, REPLY3, EMPTY, SERVER, OTHER];
const repliesToUse = [REPLY, REPLY2, REPLY3, EP];

/**
 * The entry a draw makes for the current thread (null: time passes): mostly what its role
 * does (a server answers on its reply object, a client calls), sometimes anything.
 */
function drawnEvent(d: Drawn, ownReply: number | null): { sysno: number; regs: [number, Word][] } | null {
  const info = seL4_MessageInfo_new(d.word & 0xf, 0, d.caps, d.length);
  const regs: [number, Word][] = [[Reg.a1, info], [Reg.a2, d.word], [Reg.a3, d.word ^ 0xff]];
  const cap = capsToUse[d.cap % capsToUse.length]!;
  const reply = repliesToUse[d.reply % repliesToUse.length]!;
  switch (d.kind) {
    case 0: case 1: case 2: case 3:
      return ownReply === null
        ? { sysno: S.seL4_SysCall, regs: [...regs, [Reg.a0, EP_BADGED]] }
        : { sysno: S.seL4_SysReplyRecv, regs: [...regs, [Reg.a0, EP], [Reg.a6, ownReply]] };
    case 4:
      return { sysno: S.seL4_SysCall, regs: [...regs, [Reg.a0, cap]] };
    case 5:
      return { sysno: S.seL4_SysReplyRecv, regs: [...regs, [Reg.a0, cap], [Reg.a6, reply]] };
    case 6:
      return { sysno: S.seL4_SysRecv, regs: [[Reg.a0, EP], [Reg.a6, reply]] };
    case 7:
      return { sysno: d.word % 2 === 0 ? S.seL4_SysSend : S.seL4_SysNBSend, regs: [...regs, [Reg.a0, cap]] };
    case 8:
      return { sysno: S.seL4_SysYield, regs: [] };
    default:
      return null;
  }
}

/** The random programs' start: two passive servers waiting with reply objects, and a thread at priority 150. */
function randomStart(r: Root): Map<number, number> {
  objects(r, 100);
  ok(r.api.seL4_Untyped_Retype(r.untyped(16), T.seL4_ReplyObject, 0, CNODE, 0, 0, REPLY3, 1));
  makeThread(r, SERVER2, 180, roundRobin);
  serverWaits(r, SERVER2, REPLY2, true);
  serverWaits(r, SERVER, REPLY, true);
  makeThread(r, OTHER, 150, roundRobin);
  const ptr = (slot: number) => (r.cap(slot) as { ptr: number }).ptr;
  return new Map([[ptr(SERVER), REPLY], [ptr(SERVER2), REPLY2]]);
}

describe('impl fastpath: random IPC programs', () => {
  it('run alike with the fastpath on and off, entry by entry and word for word at the end', () => {
    let taken = 0;
    const drawn = fc.record({ kind: fc.nat(10), cap: fc.nat(20), reply: fc.nat(6), length: fc.oneof({ arbitrary: fc.nat(4), weight: 4 }, { arbitrary: fc.nat(8), weight: 1 }), caps: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.nat(3), weight: 1 }), word: fc.nat() });
    fc.assert(
      fc.property(fc.array(drawn, { minLength: 100, maxLength: 300 }), (program) => {
        const on = bootRoot({ ...smallRam, fastpath: true }, { debug: true });
        const off = bootRoot({ ...smallRam, fastpath: false }, { debug: true });
        const servers = randomStart(on);
        randomStart(off);
        for (const d of program) {
          const current = on.state.current;
          if (current === null && on.state.releaseHead === -1) break; // nothing can run any more
          const e = current === null ? null : drawnEvent(d, servers.get(current) ?? null);
          const event = e === null ? { kind: 'time' as const, ticks: BigInt(d.word % 20000) } : { kind: 'syscall' as const, user: { regs: [...e.regs, [Reg.a7, syscallWord(e.sysno)] as [number, Word]], ipcBuffer: [] } };
          const fast = on.enter(event);
          const slow = off.enter(event);
          if (fast.fastpath === 'taken') taken++;
          expect({ ...fast, fastpath: undefined }).toEqual(slow);
        }
        const a = snapshot(on.state);
        const b = snapshot(off.state);
        expect(firstDifference(a.ram, b.ram, on.state.ramBase)).toBeNull();
        expect(a.globals).toEqual(b.globals);
      }),
      { seed: 10, numRuns: 30 },
    );
    expect(taken).toBeGreaterThan(40);
  });
});
