// A world for the abstract spec's IPC tests: the threads world (two TCBs, two SCs, an endpoint, a
// notification) plus reply objects, IPC buffers, badged caps and a second endpoint; and helpers
// to enter the kernel as whichever thread is current.
import { expect } from 'vitest';
import {
  msgRegisters,
  Reg,
  seL4_AllRights,
  seL4_MessageInfo_new,
  seL4_ObjectType as T,
  syscallWord,
  type Observation,
  type ThreadObservation,
  type Word,
} from '../../libsel4/index.ts';
import { abstractLayer } from '../../spec-abstract/index.ts';
import { bigUntyped } from './spaces.ts';
import { ok, ROOT_CNODE, ROOT_TCB, runnable, world, type World } from './threads.ts';

/** Virtual address of every thread's IPC buffer (offset 0 in its frame). */
const bufferVaddr = 0x10000;

export interface IpcWorld extends World {
  /** Root CNode slots of two reply objects. */
  readonly r0: number;
  readonly r1: number;
  /** Badged copies (all rights) of the endpoint cap (badges 1 and 2) and of the notification cap (badges 4 and 1). */
  readonly ep1: number;
  readonly ep2: number;
  readonly n4: number;
  readonly n1: number;
  /** A second endpoint. */
  readonly epB: number;
  /** The first of the free root CNode slots. */
  readonly spare: number;
}

/**
 * The threads world plus two reply objects and an IPC buffer frame for each new thread; the
 * threads given a priority are made runnable (t0 on s0, t1 on s1) with their buffers, then the
 * root drops to priority 100 so that they run.
 */
export function ipcWorld(priorities: { readonly t0?: number; readonly t1?: number }): IpcWorld {
  const w = world();
  const api = w.h.api;
  const f = w.h.free;
  const untyped = bigUntyped(w.h);
  const [r0, frames, minted] = [f + 6, f + 8, f + 10];
  expect(api.seL4_Untyped_Retype(untyped, T.seL4_ReplyObject, 0, ROOT_CNODE, 0, 0, r0, 2)).toBe(ok);
  expect(api.seL4_Untyped_Retype(untyped, T.seL4_RISCV_4K_Page, 0, ROOT_CNODE, 0, 0, frames, 2)).toBe(ok);
  const badged = [[w.ep, 1], [w.ep, 2], [w.ntfn, 4], [w.ntfn, 1]] as const;
  badged.forEach(([source, badge], i) => expect(api.seL4_CNode_Mint(ROOT_CNODE, minted + i, 32, ROOT_CNODE, source, 32, seL4_AllRights, badge)).toBe(ok));
  expect(api.seL4_Untyped_Retype(untyped, T.seL4_EndpointObject, 0, ROOT_CNODE, 0, 0, minted + 4, 1)).toBe(ok);
  const threads = [[w.t0, w.s0, priorities.t0], [w.t1, w.s1, priorities.t1]] as const;
  threads.forEach(([t, sc, priority], i) => {
    if (priority === undefined) return;
    runnable(w, t, sc, priority, 1000);
    expect(api.seL4_TCB_SetIPCBuffer(t, bufferVaddr, frames + i)).toBe(ok);
  });
  expect(api.seL4_TCB_SetPriority(ROOT_TCB, ROOT_TCB, 100)).toBe(ok);
  return { ...w, r0, r1: r0 + 1, ep1: minted, ep2: minted + 1, n4: minted + 2, n1: minted + 3, epB: minted + 4, spare: minted + 5 };
}

/** The current thread enters the kernel with syscall `sysno`, register writes and IPC buffer writes. */
export function sys(w: World, sysno: number, regs: ReadonlyArray<readonly [number, Word]>, buffer: ReadonlyArray<readonly [number, Word]> = []): Observation {
  return w.h.enter({ kind: 'syscall', user: { regs: [[Reg.a7, syscallWord(sysno)], ...regs], ipcBuffer: buffer } });
}

/** What the thread in a root CNode slot sees now: its registers and IPC buffer. */
export function seen(w: World, slot: number): ThreadObservation {
  return abstractLayer.observe(w.h.state(), w.addr(slot)).caller!;
}

export const info = seL4_MessageInfo_new;

/** Register writes of a message: the cap, the message info, and MR0-3. */
export function message(cap: number, tag: Word, mrs: readonly Word[] = []): [number, Word][] {
  return [[Reg.a0, cap], [Reg.a1, tag], ...mrs.slice(0, msgRegisters.length).map((v, i): [number, Word] => [msgRegisters[i]!, v])];
}

/** a0, a1 and MR0-3 of a thread as it sees them. */
export function received(t: ThreadObservation): Word[] {
  return [Reg.a0, Reg.a1, Reg.a2, Reg.a3, Reg.a4, Reg.a5].map((r) => t.regs[r]!);
}

/** The view of the object named by the cap in a root CNode slot. */
export function object(w: World, slot: number) {
  return w.h.view().object(w.addr(slot));
}
