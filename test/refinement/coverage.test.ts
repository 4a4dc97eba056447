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
  parseCoverageRequirement,
  tallyFromJson,
  unreachedPairs,
  type RunRecord,
} from '../../refinement/coverage.ts';
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
    expect(text).toMatch(/^documented results reached: 0 of 9 invocations complete$/m);
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
  ])('rejects %j', (text, message) => {
    expect(() => parseCoverageRequirement(text)).toThrow(CoverageSpecError);
    expect(() => parseCoverageRequirement(text)).toThrow(message);
  });

  it('lists the pairs never reached', () => {
    const tally = new Tally();
    tally.addRun(run([['CNodeCopy', 'seL4_RevokeFirst']]));
    const required = parseCoverageRequirement('CNodeCopy:RevokeFirst,UntypedRetype:NotEnoughMemory,CNodeCopy:DeleteFirst');
    expect(unreachedPairs(tally.coverage, required)).toEqual([required[1], required[2]]);
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
      'valid_mdb/untyped_mdb/no_loops (CDT)': 3,
      'valid_dlist/mdb_chain_0/untyped_inc (MDB)': 2,
      'valid_tcb (priority, MCP, domain)': 3,
      'active_scs_valid/valid_refills': 3,
      'sym_refs (scheduling contexts)': 3,
      valid_ready_qs: 3,
      valid_release_q: 3,
      ready_or_release: 3,
      'cur_sc_tcb/ct_in_state/ct_not_in_q/ct_released': 3,
      valid_blocked: 3,
      'consumed_time_bounded/current_time_bounded': 3,
      'setNextInterrupt (timer deadline)': 3,
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
