// Why: the AppendLog of the thesis (Bitcask-style). Every set is appended to the active segment
// with one positional write before set() returns, so it survives a process crash; an in-memory
// hash index (hash-index.ts: typed arrays, no object per key) maps each live key to the location
// of its newest record. A segment that would pass `thresholdBytes` is sealed (fsync, hint file)
// and joins level 0 of the sealed files (sealed-files.ts, shared with the HybridLog), whose
// tiered merges keep only records the index points at. The active segment is part of the
// committed file set, so a reopen — after close() or a crash — loads the sealed files' hints,
// oldest first, then scans only the active tail: every acknowledged set is back.
//
// Memory: the index (~25 B per key at 1M keys), plus the active segment's bytes and the last
// sealed segment's bytes (each ~thresholdBytes), which make the key compares of updates to
// recently written keys memory compares instead of disk reads. Older keys: with `mmap` (the
// default where the native addon is built) the sealed files are mapped read-only and read in
// place; with `mmap: false`, one pread(2) per read, or a block of the block cache of sealed-file
// reads (`blockCacheBytes`, src/block-cache.ts).
//
// Merges (sealed-files.ts mergeStep) run in a worker thread by default: the set after a seal
// starts the due one, every set polls it while it runs (one atomic load) and re-points a bounded
// slice of the index once it is done. With `merges: 'foreground'` they run inside the set after
// a seal, and inside snapshot(), as in the thesis. `runDueMerges` is the one place that drives them.

import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from '../engine.js';
import { CorruptionError } from '../errors.js';
import { fileName } from '../file-names.js';
import { HashIndex, type KeyMatcher, hashKey } from '../hash-index.js';
import { rec, recordSize } from '../record.js';
import { type LevelFileMeta, SealedFiles, copyOut, loc, offsetOf, slotOf } from '../sealed-files.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../validate.js';
import { type AppendLogParams, appendLogParams } from './params.js';
import { ActiveSegment } from './segment-writer.js';

/** Extension of every AppendLog data file (segments and merge outputs). */
const EXT = 'log';

/** The metadata the AppendLog commits with its file set (and that snapshots carry). */
export interface AppendLogMeta {
  /** Metadata format. */
  format: 1;
  /** Sealed files, oldest first. */
  files: LevelFileMeta[];
  /** The segment being appended to (newest of all), or null (always null in a snapshot). */
  active: string | null;
}

/** A sealed segment whose bytes are still in memory (the last one sealed). */
interface RecentSegment {
  name: string;
  slot: number;
  buf: Buffer;
  size: number;
  /** `buf` maps the file (never recycled as a spare: it is that file's pages). */
  mapped: boolean;
}

/** The AppendLog engine. */
export class AppendLogEngine implements Engine, KeyMatcher {
  private readonly index: HashIndex;
  private readonly sealed: SealedFiles;
  private active: ActiveSegment | null = null;
  private recent: RecentSegment | null = null;
  /** A buffer to reuse for the next active segment. */
  private spare: Buffer | null = null;
  /** Set when a seal happened: runDueMerges has work to check. */
  private mergeWanted = false;
  /** The last commit failed: the next set or checkpoint commits again before anything else. */
  private commitPending = false;
  private readonly maxLen: number;
  private counters = { seals: 0, mergeFailures: 0, diskKeyCompares: 0, activeRecordsReplayed: 0 };

  constructor(private readonly ctx: EngineContext, private readonly p: AppendLogParams) {
    this.maxLen = Math.max(65_535, ctx.maxValueBytes, DEFAULT_MAX_VALUE_BYTES);
    this.index = new HashIndex(this);
    this.sealed = new SealedFiles({
      dir: ctx.dir,
      ext: EXT,
      maxRunsPerLevel: p.maxRunsPerLevel,
      maxLen: this.maxLen,
      nextGeneration: () => ctx.nextGeneration(),
      merges: p.merges,
      maxRunsBeforeStall: p.maxRunsBeforeStall,
      blockCacheBytes: p.blockCacheBytes,
      mapReads: p.mmap,
    });
  }

