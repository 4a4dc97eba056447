// seL4_MessageInfo: label 20 bits, capsUnwrapped 3, extraCaps 2, length 7.
import { seL4_MsgMaxLength, type Word } from './constants.ts';

export interface seL4_MessageInfo {
  readonly label: number;
  readonly capsUnwrapped: number;
  readonly extraCaps: number;
  readonly length: number;
}

export function seL4_MessageInfo_new(label: number, capsUnwrapped: number, extraCaps: number, length: number): Word {
  return (
    (((label & 0xfffff) << 12) | ((capsUnwrapped & 0x7) << 9) | ((extraCaps & 0x3) << 7) | (length & 0x7f)) >>> 0
  );
}

export function messageInfoFromWord(word: Word): seL4_MessageInfo {
  return {
    label: word >>> 12,
    capsUnwrapped: (word >>> 9) & 0x7,
    extraCaps: (word >>> 7) & 0x3,
    length: word & 0x7f,
  };
}

/** The kernel's view of an incoming message info: length clamped to seL4_MsgMaxLength. */
export function messageInfoFromWordKernel(word: Word): seL4_MessageInfo {
  const info = messageInfoFromWord(word);
  return info.length > seL4_MsgMaxLength ? { ...info, length: seL4_MsgMaxLength } : info;
}

export function messageInfoToWord(info: seL4_MessageInfo): Word {
  return seL4_MessageInfo_new(info.label, info.capsUnwrapped, info.extraCaps, info.length);
}
