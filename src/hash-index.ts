// Why: the hash engines (AppendLog, HybridLog) keep one index entry per live key in memory, so its
// per-key cost decides how many keys a worker can hold. A JS Map costs ~80-100 B per key plus a
// string per key; this index is open addressing (linear probing) over two typed arrays — a
// Uint32Array of 32-bit key hashes and a Float64Array of locations — 12 bytes per slot and no
// JS object per key. Keys are NOT stored: when a probe meets an equal hash, the engine's matcher
// reads the key at that location (from its memory buffer or the file) and compares, so keys whose
// hashes collide are still told apart exactly.
//
// API (shared by both hash engines; keep stable):
//   hashKey(key)                        32-bit hash used everywhere (xxh32, seed HASH_SEED)
//   new HashIndex(matcher, capacity?)   matcher.keyEquals(loc, key): is `key` the key stored at loc?
//   get(key, h?)        → loc | -1     the location of `key`
//   set(key, loc, h?)   → prev | -1    insert or re-point `key`; returns the previous location
//   setFrom/deleteFrom(buf, start, len, …)  the same for a key inside a larger buffer (bulk loads)
//   delete(key, h?)     → prev | -1    remove `key`
//   replaceIf(h, old, new) → boolean   re-point the entry now at `old` (no key compare: locations
//                                      are unique), so a merge/flush never undoes a newer set
//   hasLoc(h, loc)      → boolean      does the index point at `loc`? (a record is live iff so)
//   deleteIf(h, loc)    → boolean      remove the entry at `loc`, if it is still there
//   forEach(fn(loc, h)), locsIn(lo, hi) → Float64Array, size, bytes, capacity, clear(), reserve(n),
//   shrinkToFit()
// A location is an opaque integer in [0, 2^53 - 1) chosen by the engine (see sealed-files.ts).
//
// Load factor: the table doubles when it would pass 3/4 full. Linear probing then averages ~2.5
// probes for a hit and ~8.5 for a miss at the worst moment, typically far fewer (a table is
// between 3/8 and 3/4 full); at 1M keys the table has 2^21 slots = 25.2 B per key. Deletion
// shifts the following cluster back (no tombstones), so deletes never lengthen probe chains.

import { xxh32 } from './xxh32.js';

/** Seed of the index hash (distinct from the record checksum's seed 0). */
export const HASH_SEED = 0x5eed5eed;

/** The 32-bit hash the index is keyed by (measured ~17 M hashes/s for 8-byte keys on a loaded 2-core box). */
export function hashKey(key: Uint8Array): number {
  return xxh32(key, 0, key.length, HASH_SEED);
}

/** Reads the key stored at a location and compares it; supplied by the engine. */
export interface KeyMatcher {
  /** True if the record at `loc` has exactly the key `key`. May throw (e.g. CorruptionError). */
  keyEquals(loc: number, key: Uint8Array): boolean;
}

/** Grow when count would exceed capacity * MAX_LOAD. */
const MAX_LOAD = 0.75;

/** Open-addressing hash index from keys to locations; see the file comment. */
export class HashIndex {
  private hashes: Uint32Array;
  /** loc + 1; 0 marks an empty slot. */
  private locs: Float64Array;
  private mask: number;
  /** Home slot = hash >>> shift (the top bits): ascending hashes fill the table front to back. */
  private shift: number;
  private count = 0;
  private growAt: number;

  /** `capacity` is rounded up to a power of two (at least 16). */
  constructor(private readonly matcher: KeyMatcher, capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.hashes = new Uint32Array(cap);
    this.locs = new Float64Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.growAt = Math.floor(cap * MAX_LOAD);
  }

  /** Live entries. */
  get size(): number {
    return this.count;
  }

  /** Slots in the table. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes of memory the table holds. */
  get bytes(): number {
    return this.hashes.byteLength + this.locs.byteLength;
  }