  /** Loads `state`: hints (or scans) of the sealed files oldest first, then the active tail. */
  load(state: FileSet | null): void {
    const meta = state ? parseMeta(this.ctx.dir, state) : null;
    if (!meta) return;
    try {
      this.sealed.load(meta.files, this.index);
      if (meta.active) {
        const slot = this.sealed.allocSlot();
        let seg = ActiveSegment.reopen(this.ctx.dir, meta.active, slot, this.p.thresholdBytes, this.maxLen, this.p.mmap, (s, off) => {
          const keyStart = rec.keyStart;
          const keyLen = rec.keyLen;
          const tomb = rec.valueLen === 0;
          this.active = s; // so the matcher compares keys of this segment in memory
          const key = s.buf.subarray(keyStart, keyStart + keyLen);
          if (tomb) this.index.delete(key);
          else this.index.set(key, loc(slot, off));
          this.counters.activeRecordsReplayed++;
        });
        this.active = seg;
        // A torn tail (crash mid-append) is never appended after: continue in a clean copy.
        if (seg.broken) {
          seg = seg.replaceWithCopy(this.ctx.dir, this.newName(0));
          this.active = seg;
        }
      }
      // Commit only if the set differs from what is committed: rewritten hints, a replaced torn
      // segment, or the hints of a restored state (a commit costs an fsync of CURRENT).
      const files = this.sealed.names();
      if (this.active) files.push(this.active.name);
      if (!sameSet(files, state!.files) || !sameSet(this.sealed.hintNames(), state!.optional ?? [])) this.commit();
    } catch (e) {
      this.closeFiles();
      throw e;
    }
  }

  /** KeyMatcher: is `key` the key of the record at `l`? Memory compare for the two newest segments. */
  keyEquals(l: number, key: Uint8Array): boolean {
    const slot = slotOf(l);
    const a = this.active;
    if (a !== null && slot === a.slot) return keyAt(a.buf, offsetOf(l), key);
    const r = this.recent;
    if (r !== null && slot === r.slot) return keyAt(r.buf, offsetOf(l), key);
    this.counters.diskKeyCompares++;
    return this.sealed.keyEquals(l, key);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const l = this.index.get(key);
    if (l < 0) return undefined;
    const slot = slotOf(l);
    const a = this.active;
    if (a !== null && slot === a.slot) return valueAt(a.buf, offsetOf(l));
    const r = this.recent;
    if (r !== null && slot === r.slot) return valueAt(r.buf, offsetOf(l));
    return this.sealed.valueAt(l); // the read keyEquals just did
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (this.commitPending) this.commit();
    // Merges advance before this set's own work, so the set that seals a segment does not also
    // start the merge the seal made due (each costs a scan or an fsync: spread them over two sets).
    if (this.mergeWanted || this.sealed.mergeRunning) this.runDueMerges();
    const h = hashKey(key);
    if (value.length === 0) {
      // Deleting an absent key hides nothing on disk: no tombstone. (get may read and throw first.)
      let prev = this.index.get(key, h);
      if (prev < 0) return;
      const seals = this.counters.seals;
      const seg = this.segmentFor(key.length, 0);
      // A seal's compaction may just have moved the record: look it up again.
      if (this.counters.seals !== seals) prev = this.index.get(key, h);
      seg.append(key, value);
      this.index.deleteIf(h, prev);
    } else {
      const seg = this.segmentFor(key.length, value.length);
      const off = seg.append(key, value);
      try {
        this.index.set(key, loc(seg.slot, off), h); // one probe; compares keys on equal hashes
      } catch (e) {
        // A key compare failed (an older record is corrupt): take the record back, so the set
        // changes nothing; the segment is then sealed as a copy of its records before `off`.
        seg.truncateTo(off);
        throw e;
      }
    }
  }

  async checkpoint(): Promise<FileSet> {
    if (this.commitPending) this.commit();
    if (this.active !== null && (this.active.size > 0 || this.active.broken)) this.seal();
    else if (this.active !== null) this.dropEmptyActive();
    // Background merges advance only in set(): a snapshot takes the file set as it stands (a
    // running merge's inputs), and two snapshots with no set between push nothing the second time.
    if (this.mergeWanted && this.p.merges === 'foreground') this.runDueMerges();
    const meta: AppendLogMeta = { format: 1, files: this.sealed.meta(), active: null };
    return { files: this.sealed.names(), meta: meta as unknown as Record<string, unknown> };
  }

  keyCount(): number {
    return this.index.size;
  }

  memoryBytes(): number {
    return this.index.bytes + (this.active?.buf.length ?? 0) + (this.recent?.buf.length ?? 0) + (this.spare?.length ?? 0) + this.sealed.cacheBytes;
  }

