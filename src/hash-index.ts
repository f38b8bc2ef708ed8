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
//   beginScan(lo, hi), scanStep(slots) → done, endScan() → Float64Array, cancelScan()
//                                      locsIn spread over many calls (a merge's start, one slice
//                                      per set): entries the index moves meanwhile are listed too
// A location is an opaque integer in [0, 2^53 - 1) chosen by the engine (see sealed-files.ts).
//
// Load factor: the table doubles when it would pass 3/4 full. Linear probing then averages ~2.5
// probes for a hit and ~8.5 for a miss at the worst moment, typically far fewer (a table is
// between 3/8 and 3/4 full); at 1M keys the table has 2^21 slots = 25.2 B per key. Deletion
// shifts the following cluster back (no tombstones), so deletes never lengthen probe chains.
//
// Growth is incremental (as Redis rehashes its dicts): rehashing 786K entries at once took one
// set 40-70 ms (and ~10x that at 10M keys). Instead the doubled table starts empty beside the old
// one, which is then frozen: every insert goes to the new table (a key found in the old one is
// moved out of it), and every get/set/delete first moves the next MIGRATE_SLOTS old slots, always
// through to the end of a cluster, so the entries left in the old table still form a valid
// linear-probing table. Lookups try the new table, then the old; each key is in
// exactly one of them. The old table is freed when the cursor has gone all the way round.

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

/**
 * Old slots moved per operation while a doubling is under way: ~2-5 µs per operation, so the 1M
 * old slots of the doubling at 786K keys move within ~2,000 operations.
 */
const MIGRATE_SLOTS = 512;

/** One open-addressing table: parallel hash and location arrays, power-of-two sized. */
interface Table {
  hashes: Uint32Array;
  /** loc + 1; 0 marks an empty slot. */
  locs: Float64Array;
  mask: number;
  /** Home slot = hash >>> shift (the top bits): ascending hashes fill the table front to back. */
  shift: number;
}

function newTable(cap: number): Table {
  return { hashes: new Uint32Array(cap), locs: new Float64Array(cap), mask: cap - 1, shift: 32 - Math.log2(cap) };
}

/** The slot of table `tb` whose entry (hash `h`) points at `loc`, or -1 (locations are unique). */
function slotOfLoc(tb: Table, h: number, loc: number): number {
  const hashes = tb.hashes;
  const locs = tb.locs;
  const mask = tb.mask;
  const want = loc + 1;
  for (let i = h >>> tb.shift; ; i = (i + 1) & mask) {
    const l = locs[i]!;
    if (l === 0) return -1;
    if (l === want && hashes[i] === h) return i;
  }
}

/** A listing of the locations in [a - 1, b - 1) (locsIn, or one spread over calls): next position over t then old. */
interface Scan {
  a: number;
  b: number;
  pos: number;
  out: Float64Array;
  n: number;
}

function newScan(lo: number, hi: number): Scan {
  return { a: lo + 1, b: hi + 1, pos: 0, out: new Float64Array(1024), n: 0 };
}

/** Adds stored location `l` (loc + 1) to the scan's list. */
function scanNote(s: Scan, l: number): void {
  if (s.n === s.out.length) {
    const bigger = new Float64Array(s.out.length * 2);
    bigger.set(s.out);
    s.out = bigger;
  }
  s.out[s.n++] = l - 1;
}

/** Open-addressing hash index from keys to locations; see the file comment. */
export class HashIndex {
  private t: Table;
  /** The table being emptied into `t` during a doubling, else null. */
  private old: Table | null = null;
  /** Next old slot to move, and how many old slots the cursor has passed. */
  private migCursor = 0;
  private migMoved = 0;
  private count = 0;
  private growAt: number;
  private scan: Scan | null = null;

