// Why: the memtable takes every set, so its insert must be as cheap as a Map's. Measured
// (bench/lsm-claims.ts, 1M sets over 100K 8-byte keys; numbers in bench/results/lsm.md): a JS
// Map keyed by latin1 strings, sorted once at flush, beats a skip list over byte keys several
// times even counting the sort; and copying each value into a fresh Uint8Array halved the Map's
// set rate, so values are copied into one arena instead and the Map holds slot numbers.
// A flush packs the entries into flat arrays (pack: keys as bytes, the arena, per-slot offsets)
// and sorts and writes those (sortPacked, writePacked) — in the flush worker, or in the set
// that flushes in foreground mode — so the worker never rebuilds a Map.

import { keyString } from '../key-string.js';
import { recordSize } from '../record.js';
import { compareBytes } from './key-compare.js';
import type { RunWriter } from './run-writer.js';

/** Slots numbers below this fit next to a 32-bit sort window in one double (2^21 * 2^32 = 2^53). */
const SLOT_SPAN = 2 ** 21;

/** A memtable's entries as flat arrays (see Memtable.pack), transferable to a worker thread. */
export interface PackedMemtable {
  keys: Uint8Array;
  keyEnds: Uint32Array;
  values: Uint8Array;
  valueOffs: Uint32Array;
  valueLens: Int32Array;
}

/** Marker value of a deletion held in the memtable (and returned by `get`). */
export const DELETED: Uint8Array = new Uint8Array(0);

/**
 * In-memory buffer of recent sets, flushed as a sorted run when it reaches its byte limit.
 * Values live in one growing arena; the Map holds a small-integer slot per key (no object per
 * value), and an overwrite that fits the slot's capacity is copied in place.
 */
export class Memtable {
  private readonly map = new Map<string, number>();
  private arena: Uint8Array;
  private used = 0;
  private slots = 0;
  private off = new Uint32Array(1024);
  private cap = new Uint32Array(1024);
  /** Value length per slot; -1 marks a deletion. */
  private len = new Int32Array(1024);
  /** Key of each slot. */
  private keyOf: string[] = [];
  /** Bytes the entries will take as records in a run. */
  bytes = 0;

  constructor(private readonly limit: number) {
    this.arena = new Uint8Array(Math.min(Math.max(4096, limit), 1 << 20));
  }

  /** Entries (deletions included). */
  get size(): number {
    return this.map.size;
  }

  /** True when the entries reach the byte limit (or overwrites left the arena twice that size). */
  get full(): boolean {
    return this.bytes >= this.limit || this.used >= 2 * this.limit;
  }

  /** True when the entries reach `factor` times the byte limit (or the arena twice that). */
  fullBy(factor: number): boolean {
    return this.bytes >= factor * this.limit || this.used >= 2 * factor * this.limit;
  }

  /** A copy of the held value, DELETED for a deletion, or undefined if the memtable has no entry. */
  get(key: Uint8Array): Uint8Array | undefined {
    if (this.map.size === 0) return undefined;
    const s = this.map.get(keyString(key));
    if (s === undefined) return undefined;
    const n = this.len[s]!;
    if (n < 0) return DELETED;
    const o = this.off[s]!;
    return this.arena.slice(o, o + n);
  }

  /** Stores a copy of `value` (an empty value is a deletion). */
  set(key: Uint8Array, value: Uint8Array): void {
    const k = keyString(key);
    const n = value.length;
    let s = this.map.get(k);
    if (s === undefined) {
      s = this.slots++;
      if (s >= this.off.length) this.growSlots();
      this.off[s] = n > 0 ? this.alloc(n) : 0;
      this.cap[s] = n;
      this.map.set(k, s);
      this.keyOf.push(k);
      this.bytes += recordSize(k.length, n);
    } else {
      const old = this.len[s]!;
      this.bytes += n - (old < 0 ? 0 : old);
      if (n > this.cap[s]!) {
        this.off[s] = this.alloc(n);
        this.cap[s] = n;
      }
    }
    if (n === 0) {
      this.len[s] = -1;
      return;
    }
    this.len[s] = n;
    const a = this.arena;
    const o = this.off[s]!;
    if (n <= 64) for (let i = 0; i < n; i++) a[o + i] = value[i]!;
    else a.set(value, o);
  }

