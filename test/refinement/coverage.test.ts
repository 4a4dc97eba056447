// Coverage in seL4 terms: results per invocation summed over runs, documented errors never
// returned, invariants counted as they are checked, and required (invocation, result) pairs.
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../refinement/check.ts';
import {
  CoverageSpecError,
  Tally,
  coverageToJson,
  documentedGaps,
  formatCoverageDetails,
  canRunAgain,
  parseCoverageRequirement,
  schedulerEventsOf,
  tallyFromJson,
  timerFired,
  type SchedulerMoment,
  unreachedPairs,
  type RunRecord,
} from '../../refinement/coverage.ts';
import type { KernelEvent, SchedulerView } from '../../libsel4/index.ts';
import { checkInvariants, type InvariantCounts } from '../../refinement/invariants/index.ts';
import { bootSystem } from '../../refinement/system.ts';

const run = (entries: [string, string][], extra: Partial<RunRecord> = {}): RunRecord => ({
  steps: entries.length,
  entries,
  choices: new Map(),
  invariants: new Map(),
  ended: null,
  size: { objects: 10, filledSlots: 12, cdtDepth: 2 },
  ...extra,
});

describe('a tally', () => {
  const tally = new Tally();
  tally.addRun(run([['CNodeCopy', 'seL4_NoError'], ['CNodeCopy', 'seL4_RevokeFirst'], ['Yield', 'returned']], { choices: new Map([['revoke order', 2]]) }));
  tally.addRun(run([['CNodeCopy', 'seL4_NoError']], { invariants: new Map([['valid_caps', 6]]), ended: 'faulted', size: { objects: 1200, filledSlots: 9, cdtDepth: 40 } }));

  it('sums results, choices and invariant checks over runs', () => {
    expect([tally.runs, tally.steps]).toEqual([2, 4]);
    expect([...tally.coverage.get('CNodeCopy')!]).toEqual([['seL4_NoError', 2], ['seL4_RevokeFirst', 1]]);
    expect(tally.choices.get('revoke order')).toBe(2);
    expect(tally.invariants.get('valid_caps')).toBe(6);
  });

  it('keeps the largest state, field by field, and counts the runs that ended early', () => {
    expect(tally.largestState).toEqual({ objects: 1200, filledSlots: 12, cdtDepth: 40 });
    expect([...tally.endedRuns]).toEqual([['faulted', 1]]);
    const text = formatCoverageDetails(tally);
    expect(text).toMatch(/^largest state: 1200 objects, 12 filled slots; longest derivation chain: 40 caps$/m);
    expect(text).toMatch(/^runs ended early, the root task unable to run: 1 of 2: faulted x1$/m);
  });

  it('survives JSON and adds to another', () => {
    const json = JSON.parse(JSON.stringify(coverageToJson(tally)));
    const back = tallyFromJson(json, tally.runs, tally.steps);
    expect(coverageToJson(back)).toEqual(coverageToJson(tally));
    back.add(tally);
    expect([back.runs, back.steps, back.coverage.get('CNodeCopy')!.get('seL4_NoError'), back.invariants.get('valid_caps')]).toEqual([4, 8, 4, 12]);
    expect([back.largestState.objects, back.endedRuns.get('faulted')]).toEqual([1200, 2]);
  });

  it('names the documented errors never returned, all of them for an invocation never called', () => {
    const gaps = new Map(documentedGaps(tally.coverage).map((g) => [g.invocation, g]));
    expect(gaps.get('CNodeCopy')).toMatchObject({ reached: 2 });
    expect(gaps.get('CNodeCopy')!.missing).toEqual(['FailedLookup', 'RangeError', 'DeleteFirst', 'TruncatedMessage', 'IllegalOperation']);
    expect(gaps.get('CNodeRevoke')!.missing).toEqual(['NoError', 'FailedLookup', 'RangeError', 'TruncatedMessage']);
    const text = formatCoverageDetails(tally);
    expect(text).toMatch(/^documented results reached: 0 of 43 invocations complete$/m);
    expect(gaps.get('TCBSetSchedParams')!.missing).toEqual(['NoError', 'TruncatedMessage', 'InvalidCapability', 'RangeError', 'IllegalOperation']);
    expect(text).toMatch(/^ {2}CNodeCopy 2\/7, never: FailedLookup, RangeError/m);
    expect(text).toMatch(/^invariants checked: valid_caps x6$/m);
  });
});

