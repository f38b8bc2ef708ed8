// Why: rebuilding a hash index by scanning every data file reads every value (the thesis' 1.5 s
// at 1M keys). A hint file lists only each record's key, offset and tombstone flag, so reopen
// reads a fraction of the bytes and verifies one checksum per file. Hints are local accelerators
// (FileSet.optional): never pushed, never required — a missing, truncated or corrupt hint (any
// check below failing) makes the caller scan the data file instead.
//
// Layout (docs/FORMAT.md, "AppendLog"):
//   header  u32le magic 'SKH1' | u32le format 1 | f64le dataSize | u32le entries | u32le 0
//   entries u32le hash | varint keyLen | key | varint (offset * 2 + tombstone)
//           one per key (its last record in the file), ordered by hash (hash-index.ts hashKey)
//   trailer u32le xxh32(every preceding byte of the hint file)
// `dataSize` is the size of the data file the hint describes; a data file of another size is
// reported as corrupt by the caller rather than silently indexed.

import fs from 'node:fs';
import { replaceFileSync } from './io.js';
import { HASH_SEED } from './hash-index.js';
import { xxh32, xxh32Long } from './xxh32.js';

/** 'SKH1' little-endian. */
export const HINT_MAGIC = 0x31484b53;
/** Hint format version. */
export const HINT_FORMAT = 1;
const HEADER = 24;

/** The hint file name of a data file: same prefix and generation, extension 'hint'. */
export function hintName(dataName: string): string {
  const dot = dataName.lastIndexOf('.');
  return `${dataName.slice(0, dot)}.hint`;
}

/** Varint of a non-negative integer below 2^53 (arithmetic, not 32-bit shifts). */
function putVarint(buf: Uint8Array, pos: number, n: number): number {
  if (n < 0x80000000) {
    // 31-bit fast path (every offset below 1 GiB): integer shifts instead of float division.
    let x = n | 0;
    while (x >= 0x80) {
      buf[pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    buf[pos++] = x;
    return pos;
  }
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Accumulates hint entries (no object per entry): keys in one growing buffer, hashes and entry
 * positions in typed arrays. finish() orders entries by index hash (a stable radix sort) and keeps
 * only the last entry per key: a key's earlier records in the same file are superseded, and a
 * reopen that inserts in hash order walks the index table sequentially instead of at random.
 */
export class HintBuilder {
  private keys: Uint8Array = new Uint8Array(64 * 1024);
  private used = 0;
  private hashes: Uint32Array = new Uint32Array(1024);
  /** Per entry: where its key starts in `keys` (its length varint is not stored here). */
  private starts: Uint32Array = new Uint32Array(1024);
  private lens: Uint32Array = new Uint32Array(1024);
  private offs: Float64Array = new Float64Array(1024);
  /** Entries added. */
  count = 0;

  /** Adds the record whose key is `src[keyStart, keyStart + keyLen)` (index hash `h`) at data offset `offset`. */
  add(src: Uint8Array, keyStart: number, keyLen: number, offset: number, tombstone: boolean, h: number = xxh32(src, keyStart, keyStart + keyLen, HASH_SEED)): void {
    if (this.used + keyLen > this.keys.length) {
      const bigger = new Uint8Array(Math.max(this.used + keyLen, this.keys.length * 2));
      bigger.set(this.keys.subarray(0, this.used));
      this.keys = bigger;
    }
    if (this.count === this.hashes.length) {
      const n = this.count * 2;
      this.hashes = grow(this.hashes, new Uint32Array(n));
      this.starts = grow(this.starts, new Uint32Array(n));
      this.lens = grow(this.lens, new Uint32Array(n));
      this.offs = grow(this.offs, new Float64Array(n));
    }
    const i = this.count++;
    const keys = this.keys;
    for (let j = 0, d = this.used; j < keyLen; j++) keys[d + j] = src[keyStart + j]!;
    this.hashes[i] = h;
    this.starts[i] = this.used;
    this.lens[i] = keyLen;
    this.offs[i] = offset * 2 + (tombstone ? 1 : 0);
    this.used += keyLen;
  }

  /** The finished hint bytes for a data file of `dataSize` bytes. */
  finish(dataSize: number): Uint8Array {
    const order = this.sortedByHash();
    const { hashes, starts, lens, offs, keys } = this;
    const out = new Uint8Array(HEADER + this.used + this.count * (4 + 3 + 8) + 4);
    let p = HEADER;
    let entries = 0;
    const n = order.length;
    for (let a = 0; a < n; a++) {
      const i = order[a]!;
      const h = hashes[i]!;
      // Superseded if a later entry (same hash, later in file order) has the same key.
      let superseded = false;
      for (let c = a + 1; c < n && hashes[order[c]!] === h; c++) {
        if (sameKey(keys, starts[i]!, lens[i]!, starts[order[c]!]!, lens[order[c]!]!)) {
          superseded = true;
          break;
        }
      }
      if (superseded) continue;
      out[p] = h;
      out[p + 1] = h >>> 8;
      out[p + 2] = h >>> 16;
      out[p + 3] = h >>> 24;
      p = putVarint(out, p + 4, lens[i]!);
      const ks = starts[i]!;
      const kl = lens[i]!;
      for (let j = 0; j < kl; j++) out[p + j] = keys[ks + j]!;
      p = putVarint(out, p + kl, offs[i]!);
      entries++;
    }
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    dv.setUint32(0, HINT_MAGIC, true);
    dv.setUint32(4, HINT_FORMAT, true);
    dv.setFloat64(8, dataSize, true);
    dv.setUint32(16, entries, true);
    dv.setUint32(20, 0, true);
    dv.setUint32(p, xxh32Long(out, 0, p), true);
    return out.subarray(0, p + 4);
  }

  /** Entry numbers ordered by hash, file order kept among equal hashes (LSD radix, 2 × 16 bits). */
  private sortedByHash(): Uint32Array {
    const n = this.count;
    let src = new Uint32Array(n);
    for (let i = 0; i < n; i++) src[i] = i;
    let dst = new Uint32Array(n);
    const counts = new Uint32Array(65_536);
    for (const shift of [0, 16]) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(this.hashes[src[i]!]! >>> shift) & 0xffff]!++;
      let sum = 0;
      for (let b = 0; b < 65_536; b++) {
        const c = counts[b]!;
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const e = src[i]!;
        dst[counts[(this.hashes[e]! >>> shift) & 0xffff]!++] = e;
      }
      const t = src;
      src = dst;
      dst = t;
    }
    return src;
  }
}

function grow<T extends Uint32Array | Float64Array>(a: T, b: T): T {
  b.set(a);
  return b;
}

function sameKey(b: Uint8Array, s1: number, l1: number, s2: number, l2: number): boolean {
  if (l1 !== l2) return false;
  for (let i = 0; i < l1; i++) if (b[s1 + i] !== b[s2 + i]) return false;
  return true;
}

/**
 * Writes a hint under `file` (temp + rename, via io.ts) WITHOUT fsync: a hint is optional, and one
 * lost or torn by a power failure fails its checksum and is rebuilt from the data file. Skipping
 * the two fsyncs per seal and merge matters on a busy disk.
 */
export function writeHint(file: string, bytes: Uint8Array): void {
  replaceFileSync(file, bytes, false);
}

/** A checked hint: its bytes and header fields. */
export interface Hint {
  bytes: Uint8Array;
  dataSize: number;
  entries: number;
}

/** Reads and checks `file`; null if it is missing, truncated, of another format or fails its checksum. */
export function readHint(file: string): Hint | null {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < HEADER + 4) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== HINT_MAGIC || dv.getUint32(4, true) !== HINT_FORMAT) return null;
  const end = bytes.length - 4;
  if (dv.getUint32(end, true) !== xxh32Long(bytes, 0, end)) return null;
  const dataSize = dv.getFloat64(8, true);
  if (!Number.isSafeInteger(dataSize) || dataSize < 0) return null;
  return { bytes, dataSize, entries: dv.getUint32(16, true) };
}

