// A booted executable spec driven through libsel4's user-side calls, for the executable-spec tests.
import {
  createSel4Api,
  messageInfoFromWord,
  msgRegisters,
  planBoot,
  Reg,
  seL4_CapInitThreadCNode,
  seL4_MessageInfo_new,
  seL4_Syscall,
  syscallWord,
  type BootConfigInput,
  type BootPlan,
  type Cap,
  type KernelEvent,
  type Observation,
  type Outcome,
  type Sel4Api,
  type SlotRef,
  type Word,
} from '../../libsel4/index.ts';
import { executableLayer, getSlot, ipcInvariantViolation, schedInvariantViolation, vspaceInvariantViolation, type ExecState, type Slot } from '../../spec-executable/index.ts';

export const L = executableLayer;
export const ROOT = seL4_CapInitThreadCNode;

export class ExecHarness {
  readonly plan: BootPlan;
  readonly api: Sel4Api;
  state: ExecState;
  last: Outcome<ExecState> | null = null;

  constructor(config: BootConfigInput = {}) {
    this.plan = planBoot(config);
    this.state = L.boot(this.plan);
    this.checkScheduler();
    this.api = createSel4Api({ enter: (event) => this.enter(event) }, L.observe(this.state, this.plan.rootTCB));
  }

  enter(event: KernelEvent): Observation {
    const outcomes = L.step(this.state, event);
    if (outcomes.length !== 1) throw new Error(`expected one outcome, got ${outcomes.length}`);
    this.last = outcomes[0]!;
    this.state = this.last.state;
    this.checkScheduler();
    return this.last.observation;
  }

  /** Every state the tests reach keeps the scheduler's, IPC's and the VSpace's invariants. */
  private checkScheduler(): void {
    const violation = schedInvariantViolation(this.state);
    if (violation !== null) throw new Error(`scheduler invariant broken: ${violation}`);
    const ipc = ipcInvariantViolation(this.state);
    if (ipc !== null) throw new Error(`IPC invariant broken: ${ipc}`);
    const vspace = vspaceInvariantViolation(this.state);
    if (vspace !== null) throw new Error(`VSpace invariant broken: ${vspace}`);
  }

  /** A slot of the root CNode. */
  root(index: number): SlotRef {
    return { cnode: this.plan.rootCNode, index };
  }

  tcbSlot(index: number): SlotRef {
    return { cnode: this.plan.rootTCB, index };
  }

  cap(ref: SlotRef | number): Cap | null {
    return L.view(this.state).cap(typeof ref === 'number' ? this.root(ref) : ref);
  }

  slot(ref: SlotRef | number): Slot | null {
    return getSlot(this.state, typeof ref === 'number' ? this.root(ref) : ref);
  }

  parent(ref: SlotRef | number): SlotRef | null {
    return L.view(this.state).cdtParent(typeof ref === 'number' ? this.root(ref) : ref);
  }

  /** First free slot of the root CNode. */
  get empty(): number {
    return this.plan.bootInfo.empty.start;
  }

  /** Root CNode slot of the largest non-device untyped. */
  get bigUntyped(): number {
    return this.untypedSlot((u) => !u.isDevice);
  }

  get deviceUntyped(): number {
    return this.untypedSlot((u) => u.isDevice);
  }

  untypedSlot(pick: (u: BootPlan['untypeds'][number]) => boolean): number {
    let best = -1;
    this.plan.untypeds.forEach((u, i) => {
      if (pick(u) && (best < 0 || u.sizeBits > this.plan.untypeds[best]!.sizeBits)) best = i;
    });
    return this.plan.bootInfo.untyped.start + best;
  }

  observation(): Observation {
    return this.api.lastObservation();
  }

  reg(index: number): Word {
    return this.observation().caller?.regs[index] ?? 0;
  }

  /** The reply's message info (a1). */
  replyInfo(): ReturnType<typeof messageInfoFromWord> {
    return messageInfoFromWord(this.reg(Reg.a1));
  }

  /** The first `n` message registers of the last reply. */
  mrs(n = this.replyInfo().length): Word[] {
    return Array.from({ length: n }, (_, i) => this.api.seL4_GetMR(i));
  }

  /**
   * A hand-built Call: MRs and extra caps set, message info with the given (possibly wrong)
   * length and extraCaps count. Returns the reply label (the error code).
   */
  call(service: Word, label: number, mrs: readonly Word[], caps: readonly Word[] = [], info: { length?: number; extraCaps?: number } = {}): number {
    mrs.forEach((v, i) => this.api.seL4_SetMR(i, v));
    caps.forEach((c, i) => this.api.seL4_SetCap(i, c));
    const word = seL4_MessageInfo_new(label, 0, info.extraCaps ?? caps.length, info.length ?? mrs.length);
    return messageInfoFromWord(this.api.seL4_Call(service, word)).label;
  }

  /** A raw syscall with `sysno` in a7 and the given registers. */
  syscall(sysno: number, regs: ReadonlyArray<readonly [number, Word]> = []): Observation {
    return this.api.rawSyscall([...regs, [Reg.a7, syscallWord(sysno)]]);
  }

  send(service: Word, label: number, mrs: readonly Word[], sysno: number = seL4_Syscall.seL4_SysSend): Observation {
    const regs: [number, Word][] = [[Reg.a0, service], [Reg.a1, seL4_MessageInfo_new(label, 0, 0, mrs.length)]];
    mrs.forEach((v, i) => regs.push([msgRegisters[i]!, v]));
    return this.syscall(sysno, regs);
  }
}