  /**
   * `capacity` is rounded up to a power of two (at least 16); `migrateSlots` (tests) is how many
   * old slots each operation moves while the table doubles.
   */
  constructor(private readonly matcher: KeyMatcher, capacity = 1024, private readonly migrateSlots = MIGRATE_SLOTS) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.t = newTable(cap);
    this.growAt = Math.floor(cap * MAX_LOAD);
  }

  /** Live entries. */
  get size(): number {
    return this.count;
  }

  /** Slots in the table (the new one while a doubling is under way). */
  get capacity(): number {
    return this.t.mask + 1;
  }

  /** Bytes of memory the table holds (both tables while a doubling is under way). */
  get bytes(): number {
    const o = this.old;
    return this.t.hashes.byteLength + this.t.locs.byteLength + (o === null ? 0 : o.hashes.byteLength + o.locs.byteLength);
  }

  /** True while a doubling is moving entries to the new table. */
  get growing(): boolean {
    return this.old !== null;
  }

  /** The location of `key`, or -1. */
  get(key: Uint8Array, h: number = hashKey(key)): number {
    if (this.old !== null) this.migrate(this.migrateSlots);
    let i = this.find(this.t, h, key, key, 0, 0);
    if (i >= 0) return this.t.locs[i]! - 1;
    const o = this.old;
    if (o === null) return -1;
    i = this.find(o, h, key, key, 0, 0);
    return i >= 0 ? o.locs[i]! - 1 : -1;
  }

  /** Points `key` at `loc` (inserting it if absent); returns the previous location or -1. */
  set(key: Uint8Array, loc: number, h: number = hashKey(key)): number {
    return this.put(h, loc, key, key, 0, 0);
  }

  /**
   * set() for a key held at `buf[start, start + len)`: the key view is made only if a probe meets
   * an equal hash, so bulk loads (hints, scans) allocate nothing per entry.
   */
  setFrom(buf: Uint8Array, start: number, len: number, loc: number, h: number): number {
    return this.put(h, loc, null, buf, start, len);
  }

  /** delete() for a key held at `buf[start, start + len)` (see setFrom). */
  deleteFrom(buf: Uint8Array, start: number, len: number, h: number): number {
    return this.remove(h, null, buf, start, len);
  }

  /** Removes `key`; returns its location, or -1 if it was absent. */
  delete(key: Uint8Array, h: number = hashKey(key)): number {
    return this.remove(h, key, key, 0, 0);
  }

  /** Re-points the entry currently at `oldLoc` (hash `h`) to `newLoc`; false if none is at `oldLoc`. */
  replaceIf(h: number, oldLoc: number, newLoc: number): boolean {
    let i = slotOfLoc(this.t, h, oldLoc);
    if (i >= 0) {
      this.t.locs[i] = newLoc + 1;
      return true;
    }
    const o = this.old;
    if (o === null) return false;
    i = slotOfLoc(o, h, oldLoc);
    if (i < 0) return false;
    o.locs[i] = newLoc + 1;
    return true;
  }

  /** Whether the entry for hash `h` points at `loc` (i.e. the record there is live). */
  hasLoc(h: number, loc: number): boolean {
    return slotOfLoc(this.t, h, loc) >= 0 || (this.old !== null && slotOfLoc(this.old, h, loc) >= 0);
  }

  /** Removes the entry at `loc` (hash `h`) if it is still there. */
  deleteIf(h: number, loc: number): boolean {
    let i = slotOfLoc(this.t, h, loc);
    if (i >= 0) {
      this.removeAt(this.t, i);
      return true;
    }
    const o = this.old;
    if (o === null) return false;
    i = slotOfLoc(o, h, loc);
    if (i < 0) return false;
    this.removeAt(o, i);
    return true;
  }

  /** Calls `fn` for every live entry (in table order). Do not modify the index from `fn`. */
  forEach(fn: (loc: number, h: number) => void): void {
    for (const tb of this.old === null ? [this.t] : [this.t, this.old]) {
      const hashes = tb.hashes;
      const locs = tb.locs;
      for (let i = 0; i < locs.length; i++) {
        const l = locs[i]!;
        if (l !== 0) fn(l - 1, hashes[i]!);
      }
    }
  }

  /**
   * The locations in [lo, hi), in table order: one sequential pass with sequential writes, so a
   * merge collects the live records of its inputs in a few ms at 1M keys (scattering them into
   * per-file bitmaps right here would cost a cache miss each: that is left to the merge worker).
   */
  locsIn(lo: number, hi: number): Float64Array {
    const s = newScan(lo, hi);
    this.walk(s, Infinity);
    return s.out.subarray(0, s.n);
  }

  /**
   * Starts listing the locations in [lo, hi) a slice at a time (scanStep), so a merge's start
   * costs no set more than a slice: one pass over a 2M-slot table takes 10-50 ms here. The list
   * is complete for the entries in range when the last step ends: an entry that a deletion's
   * backward shift or a doubling moves meanwhile is listed when it moves (possibly twice; a
   * caller must tolerate duplicates). It assumes no new entry points into [lo, hi) meanwhile
   * (true of a merge's sealed inputs). One scan at a time.
   */
  beginScan(lo: number, hi: number): void {
    this.scan = newScan(lo, hi);
  }

  /** Scans up to `slots` more slots of the scan begun by beginScan; true once it is complete. */
  scanStep(slots: number): boolean {
    return this.walk(this.scan!, slots);
  }

  /** Ends the scan; returns its list (a copy that owns its buffer). */
  endScan(): Float64Array {
    const s = this.scan!;
    this.scan = null;
    return s.out.slice(0, s.n);
  }

  /** Drops a scan begun by beginScan (no-op if none). */
  cancelScan(): void {
    this.scan = null;
  }

  /** Walks up to `slots` more slots of the new table, then the old, for `s`; true once past both. */
  private walk(s: Scan, slots: number): boolean {
    const a = s.a;
    const b = s.b;
    let left = slots;
    for (;;) {
      const tLen = this.t.locs.length;
      let locs: Float64Array;
      let i: number;
      if (s.pos < tLen) {
        locs = this.t.locs;
        i = s.pos;
      } else if (this.old !== null && s.pos < tLen + this.old.locs.length) {
        locs = this.old.locs;
        i = s.pos - tLen;
      } else {
        return true;
      }
      if (left <= 0) return false;
      const end = Math.min(locs.length, i + left);
      left -= end - i;
      s.pos += end - i;
      for (; i < end; i++) {
        const l = locs[i]!;
        if (l >= a && l < b) scanNote(s, l);
      }
    }
  }

  /** Grows the table now so that `n` entries fit without another doubling (e.g. before a bulk load). */
  reserve(n: number): void {
    if (n <= this.growAt && this.old === null) return;
    let cap = this.t.mask + 1;
    while (n > Math.floor(cap * MAX_LOAD)) cap *= 2;
    this.resize(cap);
  }

  /** Empties the index (keeps its capacity). */
  clear(): void {
    this.old = null;
    this.scan = null;
    this.t.locs.fill(0);
    this.count = 0;
  }

  /**
   * Halves the table while the entries would still fit below the load limit: after a bulk load
   * that reserved for an upper bound (hint files whose keys repeat), the table keeps only the room
   * its keys need. One rehash, at most as costly as the doublings the reservation saved.
   */
  shrinkToFit(): void {
    let cap = this.t.mask + 1;
    while (cap > 16 && this.count < Math.floor((cap / 2) * MAX_LOAD)) cap /= 2;
    if (cap !== this.t.mask + 1 || this.old !== null) this.resize(cap);
  }

  /**
   * The slot of the key (given as `key`, or as `buf[start, start + len)` when `key` is null) in
   * table `tb`, or -(empty slot + 1) where the probe ended.
   */
  private find(tb: Table, h: number, key: Uint8Array | null, buf: Uint8Array, start: number, len: number): number {
    const hashes = tb.hashes;
    const locs = tb.locs;
    const mask = tb.mask;
    for (let i = h >>> tb.shift; ; i = (i + 1) & mask) {
      const l = locs[i]!;
      if (l === 0) return -i - 1;
      if (hashes[i] === h && this.matcher.keyEquals(l - 1, key ?? buf.subarray(start, start + len))) return i;
    }
  }

  private put(h: number, loc: number, key: Uint8Array | null, buf: Uint8Array, start: number, len: number): number {
    if (this.old !== null) this.migrate(this.migrateSlots);
    if (this.count >= this.growAt) this.startGrow();
    const t = this.t;
    const i = this.find(t, h, key, buf, start, len);
    if (i >= 0) {
      const prev = t.locs[i]! - 1;
      t.locs[i] = loc + 1;
      return prev;
    }
    // Absent from the new table: if the frozen old one has it, it moves here (no insert into old).
    let prev = -1;
    const o = this.old;
    if (o !== null) {
      const j = this.find(o, h, key, buf, start, len);
      if (j >= 0) {
        prev = o.locs[j]! - 1;
        this.removeAt(o, j);
      }
    }
    const e = -i - 1;
    t.hashes[e] = h;
    t.locs[e] = loc + 1;
    this.count++;
    return prev;
  }

  private remove(h: number, key: Uint8Array | null, buf: Uint8Array, start: number, len: number): number {
    if (this.old !== null) this.migrate(this.migrateSlots);
    let i = this.find(this.t, h, key, buf, start, len);
    if (i >= 0) {
      const prev = this.t.locs[i]! - 1;
      this.removeAt(this.t, i);
      return prev;
    }
    const o = this.old;
    if (o === null) return -1;
    i = this.find(o, h, key, buf, start, len);
    if (i < 0) return -1;
    const prev = o.locs[i]! - 1;
    this.removeAt(o, i);
    return prev;
  }

  /** Backward-shift deletion: pull later members of the cluster into the hole where they may go. */
  private removeAt(tb: Table, hole: number): void {
    const hashes = tb.hashes;
    const locs = tb.locs;
    const mask = tb.mask;
    let i = hole;
    for (let j = (i + 1) & mask; locs[j] !== 0; j = (j + 1) & mask) {
      const home = hashes[j]! >>> tb.shift;
      // Entry j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        hashes[i] = hashes[j]!;
        const l = locs[j]!;
        locs[i] = l;
        // Moved backwards: it may cross a running scan's position.
        if (this.scan !== null && l >= this.scan.a && l < this.scan.b) scanNote(this.scan, l);
        i = j;
      }
    }
    locs[i] = 0;
    this.count--;
  }

  /** Starts a doubling: the current table becomes the frozen old one (see the file comment). */
  private startGrow(): void {
    if (this.old !== null) this.migrate(Infinity); // cannot happen at MAX_LOAD 3/4; be safe
    const o = this.t;
    // Every step moves entries from the cursor up to the next empty slot: the tail of a cluster,
    // which no entry left behind probes across, so the old table stays valid for lookups (it
    // never gains entries). Starting at an empty slot makes one lap end exactly at the start.
    let s = 0;
    while (o.locs[s] !== 0) s++;
    this.old = o;
    this.migCursor = s;
    this.migMoved = 0;
    const cap = (o.mask + 1) * 2;
    this.t = newTable(cap);
    this.growAt = Math.floor(cap * MAX_LOAD);
    // A running scan needs no restart: it goes on through the new table, then walks the whole
    // old one, and entries migrated meanwhile are listed as they move.
  }

  /** Moves at least `budget` old slots (to a cluster's end) to the new table; frees the old one after one lap. */
  private migrate(budget: number): void {
    const o = this.old!;
    const oLocs = o.locs;
    const oHashes = o.hashes;
    const oMask = o.mask;
    const total = oMask + 1;
    const t = this.t;
    const hashes = t.hashes;
    const locs = t.locs;
    const mask = t.mask;
    const shift = t.shift;
    const scan = this.scan;
    let c = this.migCursor;
    let moved = this.migMoved;
    let left = budget;
    while (left > 0 && moved < total) {
      // Distinct keys: each entry goes to the first empty slot from its home, no key compare.
      while (oLocs[c] !== 0) {
        const h = oHashes[c]!;
        let i = h >>> shift;
        while (locs[i] !== 0) i = (i + 1) & mask;
        hashes[i] = h;
        const l = oLocs[c]!;
        locs[i] = l;
        if (scan !== null && l >= scan.a && l < scan.b) scanNote(scan, l);
        oLocs[c] = 0;
        c = (c + 1) & oMask;
        moved++;
        left--;
      }
      c = (c + 1) & oMask; // the empty slot that ends the cluster
      moved++;
      left--;
    }
    this.migCursor = c;
    this.migMoved = moved;
    if (moved >= total) this.old = null;
  }

  /** Rehashes every entry into `cap` slots (a power of two that holds them all) in one go. */
  private resize(cap: number): void {
    const t = newTable(cap);
    const hashes = t.hashes;
    const locs = t.locs;
    const mask = t.mask;
    const shift = t.shift;
    for (const tb of this.old === null ? [this.t] : [this.t, this.old]) {
      const oldH = tb.hashes;
      const oldL = tb.locs;
      for (let k = 0; k < oldL.length; k++) {
        const l = oldL[k]!;
        if (l === 0) continue;
        const h = oldH[k]!;
        let i = h >>> shift;
        while (locs[i] !== 0) i = (i + 1) & mask;
        hashes[i] = h;
        locs[i] = l;
      }
    }
    this.t = t;
    this.old = null;
    this.growAt = Math.floor(cap * MAX_LOAD);
    if (this.scan !== null) this.scan.pos = 0; // every entry moved, none listed: walk again
  }
}
