// Why: the HybridLog of the thesis, after Microsoft's FASTER — the engine for skewed updates. The
// newest part of the log lives in a ring buffer (ring-buffer.ts); a set on a key whose latest
// record is in the mutable region overwrites the value bytes in place, so a hot key costs no new
// bytes at all, while older records are immutable and updated by appending (read-copy-update).
// When the read-only region reaches `flushIntervalBytes` its records that are still live are
// written to a sealed level-0 file and the head moves; sealed files are merged by tiering exactly
// like the AppendLog's (sealed-files.ts, shared), and one typed-array hash index (hash-index.ts,
// shared) maps every key to a ring position or a file location.
//
// Durability: nothing is written per set. A reopen from the local directory after a crash returns
// exactly the state of the last snapshot (or restore, or clean close) — the committed file set
// keeps that state's files (`base`) next to the newer ones — because the flushed files alone hold
// no consistent state: a flush keeps only records still live, so an older value whose newer
// version was still in memory at the crash would be missing. close() flushes everything and makes
// that the new base, so a clean close loses nothing. Records not flushed are lost on a crash
// without a snapshot, as in the thesis.

import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from '../engine.js';
import { CorruptionError } from '../errors.js';
import { IndexMoves } from '../index-moves.js';
import { fileName } from '../file-names.js';
import { HashIndex, hashKey, type KeyMatcher } from '../hash-index.js';
import { hintName } from '../hint-file.js';
import { writeSealedFileSync } from '../io.js';
import { encodeRecord, recordSize } from '../record.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../validate.js';
import { xxh32 } from '../xxh32.js';
import { type LevelFileMeta, SLOT_SPAN, SealedFiles, loc } from '../sealed-files.js';
import { type HybridLogParams, hybridLogParams } from './params.js';
import { RingBuffer } from './ring-buffer.js';

/** The metadata the HybridLog commits with its file set (and that snapshots carry). */
export interface HybridLogMeta {
  /** Metadata format. */
  format: 1;
  /** Every sealed file with its level. */
  files: LevelFileMeta[];
  /** Local only: the files of the last snapshot/restore/open/close, which a reopen loads. */
  base?: LevelFileMeta[];
}

/** Extension of HybridLog data files. */
const EXT = 'hlog';

// Header of the ring record last parsed by `header()`; module-level so parsing allocates nothing.
let hKeyStart = 0;
let hKeyLen = 0;
let hValStart = 0;
let hValLen = 0;

/** Parses the lengths of the (trusted, in-memory) record at `p`; returns the offset past its checksum. */
function header(b: Uint8Array, p: number): number {
  let n = 0;
  let shift = 0;
  let c: number;
  do {
    c = b[p++]!;
    n += (c & 0x7f) * 2 ** shift;
    shift += 7;
  } while (c >= 0x80);
  hKeyStart = p;
  hKeyLen = n;
  p += n;
  n = 0;
  shift = 0;
  do {
    c = b[p++]!;
    n += (c & 0x7f) * 2 ** shift;
    shift += 7;
  } while (c >= 0x80);
  hValStart = p;
  hValLen = n;
  return p + n + 4;
}

/** Writes the checksum of the record `b[start, end)` after it. */
function writeChecksum(b: Uint8Array, start: number, end: number): void {
  const c = xxh32(b, start, end);
  b[end] = c;
  b[end + 1] = c >>> 8;
  b[end + 2] = c >>> 16;
  b[end + 3] = c >>> 24;
}

function isFileList(x: unknown): x is LevelFileMeta[] {
  return Array.isArray(x) && x.every((f) => typeof f === 'object' && f !== null && typeof (f as LevelFileMeta).name === 'string' && Number.isInteger((f as LevelFileMeta).level));
}

function sameNames(a: readonly LevelFileMeta[], b: readonly LevelFileMeta[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name);
}

/**
 * Records a background-mode flush copies per set (~1-2 ms). The copy of a 16 MiB ring's 4 MiB
 * read-only region (~90K small records) took ~100 ms inside one set; spread out, the set that
 * writes the file, re-points the index and commits is left (~20-40 ms), as a merge's install is.
 */
const FLUSH_SLICE = 2048;
let flushSlice = FLUSH_SLICE;

/** Test hook: records a background flush copies per set (the model tests use 1 or 2, so their tiny rings flush across sets). */
export function setFlushSliceForTests(n: number = FLUSH_SLICE): void {
  flushSlice = n;
}

