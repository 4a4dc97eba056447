// The workload's IPC: endpoints, reply objects and notifications retyped, badged caps minted,
// and whoever runs sends (Send, NBSend, Call), receives (Recv, NBRecv, Wait, NBWait, ReplyRecv,
// NBSendRecv, NBSendWait), replies through reply caps, signals, polls and waits, with drawn
// labels, lengths, words, extra caps and receive slots; objects with threads queued on them are
// deleted, badged sends cancelled. A thread blocks only while another that can make calls is
// ready (the run goes on); a thread that runs instead of a blocked root task wakes it.
import {
  InvocationLabel,
  Reg,
  SYSCALL_MAX,
  SYSCALL_MIN,
  seL4_AllRights,
  seL4_CanGrant,
  seL4_CanGrantReply,
  seL4_CanRead,
  seL4_CanWrite,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_EndpointBits,
  seL4_MaxPrio,
  seL4_MessageInfo_new,
  seL4_MsgMaxLength,
  seL4_NotificationBits,
  seL4_ObjectType,
  seL4_PageBits,
  seL4_ReplyBits,
  seL4_SchedContext_Sporadic,
  type CapOf,
  type ObjectView,
  type Sel4Api,
} from '../libsel4/index.ts';
import type { Knowledge } from './knowledge.ts';
import { Picker, call, freeBytes, hexWord, perturb, shaped, type ResolvedCall } from './workload-picks.ts';
import { freeRootSlot, objectsAt, once, retype, rootSlot, threadsMade, untypedWithRoom, type Action, type Scenario, type ThreadsMade } from './workload-scenarios.ts';
import { mayStop, passTicks, setPriorityCall } from './workload-threads.ts';
import type { WorkloadStep } from './workload.ts';

export const ipcOperations = ['ipcObject', 'ipcSend', 'ipcReceive', 'ipcReply', 'notify', 'ipcDelete'] as const;
export type IpcOperation = (typeof ipcOperations)[number];

/** A cap of the root CNode (its cptr is its index). */
interface Held<T extends 'endpoint' | 'notification' | 'reply'> {
  readonly cptr: number;
  readonly cap: CapOf<T>;
}

function held<T extends 'endpoint' | 'notification' | 'reply'>(k: Knowledge, type: T): Held<T>[] {
  return k.ofType(type, true).map((o) => ({ cptr: o.slot.index, cap: o.cap }));
}

const has = (cap: { readonly rights: number }, right: number) => (cap.rights & right) !== 0;

/** Whether the thread that runs may block: another that can make calls is ready to run meanwhile. */
const mayBlock = (k: Knowledge) => mayStop(k, k.view().current() ?? k.rootTCB);

/** A message: label, length (around the bounds now and then), and the words for its first message registers. */
interface Drawn {
  readonly info: number;
  readonly words: readonly number[];
  readonly caps: readonly number[];
}

/** Labels mostly small, lengths mostly short, sometimes at and past seL4_MsgMaxLength (the kernel clamps). */
function drawMessage(k: Knowledge, p: Picker, extraCaps: readonly number[] = []): Drawn {
  const label = p.chance(70) ? p.below(16) : p.below(2 ** 20);
  const length = p.chance(75) ? p.below(7) : p.chance(50) ? p.below(seL4_MsgMaxLength + 1) : seL4_MsgMaxLength + p.below(8);
  const words = Array.from({ length: Math.min(length, 10) }, (_, i) => (p.chance(40) ? p.below(64) : p.word(i)));
  const caps = extraCaps.length > 0 ? extraCaps : p.chance(12) ? extraCapsFor(k, p) : [];
  return { info: seL4_MessageInfo_new(label, p.chance(5) ? 1 + p.below(7) : 0, caps.length, length), words, caps };
}

/** One to three caps of the root CNode to send along (they resolve: an empty slot is the null cap). */
function extraCapsFor(k: Knowledge, p: Picker): number[] {
  const inRoot = k.inRoot();
  return Array.from({ length: 1 + p.below(3) }, () => (p.chance(85) ? (p.of(inRoot)?.slot.index ?? 0) : p.below(2 ** k.rootRadix())));
}

/** Loads the message registers and caps, then enters with `enter`. */
function withMessage(m: Drawn, enter: (api: Sel4Api) => void): (api: Sel4Api) => void {
  return (api) => {
    m.words.forEach((w, i) => api.seL4_SetMR(i, w));
    m.caps.forEach((c, i) => api.seL4_SetCap(i, c));
    enter(api);
  };
}

const messageText = (name: string, args: readonly number[], m: Drawn) => `${name}(${args.map(hexWord).join(', ')}; mrs=[${m.words.map(hexWord).join(', ')}], caps=[${m.caps.join(', ')}])`;

function messageCall(name: string, args: readonly number[], m: Drawn, enter: (api: Sel4Api) => void): ResolvedCall {
  return { text: messageText(name, args, m), run: withMessage(m, enter) };
}

// ---- objects and badged caps ----

const T = seL4_ObjectType;

/** An endpoint, reply or notification (one to three) retyped into free root slots; or a badged cap minted. */
function resolveIpcObject(k: Knowledge, p: Picker, step: WorkloadStep): ResolvedCall | null {
  const unbadged = [...held(k, 'endpoint'), ...held(k, 'notification')].filter((h) => h.cap.badge === 0);
  if (unbadged.length > 0 && p.chance(35)) return mintCall(k, p, step, p.of(unbadged)!.cptr);
  const roll = p.below(100);
  const [type, bits] = roll < 40 ? [T.seL4_EndpointObject, seL4_EndpointBits] : roll < 75 ? [T.seL4_ReplyObject, seL4_ReplyBits] : [T.seL4_NotificationObject, seL4_NotificationBits];
  const count = p.chance(70) ? 1 : 2 + p.below(2);
  const untyped = p.of(k.ofType('untyped', true).filter((u) => !u.cap.isDevice && freeBytes(u.cap) >= count * 2 ** bits));
  const offset = k.freeRun(k.rootCNode, count, p.below(2 ** k.rootRadix()));
  if (!untyped || offset === undefined) return null;
  const a = perturb([untyped.slot.index, type, 0, seL4_CapInitThreadCNode, 0, 0, offset, count], k, p, step, [0, 3]);
  return call('seL4_Untyped_Retype', a, (api) => void api.seL4_Untyped_Retype(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!));
}

/** Rights for a minted IPC cap: all mostly, else without Grant, Write or Read, or any combination. */
function ipcRights(p: Picker): number {
  const roll = p.below(100);
  if (roll < 55) return seL4_AllRights;
  if (roll < 75) return seL4_AllRights & ~seL4_CanGrant;
  if (roll < 85) return seL4_AllRights & ~p.of([seL4_CanWrite, seL4_CanRead])!;
  return p.below(16);
}

/** A badge: small mostly (badges meet again), else any 28-bit one. */
const drawBadge = (p: Picker) => (p.chance(75) ? 1 + p.below(4) : 1 + p.below(0xfffffff));

