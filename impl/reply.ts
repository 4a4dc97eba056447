// Reply objects (MCS), as seL4's reply.c. No Call through an endpoint is modelled yet, so a
// reply object is never bound to a thread.
//
// Memory layout of a reply object (16 bytes, 16-byte aligned):
//   0x00  TCB: link (address | 1) to the caller waiting on it or the server holding it, 0 if none
//   0x04  call stack prev: link to a reply object, 0 if none
//   0x08  call stack next: link to a scheduling context or reply object, 0 if none
//   0x0C  0
// A new reply object (all zero) belongs to no thread.
import { linkTarget, NONE, readWord, type ImplState } from './state.ts';

const TCB = 0x00;

export interface ReplyRecord {
  readonly tcb: number | null;
  readonly schedContext: number | null;
}

export function decodeReply(state: ImplState, reply: number): ReplyRecord {
  const tcb = linkTarget(readWord(state, reply + TCB));
  return { tcb: tcb === NONE ? null : tcb, schedContext: null };
}