/** A flush in progress (background mode): its records are copied a slice per set. */
interface PendingFlush {
  /** Records starting below this address are flushed. */
  upTo: number;
  /** Next record to look at. */
  addr: number;
  /** Slot of the file being written, and bytes copied into `out` so far. */
  slot: number;
  n: number;
  /** Files existed at the start: a deletion must then be kept (it hides older records). */
  olderExist: boolean;
}

/** The HybridLog engine. */
export class HybridLogEngine implements Engine, KeyMatcher {
  private readonly ring: RingBuffer;
  private readonly index: HashIndex;
  private readonly files: SealedFiles;
  /** Files a reopen loads (see the file comment). */
  private base: LevelFileMeta[] = [];
  /** Output buffer of a flush, reused. */
  private out: Buffer = Buffer.allocUnsafe(64 * 1024);
  // Entries a flush re-points (hash, ring position, file location), reused.
  private readonly moves = new IndexMoves();
  /** A flush being copied a slice per set (background mode), else null. */
  private pending: PendingFlush | null = null;
  private closed = false;
  private readonly counters = { inPlaceUpdates: 0, appends: 0, flushes: 0, bytesFlushed: 0, recordsFlushed: 0, directWrites: 0, mergeFailures: 0 };

  constructor(private readonly ctx: EngineContext, private readonly p: HybridLogParams) {
    this.ring = new RingBuffer(p.memSegmentBytes);
    this.index = new HashIndex(this, 1024);
    this.files = new SealedFiles({
      dir: ctx.dir,
      ext: EXT,
      maxRunsPerLevel: p.maxRunsPerLevel,
      maxLen: Math.max(65_535, ctx.maxValueBytes, DEFAULT_MAX_VALUE_BYTES),
      nextGeneration: () => ctx.nextGeneration(),
      merges: p.merges,
      maxRunsBeforeStall: p.maxRunsBeforeStall,
    });
  }

  /** KeyMatcher: ring positions are below SLOT_SPAN (MEMORY_SLOT = 0), file locations above. */
  keyEquals(l: number, key: Uint8Array): boolean {
    if (l >= SLOT_SPAN) return this.files.keyEquals(l, key);
    const b = this.ring.buf;
    header(b, l);
    if (hKeyLen !== key.length) return false;
    for (let i = 0, s = hKeyStart; i < hKeyLen; i++) if (b[s + i] !== key[i]) return false;
    return true;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const l = this.index.get(key);
    if (l < 0) return undefined;
    if (l >= SLOT_SPAN) return this.files.valueAt(l);
    // keyEquals (inside index.get) left the header of the record at `l` in hValStart/hValLen.
    // A copy: the bytes in the ring may be overwritten in place by the next set.
    return copyOf(this.ring.buf, hValStart, hValStart + hValLen);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (this.files.mergeRunning) this.stepMerges();
    const ring = this.ring;
    const h = hashKey(key);
    const l = this.index.get(key, h);
    // index.get just matched the key at `l` through keyEquals, which left that record's header in
    // hValStart/hValLen. Mutable records carry no valid checksum: flush() writes it when the
    // record is copied out, so an in-place update is one copy of the value bytes.
    if (value.length > 0 && l >= 0 && l < SLOT_SPAN && hValLen === value.length && ring.addrOf(l) >= ring.readOnly) {
      ring.buf.set(value, hValStart);
      this.counters.inPlaceUpdates++;
      return;
    }
    if (value.length === 0 && l < 0) return; // the index is complete: an absent key needs no tombstone
    const len = recordSize(key.length, value.length);
    // Make room first, so a failing flush leaves this set unapplied.
    if (len > ring.size) {
      this.writeDirect(key, value, h);
      return;
    }
    this.makeRoom(len);
    const at = ring.append(len, this.p.roLagBytes);
    encodeRecord(ring.buf, at, key, value);
    this.counters.appends++;
    if (value.length === 0) this.index.delete(key, h);
    else this.index.set(key, at, h);
  }

  /**
   * Flushes until `len` bytes fit; flushes the read-only region if it is due — in background mode
   * a slice per set while the ring has room, all at once when it has not.
   */
  private makeRoom(len: number): void {
    const ring = this.ring;
    if (this.pending !== null) {
      this.flushStep(!ring.fits(len));
    } else if (ring.readOnly - ring.head >= this.p.flushIntervalBytes) {
      this.startFlush(ring.readOnly);
      this.flushStep(this.p.merges === 'foreground');
    }
    if (ring.fits(len)) return;
    if (this.pending !== null) this.flushStep(true);
    if (ring.fits(len)) return;
    if (ring.readOnly > ring.head) this.flush(ring.readOnly);
    if (ring.fits(len)) return;
    // Only the mutable region is left and the record still does not fit (a large record): seal
    // and flush everything — the ring is then empty and holds any record up to its size.
    this.flushAll();
  }

