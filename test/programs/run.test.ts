// The run loop before any thread is started (any layer, threads modelled or not): the errors of
// misbehaving programs, and programs' entry addresses.
import { describe, expect, it } from 'vitest';
import {
  ProgramError,
  programEntryBase,
  programEntryStride,
  runSystem,
  seL4_CapInitThreadCNode as root,
  seL4_Error,
  type KernelEvent,
  type ProgramContext,
} from '../../index.ts';

const layer = 'executable';

describe('misbehaving programs', () => {
  it('a program that throws stops the run with the program, its thread and the step', () => {
    function* broken(sys: ProgramContext) {
      expect(yield* sys.api.seL4_CNode_Delete(root, 0x10000, 32)).toBe(seL4_Error.seL4_FailedLookup);
      throw new Error('out of ideas');
    }
    const system = { layer } as const;
    expect(() => runSystem(broken, { system })).toThrow(ProgramError);
    expect(() => runSystem(broken, { system })).toThrow(/^program broken on thread 0x[0-9a-f]+ at step 1: threw out of ideas$/);
  });

  it('a program that yields what is not a kernel entry stops the run', () => {
    function* confused(sys: ProgramContext) {
      yield* sys.api.seL4_Yield();
      const notAnEntry: unknown = { kind: 'sleep', ms: 5 };
      yield notAnEntry as KernelEvent;
    }
    expect(() => runSystem(confused, { system: { layer } })).toThrow(/^program confused on thread 0x[0-9a-f]+ at step 1: yielded \{"kind":"sleep","ms":5\}, which is not a kernel entry/);
  });

});

describe('a syscall armed with a raise', () => {
  it('raiseAfter arms the next syscall only, and rejects a bad raise', () => {
    function* armed(sys: ProgramContext) {
      yield* sys.compute(0n);
      sys.raiseAfter(5, 3);
      yield* sys.api.seL4_Yield();
      yield* sys.api.seL4_Yield();
      sys.raiseAfter(5, 0);
    }
    expect(() => runSystem(armed, { system: { layer } })).toThrow(/at step \d+: threw a raise's afterWorkUnits must be an integer from 1 to 0xffffffff, not 0$/);
    function* once(sys: ProgramContext) {
      sys.raiseAfter(5, 3);
      yield* sys.compute(1n);
      yield* sys.api.seL4_Yield();
      yield* sys.api.seL4_Yield();
    }
    const result = runSystem(once, { system: { layer } });
    const syscalls = result.entries.flatMap((e) => (e.event.kind === 'syscall' ? [e.event] : []));
    expect(syscalls.map((e) => e.raise)).toEqual([{ irq: 5, afterWorkUnits: 3 }, undefined]);
  });
});

describe('programs and threads', () => {
  it('gives each program one entry address, from programEntryBase on', () => {
    const seen: number[] = [];
    function* a() {}
    function* b() {}
    function* registrar(sys: ProgramContext) {
      seen.push(sys.entry(a), sys.entry(b), sys.entry(a));
    }
    runSystem(registrar, { system: { layer } });
    expect(seen).toEqual([programEntryBase, programEntryBase + programEntryStride, programEntryBase]);
  });

});