function mintCall(k: Knowledge, p: Picker, step: WorkloadStep, src: number): ResolvedCall | null {
  const dest = k.freeRun(k.rootCNode, 1, p.below(2 ** k.rootRadix()));
  if (dest === undefined) return null;
  const R = seL4_CapInitThreadCNode;
  const a = perturb([R, dest, 32, R, src, 32, ipcRights(p), drawBadge(p)], k, p, step, [0, 3]);
  const normal = call('seL4_CNode_Mint', a, (api) => void api.seL4_CNode_Mint(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!));
  return shaped(p, normal, { label: InvocationLabel.CNodeMint, service: a[0]!, mrs: [a[1]!, a[2]!, a[4]!, a[5]!, a[6]!, a[7]!], caps: [a[3]!] });
}

// ---- sending ----

/** A cap to send on: an endpoint cap (with Write mostly), now and then a reply or notification cap. */
function sendTarget(k: Knowledge, p: Picker): number | undefined {
  const roll = p.below(100);
  const endpoints = held(k, 'endpoint');
  if (roll < 80 && endpoints.length > 0) return (p.chance(85) ? p.of(endpoints.filter((e) => has(e.cap, seL4_CanWrite))) : undefined)?.cptr ?? p.of(endpoints)!.cptr;
  if (roll < 90) return p.of(held(k, 'reply'))?.cptr;
  return p.of(held(k, 'notification'))?.cptr;
}

/** Send, Call or NBSend on an endpoint (a reply, a notification) cap; only NBSend unless the thread may block. */
function resolveIpcSend(k: Knowledge, p: Picker): ResolvedCall | null {
  const dest = sendTarget(k, p);
  if (dest === undefined) return null;
  const m = drawMessage(k, p);
  const how = mayBlock(k) ? p.below(3) : 2;
  if (how === 0) return messageCall('seL4_Send', [dest, m.info], m, (api) => api.seL4_Send(dest, m.info));
  if (how === 1) return messageCall('seL4_Call', [dest, m.info], m, (api) => void api.seL4_Call(dest, m.info));
  return messageCall('seL4_NBSend', [dest, m.info], m, (api) => api.seL4_NBSend(dest, m.info));
}

// ---- receiving ----

/**
 * What a thread may receive on without a cap fault (it has no fault handler): an endpoint cap
 * with Read, or a notification cap with Read bound to no other thread.
 */
function receiveSources(k: Knowledge): { endpoints: Held<'endpoint'>[]; notifications: Held<'notification'>[] } {
  const v = k.view();
  const me = v.current();
  const endpoints = held(k, 'endpoint').filter((e) => has(e.cap, seL4_CanRead));
  const notifications = held(k, 'notification').filter((n) => {
    const o = v.object(n.cap.ptr);
    return has(n.cap, seL4_CanRead) && o?.type === 'notification' && (o.tcb === null || o.tcb === me);
  });
  return { endpoints, notifications };
}

/** A reply cap, mostly one whose reply object is free (a used one cancels the thread holding it). */
function replyCap(k: Knowledge, p: Picker): number | undefined {
  const v = k.view();
  const replies = held(k, 'reply');
  const free = replies.filter((r) => {
    const o = v.object(r.cap.ptr);
    return o?.type === 'reply' && o.tcb === null;
  });
  return ((p.chance(85) ? p.of(free) : undefined) ?? p.of(replies))?.cptr;
}

/** Now and then the receiver names a receive slot first: a free root slot, or a path that resolves to none. */
function receivePath(k: Knowledge, p: Picker): ((api: Sel4Api) => void) | null {
  if (!p.chance(30)) return null;
  const free = k.freeRun(k.rootCNode, 1, p.below(2 ** k.rootRadix()));
  const [root, index, depth] = p.chance(85) && free !== undefined ? [seL4_CapInitThreadCNode, free, 32] : [p.below(8), p.below(64), p.of([0, 32, 33])!];
  return (api) => api.seL4_SetCapReceivePath(root, index, depth);
}

/**
 * A receive on an endpoint or a notification: the blocking forms (Recv, Wait, ReplyRecv,
 * NBSendRecv, NBSendWait) when the thread may block, else NBRecv or NBWait. A6 always names a
 * reply cap where the syscall looks it up (anything else is a cap fault).
 */
function resolveIpcReceive(k: Knowledge, p: Picker): ResolvedCall | null {
  const { endpoints, notifications } = receiveSources(k);
  const src = (p.chance(80) ? p.of(endpoints) : undefined) ?? p.of(notifications) ?? p.of(endpoints);
  if (!src) return null;
  const reply = replyCap(k, p);
  const block = mayBlock(k);
  const path = receivePath(k, p);
  const withPath = (enter: (api: Sel4Api) => void) => (api: Sel4Api) => {
    path?.(api);
    enter(api);
  };
  const s = src.cptr;
  const forms = block ? (reply === undefined ? ['Wait', 'NBSendWait'] : ['Recv', 'Wait', 'ReplyRecv', 'NBSendRecv', 'NBSendWait']) : reply === undefined ? ['NBWait'] : ['NBRecv', 'NBWait'];
  const form = p.of(forms)!;
  if (form === 'Recv') return call('seL4_Recv', [s, reply!], withPath((api) => void api.seL4_Recv(s, reply!)));
  if (form === 'NBRecv') return call('seL4_NBRecv', [s, reply!], withPath((api) => void api.seL4_NBRecv(s, reply!)));
  if (form === 'Wait') return call('seL4_Wait', [s], withPath((api) => void api.seL4_Wait(s)));
  if (form === 'NBWait') return call('seL4_Poll', [s], withPath((api) => void api.seL4_Poll(s)));
  const m = drawMessage(k, p);
  const dest = sendTarget(k, p) ?? s;
  if (form === 'ReplyRecv') return messageCall('seL4_ReplyRecv', [s, m.info, reply!], m, withPath((api) => void api.seL4_ReplyRecv(s, m.info, reply!)));
  if (form === 'NBSendRecv') return messageCall('seL4_NBSendRecv', [dest, m.info, s, reply!], m, withPath((api) => void api.seL4_NBSendRecv(dest, m.info, s, reply!)));
  return messageCall('seL4_NBSendWait', [dest, m.info, s], m, withPath((api) => void api.seL4_NBSendWait(dest, m.info, s)));
}

// ---- replying ----

/** The reply caps whose caller waits on them (BlockedOnReply). */
function awaitedReplies(k: Knowledge): Held<'reply'>[] {
  const v = k.view();
  return held(k, 'reply').filter((r) => {
    const o = v.object(r.cap.ptr);
    const caller = o?.type === 'reply' && o.tcb !== null ? v.object(o.tcb) : null;
    return caller?.type === 'tcb' && caller.state === 'BlockedOnReply';
  });
}