  /**
   * A record larger than the ring goes straight to its own level-0 file, after everything in
   * memory (older records) has been flushed, so file age order stays log order.
   */
  private writeDirect(key: Uint8Array, value: Uint8Array, h: number): void {
    this.flushAll();
    if (value.length === 0) return; // unreachable: a tombstone always fits in a ring of > 1 byte
    const len = recordSize(key.length, value.length);
    const buf = Buffer.allocUnsafe(len);
    encodeRecord(buf, 0, key, value);
    const slot = this.files.allocSlot();
    const name = fileName('L0', this.ctx.nextGeneration(), EXT);
    try {
      writeSealedFileSync(path.join(this.ctx.dir, name), [buf]);
      this.files.add(name, 0, slot, buf);
    } catch (e) {
      this.files.freeSlot(slot);
      throw e;
    }
    this.index.set(key, loc(slot, 0), h);
    this.counters.directWrites++;
    this.afterNewFile();
  }

  /**
   * Writes the records starting in [head, upTo) that are still live (and the deletions older files need) to
   * a sealed level-0 file, re-points the index at it and moves head. On failure nothing changes.
   */
  private flush(upTo: number): void {
    if (this.pending !== null) this.flushStep(true);
    this.startFlush(upTo);
    this.flushStep(true);
  }

  private startFlush(upTo: number): void {
    this.moves.clear();
    this.pending = { upTo, addr: this.ring.head, slot: this.files.allocSlot(), n: 0, olderExist: this.files.list().length > 0 };
  }

  /**
   * Copies the next FLUSH_SLICE records of the pending flush (all of them with `finish`); once all
   * are copied, writes the file, re-points the index, moves head and commits — one step, so no
   * merge can take the file as an input while the index still points into the ring. Returns true
   * when the flush is done. On a failed write the flush is dropped and nothing changes.
   */
  private flushStep(finish: boolean): boolean {
    const f = this.pending!;
    const ring = this.ring;
    const b = ring.buf;
    const moves = this.moves;
    let budget = finish ? Infinity : flushSlice;
    // A record that starts below upTo is read-only even if it ends above: flush it whole, and
    // move head to the record boundary where the loop stops. The region stays in memory (head
    // does not move) and read-only until the flush ends, so positions stay valid across sets.
    let addr = f.addr;
    let n = f.n;
    while (addr < f.upTo && budget-- > 0) {
      addr = ring.skipPad(addr);
      if (addr >= f.upTo) break;
      const p = ring.pos(addr);
      const end = header(b, p);
      const size = end - p;
      addr += size;
      const keyStart = hKeyStart;
      const keyLen = hKeyLen;
      const key = b.subarray(keyStart, keyStart + keyLen);
      const h = hashKey(key);
      if (hValLen === 0) {
        // A deletion matters only to older files, and only if no newer value is live.
        if (!f.olderExist || this.index.get(key, h) >= 0) continue;
      } else {
        // Live now; if a later set replaces it before the flush ends, re-pointing skips it.
        if (!this.index.hasLoc(h, p)) continue;
        moves.push(h, p, loc(f.slot, n));
      }
      if (n + size > this.out.length) this.out = growBuffer(this.out, n + size);
      b.copy(this.out, n, p, end);
      writeChecksum(this.out, n, n + size - 4);
      n += size;
    }
    f.addr = addr;
    f.n = n;
    if (addr < f.upTo) return false;
    this.pending = null;
    if (n > 0) {
      const name = fileName('L0', this.ctx.nextGeneration(), EXT);
      const content = this.out.subarray(0, n);
      try {
        writeSealedFileSync(path.join(this.ctx.dir, name), [content]);
        this.files.add(name, 0, f.slot, content);
      } catch (e) {
        this.files.freeSlot(f.slot);
        throw e;
      }
      // The file is durable and open: from here on nothing can fail.
      moves.apply(this.index);
    } else {
      this.files.freeSlot(f.slot);
    }
    ring.advanceHead(addr);
    this.counters.flushes++;
    this.counters.bytesFlushed += n;
    this.counters.recordsFlushed += moves.length;
    if (n > 0) this.afterNewFile();
    return true;
  }

  /** Commits the new file, starts (or runs, in foreground mode) the merges it made due. */
  private afterNewFile(): void {
    this.commit();
    this.stepMerges();
  }

