// Why: the memtable takes every set, so its insert must be as cheap as a Map's. Measured
// (bench/lsm-claims.ts, 1M sets over 100K 8-byte keys; numbers in bench/results/lsm.md): a JS
// Map keyed by latin1 strings, sorted once at flush, beats a skip list over byte keys several
// times even counting the sort; and copying each value into a fresh Uint8Array halved the Map's
// set rate, so values are copied into one arena instead and the Map holds slot numbers.
// Latin1 strings sort by UTF-16 code unit, which for chars 0..255 is exactly unsigned byte
// order, so a plain Array#sort yields run order.

import { keyString } from '../key-string.js';
import { recordSize } from '../record.js';
import type { RunWriter } from './run-writer.js';

/** Slots numbers below this fit next to a 32-bit sort window in one double (2^21 * 2^32 = 2^53). */
const SLOT_SPAN = 2 ** 21;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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

  /**
   * Slots in unsigned byte order of their keys. Measured on 90K 8-byte keys: sorting the key
   * strings and looking each up again in the Map (entries scattered over the heap) cost ~100 ms
   * per flush; a comparator sort of slot numbers ~60 ms; this ~15 ms. Each slot becomes one
   * double `window * 2^21 + slot`, where `window` is 4 key bytes after the prefix all keys share,
   * so a native numeric sort orders nearly everything; runs of equal windows are then sorted by
   * comparing the key strings.
   */
  sortedSlots(): number[] {
    const n = this.slots;
    const keys = this.keyOf;
    const order = new Array<number>(n);
    if (n === 0) return order;
    if (n >= SLOT_SPAN) {
      for (let i = 0; i < n; i++) order[i] = i;
      return order.sort((a, b) => compareStrings(keys[a]!, keys[b]!));
    }
    // Longest prefix shared by every key.
    const first = keys[0]!;
    let lcp = first.length;
    for (let i = 1; i < n && lcp > 0; i++) {
      const k = keys[i]!;
      const m = lcp < k.length ? lcp : k.length;
      let j = 0;
      while (j < m && k.charCodeAt(j) === first.charCodeAt(j)) j++;
      lcp = j;
    }
    const packed = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      const k = keys[s]!;
      let w = 0;
      for (let j = lcp; j < lcp + 4; j++) w = w * 256 + (j < k.length ? k.charCodeAt(j) : 0);
      packed[s] = w * SLOT_SPAN + s;
    }
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i]! % SLOT_SPAN;
    // Equal windows (keys that differ only after the window, or by length): sort by the strings.
    let i = 0;
    while (i < n) {
      const w = Math.floor(packed[i]! / SLOT_SPAN);
      let j = i + 1;
      while (j < n && Math.floor(packed[j]! / SLOT_SPAN) === w) j++;
      if (j - i > 1) {
        const group = order.slice(i, j).sort((a, b) => compareStrings(keys[a]!, keys[b]!));
        for (let g = 0; g < group.length; g++) order[i + g] = group[g]!;
      }
      i = j;
    }
    return order;
  }

  /** Key string (latin1, one char per byte) of a slot. */
  keyOfSlot(slot: number): string {
    return this.keyOf[slot]!;
  }

  /** The arena holding the values. */
  get values(): Uint8Array {
    return this.arena;
  }

  /** Arena offset of a slot's value. */
  offsetOf(slot: number): number {
    return this.off[slot]!;
  }

  /** Value length of a slot, 0 for a deletion. */
  lengthOf(slot: number): number {
    const n = this.len[slot]!;
    return n < 0 ? 0 : n;
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

  /** Rebuilds a memtable from `pack()`'s arrays (in the worker thread). */
  static unpack(p: PackedMemtable): Memtable {
    const m = new Memtable(Number.MAX_SAFE_INTEGER);
    let k0 = 0;
    for (let s = 0; s < p.keyEnds.length; s++) {
      const k1 = p.keyEnds[s]!;
      const n = p.valueLens[s]!;
      const o = p.valueOffs[s]!;
      m.set(p.keys.subarray(k0, k1), n < 0 ? DELETED : p.values.subarray(o, o + n));
      k0 = k1;
    }
    return m;
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

/** Streams `mem` in key order into `w`; deletions are left out when `dropDeletions` (nothing below to hide). */
export function writeMemtable(mem: Memtable, w: RunWriter, dropDeletions: boolean): void {
  const arena = mem.values;
  for (const slot of mem.sortedSlots()) {
    const len = mem.lengthOf(slot);
    if (len === 0 && dropDeletions) continue;
    w.addStringKey(mem.keyOfSlot(slot), arena, mem.offsetOf(slot), len);
  }
}
