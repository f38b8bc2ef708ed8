// Why: opening a run must not scan its records — that is the LSM's fast-recovery promise. A reader
// reads the 48-byte footer and then the index block in ONE read into a fresh ArrayBuffer, checks
// both checksums, and keeps typed-array views over it (fences, Bloom words). A get then costs a
// Bloom probe, a binary search over the fences, and one positional read of at most
// `densityFactor` records into a buffer shared by all runs.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from '../errors.js';
import { closeInBackground } from '../io.js';
import { generationOf } from '../file-names.js';
import { Parse, parseRecord, rec } from '../record.js';
import { xxh32 } from '../xxh32.js';
import { BloomFilter } from './bloom-filter.js';
import { FenceIndex } from './fence-index.js';
import { compareBytes } from './key-compare.js';
import { FOOTER_BYTES, type Footer, RUN_FORMAT, RUN_MAGIC, indexLayout } from './run-format.js';

/** What a run answers for a key it holds as deleted (a zero-length value). */
export const TOMBSTONE: Uint8Array = new Uint8Array(0);

// One block buffer for every run's gets (gets are synchronous, so it is never shared at once).
let blockBuf = Buffer.allocUnsafe(64 * 1024);

/** Counters of Bloom filter outcomes, shared by the runs of one engine. */
export interface ProbeCounters {
  /** Probes the filter answered "absent" (no read). */
  negatives: number;
  /** Probes the filter answered "maybe" but the run did not hold the key (a wasted read). */
  falsePositives: number;
  /** Probes that found the key (a value or a tombstone). */
  hits: number;
}

/** What a checked, open run consists of: descriptor, size, footer and its index block. */
export interface RunParts {
  /** Open read-only descriptor. */
  fd: number;
  /** File size. */
  size: number;
  /** The footer fields. */
  footer: Footer;
  /** The index block (fences, fence keys, Bloom words) exactly as in the file. */
  block: ArrayBuffer;
}

/** An open, immutable run file: its footer, fences and filter in memory, its records on disk. */
export class RunReader {
  /** Generation from the file name; within a level, higher is newer. */
  readonly gen: number;
  private readonly maxBlock: number;

  private constructor(
    /** File name (relative to the data directory). */
    readonly name: string,
    /** Absolute path, for error messages. */
    readonly file: string,
    /** Level in the tree (0 = freshest flushes). */
    readonly level: number,
    /** Open read-only descriptor. */
    readonly fd: number,
    /** File size. */
    readonly size: number,
    /** The footer fields. */
    readonly footer: Footer,
    /** Fence pointers. */
    readonly fences: FenceIndex,
    /** The run's Bloom filter. */
    readonly bloom: BloomFilter,
  ) {
    this.gen = generationOf(name);
    let max = 0;
    const o = fences.offsets;
    for (let i = 0; i + 1 < o.length; i++) if (o[i + 1]! - o[i]! > max) max = o[i + 1]! - o[i]!;
    this.maxBlock = max;
  }