  stats(): EngineStats {
    const s = this.sealed.stats();
    const cache = this.sealed.cacheStats();
    const activeBytes = this.active?.size ?? 0;
    return {
      liveKeys: this.index.size,
      indexBytes: this.index.bytes,
      indexCapacity: this.index.capacity,
      segmentBufferBytes: (this.active?.buf.length ?? 0) + (this.recent?.buf.length ?? 0) + (this.spare?.length ?? 0),
      filesPerLevel: s.filesPerLevel,
      diskBytes: s.diskBytes + activeBytes,
      activeBytes,
      seals: this.counters.seals,
      merges: s.merges,
      compactions: s.compactions,
      bytesMergedIn: s.bytesMergedIn,
      bytesMerged: s.bytesMergedOut,
      mergeFailures: this.counters.mergeFailures,
      diskKeyCompares: this.counters.diskKeyCompares,
      hintsLoaded: s.hintsLoaded,
      filesScanned: s.filesScanned,
      mergeInFlight: s.mergeInFlight,
      mergeStalls: s.mergeStalls,
      mergeStallMs: s.mergeStallMs,
      mergeScanSlices: s.mergeScanSlices,
      mergeMsMax: s.mergeMsMax,
      mergeMsTotal: s.mergeMsTotal,
      activeRecordsReplayed: this.counters.activeRecordsReplayed,
      blockCacheBytes: cache?.bytes ?? 0,
      blockCacheHits: cache?.hits ?? 0,
      blockCacheMisses: cache?.misses ?? 0,
      blockCacheBypasses: cache?.bypasses ?? 0,
    };
  }

  async close(): Promise<void> {
    // Nothing to write: the active segment is committed and every set is already in it. (The
    // shell also closes an engine it is about to replace by a restore: no commit here.)
    this.active?.trimCapacity();
    this.closeFiles();
  }

  /** The segment the next record of these lengths goes to: seals a full one, starts a new one. */
  private segmentFor(keyLen: number, valueLen: number): ActiveSegment {
    let a = this.active;
    const n = recordSize(keyLen, valueLen);
    if (a !== null && (a.broken || (a.size > 0 && a.size + n > this.p.thresholdBytes) || (a.mapped && n > a.free))) {
      // One commit for the sealed segment and its successor (each commit fsyncs CURRENT).
      this.seal(false);
      this.commitPending = true;
      a = null;
    }
    if (a === null) a = this.startSegment(n);
    return a;
  }

  /** Creates a new active segment with room for `need` bytes, and commits it (so a reopen finds it). */
  private startSegment(need: number): ActiveSegment {
    const slot = this.sealed.allocSlot();
    const cap = Math.max(this.p.thresholdBytes, need);
    const buf = this.p.mmap ? null : (this.spare ?? Buffer.allocUnsafe(this.p.thresholdBytes));
    let seg: ActiveSegment;
    try {
      seg = ActiveSegment.create(this.ctx.dir, this.newName(0), slot, buf, cap);
    } catch (e) {
      this.sealed.freeSlot(slot);
      throw e;
    }
    this.spare = null;
    this.active = seg;
    try {
      this.commit();
    } catch (e) {
      // Not committed: a reopen would not find it, so it must not take sets.
      this.active = null;
      seg.close();
      this.sealed.freeSlot(slot);
      if (buf !== null) this.spare = buf;
      throw e;
    }
    return seg;
  }

  /**
   * Seals the active segment: fsync (or a clean copy if broken), hint, level 0, commit. On
   * failure before the commit nothing changes; the segment stays active (and is broken if its
   * file may now differ from memory).
   */
  private seal(commit = true): void {
    const a = this.active!;
    if (a.size === 0) {
      this.dropEmptyActive();
      return;
    }
    // With background merges the fsync is the worker's (sealed-files.ts add): not the caller's wait.
    const sync = this.p.merges === 'foreground';
    const name = a.seal(this.ctx.dir, a.broken ? this.newName(0) : a.name, sync);
    this.sealed.add(name, 0, a.slot, a.buf.subarray(0, a.size), !sync);
    a.close();
    this.active = null;
    // The older recent buffer is recycled for the next segment (if it is the usual size).
    const old = this.recent;
    this.recent = { name, slot: a.slot, buf: a.buf, size: a.size, mapped: a.mapped };
    if (old) this.recycle(old.buf, old.mapped);
    this.counters.seals++;
    this.mergeWanted = true;
    if (this.p.compaction) this.compactRecent();
    if (commit) this.commit();
  }

  /**
   * Compaction (thesis §3.3) of the segment just sealed, right away: its output takes the next
   * generation, and age order within a level is generation order, so it must be written before
   * the next segment is started. (Deferred to the next set, it was newer than that segment: a
   * key set again there came back with its older value after a reopen.) A failure is counted,
   * not thrown: the sealed segment simply stays as it is.
   */
  private compactRecent(): void {
    const r = this.recent;
    if (r === null || this.sealed.fileAt(r.slot)?.name !== r.name) return;
    try {
      this.sealed.compact(r.name, this.index);
    } catch (e) {
      this.counters.mergeFailures++;
      if (e instanceof CorruptionError) this.ctx.onCorruption?.(e);
    } finally {
      this.dropStaleRecent();
    }
  }

