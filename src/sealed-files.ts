// Why: both hash engines (AppendLog, HybridLog) end up with the same thing on disk — immutable
// files of records in the common record format, arranged in levels and merged by tiering — and
// the same index of key → location. This module is the ONE implementation of that: opening the
// files for positional reads, encoding locations, hint files for fast reopen, and merges that
// keep a record only if the index still points at it (the thesis' liveness rule: no key set).
//
// API (shared by both hash engines; keep stable):
//   loc(slot, offset), slotOf(loc), offsetOf(loc)   location = slot * 2^37 + offset
//   MEMORY_SLOT (= 0)          never given to a file: an engine may mark in-memory addresses with it
//   new SealedFiles({ dir, ext, maxRunsPerLevel, maxLen, nextGeneration })
//   allocSlot() / freeSlot(s)  a slot for a file the caller is writing (its offsets are final, so
//                              index entries pointing into it stay valid once it is sealed)
//   add(name, level, slot, content?, unsynced?)  adopt a file the caller has just sealed (final
//                              name); writes its hint from `content` (the file's bytes) or a scan
//                              (background mode: fsync + hint are a worker job)
//   load(files, index)         reopen: open + index `files` oldest first, from hints (or scans);
//                              rewrites missing/bad hints
//   keyEquals(loc, key)        for the engine's KeyMatcher (in place in the file's read-only mapping
//                              with `mapReads`; else one positional read, or a block of the optional
//                              block cache — `blockCacheBytes`; checksum checked every way)
//   cacheStats(), cacheBytes   block cache figures (null / 0 without one)
//   valueAt(loc) → Uint8Array  a fresh copy of the record's value (reuses the keyEquals read)
//   mergeStep(index) → boolean the engines' entry point, after a seal and on every set while
//                              `mergeRunning`: background (default) — starts/collects worker jobs
//                              (hash-merge-job.ts), re-points a bounded slice per call, stalls at
//                              maxRunsBeforeStall; foreground — mergeDue(). true = commit now
//   mergeDue(index) → boolean  merges every level holding maxRunsPerLevel files into the next,
//                              cascading; re-points the index with replaceIf; then the engine
//                              commits `meta()`/`names()`/`hintNames()` through ctx.commit
//   compact(name, index)       rewrites one file's live records into a new file of its level
//   meta(), names(), hintNames(), stats(), close()
// Age order: a higher level is older; within a level a lower generation is older. Output of a
// merge gets a fresh (highest) generation, so it is the newest file of its level.
// Files are never unlinked here: the engine commits the new set and the shell sweeps the rest.

import { constants as bufferConstants } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from './errors.js';
import { fileName, generationOf } from './file-names.js';
import { type HashIndex, hashKey } from './hash-index.js';
import { HintBuilder, forEachHintEntry, hintName, readHint, writeHint } from './hint-file.js';
import { fsyncDir, fsyncSync, renameSync } from './io.js';
import { type MergeMode, STALL_FACTOR } from './merge-params.js';
import { IndexMoves } from './index-moves.js';
import { MergeWriter } from './merge-writer.js';
import { type MergeTicket, prestartWorker, startJob } from './worker-pool.js';
import type { HashMergeParts, HashSealJobSpec } from './worker-protocol.js';
import { Parse, type RecordView, parseRecord, parseRecordTo, rec, varintSize } from './record.js';
import { BLOCK_BYTES, BlockCache, type BlockCacheStats } from './block-cache.js';
import { mapFile } from './mmap.js';
import { scanRecords } from './record-scan.js';

/** The largest Buffer, hence the largest file mapped for reads. */
const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/** Locations are slot * SLOT_SPAN + offset: 2^37 = 128 GiB per file, 2^16 slots below 2^53. */
export const SLOT_SPAN = 2 ** 37;
/** Slots available (slot 0 is MEMORY_SLOT). */
export const MAX_SLOTS = 2 ** 16;
/** A slot never given to a file; an engine may use it for in-memory addresses. */
export const MEMORY_SLOT = 0;

/** The location of `offset` in the file of `slot`. */
export function loc(slot: number, offset: number): number {
  return slot * SLOT_SPAN + offset;
}

/** The slot of a location. */
export function slotOf(l: number): number {
  return Math.floor(l / SLOT_SPAN);
}

/** The offset of a location within its file (or memory region). */
export function offsetOf(l: number): number {
  return l % SLOT_SPAN;
}

/** One sealed file in committed metadata. */
export interface LevelFileMeta {
  /** File name (relative to the data directory). */
  name: string;
  /** Level: 0 = freshest. */
  level: number;
}

/** An open sealed file. */
export interface SealedFile {
  readonly name: string;
  readonly level: number;
  /** Generation from the name; within a level, higher is newer. */
  readonly gen: number;
  readonly slot: number;
  readonly size: number;
  readonly fd: number;
  /** A read-only mapping of the whole file (mapReads), read in place instead of with pread(2); else null. */
  readonly map: Buffer | null;
  /** Whether its hint file exists (written or loaded). */
  hint: boolean;
}