  /**
   * Opens `name` in `dir`: reads footer and index block only; CorruptionError if they do not check
   * out. `from` is the path to actually open when the file is not yet under its name (a merge
   * output still under its temp name, renamed when it is installed).
   */
  static open(dir: string, name: string, level: number, from?: string): RunReader {
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = fs.openSync(from ?? file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptionError(file, -1, 'run file is missing');
      throw e;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < FOOTER_BYTES) throw new CorruptionError(file, 0, `run file of ${size} bytes is shorter than its footer`);
      const fb = new Uint8Array(FOOTER_BYTES);
      readExactly(fd, fb, 0, FOOTER_BYTES, size - FOOTER_BYTES, file);
      const dv = new DataView(fb.buffer);
      const footOff = size - FOOTER_BYTES;
      if (dv.getUint32(0, true) !== RUN_MAGIC) throw new CorruptionError(file, footOff, 'bad run footer magic (truncated or not a run file)');
      if (dv.getUint32(44, true) !== xxh32(fb, 0, 44)) throw new CorruptionError(file, footOff, 'run footer checksum mismatch');
      if (dv.getUint32(4, true) !== RUN_FORMAT) throw new CorruptionError(file, footOff, `unknown run format ${dv.getUint32(4, true)}`);
      const footer: Footer = {
        dataEnd: dv.getFloat64(8, true),
        records: dv.getFloat64(16, true),
        fenceCount: dv.getUint32(24, true),
        fenceKeyBytes: dv.getUint32(28, true),
        bloomBits: dv.getUint32(32, true),
        bloomHashes: dv.getUint32(36, true),
        indexChecksum: dv.getUint32(40, true),
      };
      const lay = indexLayout(footer.fenceCount, footer.fenceKeyBytes, footer.bloomBits);
      if (footer.dataEnd + lay.length + FOOTER_BYTES !== size) {
        throw new CorruptionError(file, footOff, `footer describes ${footer.dataEnd + lay.length + FOOTER_BYTES} bytes but the file has ${size}`);
      }
      const block = new Uint8Array(lay.length);
      readExactly(fd, block, 0, lay.length, footer.dataEnd, file);
      if (xxh32(block, 0, lay.length) !== footer.indexChecksum) throw new CorruptionError(file, footer.dataEnd, 'run index block checksum mismatch');
      return RunReader.fromParts(dir, name, level, { fd, size, footer, block: block.buffer });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * A reader over parts already read and checked elsewhere — by the merge worker, which hands
   * over its open descriptor (threads share the process' descriptors) and the index block, so
   * installing a merged run costs the main thread no read and no checksum.
   */
  static fromParts(dir: string, name: string, level: number, p: RunParts): RunReader {
    const { footer, block } = p;
    const lay = indexLayout(footer.fenceCount, footer.fenceKeyBytes, footer.bloomBits);
    const fences = new FenceIndex(
      new Float64Array(block, lay.offsetsAt, footer.fenceCount + 1),
      new Uint32Array(block, lay.keyEndsAt, footer.fenceCount),
      new Uint8Array(block, lay.keysAt, footer.fenceKeyBytes),
    );
    const bloom = new BloomFilter(footer.bloomBits, footer.bloomHashes, new Uint32Array(block, lay.bloomAt, Math.ceil(footer.bloomBits / 32)));
    return new RunReader(name, path.join(dir, name), level, p.fd, p.size, footer, fences, bloom);
  }

  /** The parts `fromParts` needs (the index block is the buffer the fences and filter view). */
  get parts(): RunParts {
    return { fd: this.fd, size: this.size, footer: this.footer, block: this.fences.offsets.buffer as ArrayBuffer };
  }

  /**
   * Looks `key` (whose bloomHash is `h`) up: undefined if this run does not hold it, TOMBSTONE if
   * it holds a deletion, else a fresh copy of the value.
   */
  get(key: Uint8Array, h: number, counters: ProbeCounters): Uint8Array | undefined {
    if (!this.bloom.has(h)) {
      counters.negatives++;
      return undefined;
    }
    const b = this.fences.find(key, 0, key.length);
    if (b < 0) {
      counters.falsePositives++;
      return undefined;
    }
    const start = this.fences.offsets[b]!;
    const len = this.fences.offsets[b + 1]! - start;
    if (blockBuf.length < this.maxBlock) blockBuf = Buffer.allocUnsafe(Math.max(this.maxBlock, blockBuf.length * 2));
    const buf = blockBuf;
    readExactly(this.fd, buf, 0, len, start, this.file);
    // Records are skimmed (lengths only) and only the one that answers is checksummed: a found
    // key's record is verified; a "not here" is verified over every record it looked at. Damage
    // anywhere on the path therefore ends in a CorruptionError, never in a wrong answer (a length
    // corrupted upstream misaligns the skim, which then fails a checksum or the block bounds).
    let pos = 0;
    while (pos < len) {
      if (!skim(buf, pos, len)) break;
      const c = compareBytes(buf, sk.keyStart, sk.keyStart + sk.keyLen, key, 0, key.length);
      if (c === 0) {
        if (parseRecord(buf, pos, len) !== Parse.Ok) throw new CorruptionError(this.file, start + pos, 'record checksum or length mismatch');
        counters.hits++;
        if (rec.valueLen === 0) return TOMBSTONE;
        return Uint8Array.prototype.slice.call(buf, rec.valueStart, rec.valueStart + rec.valueLen);
      }
      pos = sk.end;
      if (c > 0) break;
    }
    // Not in this block: check every record looked at (up to the stop, or the whole block if the
    // skim failed) before answering "absent".
    const upTo = pos < len && sk.end === 0 ? len : pos;
    for (let p = 0; p < upTo; p = rec.end) {
      if (parseRecord(buf, p, len) !== Parse.Ok) throw new CorruptionError(this.file, start + p, 'record checksum or length mismatch');
    }
    if (upTo === len && pos < len) throw new CorruptionError(this.file, start + pos, 'malformed record');
    counters.falsePositives++;
    return undefined;
  }

  /** Bytes this run holds in memory (fences and filter). */
  get memoryBytes(): number {
    return this.fences.bytes + this.bloom.bytes;
  }

  /** Closes the descriptor. */
  close(): void {
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
  }

  /** close() off the thread, for a run just merged away (its file is being unlinked). */
  closeInBackground(): void {
    closeInBackground(this.fd);
  }
}

/** Where the parts of the last skimmed record are (module-level, so skimming allocates nothing). */
const sk = { keyStart: 0, keyLen: 0, end: 0 };

/**
 * Reads the lengths of the record at `pos` without checking its checksum; false (and sk.end = 0)
 * if they do not describe a record inside [pos, end).
 */
function skim(buf: Uint8Array, pos: number, end: number): boolean {
  sk.end = 0;
  let keyLen = 0;
  let shift = 0;
  let b: number;
  do {
    if (pos >= end || shift > 28) return false;
    b = buf[pos++]!;
    keyLen += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b >= 0x80);
  if (keyLen === 0) return false;
  const keyStart = pos;
  pos += keyLen;
  let valueLen = 0;
  shift = 0;
  do {
    if (pos >= end || shift > 28) return false;
    b = buf[pos++]!;
    valueLen += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b >= 0x80);
  const recEnd = pos + valueLen + 4;
  if (recEnd > end) return false;
  sk.keyStart = keyStart;
  sk.keyLen = keyLen;
  sk.end = recEnd;
  return true;
}

/** Reads exactly `len` bytes at `pos`, or throws CorruptionError (the file is shorter than its index says). */
export function readExactly(fd: number, buf: Uint8Array, off: number, len: number, pos: number, file: string): void {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, off + done, len - done, pos + done);
    if (n === 0) throw new CorruptionError(file, pos + done, `file ends ${len - done} bytes early`);
    done += n;
  }
}