  /** The location of `key`, or -1. */
  get(key: Uint8Array, h: number = hashKey(key)): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) return -1;
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, key)) return l - 1;
    }
  }

  /** Points `key` at `loc` (inserting it if absent); returns the previous location or -1. */
  set(key: Uint8Array, loc: number, h: number = hashKey(key)): number {
    if (this.count >= this.growAt) this.grow();
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) {
        hashes[i] = h;
        locs[i] = loc + 1;
        this.count++;
        return -1;
      }
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, key)) {
        locs[i] = loc + 1;
        return l - 1;
      }
    }
  }

  /**
   * set() for a key held at `buf[start, start + len)`: the key view is made only if a probe meets
   * an equal hash, so bulk loads (hints, scans) allocate nothing per entry.
   */
  setFrom(buf: Uint8Array, start: number, len: number, loc: number, h: number): number {
    if (this.count >= this.growAt) this.grow();
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) {
        hashes[i] = h;
        locs[i] = loc + 1;
        this.count++;
        return -1;
      }
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, buf.subarray(start, start + len))) {
        locs[i] = loc + 1;
        return l - 1;
      }
    }
  }

  /** delete() for a key held at `buf[start, start + len)` (see setFrom). */
  deleteFrom(buf: Uint8Array, start: number, len: number, h: number): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) return -1;
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, buf.subarray(start, start + len))) {
        this.removeAt(i);
        return l - 1;
      }
    }
  }

  /** Removes `key`; returns its location, or -1 if it was absent. */
  delete(key: Uint8Array, h: number = hashKey(key)): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) return -1;
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, key)) {
        this.removeAt(i);
        return l - 1;
      }
    }
  }

  /** Re-points the entry currently at `oldLoc` (hash `h`) to `newLoc`; false if none is at `oldLoc`. */
  replaceIf(h: number, oldLoc: number, newLoc: number): boolean {
    const i = this.slotOfLoc(h, oldLoc);
    if (i < 0) return false;
    this.locs[i] = newLoc + 1;
    return true;
  }

  /** Whether the entry for hash `h` points at `loc` (i.e. the record there is live). */
  hasLoc(h: number, loc: number): boolean {
    return this.slotOfLoc(h, loc) >= 0;
  }

  /** Removes the entry at `loc` (hash `h`) if it is still there. */
  deleteIf(h: number, loc: number): boolean {
    const i = this.slotOfLoc(h, loc);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /** Calls `fn` for every live entry (in table order). Do not modify the index from `fn`. */
  forEach(fn: (loc: number, h: number) => void): void {
    const hashes = this.hashes;
    const locs = this.locs;
    for (let i = 0; i < locs.length; i++) {
      const l = locs[i]!;
      if (l !== 0) fn(l - 1, hashes[i]!);
    }
  }

  /**
   * The locations in [lo, hi), in table order: one sequential pass with sequential writes, so a
   * merge collects the live records of its inputs in a few ms at 1M keys (scattering them into
   * per-file bitmaps right here would cost a cache miss each: that is left to the merge worker).
   */
  locsIn(lo: number, hi: number): Float64Array {
    const locs = this.locs;
    const a = lo + 1;
    const b = hi + 1;
    let out = new Float64Array(Math.min(this.count, 1 << 16) + 16);
    let n = 0;
    for (let i = 0; i < locs.length; i++) {
      const l = locs[i]!;
      if (l >= a && l < b) {
        if (n === out.length) {
          const bigger = new Float64Array(Math.min(out.length * 2, this.count + 16));
          bigger.set(out);
          out = bigger;
        }
        out[n++] = l - 1;
      }
    }
    return out.subarray(0, n);
  }

  /** Grows the table now so that `n` entries fit without another doubling (e.g. before a bulk load). */
  reserve(n: number): void {
    while (n > this.growAt) this.grow();
  }

  /** Empties the index (keeps its capacity). */
  clear(): void {
    this.locs.fill(0);
    this.count = 0;
  }

  private slotOfLoc(h: number, loc: number): number {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    const want = loc + 1;
    for (let i = h >>> this.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) return -1;
      if (l === want && hashes[i] === h) return i;
    }
  }

  /** Backward-shift deletion: pull later members of the cluster into the hole where they may go. */
  private removeAt(hole: number): void {
    const hashes = this.hashes;
    const locs = this.locs;
    const mask = this.mask;
    let i = hole;
    for (let j = (i + 1) & mask; locs[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! >>> this.shift;
      // Entry j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        hashes[i] = hashes[j]!;
        locs[i] = locs[j]!;
        i = j;
      }
    }
    locs[i] = 0;
    this.count--;
  }

  /** Doubles the table; entries are distinct keys, so no key compare is needed to reinsert. */
  /**
   * Halves the table while the entries would still fit below the load limit: after a bulk load
   * that reserved for an upper bound (hint files whose keys repeat), the table keeps only the room
   * its keys need. One rehash, at most as costly as the doublings the reservation saved.
   */
  shrinkToFit(): void {
    let cap = this.locs.length;
    while (cap > 16 && this.count < Math.floor((cap / 2) * MAX_LOAD)) cap /= 2;
    if (cap !== this.locs.length) this.resize(cap);
  }

  private grow(): void {
    this.resize(this.locs.length * 2);
  }

  /** Rehashes into `cap` slots (a power of two that holds every entry). */
  private resize(cap: number): void {
    const oldH = this.hashes;
    const oldL = this.locs;
    const hashes = new Uint32Array(cap);
    const locs = new Float64Array(cap);
    const mask = cap - 1;
    const shift = 32 - Math.log2(cap);
    for (let k = 0; k < oldL.length; k++) {
      const l = oldL[k]!;
      if (l === 0) continue;
      const h = oldH[k]!;
      let i = h >>> shift;
      while (locs[i] !== 0) i = (i + 1) & mask;
      hashes[i] = h;
      locs[i] = l;
    }
    this.hashes = hashes;
    this.locs = locs;
    this.mask = mask;
    this.shift = shift;
    this.growAt = Math.floor(cap * MAX_LOAD);
  }
}
