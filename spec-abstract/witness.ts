// Following a witness. Where seL4 leaves a choice open (which descendant a revoke deletes next;
// which free ASID table slot or ASID MakePool and Assign take; where an operation is preempted), the abstract spec run under the checker does not enumerate the allowed
// results: the layer below says which choice it made, and the spec checks that the choice is
// one it allows and follows it. A choice it does not allow is rejected with the choice named.
import { ChoiceRejected, slotKey, type Choice, type PreemptionPointKind, type SlotRef, type Witness } from '../libsel4/index.ts';
import { sameSlot } from './state.ts';

export class WitnessOracle {
  private next = 0;

  constructor(private readonly witness: Witness) {}

  /**
   * The descendant the revoke of `revoked` deletes next, as witnessed. `isAllowed` says whether
   * a slot is a remaining descendant; `remaining` lists them, for the rejection.
   */
  revokeNext(revoked: SlotRef, isAllowed: (slot: SlotRef) => boolean, remaining: () => readonly SlotRef[]): SlotRef {
    const choice = this.peek(revoked);
    if (choice === null) {
      throw new ChoiceRejected('revoke', `the revoke of ${slotKey(revoked)} stopped`, `delete one of its remaining descendants ${slotList(remaining())}`);
    }
    if (!isAllowed(choice.deleted)) {
      throw new ChoiceRejected('revoke', `the revoke of ${slotKey(revoked)} deleted ${slotKey(choice.deleted)}`, `one of its remaining descendants ${slotList(remaining())}`);
    }
    this.next++;
    return choice.deleted;
  }

  /** The revoke of `revoked` is complete: the witness must not delete anything more for it. */
  revokeDone(revoked: SlotRef): void {
    const choice = this.peek(revoked);
    if (choice !== null) {
      throw new ChoiceRejected('revoke', `the revoke of ${slotKey(revoked)} deleted ${slotKey(choice.deleted)} after its last descendant had gone`, 'stop');
    }
  }

  /**
   * The ASID table slot (`asidPool`) or ASID (`asid`) the layer below took, if its witness names
   * one next: it must be one of `allowed`. Null if the witness names none here (the spec then
   * offers every allowed one).
   */
  pick(point: 'asidPool' | 'asid', allowed: readonly number[]): number | null {
    const choice = this.witness[this.next];
    if (choice === undefined || choice.point !== point) return null;
    const value = choice.point === 'asidPool' ? choice.index : choice.point === 'asid' ? choice.asid : null;
    if (value === null || !allowed.includes(value)) throw new ChoiceRejected(point, describeChoice(choice), `one of the free ${allowed.join(', ')}`);
    this.next++;
    return value;
  }

  /** Whether the witness names, next and last, a stop at this point: the entry's `entryPoint`-th, of kind `at`. */
  stopsHere(at: PreemptionPointKind, entryPoint: number): boolean {
    const choice = this.witness[this.next];
    return choice !== undefined && choice.point === 'preemption' && choice.at === at && choice.entryPoint === entryPoint && this.next === this.witness.length - 1;
  }

  /** The spec stops where the witness said (stopsHere): that choice is followed. */
  stop(): void {
    this.next++;
  }

  /** The entry is over: every witnessed choice must have been one the spec offered. */
  finish(): void {
    const left = this.witness[this.next];
    if (left?.point === 'preemption') {
      throw new ChoiceRejected('preemption', `${describeChoice(left)}, where the abstract spec did not reach that point or may not stop there (no interrupt deliverable, the current SC active and sufficient)`, 'go on');
    }
    if (left !== undefined) throw new ChoiceRejected(left.point, `${describeChoice(left)}, where the abstract spec had no such choice to make`, 'no choice here');
  }

  /** The next witnessed choice if it belongs to the revoke of `revoked`. */
  private peek(revoked: SlotRef): Extract<Choice, { point: 'revoke' }> | null {
    const choice = this.witness[this.next];
    return choice !== undefined && choice.point === 'revoke' && sameSlot(choice.revoked, revoked) ? choice : null;
  }
}

function describeChoice(choice: Choice): string {
  switch (choice.point) {
    case 'revoke':
      return `the revoke of ${slotKey(choice.revoked)} deleted ${slotKey(choice.deleted)}`;
    case 'asidPool':
      return `MakePool took ASID table slot ${choice.index}`;
    case 'asid':
      return `Assign took ASID ${choice.asid}`;
    case 'preemption':
      return `the entry stopped at its preemption point ${choice.entryPoint} (a ${choice.at} point)`;
  }
}

/** At most eight slots, then how many more. */
function slotList(slots: readonly SlotRef[]): string {
  const shown = slots.slice(0, 8).map(slotKey).join(', ');
  return slots.length > 8 ? `${shown} and ${slots.length - 8} more` : shown;
}