  /**
   * Advances merges (sealed-files.ts mergeStep) and commits what they changed. A failed merge is
   * counted (and reported if corruption), not thrown: the set that ran it changed nothing on disk,
   * and the inputs stay in place for the next attempt.
   */
  private stepMerges(): void {
    try {
      if (this.files.mergeStep(this.index)) this.commit();
    } catch (e) {
      this.counters.mergeFailures++;
      if (e instanceof CorruptionError) this.ctx.onCorruption?.(e);
    }
  }

  /** Commits base + current files; hints ride along as optional files. */
  private commit(): void {
    const current = this.files.meta();
    const names = new Set(current.map((f) => f.name));
    for (const f of this.base) names.add(f.name);
    const optional: string[] = [];
    for (const f of names) optional.push(hintName(f));
    const meta: HybridLogMeta = { format: 1, files: current, base: this.base };
    this.ctx.commit({ files: [...names], meta: meta as unknown as Record<string, unknown>, optional });
  }

  /** Flushes the whole ring (mutable region included) to files. */
  private flushAll(): void {
    if (this.pending !== null) this.flushStep(true);
    this.ring.sealAll();
    if (this.ring.tail > this.ring.head) this.flush(this.ring.tail);
  }

  /** Makes the current files the base a reopen loads. */
  private rebase(): void {
    const current = this.files.meta();
    if (sameNames(current, this.base)) return;
    const old = this.base;
    this.base = current;
    try {
      this.commit();
    } catch (e) {
      this.base = old;
      throw e;
    }
  }

  async checkpoint(): Promise<FileSet> {
    this.flushAll();
    this.rebase();
    const meta: HybridLogMeta = { format: 1, files: this.files.meta() };
    return { files: this.files.names(), meta: meta as unknown as Record<string, unknown> };
  }

  keyCount(): number {
    return this.index.size;
  }

  memoryBytes(): number {
    return this.ring.size + this.index.bytes;
  }

  stats(): EngineStats {
    const ring = this.ring;
    const f = this.files.stats();
    return {
      keys: this.index.size,
      indexBytes: this.index.bytes,
      ringBytes: ring.size,
      mutableBytes: ring.tail - ring.readOnly,
      readOnlyBytes: ring.readOnly - ring.head,
      tailAddress: ring.tail,
      headAddress: ring.head,
      ...this.counters,
      // A background flush is copying its records a slice per set (1) or not (0).
      flushPending: this.pending === null ? 0 : 1,
      filesPerLevel: f.filesPerLevel,
      diskBytes: f.diskBytes,
      merges: f.merges,
      bytesMergedIn: f.bytesMergedIn,
      bytesMergedOut: f.bytesMergedOut,
      hintsLoaded: f.hintsLoaded,
      filesScanned: f.filesScanned,
      mergeInFlight: f.mergeInFlight,
      mergeStalls: f.mergeStalls,
      mergeStallMs: f.mergeStallMs,
      mergeScanSlices: f.mergeScanSlices,
      mergeMsMax: f.mergeMsMax,
      mergeMsTotal: f.mergeMsTotal,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // A clean close keeps everything: what is in memory becomes files, and those the base.
      this.flushAll();
      this.rebase();
    } finally {
      this.files.close();
    }
  }

  /** Opens from committed metadata: the base if there is one (a local reopen), else the files. */
  load(state: FileSet | null): void {
    if (!state) {
      this.commit();
      return;
    }
    const meta = state.meta as unknown as Partial<HybridLogMeta>;
    const list = meta.base ?? meta.files;
    if (meta.format !== 1 || !isFileList(list)) {
      // An empty store is what a missing list would silently become: refuse instead.
      throw new CorruptionError(path.join(this.ctx.dir, 'CURRENT'), -1, `hybridlog metadata is not format 1 with a file list (got ${JSON.stringify(state.meta).slice(0, 120)})`);
    }
    this.files.load(list, this.index);
    this.base = this.files.meta();
    // The newer files (since the base) leave the committed set; the shell sweeps them.
    if (meta.base !== undefined || list.length !== state.files.length) this.commit();
  }
}

/** A fresh Uint8Array copy of `b[start, end)` (Buffer#slice would return a view). */
function copyOf(b: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(b.subarray(start, end));
  return out;
}

function growBuffer(b: Buffer, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, b.length * 2));
  b.copy(next, 0, 0, b.length);
  return next;
}

/** Registration of the HybridLog engine. */
export const hybridlogEngine: EngineDefinition<HybridLogParams> = {
  name: 'hybridlog',
  params: hybridLogParams,
  async open(ctx, params, state) {
    const e = new HybridLogEngine(ctx, params);
    e.load(state);
    return e;
  },
};