/** A reply through a reply cap a caller waits on: Send (NBSend, Call) on it, or ReplyRecv when the thread may block. */
function resolveIpcReply(k: Knowledge, p: Picker): ResolvedCall | null {
  const reply = p.of(awaitedReplies(k));
  if (!reply) return resolveIpcReceive(k, p);
  const m = drawMessage(k, p);
  const src = p.of(receiveSources(k).endpoints);
  const r = reply.cptr;
  if (src && mayBlock(k) && p.chance(40)) return messageCall('seL4_ReplyRecv', [src.cptr, m.info, r], m, (api) => void api.seL4_ReplyRecv(src.cptr, m.info, r));
  const roll = p.below(100);
  if (roll < 70) return messageCall('seL4_Send', [r, m.info], m, (api) => api.seL4_Send(r, m.info));
  if (roll < 85) return messageCall('seL4_NBSend', [r, m.info], m, (api) => api.seL4_NBSend(r, m.info));
  return messageCall('seL4_Call', [r, m.info], m, (api) => void api.seL4_Call(r, m.info));
}

// ---- notifications ----

/** Signal a notification (a cap with Write mostly), Poll it, or Wait on it when the thread may block. */
function resolveNotify(k: Knowledge, p: Picker): ResolvedCall | null {
  const all = held(k, 'notification');
  const roll = p.below(100);
  if (roll < 50) {
    const n = (p.chance(90) ? p.of(all.filter((h) => has(h.cap, seL4_CanWrite))) : undefined) ?? p.of(all);
    return n ? call('seL4_Signal', [n.cptr], (api) => api.seL4_Signal(n.cptr)) : null;
  }
  const n = p.of(receiveSources(k).notifications);
  if (!n) return null;
  if (roll < 80 || !mayBlock(k)) return call('seL4_Poll', [n.cptr], (api) => void api.seL4_Poll(n.cptr));
  return call('seL4_Wait', [n.cptr], (api) => void api.seL4_Wait(n.cptr));
}

// ---- deletion and cancellation ----

/** Whether threads are queued on, or blocked with, the object a cap names. */
function busy(v: ReturnType<Knowledge['view']>, ptr: number): boolean {
  const o = v.object(ptr);
  if (o?.type === 'endpoint' || o?.type === 'notification') return o.queue.length > 0;
  if (o?.type === 'reply') return o.tcb !== null;
  if (o?.type === 'schedcontext') return o.replies.length > 0;
  return o?.type === 'tcb' && o.blocking !== null;
}

const deletable: ReadonlySet<string> = new Set(['endpoint', 'notification', 'reply', 'thread', 'schedcontext']);

/**
 * A Delete (or Revoke) of a cap to an endpoint, notification, reply, blocked thread or
 * scheduling context with a call stack, mostly one whose object has threads queued or blocked
 * with it; or CancelBadgedSends of a badged endpoint cap.
 */
function resolveIpcDelete(k: Knowledge, p: Picker): ResolvedCall | null {
  const v = k.view();
  const R = seL4_CapInitThreadCNode;
  if (p.chance(25)) {
    const badged = p.of(held(k, 'endpoint').filter((e) => e.cap.badge !== 0));
    if (badged) {
      const normal = call('seL4_CNode_CancelBadgedSends', [R, badged.cptr, 32], (api) => void api.seL4_CNode_CancelBadgedSends(R, badged.cptr, 32));
      return shaped(p, normal, { label: InvocationLabel.CNodeCancelBadgedSends, service: R, mrs: [badged.cptr, 32], caps: [] });
    }
  }
  const current = v.current();
  const candidates = k.inRoot().filter((o) => deletable.has(o.cap.type) && !k.isVital(o) && !(o.cap.type === 'thread' && o.cap.ptr === current && !mayStop(k, current)));
  const busyOnes = candidates.filter((o) => 'ptr' in o.cap && busy(v, o.cap.ptr));
  const target = (p.chance(80) ? p.of(busyOnes) : undefined) ?? p.of(candidates);
  if (!target) return null;
  const index = target.slot.index;
  if (p.chance(20)) return call('seL4_CNode_Revoke', [R, index, 32], (api) => void api.seL4_CNode_Revoke(R, index, 32));
  return call('seL4_CNode_Delete', [R, index, 32], (api) => void api.seL4_CNode_Delete(R, index, 32));
}

// ---- the root task woken ----

type TcbView = Extract<ObjectView, { type: 'tcb' }>;

/** A root cap of `type` to the object at `ptr` with `right` (any rights when 0). */
function capTo<T extends 'endpoint' | 'notification' | 'reply'>(k: Knowledge, type: T, ptr: number, right = 0): number | undefined {
  return held(k, type).find((h) => 'ptr' in h.cap && h.cap.ptr === ptr && (right === 0 || has(h.cap, right)))?.cptr;
}

/**
 * What a thread running instead of a blocked root task does to wake it: the matching send,
 * receive, reply or signal; if it holds no cap for that, it suspends the root task (which it
 * resumes later). Null when the root task is not blocked.
 */
export function wakeRoot(k: Knowledge, p: Picker, root: TcbView): ResolvedCall | null {
  const b = root.blocking;
  if (b === null) return null;
  const m: Drawn = { info: seL4_MessageInfo_new(p.below(16), 0, 0, p.below(5)), words: [p.word(0), p.word(1), p.word(2), p.word(3)], caps: [] };
  if (root.state === 'BlockedOnReceive' && b.object !== null) {
    const ep = capTo(k, 'endpoint', b.object, seL4_CanWrite);
    if (ep !== undefined) return messageCall('seL4_NBSend', [ep, m.info], m, (api) => api.seL4_NBSend(ep, m.info));
  }
  if (root.state === 'BlockedOnSend' && b.object !== null) {
    const ep = capTo(k, 'endpoint', b.object, seL4_CanRead);
    const reply = replyCap(k, p);
    if (ep !== undefined) return reply === undefined ? call('seL4_NBWait', [ep], (api) => void api.seL4_NBWait(ep)) : call('seL4_NBRecv', [ep, reply], (api) => void api.seL4_NBRecv(ep, reply));
  }
  if (root.state === 'BlockedOnReply' && b.reply !== null) {
    const reply = capTo(k, 'reply', b.reply);
    if (reply !== undefined) return messageCall('seL4_Send', [reply, m.info], m, (api) => api.seL4_Send(reply, m.info));
  }
  if (root.state === 'BlockedOnNotification' && b.object !== null) {
    const n = capTo(k, 'notification', b.object, seL4_CanWrite);
    if (n !== undefined) return call('seL4_Signal', [n], (api) => api.seL4_Signal(n));
  }
  return call('seL4_TCB_Suspend', [seL4_CapInitThreadTCB], (api) => void api.seL4_TCB_Suspend(seL4_CapInitThreadTCB));
}

// ---- composite steps ----

/** An action that retypes `count` objects of `type` into free root slots, the first one's index going to `set`. */
export function retypedInto(type: number, bits: number, set: (slot: number) => void, count = 1): Action {
  return (k, p) => {
    const at = freeRootSlot(k, p, count);
    const untyped = untypedWithRoom(k, p, count * 2 ** bits);
    if (at === undefined || untyped === undefined) return null;
    set(at);
    return once(retype(untyped, type, 0, at, count));
  };
}

export const holds = (k: Knowledge, slot: number, type: string) => k.capAt(rootSlot(k, slot))?.type === type;
export const rootRuns = (k: Knowledge) => k.view().current() === k.rootTCB;

