// Why: flushes and merges both produce a run by streaming sorted records into a file. Records go
// through one reusable 1 MiB buffer (big merged runs never sit in memory whole); fence keys and key
// hashes are collected on the side in growable typed arrays, and the Bloom filter is built at the
// end from the exact record count (a merge does not know in advance how many duplicates collapse).
// The file is written under a temp name, fsynced and renamed, so a name in a run list is always a
// whole, sealed run. All write-side calls go through ../io.js (fault injection).

import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncSync, openSync, renameSync, writeAllSync } from '../io.js';
import { recordSize, writeVarint } from '../record.js';
import { xxh32 } from '../xxh32.js';
import { BloomFilter, bloomHash } from './bloom-filter.js';
import { FOOTER_BYTES, RUN_FORMAT, RUN_MAGIC, indexLayout } from './run-format.js';

const WRITE_CHUNK = 1 << 20;

/** What a finished run writer produced. */
export interface WrittenRun {
  /** File name (relative to the data directory). */
  name: string;
  /** File size in bytes. */
  size: number;
  /** Records written (tombstones included). */
  records: number;
}

/** Streams sorted records into a new run file. Keys must arrive in strictly ascending order. */
export class RunWriter {
  private readonly tmp: string;
  private fd: number;
  private buf = Buffer.allocUnsafe(WRITE_CHUNK);
  private pos = 0;
  private written = 0;
  private count = 0;
  private offsets = new Float64Array(1024);
  private keyEnds = new Uint32Array(1024);
  private fenceKeys = Buffer.allocUnsafe(8192);
  private fenceKeyBytes = 0;
  private fences = 0;
  private hashes = new Uint32Array(4096);