/** Construction options. */
export interface SealedFilesOptions {
  /** Absolute data directory. */
  dir: string;
  /** Extension of data files written by merges, e.g. 'data'. */
  ext: string;
  /** Files a level may hold before it is merged into the next (>= 2). */
  maxRunsPerLevel: number;
  /** Largest key or value length a record may claim (corrupt lengths beyond are reported). */
  maxLen: number;
  /** Fresh file generations (ctx.nextGeneration). */
  nextGeneration: () => number;
  /** Bytes of the block cache for reads of sealed files (block-cache.ts); 0 or absent = no cache. */
  blockCacheBytes?: number;
  /** Read files through read-only mappings (src/mmap.ts) instead of pread(2); the block cache is then unused. */
  mapReads?: boolean;
  /** Where merges run (default 'background': a worker thread; see mergeStep). */
  merges?: MergeMode;
  /** Background: files a level may hold before mergeStep makes the caller wait (default STALL_FACTOR.hash x maxRunsPerLevel). */
  maxRunsBeforeStall?: number;
}

/**
 * Index slots scanned per mergeStep while a background merge lists its inputs' live records
 * (~0.1 ms): the 2M slots of a 1M-key index take ~128 sets instead of one 10-50 ms set.
 */
const SCAN_SLICE = 1 << 14;

/** Index moves applied per mergeStep while a background merge installs (~0.5 ms of replaceIf). */
const REPOINT_SLICE = 4096;

/** A background merge: the job in the worker, then the re-pointing of the index in slices. */
interface RunningMerge {
  inputs: SealedFile[];
  outName: string;
  outLevel: number;
  /** The worker job; null while `scanning` is being scanned for the inputs' live records. */
  ticket: MergeTicket | null;
  scanning: HashIndex | null;
  /** The worker's output, once taken, and its index moves. */
  parts: HashMergeParts | null;
  moves: IndexMoves | null;
  /** The output, open for reads under its temp name (in bySlot, not yet in `files`). */
  out: SealedFile | null;
  /** Moves applied so far. */
  next: number;
}

/** Figures for stats(). */
export interface SealedFilesStats {
  filesPerLevel: number[];
  diskBytes: number;
  merges: number;
  /** Bytes read from merge inputs. */
  bytesMergedIn: number;
  /** Bytes written by merges (and compactions). */
  bytesMergedOut: number;
  compactions: number;
  /** At the last load: files indexed from their hint, and by scanning the data. */
  hintsLoaded: number;
  filesScanned: number;
  /** Level whose files a background merge is merging (running or installing), or -1. */
  mergeInFlight: number;
  /** Sets that waited for a background merge (a level reached maxRunsBeforeStall), and for how long. */
  mergeStalls: number;
  mergeStallMs: number;
  /** Slices of index scanning that background merges' starts took (one per set; SCAN_SLICE slots each). */
  mergeScanSlices: number;
  /** Duration of the longest merge, and of all merges (worker time in background mode). */
  mergeMsMax: number;
  mergeMsTotal: number;
}

/**
 * First read of an uncached record: 128 bytes hold the whole of most records (a 46-byte record
 * plus room for keys and values of ~100 bytes) and cost no more than a 46-byte read, where 512 cost
 * ~6% more (measured pread of 46/128/512 B: 0.74/0.75/0.79 µs). A longer record is read again at
 * the length the first read revealed.
 */
const READ_CHUNK = 128;
/** Bytes past a block a cache miss reads too (a 640-byte read costs about what a 512-byte one does). */
const OVERHANG = 128;

/** Orders files oldest first: level descending, then generation ascending. */
function ageOrder(a: SealedFile, b: SealedFile): number {
  return b.level - a.level || a.gen - b.gen;
}

/** The sealed files of one engine, with their levels, reads, hints and merges. */
export class SealedFiles {
  /** Open files, oldest first. */
  private files: SealedFile[] = [];
  private readonly bySlot: Array<SealedFile | undefined> = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = MEMORY_SLOT + 1;
  private buf = Buffer.allocUnsafe(4096);
  /** Block cache for reads, or null (blockCacheBytes 0). */
  private readonly cache: BlockCache | null;
  /** Parse view of the read path (the shared `rec` belongs to scans that may call us). */
  private readonly view: RecordView = { keyStart: 0, keyLen: 0, valueStart: 0, valueLen: 0, end: 0 };
  /** Location whose record `cachedBuf` holds (at the cached* positions), or -1. */
  private cachedLoc = -1;
  /** `buf`, or the cache's arena when the record was taken from a cached block. */
  private cachedBuf: Buffer = this.buf;
  private cachedStart = 0;
  private cachedLen = 0;
  private cachedValStart = 0;
  private cachedValLen = 0;
  private counters = { merges: 0, bytesMergedIn: 0, bytesMergedOut: 0, compactions: 0, hintsLoaded: 0, filesScanned: 0, mergeStalls: 0, mergeStallMs: 0, mergeScanSlices: 0, mergeMsMax: 0, mergeMsTotal: 0 };
  private running: RunningMerge | null = null;
  /** filesPerLevel() and its largest entry, or null once `files` changed. */
  private perLevel: number[] | null = null;
  private mostInALevel = 0;
  /** Seal jobs (fsync + hint) queued in the worker, oldest first. */
  private pendingSeals: Array<{ f: SealedFile; ticket: MergeTicket<HashSealJobSpec> }> = [];
  private readonly background: boolean;
  private readonly stallAt: number;