/** The one thread a scenario made (threadsMade with count 1), as the view shows it now. */
export function madeThread(k: Knowledge, made: ThreadsMade): TcbView | null {
  const addr = objectsAt(k, made.tcbOffset, 1, 'thread')?.[0];
  const o = addr === undefined ? null : k.view().object(addr);
  return o?.type === 'tcb' ? o : null;
}

export const deleteCall = (index: number) => call('seL4_CNode_Delete', [seL4_CapInitThreadCNode, index, 32], (api) => void api.seL4_CNode_Delete(seL4_CapInitThreadCNode, index, 32));

/**
 * A client and a passive server, as sel4test's IPC0011 and IPC0016 set them up: an endpoint and
 * a reply object retyped, a server thread made above the root task, which waits in Recv (or
 * NBSendRecv on the reply first) with the reply; the client unbinds the server's context (now
 * passive); one to three times the client Calls (its context is donated: the server runs on it,
 * the reply heads its call stack) and the server answers with ReplyRecv (the context comes
 * back); now and then the last answer is a Send on the reply cap (the server keeps no context
 * and stops where it is). The client is the root task, or now and then a second thread made
 * with the server, which Calls once and gets no answer: while it waits, the server deletes the
 * reply (reply_remove pops it: the context goes back) or suspends or deletes the client
 * (reply_remove_tcb: the context stays with the server, the stack is cut); the root task runs
 * on. Now and then the root task then deletes the reply, the endpoint or the server.
 */
export function passiveScenario(p: Picker): Scenario {
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  let ep = -1;
  let reply = -1;
  const last = p.below(100);
  const unanswered = last >= 20 && last < 60;
  const count = unanswered ? 2 : 1;
  // Which of the threads made is the server: the first to run (the other is the client).
  let serverAt = 0;
  const threadAt = (k: Knowledge, i: number) => objectsAt(k, made.tcbOffset, count, 'thread')?.[i];
  const runs = (k: Knowledge, i: number) => threadAt(k, i) !== undefined && k.view().current() === threadAt(k, i);
  const server = (k: Knowledge) => {
    const o = k.view().object(threadAt(k, serverAt) ?? -1);
    return o?.type === 'tcb' ? o : null;
  };
  const serverRuns = (k: Knowledge) => runs(k, serverAt);
  const clientCptr = () => (unanswered ? made.tcbOffset + 1 - serverAt : seL4_CapInitThreadTCB);
  const clientRuns = (k: Knowledge) => (unanswered ? runs(k, 1 - serverAt) : rootRuns(k));
  const waits = (k: Knowledge) => {
    const s = server(k);
    return s?.state === 'BlockedOnReceive' && s.blocking?.reply !== null && holds(k, ep, 'endpoint') && holds(k, reply, 'reply');
  };
  const recv: Action = (k, p) => {
    serverAt = runs(k, 1) ? 1 : 0;
    if (!serverRuns(k) || !holds(k, ep, 'endpoint') || !holds(k, reply, 'reply')) return null;
    if (p.chance(70)) return once(call('seL4_Recv', [ep, reply], (api) => void api.seL4_Recv(ep, reply)));
    // A server's idiom: reply (to no one yet) and wait for the first request.
    const m = drawMessage(k, p);
    return once(messageCall('seL4_NBSendRecv', [reply, m.info, ep, reply], m, (api) => void api.seL4_NBSendRecv(reply, m.info, ep, reply)));
  };
  const unbind: Action = (k, p) => {
    if (!clientRuns(k) || !waits(k)) return null;
    const [sc, tcb] = [made.scOffset + serverAt, made.tcbOffset + serverAt];
    if (p.chance(50)) return once(call('seL4_SchedContext_Unbind', [sc], (api) => void api.seL4_SchedContext_Unbind(sc)));
    return once(call('seL4_SchedContext_UnbindObject', [sc, tcb], (api) => void api.seL4_SchedContext_UnbindObject(sc, tcb)));
  };
  const clientCall: Action = (k, p) => {
    if (!clientRuns(k) || !waits(k) || server(k)!.schedContext !== null) return null;
    const m = drawMessage(k, p);
    return once(messageCall('seL4_Call', [ep, m.info], m, (api) => void api.seL4_Call(ep, m.info)));
  };
  const replyRecv: Action = (k, p) => {
    if (!serverRuns(k)) return null;
    const m = drawMessage(k, p);
    return once(messageCall('seL4_ReplyRecv', [ep, m.info, reply], m, (api) => void api.seL4_ReplyRecv(ep, m.info, reply)));
  };
  const sendReply: Action = (k, p) => {
    if (!serverRuns(k)) return null;
    const m = drawMessage(k, p);
    return once(messageCall('seL4_Send', [reply, m.info], m, (api) => api.seL4_Send(reply, m.info)));
  };
  const cutReply: Action = (k) => (serverRuns(k) ? once(deleteCall(reply)) : null);
  const cancelClient: Action = (k, p) => {
    if (!serverRuns(k)) return null;
    const client = clientCptr();
    return once(p.chance(70) ? call('seL4_TCB_Suspend', [client], (api) => void api.seL4_TCB_Suspend(client)) : deleteCall(client));
  };
  const rounds = unanswered ? 1 : 1 + p.below(3);
  const lastAnswer = last < 20 ? sendReply : !unanswered ? replyRecv : last < 32 ? cutReply : cancelClient;
  const trips = Array.from({ length: rounds }, (_, i) => [clientCall, i === rounds - 1 ? lastAnswer : replyRecv]).flat();
  const ending = p.of([null, () => reply, () => ep, () => made.tcbOffset + serverAt])!;
  const deleted: Action[] = ending === null ? [] : [(k) => (rootRuns(k) ? once(deleteCall(ending())) : null)];
  return {
    name: 'passive',
    actions: [
      retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot)),
      retypedInto(T.seL4_ReplyObject, seL4_ReplyBits, (slot) => (reply = slot)),
      ...threadsMade({ count, budgetUs: 1000n + BigInt(p.below(5000)), periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: p.chance(70) }, made),
      recv,
      unbind,
      ...trips,
      ...deleted,
    ],
  };
}

/**
 * Caps sent through an endpoint, as sel4test's IPCRIGHTS0003 does: an endpoint and another one
 * retyped and a badged cap minted from the first with or without Grant; a receiver thread made
 * above the root task names a free slot to receive in and waits on the endpoint; the root task
 * sends one to three caps through the badged cap, mostly a cap to the other endpoint and one to
 * the endpoint itself: the endpoint's own caps are unwrapped into badges, another cap (the other
 * endpoint's too) lands in the slot only with Grant (one at most).
 */
