import { describe, expect, it } from 'vitest';
import {
  Reg,
  seL4_CapInitThreadCNode,
  seL4_CapInitThreadIPCBuffer,
  seL4_CapInitThreadVSpace,
  seL4_CapInitThreadTCB,
  seL4_CapIRQControl,
  TCBSlot,
} from '../../libsel4/index.ts';
import { allSlots, getSlot } from '../../spec-executable/index.ts';
import { ExecHarness, L } from './harness.ts';

describe('executable spec boot', () => {
  const h = new ExecHarness();
  const { plan } = h;

  it('puts the plan root caps in the root CNode, each a revocable, firstBadged CDT root', () => {
    for (const [index, cap] of plan.rootCaps) {
      expect(h.cap(index)).toEqual(cap);
      expect(h.parent(index)).toBeNull();
      const slot = h.slot(index)!;
      expect(slot.mdb.revocable).toBe(true);
      expect(slot.mdb.firstBadged).toBe(true);
      expect(slot.mdb.prev).toBeNull();
    }
    expect(h.cap(0)).toEqual({ type: 'null' });
    expect(h.cap(plan.bootInfo.empty.start)).toEqual({ type: 'null' });
  });

  it('fills root TCB slots 0-2 as non-revocable CDT children of root slots 2, 3, 10', () => {
    const sources = [seL4_CapInitThreadCNode, seL4_CapInitThreadVSpace, seL4_CapInitThreadIPCBuffer];
    sources.forEach((source, tcbIndex) => {
      const ref = h.tcbSlot(tcbIndex);
      expect(h.parent(ref)).toEqual(h.root(source));
      const slot = getSlot(h.state, ref)!;
      expect(slot.mdb).toEqual({ prev: h.root(source), next: null, revocable: false, firstBadged: false });
      expect(h.slot(source)!.mdb.next).toEqual(ref);
    });
    expect(h.cap(h.tcbSlot(TCBSlot.ipcBuffer))).toMatchObject({ type: 'frame', mapped: null });
    expect(h.cap(h.tcbSlot(TCBSlot.faultHandler))).toEqual({ type: 'null' });
    expect(h.cap({ cnode: plan.rootTCB, index: 5 })).toBeNull();
  });

  it('starts the root thread Running at priority 255 on its configured SC', () => {
    const view = L.view(h.state);
    expect(view.object(plan.rootTCB)).toEqual({
      type: 'tcb', addr: plan.rootTCB, state: 'Running', priority: 255, mcp: 255, domain: 0,
      schedContext: plan.rootSC, ipcBufferVaddr: plan.ipcBufferVaddr, flags: 0, yieldTo: null, boundNotification: null,
      blocking: null,
      fault: null,
    });
    expect(view.object(plan.rootSC)).toEqual({
      type: 'schedcontext', addr: plan.rootSC, sizeBits: 7, tcb: plan.rootTCB, periodTicks: 0n, consumedTicks: 0n, refillMax: 2,
      refills: [{ releaseTicks: 0n, amountTicks: 50_000n }, { releaseTicks: 0n, amountTicks: 0n }], sporadic: false, badge: 0, yieldFrom: null, notification: null, replies: [],
    });
    expect(view.current()).toBe(plan.rootTCB);
    const obs = L.observe(h.state, plan.rootTCB);
    expect(obs.current).toBe(plan.rootTCB);
    expect(obs.caller!.regs[Reg.pc]).toBe(0x10000);
    expect(obs.caller!.regs[Reg.a0]).toBe(plan.bootInfoVaddr);
    expect(obs.caller!.ipcBuffer).toEqual(new Array(128).fill(0));
  });

  it('ends as init_kernel does: the root runs on its SC and the timer fires when its 5 ms run out', () => {
    expect(L.view(h.state).scheduler()).toEqual({
      clockTicks: 0n, curTimeTicks: 0n, consumedTicks: 0n, currentSchedContext: plan.rootSC,
      readyQueues: [], releaseQueue: [], timerDeadlineTicks: 50_000n - 10n,
    });
  });

  it('writes the bootinfo words and lists every boot object by address', () => {
    const view = L.view(h.state);
    plan.bootInfoWords.forEach((word, i) => expect(view.userWord(plan.bootInfoFrame + 4 * i)).toBe(word));
    expect(view.objects().map((o) => o.addr)).toEqual(plan.objects.map((o) => o.addr).sort((a, b) => a - b));
    expect(view.object(plan.rootCNode)).toEqual({ type: 'cnode', addr: plan.rootCNode, radix: 12 });
  });

  it('starts untyped caps full and links nothing else', () => {
    const untyped = h.cap(plan.bootInfo.untyped.start)!;
    expect(untyped.type === 'untyped' && untyped.freeIndex === 2 ** untyped.sizeBits).toBe(true);
    const linked = [...allSlots(h.state)].filter(([, slot]) => slot.mdb.next !== null || slot.mdb.prev !== null);
    expect(linked.length).toBe(6);
    expect(h.cap(seL4_CapInitThreadTCB)).toEqual({ type: 'thread', ptr: plan.rootTCB });
    expect(h.cap(seL4_CapIRQControl)).toEqual({ type: 'irqcontrol' });
  });
});