  private alloc(n: number): number {
    if (this.used + n > this.arena.length) {
      let size = this.arena.length * 2;
      while (size < this.used + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    const o = this.used;
    this.used += n;
    return o;
  }

  private growSlots(): void {
    const n = this.off.length * 2;
    const off = new Uint32Array(n);
    off.set(this.off);
    this.off = off;
    const cap = new Uint32Array(n);
    cap.set(this.cap);
    this.cap = cap;
    const len = new Int32Array(n);
    len.set(this.len);
    this.len = len;
  }

  /** Slots in unsigned byte order of their keys (sortPacked over pack()). */
  sortedSlots(): number[] {
    return Array.from(sortPacked(this.pack()));
  }

  /** Key string (latin1, one char per byte) of a slot. */
  keyOfSlot(slot: number): string {
    return this.keyOf[slot]!;
  }

  /** Estimated heap bytes: the arena and slot arrays plus ~80 bytes of Map entry and key string per key. */
  get memoryBytes(): number {
    return this.arena.byteLength + this.off.byteLength * 3 + this.map.size * 90;
  }

  /**
   * A copy of the entries as a few flat arrays (slot order), for a flush in the worker thread:
   * keys as bytes, the used arena, and each slot's value offset and length (-1: deletion).
   * Costs a key-bytes loop and two memcpys — a few ms for a 4 MiB memtable, against ~100 ms to
   * sort, encode and seal it.
   */
  pack(): PackedMemtable {
    const n = this.slots;
    let keyBytes = 0;
    for (let s = 0; s < n; s++) keyBytes += this.keyOf[s]!.length;
    const keys = new Uint8Array(keyBytes);
    const keyEnds = new Uint32Array(n);
    let p = 0;
    for (let s = 0; s < n; s++) {
      const k = this.keyOf[s]!;
      for (let i = 0; i < k.length; i++) keys[p++] = k.charCodeAt(i);
      keyEnds[s] = p;
    }
    return { keys, keyEnds, values: this.arena.slice(0, this.used), valueOffs: this.off.slice(0, n), valueLens: this.len.slice(0, n) };
  }

  /** Drops every entry (keeps the arena unless it grew far beyond the limit). */
  clear(): void {
    this.map.clear();
    this.keyOf = [];
    this.bytes = 0;
    this.used = 0;
    this.slots = 0;
    if (this.arena.length > 4 * Math.max(this.limit, 1 << 20)) this.arena = new Uint8Array(Math.min(Math.max(4096, this.limit), 1 << 20));
  }
}

/**
 * Slots of a packed memtable in unsigned byte order of their keys (keys are distinct). Measured on
 * 90K 8-byte keys: rebuilding a Map from the packed arrays in the worker and sorting its key
 * strings cost ~130 ms per flush; this ~20 ms. Each slot becomes one double
 * `window * 2^21 + slot`, where `window` is 4 key bytes after the prefix all keys share, so a
 * native numeric sort orders nearly everything; runs of equal windows are then sorted by
 * comparing key bytes.
 */
export function sortPacked(p: PackedMemtable): Uint32Array {
  const ends = p.keyEnds;
  const keys = p.keys;
  const n = ends.length;
  const order = new Uint32Array(n);
  const startOf = (s: number): number => (s === 0 ? 0 : ends[s - 1]!);
  const cmpSlots = (a: number, b: number): number => compareBytes(keys, startOf(a), ends[a]!, keys, startOf(b), ends[b]!);
  if (n === 0) return order;
  if (n >= SLOT_SPAN) {
    const all = Array.from({ length: n }, (_, i) => i).sort(cmpSlots);
    order.set(all);
    return order;
  }
  // Longest prefix shared by every key.
  const f0 = 0;
  let lcp = ends[0]!;
  for (let s = 1; s < n && lcp > 0; s++) {
    const k0 = startOf(s);
    const m = Math.min(lcp, ends[s]! - k0);
    let j = 0;
    while (j < m && keys[k0 + j] === keys[f0 + j]) j++;
    lcp = j;
  }
  const packed = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    const k0 = startOf(s) + lcp;
    const k1 = ends[s]!;
    let w = 0;
    for (let j = k0; j < k0 + 4; j++) w = w * 256 + (j < k1 ? keys[j]! : 0);
    packed[s] = w * SLOT_SPAN + s;
  }
  packed.sort();
  for (let i = 0; i < n; i++) order[i] = packed[i]! % SLOT_SPAN;
  // Equal windows (keys that differ only after the window, or by length): sort by the bytes.
  let i = 0;
  while (i < n) {
    const w = Math.floor(packed[i]! / SLOT_SPAN);
    let j = i + 1;
    while (j < n && Math.floor(packed[j]! / SLOT_SPAN) === w) j++;
    if (j - i > 1) order.subarray(i, j).sort(cmpSlots);
    i = j;
  }
  return order;
}

/**
 * Streams a packed memtable in key order into `w` (the one flush path: the worker's, and the
 * foreground flush after pack()); deletions are left out when `dropDeletions` (nothing below to hide).
 */
export function writePacked(p: PackedMemtable, w: RunWriter, dropDeletions: boolean): void {
  const ends = p.keyEnds;
  for (const slot of sortPacked(p)) {
    const n = p.valueLens[slot]!;
    if (n < 0 && dropDeletions) continue;
    w.addKeyBytes(p.keys, slot === 0 ? 0 : ends[slot - 1]!, ends[slot]!, p.values, p.valueOffs[slot]!, n < 0 ? 0 : n);
  }
}