export function transferScenario(p: Picker): Scenario {
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  let ep = -1;
  let badged = -1;
  let other = -1;
  const rights = p.chance(65) ? seL4_AllRights : seL4_AllRights & ~seL4_CanGrant;
  const frame: Action = (k, p) =>
    k.ofType('frame', true).some((f) => !f.cap.isDevice && f.cap.sizeBits === seL4_PageBits) ? 'next' : retypedInto(T.seL4_RISCV_4K_Page, seL4_PageBits, () => {})(k, p);
  const mint: Action = (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !holds(k, ep, 'endpoint')) return null;
    badged = dest;
    const R = seL4_CapInitThreadCNode;
    const badge = drawBadge(p);
    return once(call('seL4_CNode_Mint', [R, dest, 32, R, ep, 32, rights, badge], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, ep, 32, rights, badge)));
  };
  const wait: Action = (k, p) => {
    const receiver = madeThread(k, made);
    const slot = freeRootSlot(k, p);
    if (receiver === null || k.view().current() !== receiver.addr || slot === undefined || !holds(k, ep, 'endpoint')) return null;
    return once(call('seL4_Wait', [ep], (api) => {
      api.seL4_SetCapReceivePath(seL4_CapInitThreadCNode, slot, 32);
      void api.seL4_Wait(ep);
    }));
  };
  const send: Action = (k, p) => {
    const receiver = madeThread(k, made);
    if (!rootRuns(k) || receiver?.state !== 'BlockedOnReceive' || !holds(k, badged, 'endpoint') || !holds(k, other, 'endpoint')) return null;
    const others = k.inRoot().filter((o) => !k.isVital(o) && o.cap.type !== 'untyped').map((o) => o.slot.index);
    const drawn = (count: number) => Array.from({ length: count }, () => p.of([ep, badged, ...others])!);
    const same = p.of([ep, badged])!;
    const pair = p.chance(50) ? [other, same] : [same, other];
    const caps = p.chance(60) ? [...pair, ...drawn(p.below(2))] : drawn(1 + p.below(3));
    const m = drawMessage(k, p, caps);
    return once(messageCall('seL4_Send', [badged, m.info], m, (api) => api.seL4_Send(badged, m.info)));
  };
  return {
    name: 'transfer',
    actions: [
      retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot)),
      retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (other = slot)),
      mint,
      frame,
      ...threadsMade({ count: 1, budgetUs: 1000n, periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: true }, made),
      wait,
      send,
    ],
  };
}

/**
 * Threads queued on one object in an order other than their priorities', then served (seL4
 * orders endpoint and notification queues by priority, first come first served among equals):
 * an endpoint with two caps minted from it (all rights, two badges), or a notification,
 * retyped; two or three threads made above the root task; each in turn, mostly after raising
 * its priority above the earlier ones', blocks on it: Send (or Call) through a badged
 * cap (the first two threads through different ones), a receive on the endpoint (Wait, or Recv, NBSendRecv or
 * NBSendWait with a reply object of its own), or Wait or Recv on the notification. Then the
 * root task serves the head (Wait, Send, Signal) or, now and then, cancels the badged sends of
 * the first badge (the other badge's senders stay queued).
 */
export function queueScenario(p: Picker): Scenario {
  const kind = p.of(['send', 'send', 'receive', 'notification'] as const)!;
  const count = p.chance(70) ? 2 : 3;
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  const R = seL4_CapInitThreadCNode;
  let object = -1;
  let replies = -1;
  const badged: number[] = [];
  const badgeX = drawBadge(p);
  const badges = [badgeX, badgeX === 1 ? 2 : badgeX - 1];
  const raises = Array.from({ length: count }, (_, i) => (i > 0 && p.chance(75) ? i : 0));
  const type = kind === 'notification' ? 'notification' : 'endpoint';
  const [objectType, objectBits] = kind === 'notification' ? [T.seL4_NotificationObject, seL4_NotificationBits] : [T.seL4_EndpointObject, seL4_EndpointBits];
  const mint: Action = (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !holds(k, object, 'endpoint')) return null;
    const badge = badges[badged.length]!;
    badged.push(dest);
    return once(call('seL4_CNode_Mint', [R, dest, 32, R, object, 32, seL4_AllRights, badge], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, object, 32, seL4_AllRights, badge)));
  };
  /** The cptr of the made thread that runs, if it is one. */
  const running = (k: Knowledge) => {
    const threads = objectsAt(k, made.tcbOffset, count, 'thread');
    const at = threads?.indexOf(k.view().current() ?? -1) ?? -1;
    return at < 0 || !holds(k, object, type) ? undefined : made.tcbOffset + at;
  };
  const raise = (i: number): Action => (k) => {
    const tcb = running(k);
    if (tcb === undefined) return null;
    return raises[i] === 0 ? 'next' : once(setPriorityCall(tcb, Math.min(made.priority + raises[i]!, seL4_MaxPrio)));
  };
  const block = (i: number): Action => (k, p) => {
    if (running(k) === undefined) return null;
    if (kind === 'notification') return once(p.chance(70) ? call('seL4_Wait', [object], (api) => void api.seL4_Wait(object)) : call('seL4_Recv', [object, 0], (api) => void api.seL4_Recv(object, 0)));
    const m = drawMessage(k, p);
    if (kind === 'send') {
      const dest = badged[i < 2 ? i : p.below(2)]!;
      if (p.chance(50)) return once(messageCall('seL4_Call', [dest, m.info], m, (api) => void api.seL4_Call(dest, m.info)));
      return once(messageCall('seL4_Send', [dest, m.info], m, (api) => api.seL4_Send(dest, m.info)));
    }
    // A receiver with a reply of its own (receiving through another's would cancel that one).
    const reply = replies + i;
    if (!holds(k, reply, 'reply')) return null;
    const form = p.below(4);
    if (form === 0) return once(call('seL4_Wait', [object], (api) => void api.seL4_Wait(object)));
    if (form === 1) return once(call('seL4_Recv', [object, reply], (api) => void api.seL4_Recv(object, reply)));
    // A server's idiom: reply (to no one yet) and wait for the next request.
    if (form === 2) return once(messageCall('seL4_NBSendRecv', [reply, m.info, object, reply], m, (api) => void api.seL4_NBSendRecv(reply, m.info, object, reply)));
    return once(messageCall('seL4_NBSendWait', [reply, m.info, object], m, (api) => void api.seL4_NBSendWait(reply, m.info, object)));
  };
  const serve: Action = (k, p) => {
    if (!rootRuns(k) || !holds(k, object, type)) return null;
    if (kind === 'notification') return once(call('seL4_Signal', [object], (api) => api.seL4_Signal(object)));
    if (kind === 'receive') {
      const m = drawMessage(k, p);
      return once(messageCall('seL4_Send', [object, m.info], m, (api) => api.seL4_Send(object, m.info)));
    }
    const cancel = badged[0]!;
    if (p.chance(50)) return once(call('seL4_CNode_CancelBadgedSends', [R, cancel, 32], (api) => void api.seL4_CNode_CancelBadgedSends(R, cancel, 32)));
    return once(call('seL4_Wait', [object], (api) => void api.seL4_Wait(object)));
  };
  return {
    name: 'queue',
    actions: [
      retypedInto(objectType, objectBits, (slot) => (object = slot)),
      ...(kind === 'send' ? [mint, mint] : []),
      ...(kind === 'receive' ? [retypedInto(T.seL4_ReplyObject, seL4_ReplyBits, (slot) => (replies = slot), count)] : []),
      ...threadsMade({ count, budgetUs: 2000n, periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: p.chance(70) }, made),
      ...Array.from({ length: count }, (_, i) => [raise(i), block(i)]).flat(),
      serve,
    ],
  };
}

