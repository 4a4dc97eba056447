// Endpoints, as seL4's endpoint.c. No thread can block on an endpoint yet (IPC is not
// modelled), so an endpoint is always idle with an empty queue.
//
// Memory layout of an endpoint (16 bytes, 16-byte aligned):
//   0x00  queue head: link to a TCB (address | 1), 0 if empty
//   0x04  queue tail: link to a TCB, 0 if empty
//   0x08  state: 0 Idle, 1 Send, 2 Recv
//   0x0C  0
// A new endpoint (all zero) is idle.
import type { EndpointState } from '../libsel4/index.ts';
import { fail, readWord, type ImplState } from './state.ts';

const QUEUE_HEAD = 0x00;
const STATE = 0x08;

export interface EndpointRecord {
  readonly state: EndpointState;
  readonly queue: readonly number[];
}

export function decodeEndpoint(state: ImplState, ep: number): EndpointRecord {
  if (state.debug && (readWord(state, ep + QUEUE_HEAD) !== 0 || readWord(state, ep + STATE) !== 0)) {
    fail(`endpoint ${ep.toString(16)} is not idle, but no IPC is modelled`);
  }
  return { state: 'Idle', queue: [] };
}
