// Programs' loads, stores and fetches on the run loop: bad addresses and values are the
// program's error (a ProgramError naming it, never a crash), an access event a program yields
// itself is a kernel entry, any 32-bit address is handled (translated or faulted), and a
// faulted access is made again when the thread next runs, its program seeing only the one that hit.
import { describe, expect, it } from 'vitest';
import { ProgramError, noUserWrites, runSystem, type KernelEvent, type ProgramContext, type Stub } from '../../index.ts';

const layer = 'executable';
const bigintValue: unknown = 5n;

describe('user accesses of a program', () => {
  it.each([
    ['a negative address', (sys: ProgramContext) => sys.load(-1 - 0x8000_0000), /threw the address of a load must be a 32-bit word .*not -2147483649/],
    ['an address past 32 bits', (sys: ProgramContext) => sys.execute(2 ** 32), /threw the address of a execute must be a 32-bit word .*not 4294967296/],
    ['a fractional address', (sys: ProgramContext) => sys.store(0.5, 1), /threw the address of a store must be a 32-bit word .*not 0.5/],
    ['a bigint value', (sys: ProgramContext) => sys.store(0x100000, bigintValue as number), /threw the value of a store must be a 32-bit word .*not 5n/],
    ['a store without a value', (sys: ProgramContext) => (sys.store as (vaddr: number) => Stub<void>)(0x100000), /threw a store takes an address and a value, not only 1048576/],
  ])('%s is a ProgramError naming the program', (_what, access, message) => {
    function* careless(sys: ProgramContext) {
      yield* access(sys);
    }
    expect(() => runSystem(careless, { system: { layer } })).toThrow(ProgramError);
    expect(() => runSystem(careless, { system: { layer } })).toThrow(message);
  });

  it('an access event the program yields itself is a kernel entry; a malformed one is not', () => {
    const words: number[] = [];
    function* raw(sys: ProgramContext): Generator<KernelEvent, void, { accessed?: number }> {
      const at = sys.plan.bootInfo.ipcBuffer;
      yield { kind: 'access', user: noUserWrites, access: 'store', vaddr: at, value: 7 };
      words.push((yield { kind: 'access', user: noUserWrites, access: 'load', vaddr: at }).accessed ?? -1);
      const bad: unknown = { kind: 'access', user: noUserWrites, access: 'read', vaddr: at };
      yield bad as KernelEvent;
    }
    expect(() => runSystem(raw, { system: { layer } })).toThrow(/yielded \{"kind":"access",.*"access":"read".*which is not a kernel entry/);
    expect(words).toEqual([7]);
  });

  it('a store and load of its own IPC buffer hit; with no fault handler a fault leaves the thread Inactive, its program never resumed', () => {
    const seen: number[] = [];
    let resumed = false;
    function* root(sys: ProgramContext) {
      const at = sys.plan.bootInfo.ipcBuffer + 0x40;
      yield* sys.store(at, 0xffff_ffff);
      seen.push(yield* sys.load(at), yield* sys.load(at + 2));
      yield* sys.load(0xffff_fffe);
      resumed = true;
    }
    const result = runSystem(root, { system: { layer } });
    expect(seen).toEqual([0xffff_ffff, 0xffff_ffff]);
    expect(resumed).toBe(false);
    expect(result.stop).toBe('idle');
    expect(result.entries.at(-1)!.event).toMatchObject({ kind: 'access', access: 'load', vaddr: 0xffff_fffe });
    expect(result.system.view().object(result.system.plan.rootTCB)).toMatchObject({ state: 'Inactive', fault: null });
  });
});