type FaultKind = 'exception' | 'syscall' | 'cap' | 'capReceive' | 'timeout';

/** A fault the running thread raises: a user exception, an unknown syscall, a cap fault in a send or receive phase. */
function faultCall(k: Knowledge, p: Picker, kind: Exclude<FaultKind, 'timeout'>, ep: number, noRead: number): ResolvedCall | null {
  const unresolvable = (0x8000_0000 | p.below(2 ** 16)) >>> 0;
  const empty = freeRootSlot(k, p) ?? unresolvable;
  if (kind === 'exception') {
    const [number, code] = [p.of([0, 2, 3, 7, 0xffffffff])!, p.word(1)];
    return { text: `exception(${number}, ${hexWord(code)})`, run: (api) => void api.raiseException(number, code) };
  }
  if (kind === 'syscall') {
    const drawn = p.chance(60) ? p.of([SYSCALL_MIN - 1, SYSCALL_MAX + 1, 0xc1])! : p.word(2) | 0;
    const sysno = drawn >= SYSCALL_MIN && drawn <= SYSCALL_MAX ? SYSCALL_MIN - 1 : drawn;
    const a0 = p.word(3);
    return call('syscall', [sysno, a0], (api) => void api.rawSyscall([[Reg.a7, sysno >>> 0], [Reg.a0, a0]]));
  }
  if (kind === 'cap') {
    const dest = p.of([unresolvable, empty])!;
    const m = drawMessage(k, p);
    if (p.chance(50)) return messageCall('seL4_Call', [dest, m.info], m, (api) => void api.seL4_Call(dest, m.info));
    return messageCall('seL4_Send', [dest, m.info], m, (api) => api.seL4_Send(dest, m.info));
  }
  // The receive phase: a source without Read (sel4test's IPCRIGHTS0002), missing or a reply cap; or a reply cptr that is no reply cap.
  const [src, reply] = p.chance(75) ? [p.of([noRead, empty, unresolvable])!, freeRootSlot(k, p) ?? 0] : [ep, empty];
  return call('seL4_Recv', [src, reply], (api) => void api.seL4_Recv(src, reply));
}

/** A reply to a fault: label 0 (restart) mostly, else 1-5; up to 12 words (the registers the fault's reply may set). */
function faultReply(k: Knowledge, p: Picker, ep: number, reply: number, mayReplyRecv: boolean): ResolvedCall {
  const label = p.chance(60) ? 0 : 1 + p.below(5);
  const length = p.below(13);
  const m: Drawn = { info: seL4_MessageInfo_new(label, 0, 0, length), words: Array.from({ length: Math.min(length, 10) }, (_, i) => (p.chance(50) ? 0x1000 + 4 * p.below(64) : p.word(i))), caps: [] };
  const way = p.below(100);
  if (mayReplyRecv && way < 35) return messageCall('seL4_ReplyRecv', [ep, m.info, reply], m, (api) => void api.seL4_ReplyRecv(ep, m.info, reply));
  if (way < 85) return messageCall('seL4_Send', [reply, m.info], m, (api) => api.seL4_Send(reply, m.info));
  return messageCall('seL4_NBSend', [reply, m.info], m, (api) => api.seL4_NBSend(reply, m.info));
}

/**
 * Fault delivery, as sel4test's faults.c sets it up: an endpoint and a reply object retyped, now
 * and then a badged handler cap minted (Grant or GrantReply only; now and then without Grant or
 * GrantReply, which SetSpace refuses) and a cap without Read; a handler and a faulter thread
 * made above the root task (their contexts badged); the first to run, the handler or the faulter
 * itself, sets the faulter's fault handler (TCB slot 3) with SetSpace and, for a timeout (now and
 * then otherwise too), its timeout handler (slot 4) with SetTimeoutEndpoint. The handler waits
 * (Recv with the reply, or Wait without one) before or after the faulter raises a user exception,
 * an unknown syscall, a cap fault (send or receive phase) or, computing up to its budget's end, a
 * timeout fault; the handler answers through the
 * reply: label 0 (restart) or not, registers in the message (Send, NBSend or ReplyRecv), or
 * deletes the reply, suspends the faulter or does not answer. Now and then the handler is made
 * passive first (the faulter unbinds its context): the fault donates the faulter's context, the
 * handler spends its budget and the root task replies: the context comes back without budget and,
 * the faulter having a timeout handler, the reply raises a timeout fault (doReplyTransfer), which
 * the root task receives and answers.
 */
