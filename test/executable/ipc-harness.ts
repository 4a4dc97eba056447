// The IPC tests' harness: a root task that makes threads sharing its CSpace, each with an IPC
// buffer and its own SC, and makes syscalls as whichever of them is current.
import { expect } from 'vitest';
import {
  Reg,
  seL4_CapInitThreadTCB,
  seL4_CapInitThreadVSpace,
  seL4_Error,
  seL4_ObjectType as T,
  syscallWord,
  type ObjectView,
  type Word,
} from '../../libsel4/index.ts';
import { getTCB } from '../../spec-executable/index.ts';
import { ipcBufferContents } from '../../spec-executable/tcb.ts';
import { ExecHarness, L, ROOT } from './harness.ts';

const E = seL4_Error;
/** Where every test thread's IPC buffer is mapped (512-byte aligned). */
const bufferVaddr = 0x10000;

/** A root task that makes threads sharing its CSpace, each with an IPC buffer, and acts as any of them. */
export class IPC extends ExecHarness {
  private next = this.empty;

  ptr(slot: number): number {
    const cap = this.cap(slot);
    if (cap === null || !('ptr' in cap)) throw new Error(`no object cap in slot ${slot}`);
    return cap.ptr;
  }

  retype(type: number, sizeBits = 0): number {
    const slot = this.next++;
    expect(this.api.seL4_Untyped_Retype(this.bigUntyped, type, sizeBits, ROOT, 0, 0, slot, 1)).toBe(E.seL4_NoError);
    return slot;
  }

  /** An endpoint, a reply object and a notification, each in a new slot. */
  ipcObjects(): { ep: number; reply: number; ntfn: number } {
    return { ep: this.retype(T.seL4_EndpointObject), reply: this.retype(T.seL4_ReplyObject), ntfn: this.retype(T.seL4_NotificationObject) };
  }

  /** A copy of the cap in `slot` with a badge and rights. */
  mint(slot: number, rights: Word, badge: Word): number {
    const dest = this.next++;
    expect(this.api.seL4_CNode_Mint(ROOT, dest, 32, ROOT, slot, 32, rights, badge)).toBe(E.seL4_NoError);
    return dest;
  }

  /** A thread at `priority` with the root's CSpace, an IPC buffer and its own 1 ms / 1 ms SC, resumed. */
  thread(priority: number): { tcbSlot: number; scSlot: number; tcb: number; sc: number } {
    const tcbSlot = this.retype(T.seL4_TCBObject);
    const frame = this.retype(T.seL4_RISCV_4K_Page);
    const scSlot = this.retype(T.seL4_SchedContextObject, 8);
    expect(this.api.seL4_TCB_SetSpace(tcbSlot, 0, ROOT, 0, seL4_CapInitThreadVSpace, 0)).toBe(E.seL4_NoError);
    expect(this.api.seL4_TCB_SetIPCBuffer(tcbSlot, bufferVaddr, frame)).toBe(E.seL4_NoError);
    const schedControl = this.plan.bootInfo.schedcontrol.start;
    expect(this.api.seL4_SchedControl_ConfigureFlags(schedControl, scSlot, 1000n, 1000n, 0, 0, 0)).toBe(E.seL4_NoError);
    expect(this.api.seL4_TCB_SetSchedParams(tcbSlot, seL4_CapInitThreadTCB, 255, priority, scSlot, 0)).toBe(E.seL4_NoError);
    expect(this.api.seL4_TCB_Resume(tcbSlot)).toBe(E.seL4_NoError);
    return { tcbSlot, scSlot, tcb: this.ptr(tcbSlot), sc: this.ptr(scSlot) };
  }

  /** The root drops below every test thread, so they run until they block. */
  yieldToThreads(): void {
    expect(this.api.seL4_TCB_SetPriority(seL4_CapInitThreadTCB, seL4_CapInitThreadTCB, 50)).toBe(E.seL4_NoError);
  }

  /** A syscall made by `thread`, which must be the current thread. */
  sys(thread: number, sysno: number, regs: ReadonlyArray<readonly [number, Word]>, ipcBuffer: ReadonlyArray<readonly [number, Word]> = []): void {
    expect(this.state.current).toBe(thread);
    this.enter({ kind: 'syscall', user: { regs: [...regs, [Reg.a7, syscallWord(sysno)]], ipcBuffer } });
  }

  view(addr: number): ObjectView {
    const obj = L.view(this.state).object(addr);
    if (obj === null) throw new Error(`no object at ${addr}`);
    return obj;
  }

  regs(tcb: number): readonly Word[] {
    return getTCB(this.state, tcb)!.regs;
  }

  buffer(tcb: number): readonly Word[] {
    return ipcBufferContents(this.state, tcb)!;
  }

  get rootTCB(): number {
    return this.plan.rootTCB;
  }

  /** A free slot of the root CNode. */
  freeSlot(): number {
    return this.next++;
  }
}

