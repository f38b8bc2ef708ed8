// Why: a get must find the one block of at most `densityFactor` records that can hold its key
// without reading the run. The fence pointers — first key and file offset of every block — are
// typed-array views over the run's index block (no JS object per fence). Byte-wise comparison
// in a binary search over 100K fences measured ~550 ns per lookup, so at open each fence also
// gets a 32-bit "window": the 4 key bytes right after the prefix every fence key shares. The
// search compares integers and falls back to bytes only among fences with equal windows
// (4 bytes per fence, 0.4 B per key at densityFactor 10); measured ~225 ns per lookup.

import { compareBytes } from './key-compare.js';

/** Fence pointers of one run, as views into its index block. */
export class FenceIndex {
  /** Bytes every fence key starts with. */
  private readonly lcp: number;
  /** Per fence: 4 key bytes after the shared prefix, big-endian, zero-padded. */
  private readonly windows: Uint32Array;

  constructor(
    /** File offset of each block, plus the end of the data as the last entry. */
    readonly offsets: Float64Array,
    /** End of each fence key in `keys` (the start is the previous end, or 0). */
    readonly keyEnds: Uint32Array,
    /** Concatenated first keys of the blocks. */
    readonly keys: Uint8Array,
  ) {
    const n = keyEnds.length;
    // Fence keys are sorted, so the prefix shared by the first and the last is shared by all.
    let lcp = 0;
    if (n > 0) {
      const lastStart = n > 1 ? keyEnds[n - 2]! : 0;
      const lim = Math.min(keyEnds[0]!, keyEnds[n - 1]! - lastStart);
      while (lcp < lim && keys[lcp] === keys[lastStart + lcp]) lcp++;
    }
    this.lcp = lcp;
    this.windows = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const start = i === 0 ? 0 : keyEnds[i - 1]!;
      this.windows[i] = windowOf(keys, start + lcp, keyEnds[i]!);
    }
  }

  /** Number of blocks. */
  get count(): number {
    return this.keyEnds.length;
  }

  /** The block whose first key is the greatest one <= key[ks, ke), or -1 if key precedes them all. */
  find(key: Uint8Array, ks: number, ke: number): number {
    const n = this.keyEnds.length;
    if (n === 0) return -1;
    // Compare the shared prefix once.
    const lcp = this.lcp;
    const keys = this.keys;
    const m = Math.min(lcp, ke - ks);
    for (let i = 0; i < m; i++) {
      const d = key[ks + i]! - keys[i]!;
      if (d < 0) return -1;
      if (d > 0) return n - 1;
    }
    if (ke - ks < lcp) return -1; // a proper prefix of every fence key sorts before them
    const w = windowOf(key, ks + lcp, ke);
    const win = this.windows;
    // Last fence with window <= w.
    let lo = 0;
    let hi = n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (win[mid]! <= w) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0 || win[found]! < w) return found;
    // Equal windows: binary search by bytes among them.
    let first = found;
    {
      let a = 0;
      let b = found;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (win[mid]! < w) a = mid + 1;
        else b = mid;
      }
      first = a;
    }
    const ends = this.keyEnds;
    lo = first;
    hi = found;
    let best = first - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = mid === 0 ? 0 : ends[mid - 1]!;
      if (compareBytes(keys, start, ends[mid]!, key, ks, ke) <= 0) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }

  /** Bytes held in memory (offsets, key ends, keys and windows). */
  get bytes(): number {
    return this.offsets.byteLength + this.keyEnds.byteLength + this.keys.byteLength + this.windows.byteLength;
  }
}

/** Bytes b[start, min(start+4, end)) as a big-endian u32, zero-padded. */
function windowOf(b: Uint8Array, start: number, end: number): number {
  let w = 0;
  for (let j = 0; j < 4; j++) {
    const p = start + j;
    w = w * 256 + (p < end ? b[p]! : 0);
  }
  return w;
}
