// The impl's simulated RAM: words by index ((paddr - RAM base) >> 2). A RAM of the sizes the
// check boots (at most 256 MiB) is one typed array, with a flag per 4 KiB page saying whether
// it may hold a non-zero word. A larger one, as on the machine the conformance traces were
// recorded on (1 GiB), is backed in 4 KiB pages allocated at their first write, found through
// a directory of 1 MiB blocks, so it costs what is written. Simulation only: the kernel's own
// decisions never depend on which.

import { maxConfiguredRamBytes } from '../libsel4/index.ts';

export interface Ram {
  readonly bytes: number;
  get(index: number): number;
  set(index: number, value: number): void;
  /** Whether the 4 KiB page `page` (counted from the start of RAM) may hold a non-zero word. */
  backed(page: number): boolean;
  /** Zeroes words [from, to); pages never written are skipped. */
  zero(from: number, to: number): void;
  /** Whether words [from, to) are all zero; pages never written are skipped. */
  isZero(from: number, to: number): boolean;
  /** Every word as one array (for tests of small memories). */
  snapshot(): Uint32Array;
}

const pageWordBits = 10;
const pageWords = 1 << pageWordBits;
const pageWordMask = pageWords - 1;
const blockPageBits = 8;
const blockPages = 1 << blockPageBits;
const blockPageMask = blockPages - 1;
const blockWordBits = pageWordBits + blockPageBits;

export function createRam(bytes: number): Ram {
  return bytes <= maxConfiguredRamBytes ? new FlatRam(bytes) : new PagedRam(bytes);
}

/** Visits the pages of words [from, to) with the part of each the range covers (offsets in the page). */
function forEachPage(from: number, to: number, visit: (page: number, start: number, end: number) => boolean | void): void {
  for (let page = from >>> pageWordBits; page * pageWords < to; page++) {
    const base = page * pageWords;
    if (visit(page, Math.max(from - base, 0), Math.min(to - base, pageWords)) === false) return;
  }
}

class FlatRam implements Ram {
  private readonly words: Uint32Array;
  private readonly written: Uint8Array;
  constructor(readonly bytes: number) {
    this.words = new Uint32Array(bytes >>> 2);
    this.written = new Uint8Array(Math.ceil(bytes / (pageWords * 4)));
  }
  get(index: number): number {
    return this.words[index]!;
  }
  set(index: number, value: number): void {
    this.words[index] = value;
    this.written[index >>> pageWordBits] = 1;
  }
  backed(page: number): boolean {
    return this.written[page] === 1;
  }
  zero(from: number, to: number): void {
    forEachPage(from, to, (page, start, end) => {
      if (this.written[page] === 0) return;
      this.words.fill(0, page * pageWords + start, page * pageWords + end);
      if (end - start === pageWords) this.written[page] = 0;
    });
  }
  isZero(from: number, to: number): boolean {
    let zero = true;
    forEachPage(from, to, (page, start, end) => {
      if (this.written[page] === 0) return;
      for (let i = page * pageWords + start; i < page * pageWords + end; i++) if (this.words[i] !== 0) return (zero = false);
    });
    return zero;
  }
  snapshot(): Uint32Array {
    return this.words.slice();
  }
}

class PagedRam implements Ram {
  private readonly blocks: (Array<Uint32Array | undefined> | undefined)[];
  constructor(readonly bytes: number) {
    this.blocks = new Array<Array<Uint32Array | undefined> | undefined>(Math.ceil(bytes / (pageWords * 4 * blockPages))).fill(undefined);
  }
  private page(page: number): Uint32Array | undefined {
    return this.blocks[page >>> blockPageBits]?.[page & blockPageMask];
  }
  get(index: number): number {
    const block = this.blocks[index >>> blockWordBits];
    if (block === undefined) return 0;
    const page = block[(index >>> pageWordBits) & blockPageMask];
    return page === undefined ? 0 : page[index & pageWordMask]!;
  }
  set(index: number, value: number): void {
    const block = (this.blocks[index >>> blockWordBits] ??= new Array<Uint32Array | undefined>(blockPages).fill(undefined));
    const page = (block[(index >>> pageWordBits) & blockPageMask] ??= new Uint32Array(pageWords));
    page[index & pageWordMask] = value;
  }
  backed(page: number): boolean {
    return this.page(page) !== undefined;
  }
  zero(from: number, to: number): void {
    forEachPage(from, to, (page, start, end) => {
      const words = this.page(page);
      if (words === undefined) return;
      if (end - start === pageWords) this.blocks[page >>> blockPageBits]![page & blockPageMask] = undefined;
      else words.fill(0, start, end);
    });
  }
  isZero(from: number, to: number): boolean {
    let zero = true;
    forEachPage(from, to, (page, start, end) => {
      const words = this.page(page);
      if (words === undefined) return;
      for (let i = start; i < end; i++) if (words[i] !== 0) return (zero = false);
    });
    return zero;
  }
  snapshot(): Uint32Array {
    const words = new Uint32Array(this.bytes >>> 2);
    forEachPage(0, words.length, (page) => {
      const content = this.page(page);
      if (content) words.set(content.subarray(0, words.length - page * pageWords), page * pageWords);
    });
    return words;
  }
}
