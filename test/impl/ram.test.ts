// The impl's simulated RAM, in pages allocated on first write: the check's 4 MiB and a recorded
// machine's 1 GiB read and write alike.
import { describe, expect, it } from 'vitest';
import { createRam, ramPageWordMask } from '../../impl/ram.ts';

const MiB = 1 << 20;
const pageWords = 1024;

describe.each([
  ['a 4 MiB RAM', 4 * MiB],
  ['a 1 GiB RAM', 1024 * MiB],
])('%s', (_, bytes) => {
  const last = bytes / 4 - 1;
  const words = [0, 1, pageWords - 1, pageWords, 5 * pageWords + 7, 300 * pageWords + 3, last];

  it('reads zero until written, then what was written; knows which pages were written', () => {
    const ram = createRam(bytes);
    for (const i of words) expect(ram.get(i)).toBe(0);
    words.forEach((i, k) => ram.set(i, 0xf0000000 + k));
    words.forEach((i, k) => expect(ram.get(i)).toBe(0xf0000000 + k));
    expect(ram.backed(0)).toBe(true);
    expect(ram.backed(2)).toBe(false);
    expect(ram.backed(last >>> 10)).toBe(true);
    expect(ram.isZero(2 * pageWords, 5 * pageWords)).toBe(true);
    expect(ram.isZero(2 * pageWords, 5 * pageWords + 8)).toBe(false);
  });

  it('reads a run of words as an array: inside a page, across pages, and from a page never written', () => {
    const ram = createRam(bytes);
    words.forEach((i, k) => ram.set(i, 0xf0000000 + k));
    expect(ram.words(0, 3)).toEqual([0xf0000000, 0xf0000001, 0]);
    expect(ram.words(pageWords - 2, 3)).toEqual([0, 0xf0000002, 0xf0000003]);
    expect(ram.words(2 * pageWords, 4)).toEqual([0, 0, 0, 0]);
    expect(ram.words(last - 1, 2)).toEqual([0, 0xf0000000 + words.length - 1]);
  });

  it('gives the page of a word to store a run in: the words get and set see, allocated at first use', () => {
    const ram = createRam(bytes);
    const i = 5 * pageWords + 7;
    expect(ram.backed(5)).toBe(false);
    const page = ram.pageOf(i);
    expect(ram.backed(5)).toBe(true);
    page[(i & ramPageWordMask) + 1] = 0xfffffffe;
    expect(ram.get(i + 1)).toBe(0xfffffffe);
    ram.set(i, 9);
    expect(page[i & ramPageWordMask]).toBe(9);
    expect(ram.pageOf(i + 1)).toBe(page);
  });

  it('stores a run of words across pages', () => {
    const ram = createRam(bytes);
    const run = Uint32Array.from({ length: pageWords + 10 }, (_, k) => 0xf0000000 + k);
    ram.setWords(pageWords - 5, run);
    expect(ram.words(pageWords - 6, run.length + 2)).toEqual([0, ...run, 0]);
  });

  it('zeroes a range: words in it read zero, words beside it keep their value, whole pages are released', () => {
    const ram = createRam(bytes);
    words.forEach((i, k) => ram.set(i, k + 1));
    ram.zero(1, 5 * pageWords + 8);
    expect(ram.get(0)).toBe(1);
    for (const i of [1, pageWords - 1, pageWords, 5 * pageWords + 7]) expect(ram.get(i)).toBe(0);
    expect(ram.get(300 * pageWords + 3)).toBe(6);
    expect(ram.backed(1)).toBe(false);
    expect(ram.isZero(1, 300 * pageWords)).toBe(true);
    ram.zero(0, last + 1);
    expect(ram.isZero(0, last + 1)).toBe(true);
    expect(ram.get(last)).toBe(0);
  });
});

it('pages carved from one buffer do not overlap, and a page a zero released comes back zeroed at the next first write', () => {
  const ram = createRam(4 * MiB);
  const pages = 40;
  for (let p = 0; p < pages; p++) {
    ram.set(p * pageWords, p + 1);
    ram.set(p * pageWords + pageWords - 1, 0x80000000 + p);
  }
  for (let p = 0; p < pages; p++) expect([ram.get(p * pageWords), ram.get(p * pageWords + pageWords - 1)]).toEqual([p + 1, 0x80000000 + p]);
  const released = ram.pageOf(5 * pageWords);
  ram.zero(5 * pageWords, 6 * pageWords);
  expect(ram.backed(5)).toBe(false);
  ram.set(900 * pageWords + 3, 7);
  expect(ram.pageOf(900 * pageWords)).toBe(released);
  expect(ram.isZero(900 * pageWords, 900 * pageWords + 3)).toBe(true);
  expect(ram.get(900 * pageWords + pageWords - 1)).toBe(0);
  expect(ram.get(4 * pageWords + pageWords - 1)).toBe(0x80000004);
});

it('a small RAM gives every word as one array', () => {
  const ram = createRam(64 * 1024);
  ram.set(3, 7);
  ram.set(pageWords * 15 + 1, 9);
  const words = ram.snapshot();
  expect(words.length).toBe(16 * pageWords);
  expect([words[3], words[pageWords * 15 + 1], words[4]]).toEqual([7, 9, 0]);
});
