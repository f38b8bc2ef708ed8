// Why: every engine writes the same record shape, so a torn tail or a flipped bit is detected the
// same way everywhere. Layout (docs/FORMAT.md, "Records"):
//   varint keyLen | key | varint valueLen | value | u32le xxh32(all preceding bytes of the record)
// A value length of 0 is a deletion (tombstone). Parsing fills one shared view object instead of
// allocating per record, because scans and gets run it millions of times.

import { xxh32 } from './xxh32.js';

/** Outcome of parsing one record. */
export const enum Parse {
  /** A whole record with a valid checksum; see `rec`. */
  Ok = 0,
  /** The buffer ends before the record does (a torn tail, or a read that was too short). */
  Short = 1,
  /** The record is complete but its checksum or a length field is wrong. */
  Bad = 2,
}

/** Where the parts of the last parsed record sit in the buffer passed to `parseRecord`. */
export interface RecordView {
  keyStart: number;
  keyLen: number;
  valueStart: number;
  valueLen: number;
  /** Offset just past the record (its checksum included). */
  end: number;
}

/** The view `parseRecord` fills; read it before the next call. */
export const rec: RecordView = { keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, end: 0 };

/** Bytes a varint of `n` takes. */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Encoded size of a record with these key and value lengths. */
export function recordSize(keyLen: number, valueLen: number): number {
  return varintSize(keyLen) + keyLen + varintSize(valueLen) + valueLen + 4;
}

/** Writes varint `n` at `pos`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** Encodes one record into `buf` at `pos` (which must have room); returns the offset after it. */
export function encodeRecord(buf: Uint8Array, pos: number, key: Uint8Array, value: Uint8Array): number {
  const start = pos;
  pos = writeVarint(buf, pos, key.length);
  buf.set(key, pos);
  pos += key.length;
  pos = writeVarint(buf, pos, value.length);
  buf.set(value, pos);
  pos += value.length;
  const c = xxh32(buf, start, pos);
  buf[pos] = c;
  buf[pos + 1] = c >>> 8;
  buf[pos + 2] = c >>> 16;
  buf[pos + 3] = c >>> 24;
  return pos + 4;
}

// Varint reader state, module-level so parseRecord allocates nothing.
let vEnd = 0;
function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let n = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= end) {
      vEnd = -1;
      return 0;
    }
    const b = buf[pos++]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      vEnd = pos;
      return n;
    }
    shift += 7;
  }
  vEnd = -2;
  return 0;
}

/**
 * The offset just past the record at `pos` as its two length fields claim it (whether or not its
 * bytes or checksum are whole), or -1 if a length field is unreadable before `end` or invalid.
 * Reopening a mapped segment uses it to tell a record cut short by a crash from corruption.
 */
export function claimedRecordEnd(buf: Uint8Array, pos: number, end: number, maxLen = 0x7fffffff): number {
  const keyLen = readVarint(buf, pos, end);
  if (vEnd < 0 || keyLen === 0 || keyLen > maxLen) return -1;
  const valueLen = readVarint(buf, vEnd + keyLen, end);
  if (vEnd < 0 || valueLen > maxLen) return -1;
  return vEnd + valueLen + 4;
}

/**
 * Parses the record starting at `pos` in `buf[.., end)`, filling `rec`. `maxLen` bounds key and
 * value lengths so a corrupt length is reported as Bad rather than as a huge Short read.
 */
export function parseRecord(buf: Uint8Array, pos: number, end: number, maxLen = 0x7fffffff): Parse {
  return parseRecordTo(rec, buf, pos, end, maxLen, false);
}

/**
 * parseRecord into the caller's own view `v`, so that a reader called from inside a scan visitor
 * (which reads `rec` after the visitor returns) need not save and restore `rec`. On Short,
 * `v.end` is the offset the record reaches (exact once the value length was read), else 0 — or,
 * with `lowerBound`, once only the key length was read, key end + 5: a reader that fetched a
 * short prefix then knows how much to read next without guessing. (parseRecord keeps 0 there:
 * the scanners size their refills by it.)
 */
export function parseRecordTo(v: RecordView, buf: Uint8Array, pos: number, end: number, maxLen = 0x7fffffff, lowerBound = false): Parse {
  const start = pos;
  v.end = 0;
  // Lengths below 128 (one varint byte) take the inline path: the general reader keeps its
  // result position in module state, which costs more than the rest of a short record's parse.
  let keyLen: number;
  let b = pos < end ? buf[pos]! : 0x80;
  if (b < 0x80 && b > 0) {
    keyLen = b;
    pos += 1 + b;
  } else {
    keyLen = readVarint(buf, pos, end);
    if (vEnd === -1) return Parse.Short;
    if (vEnd === -2 || keyLen === 0 || keyLen > maxLen) return Parse.Bad;
    pos = vEnd + keyLen;
  }
  let valueLen: number;
  let valueStart: number;
  b = pos < end ? buf[pos]! : 0x80;
  if (b < 0x80) {
    valueLen = b;
    valueStart = pos + 1;
  } else {
    valueLen = readVarint(buf, pos, end);
    if (vEnd === -1) {
      if (lowerBound) v.end = pos + 5;
      return Parse.Short;
    }
    if (vEnd === -2 || valueLen > maxLen) return Parse.Bad;
    valueStart = vEnd;
  }
  if (keyLen > maxLen || valueLen > maxLen) return Parse.Bad;
  const stop = valueStart + valueLen;
  if (stop + 4 > end) {
    v.end = stop + 4;
    return Parse.Short;
  }
  const stored = (buf[stop]! | (buf[stop + 1]! << 8) | (buf[stop + 2]! << 16) | (buf[stop + 3]! << 24)) >>> 0;
  if (stored !== xxh32(buf, start, stop)) return Parse.Bad;
  v.keyStart = pos - keyLen;
  v.keyLen = keyLen;
  v.valueStart = valueStart;
  v.valueLen = valueLen;
  v.end = stop + 4;
  return Parse.Ok;
}
