// The IPC buffer: 128 words, 512 bytes, 512-byte aligned.

export const ipcBufferWords = 128;
export const IPCBuffer = {
  tag: 0,
  msg: 1, // msg[0..119] at words 1..120
  userData: 121,
  capsOrBadges: 122, // three words
  receiveCNode: 125,
  receiveIndex: 126,
  receiveDepth: 127,
} as const;

/** Word index in the IPC buffer of message register `mr`. */
export function msgWordIndex(mr: number): number {
  return IPCBuffer.msg + mr;
}