  constructor(private readonly o: SealedFilesOptions) {
    this.cache = o.blockCacheBytes && !o.mapReads ? new BlockCache(o.blockCacheBytes) : null;
    this.background = (o.merges ?? 'background') === 'background';
    this.stallAt = o.maxRunsBeforeStall ?? STALL_FACTOR.hash * o.maxRunsPerLevel;
    if (this.background) prestartWorker('hash-merge');
  }

  /** A background merge or seal job is pending: call mergeStep on every set (an atomic load or two). */
  get mergeRunning(): boolean {
    return this.running !== null || this.pendingSeals.length > 0;
  }

  /** A slot for a file being written; pass it to add() when sealed, or freeSlot() if abandoned. */
  allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= MAX_SLOTS) throw new Error(`more than ${MAX_SLOTS - 1} open data files`);
    return this.nextSlot++;
  }

  /** Returns a slot no file uses. */
  freeSlot(slot: number): void {
    this.bySlot[slot] = undefined;
    this.freeSlots.push(slot);
  }

  /** The open file of `slot`, if any. */
  fileAt(slot: number): SealedFile | undefined {
    return this.bySlot[slot];
  }

  /** Open files, oldest first (do not modify). */
  list(): readonly SealedFile[] {
    return this.files;
  }

  /**
   * Adopts `name` (sealed: immutable, under its final name; fsynced unless `unsynced`) at `level`
   * in `slot` and writes its hint, from `content` (the file's bytes, e.g. the engine's write
   * buffer) or by reading the file. A failed hint write is not an error (hints are optional). With
   * background merges the fsync and the hint are a worker job (mergeStep collects it), so a seal
   * costs the caller no disk wait: until the job ran the file is as durable as the active segment
   * it was (every byte reached the OS; a power loss may tear it — a process crash cannot).
   */
  add(name: string, level: number, slot: number, content?: Uint8Array, unsynced = false): SealedFile {
    const f = this.openFile(name, level, slot);
    if (content !== undefined && content.length !== f.size) {
      this.closeFile(f);
      throw new Error(`add(${name}): content of ${content.length} bytes, file of ${f.size}`);
    }
    if (this.background) {
      this.insert(f);
      this.pendingSeals.push({ f, ticket: startJob({ kind: 'hash-seal', dir: this.o.dir, name, sync: unsynced, maxLen: this.o.maxLen }) });
      return f;
    }
    const hb = new HintBuilder();
    try {
      if (unsynced) fsyncSync(f.fd);
      if (content !== undefined) hintFromBytes(content, hb, this.o.maxLen);
      else scanRecords(this.path(name), (b, off) => hb.add(b, rec.keyStart, rec.keyLen, off, rec.valueLen === 0), { maxLen: this.o.maxLen });
    } catch (e) {
      this.closeFile(f);
      throw e;
    }
    f.hint = this.tryWriteHint(name, hb.finish(f.size));
    this.insert(f);
    return f;
  }

  /**
   * Takes the results of finished seal jobs (all of them, waiting, if `wait`), in order: renames
   * each hint into place. A job whose file was merged away meanwhile only loses its hint.
   */
  private collectSeals(wait: boolean): void {
    while (this.pendingSeals.length > 0) {
      const { f, ticket } = this.pendingSeals[0]!;
      if (!wait && !ticket.done) return;
      this.pendingSeals.shift();
      const r = ticket.take();
      const ours = this.bySlot[f.slot] === f;
      const tmp = r.ok ? r.hintTmp ?? null : null;
      if (tmp !== null) {
        try {
          if (ours) {
            renameSync(tmp, this.path(hintName(f.name)));
            f.hint = true;
          } else {
            fs.unlinkSync(tmp);
          }
        } catch { /* optional: the next load scans the data file */ }
      }
      if (!r.ok && ours) {
        if (r.corruption) throw new CorruptionError(r.corruption.file, r.corruption.offset, r.corruption.detail);
        throw new Error(`sealing ${f.name} failed: ${r.message}`);
      }
    }
  }

  /**
   * Opens `files` (committed metadata) and applies their records to `index` oldest first: a
   * value points its key at the record, a tombstone removes the key. Each file is indexed from
   * its hint if the hint checks out, else by scanning the data (and the hint is rewritten).
   * Throws CorruptionError naming a data file that is missing, of the wrong size or unreadable.
   */
  load(files: readonly LevelFileMeta[], index: HashIndex): void {
    const opened: SealedFile[] = [];
    try {
      for (const m of files) opened.push(this.openFile(m.name, m.level, this.allocSlot()));
    } catch (e) {
      for (const f of opened) this.closeFile(f);
      throw e;
    }
    opened.sort(ageOrder);
    for (const f of opened) this.insert(f);
    const hints = opened.map((f) => readHint(this.path(hintName(f.name))));
    // Size the table once for the largest file (files may share keys, so not for their sum).
    // Hint entries come in hash order. Inserting a sorted run into a table whose existing plus
    // incoming load passes 1 before the next doubling makes every insert probe across one
    // ever-growing cluster: quadratic (7 s instead of 70 ms for a second 273K-key file). So the
    // table is sized for every hint entry first (no doubling during the load either), and shrunk
    // to fit afterwards if the files' keys repeat.
    index.reserve(index.size + hints.reduce((n, h) => n + (h?.entries ?? 0), 0));
    for (let fi = 0; fi < opened.length; fi++) {
      const f = opened[fi]!;
      const hint = hints[fi] ?? null;
      if (hint && hint.dataSize !== f.size) {
        throw new CorruptionError(this.path(f.name), Math.min(f.size, hint.dataSize), `size ${f.size} differs from the ${hint.dataSize} its hint records (truncated or overwritten)`);
      }
      if (hint) {
        const base = loc(f.slot, 0);
        // The checksum passed, so the entries parse unless the writer was wrong: applied in one pass.
        const ok = forEachHintEntry(hint, (b, ks, kl, off, tomb, h) => {
          if (tomb) index.deleteFrom(b, ks, kl, h);
          else index.setFrom(b, ks, kl, base + off, h);
        });
        if (!ok) throw new CorruptionError(this.path(hintName(f.name)), -1, 'hint entries do not match its header (checksum valid); delete the hint to rebuild it');
        f.hint = true;
        this.counters.hintsLoaded++;
        continue;
      }
      const hb = new HintBuilder();
      scanRecords(this.path(f.name), (b, off) => {
        const key = b.subarray(rec.keyStart, rec.keyStart + rec.keyLen);
        const tomb = rec.valueLen === 0;
        hb.add(b, rec.keyStart, rec.keyLen, off, tomb);
        applyEntry(index, key, loc(f.slot, off), tomb);
      }, { maxLen: this.o.maxLen });
      this.counters.filesScanned++;
      f.hint = this.tryWriteHint(f.name, hb.finish(f.size));
    }
    index.shrinkToFit();
  }

  /** Whether the record at `l` (in a sealed file) has key `key`. Throws CorruptionError. */
  keyEquals(l: number, key: Uint8Array): boolean {
    if (l !== this.cachedLoc) this.readUncached(l);
    const b = this.cachedBuf;
    const s = this.cachedStart;
    const n = key.length;
    if (this.cachedLen !== n) return false;
    for (let i = 0; i < n; i++) if (b[s + i] !== key[i]) return false;
    return true;
  }

  /** A fresh copy of the value of the record at `l` (empty for a tombstone). Throws CorruptionError. */
  valueAt(l: number): Uint8Array {
    if (l !== this.cachedLoc) this.readUncached(l); // usually the record keyEquals just read
    return copyOut(this.cachedBuf, this.cachedValStart, this.cachedValLen);
  }

  /** Block cache figures, or null without a cache. */
  cacheStats(): BlockCacheStats | null {
    return this.cache?.stats() ?? null;
  }

  /** Bytes the block cache holds (arena and tags); 0 without one. */
  get cacheBytes(): number {
    return this.cache?.memoryBytes ?? 0;
  }

  /**
   * Reads the record at `l` — from the block cache, else with one positional read (two for a
   * record longer than READ_CHUNK) — and checks its checksum, every time: a cached block is
   * trusted no more than the disk. Parses into `view`, never the shared `rec`.
   */
  private readUncached(l: number): void {
    const slot = slotOf(l);
    const off = l - slot * SLOT_SPAN; // offsetOf(l) without a floating-point modulo
    const f = this.bySlot[slot];
    if (f === undefined) throw new Error(`no sealed file in slot ${slot} (location ${l})`);
    const avail = f.size - off;
    if (avail <= 0) throw new CorruptionError(this.path(f.name), off, `record offset beyond the end of the file (${f.size} bytes)`);
    const v = this.view;
    this.cachedLoc = -1;
    const m = f.map;
    if (m !== null) {
      // Sealed files never change while open, so their mapping is read in place, checksum and all.
      const st = parseRecordTo(v, m, off, f.size, this.o.maxLen);
      if (st !== Parse.Ok) throw this.badRecord(f, off, st);
      this.took(l, m);
      return;
    }
    const c = this.cache;
    let want = READ_CHUNK;
    if (c !== null) {
      const id = c.fileId(slot, f);
      const block = Math.floor(off / BLOCK_BYTES);
      const bs = block * BLOCK_BYTES;
      const line = c.lookup(id, block);
      if (line >= 0) {
        const base = line * BLOCK_BYTES;
        const st = parseRecordTo(v, c.arena, base + off - bs, base + c.lineLen(line), this.o.maxLen);
        if (st === Parse.Ok) {
          this.took(l, c.arena);
          return;
        }
        if (st === Parse.Bad) {
          c.invalidateLine(line);
          throw new CorruptionError(this.path(f.name), off, 'record checksum or length mismatch');
        }
        c.bypasses++; // crosses the block's end: read it directly below
      } else if (c.wantsFill(id, block, this.bySlot)) {
        // Admitted miss (see BlockCache.wantsFill): read the whole block into the warm `buf`, plus
        // OVERHANG bytes so that a short record crossing the block's end needs no second read.
        const n = fs.readSync(f.fd, this.buf, 0, Math.min(BLOCK_BYTES + OVERHANG, f.size - bs), bs);
        const st = parseRecordTo(v, this.buf, off - bs, n, this.o.maxLen);
        if (st === Parse.Bad) throw new CorruptionError(this.path(f.name), off, 'record checksum or length mismatch');
        c.fill(id, block, slot, this.buf, 0, n);
        if (st === Parse.Ok) {
          this.took(l, this.buf);
          return;
        }
        c.bypasses++; // longer than what was read: read it directly below, at its length if known
        if (v.end > 0) want = Math.max(want, v.end - (off - bs));
      }
    }
    // One read for records up to READ_CHUNK; a longer one is read again at the length the first
    // read revealed (a long key may hide even the value length: then past the key first).
    let st: Parse;
    for (;;) {
      want = Math.min(want, avail);
      if (want > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(want, this.buf.length * 2));
      const n = fs.readSync(f.fd, this.buf, 0, want, off);
      st = parseRecordTo(v, this.buf, 0, n, this.o.maxLen, true);
      if (st !== Parse.Short || n >= avail) break;
      want = v.end > n ? v.end : Math.max(n * 2, 65_535 + 16);
    }
    if (st !== Parse.Ok) throw this.badRecord(f, off, st);
    this.took(l, this.buf);
  }

  /** The error for a record at `off` of `f` that did not parse (Short or Bad). */
  private badRecord(f: SealedFile, off: number, st: Parse): CorruptionError {
    return new CorruptionError(this.path(f.name), off, st === Parse.Short ? 'record runs past the end of the file' : 'record checksum or length mismatch');
  }

  /** Remembers the record just parsed into `view` from `b` as the one at `l`. */
  private took(l: number, b: Buffer): void {
    const v = this.view;
    this.cachedBuf = b;
    this.cachedStart = v.keyStart;
    this.cachedLen = v.keyLen;
    this.cachedValStart = v.valueStart;
    this.cachedValLen = v.valueLen;
    this.cachedLoc = l;
  }

  /**
   * Merges every level that holds maxRunsPerLevel files into one file of the next level,
   * cascading. Returns whether the file set changed (the caller then commits it).
   */
  mergeDue(index: HashIndex): boolean {
    let changed = false;
    for (let level = 0; ; level++) {
      let deepest = -1;
      let count = 0;
      for (const f of this.files) {
        if (f.level > deepest) deepest = f.level;
        if (f.level === level) count++;
      }
      if (level > deepest) return changed;
      if (count >= this.o.maxRunsPerLevel) {
        this.mergeLevel(level, index);
        changed = true;
      }
    }
  }

  /**
   * The engines' one merge entry point, called after a seal and on every set while mergeRunning.
   * Foreground: mergeDue(). Background: installs a finished merge a slice at a time (so no set
   * re-points more than REPOINT_SLICE entries), starts the next due one in the worker, and — if a
   * level holds maxRunsBeforeStall files — waits for the running merge first (back-pressure).
   * Returns whether the file set changed (the caller commits). A failed merge throws after
   * cleaning up (its inputs stay; the next seal tries again).
   */
  mergeStep(index: HashIndex): boolean {
    if (!this.background) return this.mergeDue(index);
    let changed = false;
    if (this.running !== null && this.mostFilesInALevel() >= this.stallAt) {
      const t0 = performance.now();
      this.counters.mergeStalls++;
      try {
        this.collectSeals(true);
        while (this.running !== null) changed = this.advance(index, true) || changed;
      } finally {
        this.counters.mergeStallMs += performance.now() - t0;
      }
    } else {
      if (this.pendingSeals.length > 0) this.collectSeals(false);
      if (this.running !== null) changed = this.advance(index, false);
    }
    if (this.running === null) this.startDueMerge(index);
    return changed;
  }

  /**
   * Starts a merge of the fullest level: the index is scanned for the inputs' live records a
   * slice per step (advance), then the worker job is posted.
   */
  private startDueMerge(index: HashIndex): void {
    // The fullest level first, the deeper one on a tie: always taking the lowest full level would
    // starve the others, since level 0 refills while its previous merge runs.
    const counts = this.filesPerLevel();
    let level = -1;
    for (let l = 0; l < counts.length; l++) {
      const c = counts[l]!;
      if (c >= this.o.maxRunsPerLevel && (level < 0 || c >= counts[level]!)) level = l;
    }
    if (level < 0) return;
    const inputs = this.files.filter((f) => f.level === level).sort(ageOrder);
    let lo = Infinity;
    let hi = 0;
    for (const f of inputs) {
      lo = Math.min(lo, f.slot);
      hi = Math.max(hi, f.slot + 1);
    }
    index.beginScan(loc(lo, 0), loc(hi, 0));
    const outName = fileName(`L${level + 1}`, this.o.nextGeneration(), this.o.ext);
    this.running = { inputs, outName, outLevel: level + 1, ticket: null, scanning: index, parts: null, moves: null, out: null, next: 0 };
  }

  /** Posts the worker job of a merge whose liveness scan is complete. */
  private postMerge(m: RunningMerge, index: HashIndex): void {
    const level = m.outLevel - 1;
    m.ticket = startJob({
      kind: 'hash-merge',
      dir: this.o.dir,
      outName: m.outName,
      inputs: m.inputs.map((f) => ({ name: f.name, size: f.size, slot: f.slot })),
      // Owns its buffer (it is transferred); may list a location twice (the worker's bitmaps
      // do not mind) and may hold other files' slots in the inputs' range (skipped there).
      live: index.endScan(),
      keepTombstones: this.files.some((f) => f.level > level),
      maxLen: this.o.maxLen,
    });
    m.scanning = null;
  }

  /**
   * One step of the running merge: take its result (waiting if `wait`), then re-point a slice of
   * the index (all of it if `wait`), then install. Returns whether the file set changed.
   */
  private advance(index: HashIndex, wait: boolean): boolean {
    const m = this.running!;
    if (m.ticket === null) {
      this.counters.mergeScanSlices++;
      if (!index.scanStep(wait ? Infinity : SCAN_SLICE)) return false;
      this.postMerge(m, index);
      if (!wait) return false;
    }
    if (m.parts === null) {
      if (!wait && !m.ticket!.done) return false;
      const r = m.ticket!.take();
      if (!r.ok || r.hash === undefined) {
        this.running = null;
        if (r.ok) throw new Error('merge worker returned no hash-merge output');
        if (r.corruption) throw new CorruptionError(r.corruption.file, r.corruption.offset, r.corruption.detail);
        throw new Error(`background merge failed: ${r.message}`);
      }
      m.parts = r.hash;
      m.moves = IndexMoves.wrap(r.hash.hashes, r.hash.from, r.hash.to);
      this.noteMergeMs(r.ms);
      if (m.parts.tmp !== null) {
        const slot = this.allocSlot();
        try {
          m.out = this.openFile(m.outName, m.outLevel, slot, m.parts.tmp);
        } catch (e) {
          this.freeSlots.push(slot);
          this.discard(m);
          throw e;
        }
        this.bySlot[slot] = m.out;
      }
      if (!wait) return false;
    }
    const base = m.out === null ? 0 : loc(m.out.slot, 0);
    const moves = m.moves!;
    const end = wait ? moves.length : Math.min(moves.length, m.next + REPOINT_SLICE);
    moves.apply(index, m.next, end, base);
    m.next = end;
    if (end < moves.length) return false;
    this.install(m);
    return true;
  }

  /** The output is complete and the index points at it: rename, swap the files, free the inputs. */
  private install(m: RunningMerge): void {
    const p = m.parts!;
    if (m.out !== null) {
      // If this throws, the merge stays running with every move applied: the index points into
      // the output (open under its temp name), so the next step retries the install.
      renameSync(p.tmp!, this.path(m.outName));
      if (p.hintTmp !== null) {
        try {
          renameSync(p.hintTmp, this.path(hintName(m.outName)));
          m.out.hint = true;
        } catch { /* optional: the next load scans the data file */ }
      }
      fsyncDir(this.o.dir);
    }
    this.running = null;
    const gone = new Set(m.inputs);
    this.files = this.files.filter((f) => !gone.has(f));
    this.perLevel = null;
    for (const f of m.inputs) {
      this.closeFile(f);
      this.freeSlot(f.slot);
    }
    if (m.out !== null) this.insert(m.out);
    this.counters.merges++;
    this.counters.bytesMergedIn += p.bytesIn;
    this.counters.bytesMergedOut += p.size;
  }

  /**
   * Waits for queued seal jobs (their hints are already listed as optional: keep them), then stops
   * a running merge (waiting for the worker to let go) and deletes its output.
   */
  private cancelMerge(): void {
    try {
      this.collectSeals(true);
    } catch {
      this.pendingSeals = []; // a failed seal job loses only its hint: the next load scans the file
    }
    const m = this.running;
    if (m === null) return;
    this.running = null;
    if (m.ticket === null) {
      m.scanning?.cancelScan();
    } else if (m.parts === null) {
      m.ticket.stop();
      const r = m.ticket.take();
      if (r.ok && r.hash) m.parts = r.hash;
    }
    this.discard(m);
  }

  /** Deletes a merge's temp output (the inputs stay as they are). */
  private discard(m: RunningMerge): void {
    if (m.out !== null) {
      this.closeFile(m.out);
      this.freeSlots.push(m.out.slot);
      m.out = null;
    }
    for (const t of [m.parts?.tmp, m.parts?.hintTmp]) {
      if (t) try { fs.unlinkSync(t); } catch { /* swept at the next open */ }
    }
  }

  private noteMergeMs(ms: number): void {
    this.counters.mergeMsMax = Math.max(this.counters.mergeMsMax, ms);
    this.counters.mergeMsTotal += ms;
  }

  /**
   * Open files per level, index = level (0 for an empty level). Cached until `files` changes: a
   * background merge asks on every set while it runs (do not modify the result).
   */
  private filesPerLevel(): readonly number[] {
    if (this.perLevel !== null) return this.perLevel;
    const counts: number[] = [];
    let most = 0;
    for (const f of this.files) {
      while (counts.length <= f.level) counts.push(0);
      most = Math.max(most, ++counts[f.level]!);
    }
    this.mostInALevel = most;
    return (this.perLevel = counts);
  }

  private mostFilesInALevel(): number {
    this.filesPerLevel();
    return this.mostInALevel;
  }

  /** Merges all files of `level` into one file of level + 1 (see mergeFiles). */
  mergeLevel(level: number, index: HashIndex): void {
    const inputs = this.files.filter((f) => f.level === level);
    if (inputs.length === 0) return;
    const olderExist = this.files.some((f) => f.level > level);
    const t0 = performance.now();
    this.mergeFiles(inputs, level + 1, index, olderExist);
    this.noteMergeMs(performance.now() - t0);
    this.counters.merges++;
  }

  /** Rewrites file `name`'s live records into a new file of the same level (thesis §3.3 compaction). */
  compact(name: string, index: HashIndex): void {
    const f = this.files.find((x) => x.name === name);
    if (!f) throw new Error(`compact: ${name} is not an open sealed file`);
    const olderExist = this.files.some((x) => x.level > f.level || (x.level === f.level && x.gen < f.gen));
    this.mergeFiles([f], f.level, index, olderExist);
    this.counters.compactions++;
  }

  /**
   * Writes the live records of `inputs` (a record is live iff the index points at it) into one new
   * file at `outLevel`, keeping a tombstone only if `keepTombstones` (files older than the output
   * exist) and its key is not live; makes it durable (temp, fsync, rename) with its hint; then
   * re-points the index and replaces the inputs in the set. On failure nothing changes.
   */
  private mergeFiles(inputs: SealedFile[], outLevel: number, index: HashIndex, keepTombstones: boolean): void {
    inputs.sort(ageOrder);
    const gen = this.o.nextGeneration();
    const outName = fileName(`L${outLevel}`, gen, this.o.ext);
    const outSlot = this.allocSlot();
    const w = new MergeWriter(this.path(outName));
    const hb = new HintBuilder();
    const moves = new IndexMoves();
    const tombs = new Set<string>();
    let bytesIn = 0;
    try {
      for (const f of inputs) {
        bytesIn += f.size;
        scanRecords(this.path(f.name), (b, off) => {
          // Copy the view first: index.get may read another record and refill `rec`.
          const keyStart = rec.keyStart;
          const keyLen = rec.keyLen;
          const start = keyStart - varintSize(keyLen);
          const end = rec.end;
          const key = b.subarray(keyStart, keyStart + keyLen);
          const h = hashKey(key);
          const oldLoc = loc(f.slot, off);
          if (rec.valueLen === 0) {
            if (!keepTombstones) return;
            // A deletion matters only if no newer value of the key is live, and once per merge.
            const ks = key.toString('latin1');
            if (tombs.has(ks) || index.get(key, h) >= 0) return;
            tombs.add(ks);
            hb.add(b, keyStart, keyLen, w.size, true, h);
            w.append(b, start, end);
            return;
          }
          if (!index.hasLoc(h, oldLoc)) return;
          const newOff = w.size;
          hb.add(b, keyStart, keyLen, newOff, false, h);
          w.append(b, start, end);
          moves.push(h, oldLoc, loc(outSlot, newOff));
        }, { maxLen: this.o.maxLen });
      }
      w.finish();
    } catch (e) {
      w.abort();
      this.freeSlots.push(outSlot);
      throw e;
    }
    let out: SealedFile | null = null;
    if (w.size > 0) {
      try {
        out = this.openFile(outName, outLevel, outSlot);
      } catch (e) {
        this.freeSlots.push(outSlot);
        throw e;
      }
      out.hint = this.tryWriteHint(outName, hb.finish(w.size));
    } else {
      this.freeSlots.push(outSlot);
    }
    // The output is durable: from here on nothing can fail.
    moves.apply(index);
    const gone = new Set(inputs);
    this.files = this.files.filter((f) => !gone.has(f));
    this.perLevel = null;
    for (const f of inputs) {
      this.closeFile(f);
      this.freeSlot(f.slot);
    }
    if (out) this.insert(out);
    this.counters.bytesMergedIn += bytesIn;
    this.counters.bytesMergedOut += w.size;
  }

  /** The open files as committed metadata, oldest first. */
  meta(): LevelFileMeta[] {
    return this.files.map((f) => ({ name: f.name, level: f.level }));
  }

  /** Data file names, oldest first. */
  names(): string[] {
    return this.files.map((f) => f.name);
  }

  /**
   * Names of the hint files that exist or that a queued seal job will write (for FileSet.optional:
   * listed before they exist, so no sweep deletes one between its rename and the next commit).
   */
  hintNames(): string[] {
    const pending = new Set(this.pendingSeals.map((p) => p.f));
    return this.files.filter((f) => f.hint || pending.has(f)).map((f) => hintName(f.name));
  }

  /** Files per level, disk bytes and merge counters. */
  stats(): SealedFilesStats {
    let diskBytes = 0;
    for (const f of this.files) diskBytes += f.size;
    return { filesPerLevel: [...this.filesPerLevel()], diskBytes, ...this.counters, mergeInFlight: this.running ? this.running.outLevel - 1 : -1 };
  }

  /** Closes every file descriptor; a background merge is stopped and its output deleted. */
  close(): void {
    this.cancelMerge();
    for (const f of this.files) this.closeFile(f);
    this.files = [];
    this.perLevel = null;
    this.cachedLoc = -1;
  }

  private path(name: string): string {
    return path.join(this.o.dir, name);
  }

  private insert(f: SealedFile): void {
    this.files.push(f);
    this.files.sort(ageOrder);
    this.perLevel = null;
    this.bySlot[f.slot] = f;
    this.cachedLoc = -1;
  }

  /** Opens `name` (or the file at `file`, e.g. a merge output still under its temp name). */
  private openFile(name: string, level: number, slot: number, file = this.path(name)): SealedFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptionError(file, -1, 'data file is missing');
      throw e;
    }
    let size = 0;
    let map: Buffer | null = null;
    try {
      size = fs.fstatSync(fd).size;
      if (size >= SLOT_SPAN) throw new CorruptionError(file, -1, `data file of ${size} bytes exceeds the 2^37-byte location range`);
      // A file beyond what one Buffer can view (4 GiB on Node 20) is read with pread(2) instead.
      if (this.o.mapReads && size > 0 && size <= MAX_LENGTH) map = mapFile(fd, size, false);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return { name, level, gen: generationOf(name), slot, size, fd, map, hint: false };
  }

  private closeFile(f: SealedFile): void {
    try { fs.closeSync(f.fd); } catch { /* already closed */ }
    if (this.bySlot[f.slot] === f) this.bySlot[f.slot] = undefined;
    this.cachedLoc = -1;
  }

  private tryWriteHint(dataName: string, bytes: Uint8Array): boolean {
    try {
      writeHint(this.path(hintName(dataName)), bytes);
      return true;
    } catch {
      return false; // optional: the next load scans the data file instead
    }
  }
}