describe('required coverage', () => {
  it('parses invocation:result pairs, with or without seL4_', () => {
    expect(parseCoverageRequirement('CNodeCopy:seL4_RevokeFirst, UntypedRetype:NotEnoughMemory,Send CNodeDelete:returned')).toEqual([
      { invocation: 'CNodeCopy', result: 'seL4_RevokeFirst' },
      { invocation: 'UntypedRetype', result: 'seL4_NotEnoughMemory' },
      { invocation: 'Send CNodeDelete', result: 'returned' },
    ]);
  });

  it.each([
    ['', /needs a list/],
    ['CNodeCopy', /not an invocation:result pair/],
    ['CNodeCopi:seL4_RevokeFirst', /unknown invocation or syscall 'CNodeCopi'/],
    ['CNodeCopy:seL4_Revoke', /unknown result 'seL4_Revoke'/],
    ['Scheduler:seL4_NoError', /unknown result 'seL4_NoError' .*Scheduler has preemption, budget-expiry/],
    ['Time:preemption', /unknown result 'preemption' .*Time has timer-interrupt, no-interrupt/],
    ['Preemption:finalise-unexposed', /unknown result 'finalise-unexposed' .*Preemption has revoke, finalise, reset, irq, budget/],
  ])('rejects %j', (text, message) => {
    expect(() => parseCoverageRequirement(text)).toThrow(CoverageSpecError);
    expect(() => parseCoverageRequirement(text)).toThrow(message);
  });

  it('parses the new invocations, scheduler events and time results', () => {
    expect(parseCoverageRequirement('TCBSetSchedParams:RangeError,Scheduler:budget-expiry,Time:timer-interrupt,UserException:caller Inactive')).toEqual([
      { invocation: 'TCBSetSchedParams', result: 'seL4_RangeError' },
      { invocation: 'Scheduler', result: 'budget-expiry' },
      { invocation: 'Time', result: 'timer-interrupt' },
      { invocation: 'UserException', result: 'caller Inactive' },
    ]);
  });

  it('parses the preemption events', () => {
    expect(parseCoverageRequirement('Preemption:reset,Preemption:budget,Preemption:restart-completed')).toEqual([
      { invocation: 'Preemption', result: 'reset' },
      { invocation: 'Preemption', result: 'budget' },
      { invocation: 'Preemption', result: 'restart-completed' },
    ]);
  });

  it('lists the pairs never reached', () => {
    const tally = new Tally();
    tally.addRun(run([['CNodeCopy', 'seL4_RevokeFirst']]));
    const required = parseCoverageRequirement('CNodeCopy:RevokeFirst,UntypedRetype:NotEnoughMemory,CNodeCopy:DeleteFirst');
    expect(unreachedPairs(tally.coverage, required)).toEqual([required[1], required[2]]);
  });
});

