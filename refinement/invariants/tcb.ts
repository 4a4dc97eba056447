// Invariants of TCBs' scheduling fields, named after l4v's valid_tcb (Invariants_AI): a
// priority and an MCP are at most seL4_MaxPrio, and every thread is in the one domain the
// modelled kernel has (CONFIG_NUM_DOMAINS 1).
import { hex, seL4_MaxPrio, type ObjectView } from '../../libsel4/index.ts';

const isPriority = (p: number) => Number.isInteger(p) && p >= 0 && p <= seL4_MaxPrio;

/** valid_tcb: priority and MCP within 0..seL4_MaxPrio, domain 0. */
export function validTcbSched(objects: Iterable<ObjectView>): string | null {
  for (const o of objects) {
    if (o.type !== 'tcb') continue;
    if (!isPriority(o.priority)) return `valid_tcb: tcb ${hex(o.addr)} has priority ${o.priority}, outside 0..${seL4_MaxPrio}`;
    if (!isPriority(o.mcp)) return `valid_tcb: tcb ${hex(o.addr)} has MCP ${o.mcp}, outside 0..${seL4_MaxPrio}`;
    if (o.domain !== 0) return `valid_tcb: tcb ${hex(o.addr)} is in domain ${o.domain}, but the kernel has one domain`;
  }
  return null;
}