/** Applies one record to the index: a value points the key at it, a tombstone removes the key. */
function applyEntry(index: HashIndex, key: Uint8Array, l: number, tombstone: boolean, h = hashKey(key)): void {
  if (tombstone) index.delete(key, h);
  else index.set(key, l, h);
}

/** A fresh copy of `buf[start, start + len)` (Buffer#slice would return a view of a reused buffer). */
export function copyOut(buf: Uint8Array, start: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  if (len <= 64) {
    for (let i = 0; i < len; i++) out[i] = buf[start + i]!;
  } else {
    out.set(buf.subarray(start, start + len));
  }
  return out;
}

/**
 * Builds hint entries by walking records already in memory. The caller wrote these bytes itself,
 * so only the structure is walked (no checksum pass); a malformed length still throws.
 */
export function hintFromBytes(content: Uint8Array, hb: HintBuilder, maxLen: number): void {
  let pos = 0;
  const n = content.length;
  while (pos < n) {
    const start = pos;
    let x = content[pos++]!;
    let keyLen = x & 0x7f;
    for (let shift = 7; x >= 0x80 && pos < n; shift += 7) {
      x = content[pos++]!;
      keyLen += (x & 0x7f) * 2 ** shift;
    }
    const keyStart = pos;
    pos += keyLen;
    let valueLen = 0;
    for (let shift = 0; pos < n; shift += 7) {
      x = content[pos++]!;
      valueLen += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) break;
    }
    pos += valueLen + 4;
    if (keyLen === 0 || keyLen > maxLen || valueLen > maxLen || pos > n) throw new Error(`hintFromBytes: no whole record at offset ${start}`);
    hb.add(content, keyStart, keyLen, start, valueLen === 0);
  }
}