export function faultScenario(p: Picker): Scenario {
  const kind = p.of(['exception', 'syscall', 'cap', 'capReceive', 'timeout'] as const)!;
  const passive = kind !== 'timeout' && p.chance(40);
  const faulterFirst = !passive && p.chance(30);
  // Which thread is which: decided by the one that runs first.
  let faulterAt = -1;
  let handlerAt = -1;
  const withTimeoutHandler = kind === 'timeout' || passive || p.chance(30);
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  let ep = -1;
  let reply = -1;
  let noRead = -1;
  let handlerCap = -1;
  const badge = p.chance(50) ? 0 : drawBadge(p);
  const rights = p.chance(85) ? seL4_AllRights : p.chance(70) ? seL4_CanWrite | seL4_CanGrantReply : seL4_CanWrite | seL4_CanRead;
  const R = seL4_CapInitThreadCNode;
  const thread = (k: Knowledge, i: number) => objectsAt(k, made.tcbOffset, 2, 'thread')?.[i];
  const runs = (k: Knowledge, i: number) => thread(k, i) !== undefined && k.view().current() === thread(k, i);
  const tcbOf = (k: Knowledge, i: number) => {
    const o = k.view().object(thread(k, i) ?? -1);
    return o?.type === 'tcb' ? o : null;
  };
  const ready = (k: Knowledge) => holds(k, ep, 'endpoint') && holds(k, reply, 'reply');
  const mintInto = (set: (slot: number) => void, capRights: number, capBadge: number): Action => (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !holds(k, ep, 'endpoint')) return null;
    set(dest);
    return once(call('seL4_CNode_Mint', [R, dest, 32, R, ep, 32, capRights, capBadge], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, ep, 32, capRights, capBadge)));
  };
  const unbadged: Action = () => {
    handlerCap = ep;
    return 'next';
  };
  const handlerMinted = badge === 0 && rights === seL4_AllRights ? unbadged : mintInto((slot) => (handlerCap = slot), rights, badge);
  const faulterCptr = () => made.tcbOffset + faulterAt;
  const roles: Action = (k) => {
    const first = runs(k, 0) ? 0 : runs(k, 1) ? 1 : -1;
    if (first < 0) return null;
    faulterAt = faulterFirst ? first : 1 - first;
    handlerAt = 1 - faulterAt;
    return 'next';
  };
  // The first to run installs the faulter's handlers: the handler, or the faulter itself.
  const installs = (k: Knowledge) => runs(k, faulterFirst ? faulterAt : handlerAt) && holds(k, handlerCap, 'endpoint');
  const setSpace: Action = (k) => {
    if (!installs(k)) return null;
    const [t, h, V] = [faulterCptr(), handlerCap, seL4_CapInitThreadVSpace];
    return once(call('seL4_TCB_SetSpace', [t, h, R, 0, V, 0], (api) => void api.seL4_TCB_SetSpace(t, h, R, 0, V, 0)));
  };
  const setTimeout: Action = (k, p) => {
    if (!installs(k)) return null;
    const [t, h] = [faulterCptr(), p.of([ep, handlerCap])!];
    return once(call('seL4_TCB_SetTimeoutEndpoint', [t, h], (api) => void api.seL4_TCB_SetTimeoutEndpoint(t, h)));
  };
  const waitWithReply = passive || p.chance(85);
  const receive: Action = (k) => {
    if (!runs(k, handlerAt) || !ready(k)) return null;
    return once(waitWithReply ? call('seL4_Recv', [ep, reply], (api) => void api.seL4_Recv(ep, reply)) : call('seL4_Wait', [ep], (api) => void api.seL4_Wait(ep)));
  };
  const unbindHandler: Action = (k) => {
    if (!runs(k, faulterAt) || tcbOf(k, handlerAt)?.state !== 'BlockedOnReceive') return null;
    const sc = made.scOffset + handlerAt;
    return once(call('seL4_SchedContext_Unbind', [sc], (api) => void api.seL4_SchedContext_Unbind(sc)));
  };
  // Computing up to the timer deadline, a few times at most, while `who` runs (then the next action).
  const spend = (who: () => number): Action => {
    let tries = 0;
    return (k) => {
      if (!runs(k, who())) return tries > 0 ? 'next' : null;
      const s = k.view().scheduler();
      if (tries++ > 4 || s.timerDeadlineTicks === null || s.timerDeadlineTicks <= s.clockTicks) return null;
      return { call: passTicks(s.timerDeadlineTicks - s.clockTicks), done: false };
    };
  };
  const fault: Action = (k, p) => {
    if (!runs(k, faulterAt) || !ready(k) || kind === 'timeout') return null;
    const c = faultCall(k, p, kind, ep, noRead);
    return c && once(c);
  };
  const faulted = (k: Knowledge) => tcbOf(k, faulterAt)?.state === 'BlockedOnReply' && tcbOf(k, faulterAt)?.fault !== null;
  const answer = (byRoot: boolean): Action => (k, p) => {
    if (!(byRoot ? rootRuns(k) : runs(k, handlerAt)) || !faulted(k) || !ready(k)) return null;
    const way = p.below(100);
    if (byRoot || way < 75) return once(faultReply(k, p, ep, reply, !byRoot));
    if (way < 87) return once(deleteCall(reply));
    const f = faulterCptr();
    return way < 94 ? once(call('seL4_TCB_Suspend', [f], (api) => void api.seL4_TCB_Suspend(f))) : null;
  };
  // The timeout fault the reply raised, queued on the endpoint: the root task receives it and answers.
  const timedOut: Action = (k) => {
    const f = tcbOf(k, faulterAt);
    if (!rootRuns(k) || f?.state !== 'BlockedOnSend' || f.fault?.type !== 'Timeout' || !ready(k)) return null;
    return once(call('seL4_Recv', [ep, reply], (api) => void api.seL4_Recv(ep, reply)));
  };
  const raise = kind === 'timeout' ? spend(() => faulterAt) : fault;
  const installed = [roles, setSpace, ...(withTimeoutHandler ? [setTimeout] : [])];
  const delivered = faulterFirst ? [...installed, raise, receive] : [...installed, receive, ...(passive ? [unbindHandler] : []), raise];
  const answered = passive && p.chance(70) ? [spend(() => handlerAt), answer(true), timedOut, answer(true)] : [answer(false)];
  const budgetUs = kind === 'timeout' ? 1000n + BigInt(p.below(2000)) : 2000n + BigInt(p.below(3000));
  const setup = { count: 2, budgetUs, periodUs: 2n * budgetUs, extraRefills: 0, flags: p.chance(50) ? seL4_SchedContext_Sporadic : 0, buffered: p.chance(70), scBadge: drawBadge(p) };
  return {
    name: 'fault',
    actions: [
      retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot)),
      retypedInto(T.seL4_ReplyObject, seL4_ReplyBits, (slot) => (reply = slot)),
      handlerMinted,
      ...(kind === 'capReceive' ? [mintInto((slot) => (noRead = slot), seL4_CanWrite | seL4_CanGrant, drawBadge(p))] : []),
      ...threadsMade(setup, made),
      ...delivered,
      ...answered,
    ],
  };
}

const fastpathTwists = ['none', 'none', 'keeps-context', 'no-reply', 'no-grant', 'budget'] as const;
export type FastpathTwist = (typeof fastpathTwists)[number];

/**
 * The impl's IPC fastpath (impl/fastpath.ts) with all its conditions holding, or one of the
 * common ones broken: an endpoint and a reply object retyped, a server made above the root
 * task, which waits in Recv with the reply; the root task unbinds the server's context (now
 * passive) and Calls with a short message through a badged cap minted from the endpoint; the
 * server answers with ReplyRecv. The twist drawn: none (both take the fastpath), the server
 * keeps its context, or waits with Wait (no reply object: the Call leaves the root task
 * Inactive, so only while another thread can run), the badged cap has neither Grant nor
 * GrantReply (the root task left Inactive, the server keeps its context), or the root task first
 * spends its budget up to a tick before the timer's deadline (`given`: this twist).
 */
