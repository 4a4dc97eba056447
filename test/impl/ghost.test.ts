// The impl's ghost table: records by address, paged over RAM, in a Map elsewhere (device frames).
import { expect, it } from 'vitest';
import { GhostTable, type GhostObject } from '../../impl/state.ts';

const ramBase = 0x80000000;
const ramBytes = 4 << 20;
const endpoint: GhostObject = { type: 'endpoint', sizeBits: 4, isDevice: false };
const frame: GhostObject = { type: 'frame', sizeBits: 12, isDevice: true };

it('records, finds and forgets objects in RAM and outside it', () => {
  const ghost = new GhostTable(ramBase, ramBytes);
  const addrs = [ramBase, ramBase + 16, ramBase + ramBytes - 16];
  for (const addr of addrs) ghost.set(addr, endpoint);
  ghost.set(0x10000000, frame);
  for (const addr of addrs) expect(ghost.get(addr)).toBe(endpoint);
  expect(ghost.get(0x10000000)).toBe(frame);
  expect(ghost.has(ramBase + 32)).toBe(false);
  ghost.delete(ramBase + 16);
  ghost.delete(0x10000000);
  expect([ghost.has(ramBase + 16), ghost.has(0x10000000), ghost.has(ramBase)]).toEqual([false, false, true]);
});

it('finds nothing at addresses no object can have: unaligned, past RAM, not integers', () => {
  const ghost = new GhostTable(ramBase, ramBytes);
  ghost.set(ramBase, endpoint);
  for (const addr of [ramBase + 8, ramBase + ramBytes, ramBase - 16, ramBase + 0.5, ramBase + 16.5, ramBase - 0.5, Number.NaN, Infinity]) expect(ghost.get(addr)).toBeUndefined();
});
