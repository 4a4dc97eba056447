// Notifications, as seL4's notification.c. Nothing signals or waits on a notification yet,
// so a notification keeps its initial state.
//
// Memory layout of a notification (32 bytes, 32-byte aligned):
//   0x00  bound TCB: link (address | 1), 0 if none
//   0x04  bound scheduling context: link, 0 if none
//   0x08  the notification word (pending badges)
//   0x0C  queue head: link to a TCB, 0 if empty
//   0x10  queue tail: link to a TCB, 0 if empty
//   0x14  state: 0 Idle, 1 Waiting, 2 Active
// A new notification (all zero) is idle with word 0.
import { fail, readWord, type ImplState } from './state.ts';

const WORD = 0x08;
const QUEUE_HEAD = 0x0c;

export interface NotificationRecord {
  readonly word: number;
  readonly queue: readonly number[];
}

export function decodeNotification(state: ImplState, ntfn: number): NotificationRecord {
  if (state.debug && readWord(state, ntfn + QUEUE_HEAD) !== 0) fail(`notification ${ntfn.toString(16)} has waiters, but none are modelled`);
  return { word: readWord(state, ntfn + WORD), queue: [] };
}