  /** The recent buffer is valid only while its file still holds that slot. */
  private dropStaleRecent(): void {
    const r = this.recent;
    if (r !== null && this.sealed.fileAt(r.slot)?.name !== r.name) {
      this.recycle(r.buf, r.mapped);
      this.recent = null;
    }
  }

  /**
   * Keeps a segment's memory copy for the next segment, if it is the usual size and no other is
   * kept. A mapped buffer is that file's own pages, never reused.
   */
  private recycle(buf: Buffer, mapped: boolean): void {
    if (!mapped && buf.length === this.p.thresholdBytes && this.spare === null) this.spare = buf;
  }

  /** Drops an active segment without records from the committed set. */
  private dropEmptyActive(): void {
    const a = this.active!;
    a.close();
    this.active = null;
    this.sealed.freeSlot(a.slot);
    this.recycle(a.buf, a.mapped);
    this.commit();
  }

  /**
   * The one place merges start: every level that is full, cascading (compaction runs at the seal,
   * see compactRecent). A failure is counted (and reported if corruption), not thrown: the set
   * that triggered it is already durable, and the inputs stay in place.
   */
  private runDueMerges(): void {
    this.mergeWanted = false;
    try {
      if (this.sealed.mergeStep(this.index)) this.commit();
    } catch (e) {
      this.counters.mergeFailures++;
      if (e instanceof CorruptionError) this.ctx.onCorruption?.(e);
    } finally {
      this.dropStaleRecent();
    }
  }

  private newName(level: number): string {
    return fileName(`L${level}`, this.ctx.nextGeneration(), EXT);
  }

  /** Commits sealed files + the active segment, with the hints as optional files. */
  private commit(): void {
    const files = this.sealed.names();
    if (this.active) files.push(this.active.name);
    const meta: AppendLogMeta = { format: 1, files: this.sealed.meta(), active: this.active?.name ?? null };
    this.commitPending = true;
    this.ctx.commit({ files, meta: meta as unknown as Record<string, unknown>, optional: this.sealed.hintNames() });
    this.commitPending = false;
  }

  private closeFiles(): void {
    this.active?.close();
    this.active = null;
    this.recent = null;
    this.sealed.close();
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** Whether the record at `off` of an in-memory segment has key `key` (our own bytes: no checksum pass). */
function keyAt(buf: Buffer, off: number, key: Uint8Array): boolean {
  let p = off;
  let len = buf[p++]!;
  if (len >= 0x80) {
    len &= 0x7f;
    let shift = 7;
    let x: number;
    do {
      x = buf[p++]!;
      len |= (x & 0x7f) << shift;
      shift += 7;
    } while (x >= 0x80);
  }
  if (len !== key.length) return false;
  for (let i = 0; i < len; i++) if (buf[p + i] !== key[i]) return false;
  return true;
}

/** A copy of the value of the record at `off` of an in-memory segment. */
function valueAt(buf: Buffer, off: number): Uint8Array {
  let p = off;
  let keyLen = 0;
  for (let shift = 0; ; shift += 7) {
    const x = buf[p++]!;
    keyLen += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) break;
  }
  p += keyLen;
  let valueLen = 0;
  for (let shift = 0; ; shift += 7) {
    const x = buf[p++]!;
    valueLen += (x & 0x7f) * 2 ** shift;
    if (x < 0x80) break;
  }
  return copyOut(buf, p, valueLen);
}

/** Checks the committed metadata against the file list; CorruptionError names CURRENT if it is off. */
function parseMeta(dir: string, state: FileSet): AppendLogMeta | null {
  const m = state.meta as Partial<AppendLogMeta>;
  if (state.files.length === 0 && m.files === undefined) return null;
  const bad = (why: string): CorruptionError => new CorruptionError(path.join(dir, 'CURRENT'), -1, `AppendLog metadata ${why}`);
  if (m.format !== 1 || !Array.isArray(m.files)) throw bad('is missing or of an unknown format');
  const files = new Set(state.files);
  for (const f of m.files) {
    if (typeof f?.name !== 'string' || !Number.isSafeInteger(f.level) || f.level < 0) throw bad('lists a malformed file');
    if (!files.has(f.name)) throw bad(`names file ${f.name}, which the file set lacks`);
  }
  if (m.active !== null && m.active !== undefined && (typeof m.active !== 'string' || !files.has(m.active))) throw bad('names an active segment the file set lacks');
  return { format: 1, files: m.files, active: m.active ?? null };
}

/** Registration of the AppendLog engine. */
export const appendlog: EngineDefinition<AppendLogParams> = {
  name: 'appendlog',
  params: appendLogParams,
  async open(ctx, params, state) {
    const e = new AppendLogEngine(ctx, params);
    e.load(state);
    return e;
  },
};