  constructor(
    private readonly dir: string,
    /** Final file name. */
    readonly name: string,
    private readonly densityFactor: number,
    private readonly falsePositiveRate: number,
  ) {
    this.tmp = path.join(dir, `${name}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp, 'w');
  }

  /** Records added so far. */
  get records(): number {
    return this.count;
  }

  /** Appends an already encoded record (checksum included) from src[recStart, recEnd), key at src[keyStart, +keyLen). */
  addRecord(src: Uint8Array, recStart: number, recEnd: number, keyStart: number, keyLen: number): void {
    const n = recEnd - recStart;
    this.ensure(n);
    const at = this.pos;
    this.buf.set(src.subarray(recStart, recEnd), at);
    this.pos += n;
    this.noteRecord(at, at + (keyStart - recStart), keyLen);
  }

  /**
   * Encodes and appends a record whose key is a latin1 string (one char per byte, as memtable
   * keys are) and whose value is src[off, off+len) (len 0 = deletion).
   */
  /** Appends a record whose key is `keys[k0, k1)` and value `src[off, off + len)` (len 0 = deletion). */
  addKeyBytes(keys: Uint8Array, k0: number, k1: number, src: Uint8Array, off: number, len: number): void {
    const kLen = k1 - k0;
    this.ensure(recordSize(kLen, len));
    const buf = this.buf;
    const start = this.pos;
    let p = writeVarint(buf, start, kLen);
    const ks = p;
    for (let i = k0; i < k1; i++) buf[p++] = keys[i]!;
    p = writeVarint(buf, p, len);
    buf.set(src.subarray(off, off + len), p);
    p += len;
    this.sealRecord(start, p, ks, kLen);
  }

  addStringKey(key: string, src: Uint8Array, off: number, len: number): void {
    const kLen = key.length;
    this.ensure(recordSize(kLen, len));
    const buf = this.buf;
    const start = this.pos;
    let p = writeVarint(buf, start, kLen);
    const ks = p;
    for (let i = 0; i < kLen; i++) buf[p++] = key.charCodeAt(i);
    p = writeVarint(buf, p, len);
    buf.set(src.subarray(off, off + len), p);
    p += len;
    this.sealRecord(start, p, ks, kLen);
  }

  /** Writes the checksum of the record at [start, p) and notes it (filter, fences). */
  private sealRecord(start: number, p: number, ks: number, kLen: number): void {
    const buf = this.buf;
    const c = xxh32(buf, start, p);
    buf[p] = c;
    buf[p + 1] = c >>> 8;
    buf[p + 2] = c >>> 16;
    buf[p + 3] = c >>> 24;
    this.pos = p + 4;
    this.noteRecord(start, ks, kLen);
  }

  private noteRecord(recStart: number, ks: number, kLen: number): void {
    const i = this.count++;
    if (i % this.densityFactor === 0) {
      const f = this.fences++;
      if (f + 1 >= this.offsets.length) {
        this.offsets = grow(this.offsets, Float64Array);
        this.keyEnds = grow(this.keyEnds, Uint32Array);
      }
      this.offsets[f] = this.written + recStart;
      if (this.fenceKeyBytes + kLen > this.fenceKeys.length) {
        const bigger = Buffer.allocUnsafe(Math.max(this.fenceKeys.length * 2, this.fenceKeyBytes + kLen));
        this.fenceKeys.copy(bigger, 0, 0, this.fenceKeyBytes);
        this.fenceKeys = bigger;
      }
      this.buf.copy(this.fenceKeys, this.fenceKeyBytes, ks, ks + kLen);
      this.fenceKeyBytes += kLen;
      this.keyEnds[f] = this.fenceKeyBytes;
    }
    if (i >= this.hashes.length) this.hashes = grow(this.hashes, Uint32Array);
    this.hashes[i] = bloomHash(this.buf, ks, ks + kLen);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flushBuf();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private flushBuf(): void {
    if (this.pos === 0) return;
    writeAllSync(this.fd, this.buf, 0, this.pos, this.written);
    this.written += this.pos;
    this.pos = 0;
  }

  /** Path of the temp file being written (where a `finish(false)` run stays until renamed). */
  get tmpPath(): string {
    return this.tmp;
  }

  /**
   * Writes the index block and footer, fsyncs and renames the file into place. With
   * `rename = false` the sealed file stays under its temp name: a background merge's output is
   * renamed only when it is installed, so no sweep can delete it first and a cancelled one is
   * a temp file the next open removes anyway.
   */
  finish(rename = true): WrittenRun {
    this.flushBuf();
    const dataEnd = this.written;
    const fences = this.fences;
    const bloom = BloomFilter.forKeys(Math.max(1, this.count), this.falsePositiveRate);
    for (let i = 0; i < this.count; i++) bloom.add(this.hashes[i]!);
    const lay = indexLayout(fences, this.fenceKeyBytes, bloom.m);
    const block = new Uint8Array(lay.length + FOOTER_BYTES);
    const ab = block.buffer;
    const offs = new Float64Array(ab, lay.offsetsAt, fences + 1);
    offs.set(this.offsets.subarray(0, fences));
    offs[fences] = dataEnd;
    new Uint32Array(ab, lay.keyEndsAt, fences).set(this.keyEnds.subarray(0, fences));
    block.set(this.fenceKeys.subarray(0, this.fenceKeyBytes), lay.keysAt);
    new Uint32Array(ab, lay.bloomAt, bloom.words.length).set(bloom.words);
    const footer = new DataView(ab, lay.length, FOOTER_BYTES);
    footer.setUint32(0, RUN_MAGIC, true);
    footer.setUint32(4, RUN_FORMAT, true);
    footer.setFloat64(8, dataEnd, true);
    footer.setFloat64(16, this.count, true);
    footer.setUint32(24, fences, true);
    footer.setUint32(28, this.fenceKeyBytes, true);
    footer.setUint32(32, bloom.m, true);
    footer.setUint32(36, bloom.k, true);
    footer.setUint32(40, xxh32(block, 0, lay.length), true);
    footer.setUint32(44, xxh32(block, lay.length, lay.length + 44), true);
    writeAllSync(this.fd, block, 0, block.length, dataEnd);
    fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    if (!rename) return { name: this.name, size: dataEnd + block.length, records: this.count };
    const file = path.join(this.dir, this.name);
    renameSync(this.tmp, file);
    fsyncDir(this.dir);
    return { name: this.name, size: dataEnd + block.length, records: this.count };
  }

  /** Gives up: closes and removes the temp file (best effort; a leftover is swept at open). */
  abort(): void {
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* already closed */ }
      this.fd = -1;
    }
    try { fs.unlinkSync(this.tmp); } catch { /* gone, or renamed already */ }
  }
}

function grow<T extends Float64Array | Uint32Array>(a: T, Ctor: new (n: number) => T): T {
  const b = new Ctor(a.length * 2);
  b.set(a);
  return b;
}