describe('scheduler events', () => {
  const scheduler = (fields: Partial<SchedulerView>): SchedulerView => ({
    clockTicks: 1000n, curTimeTicks: 1000n, consumedTicks: 0n, currentSchedContext: 0x9000, readyQueues: [], releaseQueue: [], timerDeadlineTicks: 5000n, ...fields,
  });
  const time = (ticks: bigint): KernelEvent => ({ kind: 'time', ticks });
  const syscall: KernelEvent = { kind: 'syscall', user: { regs: [], ipcBuffer: [] } };
  const priorities: Record<number, number> = { 0xa: 100, 0xb: 100, 0xc: 200 };
  const priority = (tcb: number) => priorities[tcb]!;
  const events = (before: SchedulerMoment, after: SchedulerMoment, event: KernelEvent, isYield = false) => schedulerEventsOf(before, after, event, isYield, priority);

  it('a timer interrupt that ends a budget, and the round robin it causes', () => {
    const before = { releaseHeadTicks: null, scheduler: scheduler({ readyQueues: [{ priority: 100, threads: [0xb] }] }), current: 0xa };
    const after = { releaseHeadTicks: null, scheduler: scheduler({ clockTicks: 5000n, readyQueues: [{ priority: 100, threads: [0xa] }] }), current: 0xb };
    expect(events(before, after, time(9000n))).toEqual(['budget-expiry', 'round-robin']);
    expect(timerFired(before, after)).toBe(true);
    // Time short of the deadline: no interrupt, no expiry.
    const short = { releaseHeadTicks: null, scheduler: scheduler({ clockTicks: 4999n }), current: 0xa };
    expect([events(before, short, time(3999n)), timerFired(before, short)]).toEqual([[], false]);
  });

  it('a release from the release queue, and the preemption by the released thread', () => {
    const before = { releaseHeadTicks: 5010n, scheduler: scheduler({ releaseQueue: [0xc] }), current: 0xa };
    const after = { releaseHeadTicks: null, scheduler: scheduler({ clockTicks: 5000n, readyQueues: [{ priority: 100, threads: [0xa] }] }), current: 0xc };
    // The interrupt is the release's, not the end of a budget.
    expect(events(before, after, time(4000n))).toEqual(['release', 'preemption']);
    // An interrupt for a release that does not come yet (its refill is not ready): not a budget's end.
    const stillWaiting = { releaseHeadTicks: 5010n, scheduler: scheduler({ clockTicks: 5000n, releaseQueue: [0xc] }), current: 0xa };
    expect(events(before, stillWaiting, time(4000n))).toEqual([]);
  });

  it('a Yield, and the idle thread taking over', () => {
    const before = { releaseHeadTicks: null, scheduler: scheduler({}), current: 0xa };
    const after = { releaseHeadTicks: null, scheduler: scheduler({ currentSchedContext: null }), current: null };
    expect(events(before, after, syscall, true)).toEqual(['yield', 'idle']);
    expect(canRunAgain(after)).toBe(false);
    expect(canRunAgain({ releaseHeadTicks: null, scheduler: scheduler({ releaseQueue: [0xc] }), current: null })).toBe(true);
  });

  it('a Resume of a higher-priority thread preempts; a switch away from a thread that stopped does not', () => {
    const before = { releaseHeadTicks: null, scheduler: scheduler({}), current: 0xa };
    expect(events(before, { releaseHeadTicks: null, scheduler: scheduler({ readyQueues: [{ priority: 100, threads: [0xa] }] }), current: 0xc }, syscall)).toEqual(['preemption']);
    expect(events(before, { releaseHeadTicks: null, scheduler: scheduler({}), current: 0xc }, syscall)).toEqual([]);
  });
});

describe('invariant counting', () => {
  it('counts each named invariant once per check of a layer, the MDB ones only where there is an MDB', () => {
    const sys = bootSystem({ layer: 'lockstep', pairs: ['impl-executable', 'executable-abstract'] });
    const counts: InvariantCounts = new Map();
    for (const name of ['impl', 'executable', 'abstract'] as const) expect(checkInvariants(sys.lockstep!.layer(name)!, counts)).toBeNull();
    expect(Object.fromEntries(counts)).toEqual({
      'pspace_distinct/pspace_aligned': 3,
      valid_caps: 3,
      'valid_badges/valid_cap/valid_untyped': 3,
      'zombies_final/valid_cap (Zombies)': 3,
      'valid_mdb/untyped_mdb/no_loops (CDT)': 3,
      'valid_vspace_objs/valid_asid_table/unique_table_refs/valid_vs_lookup/valid_table_caps': 3,
      'get_vspace_of_thread/ptable_lift (translate agrees with the page tables)': 3,
      'valid_dlist/mdb_chain_0/untyped_inc (MDB)': 2,
      'valid_irq_node/valid_irq_handlers/valid_irq_states': 3,
      'valid_tcb (priority, MCP, domain)': 3,
      'active_scs_valid/valid_refills': 3,
      'sym_refs (scheduling contexts)': 3,
      'sym_refs (notification bindings)': 3,
      valid_ready_qs: 3,
      valid_release_q: 3,
      ready_or_release: 3,
      'cur_sc_tcb/ct_in_state/ct_not_in_q/ct_released': 3,
      valid_blocked: 3,
      'consumed_time_bounded/current_time_bounded': 3,
      'setNextInterrupt (timer deadline)': 3,
      valid_tcb_state: 3,
      'valid_ep/valid_ep_q': 3,
      valid_ntfn_q: 3,
      'sym_refs (reply objects)': 3,
      'valid_replies/reply_sc': 3,
      'untyped_free (nothing above a free index, RAM zero)': 3,
    });
  });

  it('counts the checks of every passing run of a check, after every step when asked', () => {
    const summary = runCheck({ runs: 3, steps: 10, seed: 4, pairs: ['impl-executable', 'executable-abstract'], invariantsEveryStep: true });
    expect(summary.failure).toBeNull();
    // Three layers, each checked at boot, after every step and at the end of each run.
    expect(summary.invariants.get('valid_caps')).toBe(3 * (summary.runs * 2 + summary.steps));
    expect(summary.invariants.get('valid_dlist/mdb_chain_0/untyped_inc (MDB)')).toBe(2 * (summary.runs * 2 + summary.steps));
  });
});