export function fastpathScenario(p: Picker, given?: FastpathTwist): Scenario {
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  let ep = -1;
  let reply = -1;
  let client = -1;
  const twist = given ?? p.of(fastpathTwists)!;
  const server = (k: Knowledge) => madeThread(k, made);
  const serverRuns = (k: Knowledge) => server(k) !== null && k.view().current() === server(k)!.addr;
  const ready = (k: Knowledge) => holds(k, ep, 'endpoint') && holds(k, reply, 'reply');
  const short = (p: Picker): Drawn => ({ info: seL4_MessageInfo_new(p.below(16), 0, 0, p.below(5)), words: [p.word(0), p.word(1), p.word(2), p.word(3)], caps: [] });
  // The client's cap: badged, with all rights (or without Grant and GrantReply).
  const mint: Action = (k, p) => {
    const dest = freeRootSlot(k, p);
    if (dest === undefined || !holds(k, ep, 'endpoint')) return null;
    client = dest;
    const R = seL4_CapInitThreadCNode;
    const rights = twist === 'no-grant' ? seL4_CanRead | seL4_CanWrite : seL4_AllRights;
    const badge = drawBadge(p);
    return once(call('seL4_CNode_Mint', [R, dest, 32, R, ep, 32, rights, badge], (api) => void api.seL4_CNode_Mint(R, dest, 32, R, ep, 32, rights, badge)));
  };
  const wait: Action = (k) => {
    if (!serverRuns(k) || !ready(k)) return null;
    if (twist === 'no-reply') return once(call('seL4_Wait', [ep], (api) => void api.seL4_Wait(ep)));
    return once(call('seL4_Recv', [ep, reply], (api) => void api.seL4_Recv(ep, reply)));
  };
  const unbind: Action = (k) => {
    // Without Grant the Call leaves the root task Inactive: the server keeps its context to run on.
    if (twist === 'keeps-context' || twist === 'no-grant') return 'next';
    const sc = made.scOffset;
    return rootRuns(k) && server(k)?.state === 'BlockedOnReceive' ? once(call('seL4_SchedContext_Unbind', [sc], (api) => void api.seL4_SchedContext_Unbind(sc))) : null;
  };
  const spend: Action = (k) => {
    if (twist !== 'budget') return 'next';
    const s = k.view().scheduler();
    if (!rootRuns(k) || s.timerDeadlineTicks === null || s.timerDeadlineTicks <= s.clockTicks + 1n) return null;
    return once(passTicks(s.timerDeadlineTicks - s.clockTicks - 1n));
  };
  const clientCall: Action = (k, p) => {
    if (!rootRuns(k) || server(k)?.state !== 'BlockedOnReceive' || !ready(k) || !holds(k, client, 'endpoint')) return null;
    // Without a reply object (the server passive) or without Grant the Call leaves the root task Inactive: only while another thread can run.
    if ((twist === 'no-reply' || twist === 'no-grant') && !mayStop(k, k.rootTCB)) return null;
    const m = short(p);
    return once(messageCall('seL4_Call', [client, m.info], m, (api) => void api.seL4_Call(client, m.info)));
  };
  const answer: Action = (k, p) => {
    if (!serverRuns(k) || !ready(k)) return null;
    const m = short(p);
    return once(messageCall('seL4_ReplyRecv', [ep, m.info, reply], m, (api) => void api.seL4_ReplyRecv(ep, m.info, reply)));
  };
  return {
    name: 'fastpath',
    actions: [
      retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot)),
      retypedInto(T.seL4_ReplyObject, seL4_ReplyBits, (slot) => (reply = slot)),
      mint,
      ...threadsMade({ count: 1, budgetUs: 2000n, periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: p.chance(50) }, made),
      wait,
      unbind,
      spend,
      clientCall,
      answer,
    ],
  };
}

/** Each IPC operation's resolver; null when it has nothing to act on (the caller draws another). */
const ipcResolvers: Record<IpcOperation, (k: Knowledge, p: Picker, step: WorkloadStep) => ResolvedCall | null> = {
  ipcObject: resolveIpcObject,
  ipcSend: resolveIpcSend,
  ipcReceive: resolveIpcReceive,
  ipcReply: resolveIpcReply,
  notify: resolveNotify,
  ipcDelete: resolveIpcDelete,
};

/** An IPC step; with nothing to act on yet, the objects it needs are made. */
export function resolveIpcStep(op: IpcOperation, step: WorkloadStep, k: Knowledge, p: Picker): ResolvedCall | null {
  return ipcResolvers[op](k, p, step) ?? resolveIpcObject(k, p, step);
}

/**
 * A scheduling context lent by a notification, as sel4test's BIND006 and SCHED_CONTEXT_0006 set
 * it up: a notification (and, for a bound thread, an endpoint) retyped, a thread made above the
 * root task, which waits on the notification (Wait) or, bound to it (TCB_BindNotification), on
 * the endpoint (Wait); the root task unbinds the thread's context, binds it to the notification
 * (SchedContext_Bind) and signals: the passive waiter is lent the notification's context and
 * runs on it, then waits again (the context goes back to the notification) or computes until
 * its budget ends. Now and then the root task then deletes the notification, the context or the
 * thread.
 */
export function lendScenario(p: Picker): Scenario {
  const made: ThreadsMade = { tcbOffset: -1, scOffset: -1, priority: -1 };
  let ntfn = -1;
  let ep = -1;
  const bound = p.chance(40);
  const thread = (k: Knowledge) => madeThread(k, made);
  const threadRuns = (k: Knowledge) => thread(k) !== null && k.view().current() === thread(k)!.addr;
  const ready = (k: Knowledge) => holds(k, ntfn, 'notification') && (!bound || holds(k, ep, 'endpoint'));
  const waits = (k: Knowledge) => thread(k)?.state === 'BlockedOnNotification' || thread(k)?.state === 'BlockedOnReceive';
  const bindThread: Action = (k) => {
    if (!threadRuns(k) || !ready(k)) return null;
    const [tcb, n] = [made.tcbOffset, ntfn];
    return once(call('seL4_TCB_BindNotification', [tcb, n], (api) => void api.seL4_TCB_BindNotification(tcb, n)));
  };
  const wait: Action = (k) => {
    if (!threadRuns(k) || !ready(k)) return null;
    const object = bound ? ep : ntfn;
    return once(call('seL4_Wait', [object], (api) => void api.seL4_Wait(object)));
  };
  const unbind: Action = (k) => {
    if (!rootRuns(k) || !waits(k)) return null;
    const sc = made.scOffset;
    return once(call('seL4_SchedContext_Unbind', [sc], (api) => void api.seL4_SchedContext_Unbind(sc)));
  };
  const bindContext: Action = (k) => {
    if (!rootRuns(k) || !ready(k)) return null;
    const [sc, n] = [made.scOffset, ntfn];
    return once(call('seL4_SchedContext_Bind', [sc, n], (api) => void api.seL4_SchedContext_Bind(sc, n)));
  };
  const signal: Action = (k) => {
    if (!rootRuns(k) || !ready(k)) return null;
    const n = ntfn;
    return once(call('seL4_Signal', [n], (api) => api.seL4_Signal(n)));
  };
  const spend: Action = (k) => {
    const s = k.view().scheduler();
    if (!threadRuns(k) || s.timerDeadlineTicks === null || s.timerDeadlineTicks <= s.clockTicks) return null;
    return once(passTicks(s.timerDeadlineTicks - s.clockTicks));
  };
  const afterLent = p.chance(60) ? wait : spend;
  const ending = p.of([null, () => ntfn, () => made.scOffset, () => made.tcbOffset])!;
  const deleted: Action[] = ending === null ? [] : [(k) => (rootRuns(k) ? once(deleteCall(ending())) : null)];
  return {
    name: 'lend',
    actions: [
      retypedInto(T.seL4_NotificationObject, seL4_NotificationBits, (slot) => (ntfn = slot)),
      ...(bound ? [retypedInto(T.seL4_EndpointObject, seL4_EndpointBits, (slot) => (ep = slot))] : []),
      ...threadsMade({ count: 1, budgetUs: 1000n + BigInt(p.below(3000)), periodUs: 10_000n, extraRefills: 0, flags: 0, buffered: p.chance(50) }, made),
      ...(bound ? [bindThread] : []),
      wait,
      unbind,
      bindContext,
      signal,
      afterLent,
      ...deleted,
    ],
  };
}
