// The impl's simulated RAM: words by index ((paddr - RAM base) >> 2), backed in 4 KiB pages
// allocated at their first write and found through one directory of pages, so a RAM costs what
// is written: booting allocates no memory for its size (a check boots three layers per run,
// and a zeroed 4 MiB array per boot was a visible share of a run), and a recorded machine's
// 1 GiB is no dearer than the check's 4 MiB. Simulation only: the kernel's own decisions never
// depend on it.
//
// Pages are views carved from shared 64 KiB buffers, and a page a zero releases is kept (zeroed)
// for the next first write: a 4 KiB typed array of its own costs about 1 µs to allocate, more
// in garbage collection, and a run writes some twenty pages.
//
// Kernel memory that no object of RAM can take (the IRQ node's slots) follows RAM's words:
// `kernelBytes` more, from word index bytes / 4 on, read and written like RAM.

export interface Ram {
  /** RAM's size (the kernel memory after it not included). */
  readonly bytes: number;
  get(index: number): number;
  set(index: number, value: number): void;
  /** The page's words that hold word `index`, at index & ramPageWordMask (allocated if never written): for runs of stores inside one page. */
  pageOf(index: number): Uint32Array;
  /** Stores `words` at [from, from + words.length), one page lookup per page. */
  setWords(from: number, words: Uint32Array): void;
  /** Words [from, from + count) as a new array. */
  words(from: number, count: number): number[];
  /** Whether the 4 KiB page `page` (counted from the start of RAM) may hold a non-zero word. */
  backed(page: number): boolean;
  /** Zeroes words [from, to); pages never written are skipped. */
  zero(from: number, to: number): void;
  /** Whether words [from, to) are all zero; pages never written are skipped. */
  isZero(from: number, to: number): boolean;
  /** Every word of RAM as one array (for tests of small memories). */
  snapshot(): Uint32Array;
}

const pageWordBits = 10;
const pageWords = 1 << pageWordBits;
const pageWordMask = pageWords - 1;
const chunkPages = 16;
/** A word index's offset in the array Ram.pageOf returns. */
export const ramPageWordMask = pageWordMask;

export function createRam(bytes: number, kernelBytes = 0): Ram {
  return new PagedRam(bytes, kernelBytes);
}

/** Visits the pages of words [from, to) with the part of each the range covers (offsets in the page). */
function forEachPage(from: number, to: number, visit: (page: number, start: number, end: number) => boolean | void): void {
  for (let page = from >>> pageWordBits; page * pageWords < to; page++) {
    const base = page * pageWords;
    if (visit(page, Math.max(from - base, 0), Math.min(to - base, pageWords)) === false) return;
  }
}

/**
 * Words [offset, offset + 32) of a page (a thread's registers, read at every kernel entry): one
 * array literal is built with its final element kind at once, about twice as fast as filling a
 * new Array(32) that turns into an array of doubles at its first word of 2^31 or more.
 */
function words32(p: Uint32Array, o: number): number[] {
  return [
    p[o]!, p[o + 1]!, p[o + 2]!, p[o + 3]!, p[o + 4]!, p[o + 5]!, p[o + 6]!, p[o + 7]!,
    p[o + 8]!, p[o + 9]!, p[o + 10]!, p[o + 11]!, p[o + 12]!, p[o + 13]!, p[o + 14]!, p[o + 15]!,
    p[o + 16]!, p[o + 17]!, p[o + 18]!, p[o + 19]!, p[o + 20]!, p[o + 21]!, p[o + 22]!, p[o + 23]!,
    p[o + 24]!, p[o + 25]!, p[o + 26]!, p[o + 27]!, p[o + 28]!, p[o + 29]!, p[o + 30]!, p[o + 31]!,
  ];
}

class PagedRam implements Ram {
  private readonly pages: (Uint32Array | undefined)[];
  /** Zeroed pages not in use: released ones, then the rest of the last buffer carved. */
  private readonly spare: Uint32Array[] = [];
  constructor(readonly bytes: number, kernelBytes: number) {
    this.pages = new Array<Uint32Array | undefined>(Math.ceil((bytes + kernelBytes) / (pageWords * 4))).fill(undefined);
  }
  /** A zeroed page for `page`'s first write. */
  private allocate(page: number): Uint32Array {
    if (this.spare.length === 0) {
      const buffer = new ArrayBuffer(chunkPages * pageWords * 4);
      for (let i = chunkPages - 1; i >= 0; i--) this.spare.push(new Uint32Array(buffer, i * pageWords * 4, pageWords));
    }
    return (this.pages[page] = this.spare.pop()!);
  }
  get(index: number): number {
    const page = this.pages[index >>> pageWordBits];
    return page === undefined ? 0 : page[index & pageWordMask]!;
  }
  set(index: number, value: number): void {
    const page = this.pages[index >>> pageWordBits] ?? this.allocate(index >>> pageWordBits);
    page[index & pageWordMask] = value;
  }
  pageOf(index: number): Uint32Array {
    return this.pages[index >>> pageWordBits] ?? this.allocate(index >>> pageWordBits);
  }
  setWords(from: number, words: Uint32Array): void {
    for (let done = 0; done < words.length; ) {
      const at = (from + done) & pageWordMask;
      const count = Math.min(words.length - done, pageWords - at);
      this.pageOf(from + done).set(words.subarray(done, done + count), at);
      done += count;
    }
  }
  words(from: number, count: number): number[] {
    const offset = from & pageWordMask;
    const page = this.pages[from >>> pageWordBits];
    if (count === 32 && page !== undefined && offset + count <= pageWords) return words32(page, offset);
    const words = new Array<number>(count);
    if (offset + count <= pageWords) {
      // One page (a TCB's registers, an aligned IPC buffer): no lookup per word.
      if (page === undefined) words.fill(0);
      else for (let i = 0; i < count; i++) words[i] = page[offset + i]!;
    } else {
      for (let i = 0; i < count; i++) words[i] = this.get(from + i);
    }
    return words;
  }
  backed(page: number): boolean {
    return this.pages[page] !== undefined;
  }
  zero(from: number, to: number): void {
    forEachPage(from, to, (page, start, end) => {
      const words = this.pages[page];
      if (words === undefined) return;
      words.fill(0, start, end);
      if (end - start !== pageWords) return;
      this.pages[page] = undefined;
      this.spare.push(words);
    });
  }
  isZero(from: number, to: number): boolean {
    let zero = true;
    forEachPage(from, to, (page, start, end) => {
      const words = this.pages[page];
      if (words === undefined) return;
      for (let i = start; i < end; i++) if (words[i] !== 0) return (zero = false);
    });
    return zero;
  }
  snapshot(): Uint32Array {
    const words = new Uint32Array(this.bytes >>> 2);
    forEachPage(0, words.length, (page) => {
      const content = this.pages[page];
      if (content) words.set(content.subarray(0, words.length - page * pageWords), page * pageWords);
    });
    return words;
  }
}
