import { describe, expect, it } from 'vitest';
import type { ObjectView } from '../../libsel4/index.ts';
import { ObjectsByType } from '../../refinement/invariants/by-type.ts';

const object = (type: 'endpoint' | 'reply' | 'notification', addr: number) => ({ type, addr }) as unknown as ObjectView;

describe('ObjectsByType', () => {
  // Map order, not address order: the invariants report the first violation in the map's order.
  const objects = [object('reply', 0x50), object('endpoint', 0x10), object('notification', 0x40), object('reply', 0x20), object('endpoint', 0x30)];
  const byType = new ObjectsByType(new Map(objects.map((o) => [o.addr, o])));

  it('lists each type in the map order', () => {
    expect(byType.of('reply').map((o) => o.addr)).toEqual([0x50, 0x20]);
    expect(byType.of('endpoint').map((o) => o.addr)).toEqual([0x10, 0x30]);
    expect(byType.of('tcb')).toEqual([]);
  });

  it('merges several types back into the map order', () => {
    expect(byType.ofTypes(['endpoint', 'reply']).map((o) => o.addr)).toEqual([0x50, 0x10, 0x20, 0x30]);
    expect(byType.ofTypes(['notification', 'reply', 'tcb']).map((o) => o.addr)).toEqual([0x50, 0x40, 0x20]);
  });
});
