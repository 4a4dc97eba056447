// A deliberately faulty impl, for tests of the failure path: after a seL4_CNode_Mint it
// flips the lowest bit of the badge of every badged endpoint or notification cap the entry
// wrote, so the check fails on main without touching the kernel.
import {
  firstRamUntypedSlot,
  InvocationLabel,
  Reg,
  messageInfoFromWord,
  seL4_AllRights,
  seL4_CapInitThreadCNode,
  seL4_ObjectType,
  type KernelLayer,
  userWritesOf,
} from '../../libsel4/index.ts';
import { decodeSlotCap, type ImplState } from '../../impl/index.ts';
import type { FailureReport } from '../../refinement/check.ts';
import { counterexampleOf, type Counterexample } from '../../refinement/reports/counterexample.ts';
import type { LayerOptions } from '../../refinement/layers.ts';
import { RefinementFailure } from '../../refinement/lockstep/index.ts';
import type { ModuleExport } from '../../refinement/parallel.ts';
import { bootSystem } from '../../refinement/system.ts';

/** Bit 4 of a cap's first word is the lowest badge bit of endpoint and notification caps. */
const lowestBadgeBit = 0x10;

function mintsBadge(impl: KernelLayer<ImplState>): KernelLayer<ImplState> {
  return {
    ...impl,
    step(state, event) {
      const outcomes = impl.step(state, event);
      const info = messageInfoFromWord(new Map(userWritesOf(event).regs).get(Reg.a1) ?? 0);
      if (info.label !== InvocationLabel.CNodeMint) return outcomes;
      for (const outcome of outcomes) {
        for (const slot of outcome.touched.slots) {
          const cap = decodeSlotCap(outcome.state, slot);
          if ((cap?.type === 'endpoint' || cap?.type === 'notification') && cap.badge !== 0) {
            const word = (slot.cnode + 16 * slot.index - outcome.state.ramBase) >>> 2;
            outcome.state.mem.set(word, outcome.state.mem.get(word) ^ lowestBadgeBit);
          }
        }
      }
      return outcomes;
    },
  };
}

/** Layer options whose impl corrupts minted badges. */
export const plantedBadgeFault: LayerOptions = { implDebug: true, wrapImpl: mintsBadge };

/**
 * The counterexample the planted fault gives on a fixed two-call trace (retype an endpoint,
 * mint it with badge 5), found in lockstep on impl-executable without fast-check.
 */
export function plantedCounterexample(): Counterexample {
  const sys = bootSystem({ layer: 'lockstep', pairs: ['impl-executable'], layerOptions: plantedBadgeFault });
  const { seL4_Untyped_Retype, seL4_CNode_Mint } = sys.api;
  const free = sys.plan.bootInfo.empty.start;
  const untyped = firstRamUntypedSlot(sys.plan.bootInfo);
  const trace = [
    { call: `seL4_Untyped_Retype(${untyped}, 2, 0, 2, 0, 0, ${free}, 1)`, result: 'seL4_NoError' },
    { call: `seL4_CNode_Mint(2, ${free + 1}, 32, 2, ${free}, 32, 0xf, 5)`, result: '(layers disagree)' },
  ];
  seL4_Untyped_Retype(untyped, seL4_ObjectType.seL4_EndpointObject, 0, seL4_CapInitThreadCNode, 0, 0, free, 1);
  let failure: RefinementFailure | null = null;
  try {
    seL4_CNode_Mint(seL4_CapInitThreadCNode, free + 1, 32, seL4_CapInitThreadCNode, free, 32, seL4_AllRights, 5);
  } catch (error) {
    if (!(error instanceof RefinementFailure)) throw error;
    failure = error;
  }
  if (failure === null) throw new Error('the planted fault did not show');
  const report: FailureReport = { seed: 0, path: '0', failure, trace, events: [...sys.trace], shrink: { replays: 0, end: 'complete' } };
  return counterexampleOf(report, { runs: 1, steps: 2, pairs: ['impl-executable'], invariantsEveryStep: false });
}

/** `plantedBadgeFault` as a module export, which the check's worker threads load. */
export const plantedBadgeFaultModule: ModuleExport = { url: import.meta.url, name: 'plantedBadgeFault' };