/** Called per hint entry; the key is `buf[keyStart, keyStart + keyLen)`, `h` its index hash. */
export type HintVisitor = (buf: Uint8Array, keyStart: number, keyLen: number, offset: number, tombstone: boolean, h: number) => void;

/**
 * Visits every entry of a checked hint (in hash order; each key at most once). Returns false
 * (after visiting a prefix) if the entries do not parse or their count differs from the header —
 * so check first with `validHintEntries` when visiting has effects.
 */
export function forEachHintEntry(h: Hint, visit: HintVisitor): boolean {
  const b = h.bytes;
  const end = b.length - 4;
  let p = HEADER;
  let n = 0;
  while (p < end) {
    if (p + 4 > end) return false;
    const hash = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    p += 4;
    // Varints: integer shifts for the usual short forms, float math beyond 28 bits.
    let x = b[p++]!;
    let keyLen = x & 0x7f;
    for (let shift = 7; x >= 0x80; shift += 7) {
      if (p >= end || shift > 14) return false;
      x = b[p++]!;
      keyLen |= (x & 0x7f) << shift;
    }
    if (keyLen === 0 || p + keyLen > end) return false;
    const keyStart = p;
    p += keyLen;
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= end || shift > 49) return false;
      x = b[p++]!;
      v += shift < 28 ? (x & 0x7f) << shift : (x & 0x7f) * 2 ** shift;
      if (x < 0x80) break;
    }
    const offset = Math.floor(v / 2);
    if (offset >= h.dataSize) return false;
    visit(b, keyStart, keyLen, offset, v % 2 === 1, hash);
    n++;
  }
  return n === h.entries;
}

/** Whether every entry of `h` parses (checked before applying it, so a bad hint changes nothing). */
export function validHintEntries(h: Hint): boolean {
  return forEachHintEntry(h, () => undefined);
}
