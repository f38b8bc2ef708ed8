// Why: the LSM tree of the thesis — the engine with the smallest memory footprint and the fastest
// recovery. Sets go to a memtable; a full memtable becomes an immutable sorted run in level 0;
// `maxRunsPerLevel` runs of a level are merged into one run of the next level (tiering,
// cascading). Only each run's fences and Bloom filter stay in memory, so a million keys cost a
// few bytes each, and reopening reads footers and index blocks, never the records. Gets look in
// the memtable, then in runs from newest to oldest (level ascending, generation descending —
// every run of a level is newer than every run of the level below, since a level is always
// merged whole).
//
// Durability: runs are sealed (fsync + rename) and committed through ctx.commit. Without the WAL
// (the default) a reopen from the local directory — after a crash or a close() — returns the
// state of the last snapshot (or restore), exactly, like MemOnly: the committed set keeps that
// snapshot's runs (`base`) alive next to the current ones. For a dataflow worker that is the
// consistent point to resume from; a state "as of some flush" would match no checkpoint. With
// `wal: true` every set is in the log before it returns, and a reopen replays the log on top of
// the current runs: nothing acknowledged is lost.
//
// Merges run inside the set() that fills the memtable (and inside snapshot()); they are not
// (yet) incremental, so a set that triggers a cascade pays for it.

import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from '../engine.js';
import { CorruptionError } from '../errors.js';
import { fileName } from '../file-names.js';
import { rec } from '../record.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../validate.js';
import { bloomHash } from './bloom-filter.js';
import { mergeRuns } from './merge.js';
import { Memtable } from './memtable.js';
import { type LsmParams, lsmParams } from './params.js';
import { type ProbeCounters, RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import { Wal } from './wal.js';

/** One run in the committed metadata. */
export interface LsmRunMeta {
  /** File name. */
  name: string;
  /** Level (0 = freshest). */
  level: number;
}

/** The metadata the LSM commits with its file set (and that snapshots carry). */
export interface LsmMeta {
  /** Metadata format. */
  format: 1;
  /** Every run, in search order (newest first). */
  runs: LsmRunMeta[];
  /** The write-ahead log being appended to, or null (always null in a snapshot). */
  wal: string | null;
  /**
   * Without a WAL: the runs of the last snapshot/restore/open, which a reopen loads instead of
   * `runs`. Null with a WAL, and in snapshots (there `runs` is the snapshot).
   */
  base?: LsmRunMeta[] | null;
}

/** Orders runs for search: level ascending, then generation descending (newest first). */
function searchOrder(a: RunReader, b: RunReader): number {
  return a.level - b.level || b.gen - a.gen;
}

/** The LSM-tree engine. */
export class LsmEngine implements Engine {
  private readonly mem: Memtable;
  private runs: RunReader[] = [];
  private wal: Wal | null = null;
  /** Without WAL: the runs a reopen must load (see LsmMeta.base); null with a WAL. */
  private base: LsmRunMeta[] | null = null;
  /** The log failed a write (or could not be replaced): the next set starts a new one first. */
  private walBroken = false;
  private readonly probes: ProbeCounters = { negatives: 0, falsePositives: 0, hits: 0 };
  private flushes = 0;
  private merges = 0;
  private mergeFailures = 0;
  private walReplayed = 0;
  private readonly maxLen: number;

  constructor(private readonly ctx: EngineContext, private readonly p: LsmParams) {
    this.maxLen = Math.max(65_535, ctx.maxValueBytes, DEFAULT_MAX_VALUE_BYTES);
    this.mem = new Memtable(p.memtableBytesLimit);
  }

  /** Loads `state` (footers, fences and filters of its runs; replays its WAL) and prepares the log. */
  load(state: FileSet | null): void {
    const meta = state ? parseMeta(this.ctx.dir, state) : null;
    try {
      if (meta) {
        // With a log, the current runs plus the log are the state; without, the base runs are.
        const load = meta.wal ? meta.runs : (meta.base ?? meta.runs);
        for (const r of load) this.runs.push(RunReader.open(this.ctx.dir, r.name, r.level));
        this.runs.sort(searchOrder);
        if (meta.wal) {
          const r = Wal.replay(this.ctx.dir, meta.wal, this.maxLen, (buf) => {
            this.mem.set(buf.subarray(rec.keyStart, rec.keyStart + rec.keyLen), buf.subarray(rec.valueStart, rec.valueStart + rec.valueLen));
          });
          this.walReplayed = r.records;
        }
      }
      // A replayed log becomes a run right away, and a new log starts: appending after a torn
      // tail, or to a file we did not create in this process, is never needed.
      if (this.mem.size > 0) {
        this.flush();
        this.safeMerge();
      } else if (this.p.wal) {
        this.rotateWal();
      }
      if (!this.p.wal) {
        // What was just loaded is what the next reopen returns, until the next snapshot; the
        // commit also drops an old log and runs newer than the base.
        this.base = this.runMeta(this.runs);
        if (meta) this.commit(this.runs, null);
      }
    } catch (e) {
      this.closeFiles();
      throw e;
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const m = this.mem.get(key);
    if (m !== undefined) return m.length === 0 ? undefined : m;
    const runs = this.runs;
    if (runs.length === 0) return undefined;
    const h = bloomHash(key);
    for (let i = 0; i < runs.length; i++) {
      const v = runs[i]!.get(key, h, this.probes);
      if (v !== undefined) return v.length === 0 ? undefined : v;
    }
    return undefined;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    // Flush before inserting, so a failed flush throws with nothing changed.
    if (this.walBroken || this.mem.full) {
      this.flush();
      this.safeMerge();
    }
    if (this.wal !== null) {
      try {
        this.wal.append(key, value);
      } catch (e) {
        this.walBroken = true;
        throw e;
      }
    }
    this.mem.set(key, value); // copies
  }

  async checkpoint(): Promise<FileSet> {
    if (this.mem.size > 0 || this.walBroken) {
      this.flush();
      this.safeMerge();
    }
    if (!this.p.wal) {
      const base = this.runMeta(this.runs);
      const old = this.base;
      if (!old || old.length !== base.length || old.some((r, i) => r.name !== base[i]!.name)) {
        this.base = base;
        try {
          this.commit(this.runs, null);
        } catch (e) {
          this.base = old;
          throw e;
        }
      }
    }
    const meta: LsmMeta = { format: 1, runs: this.runMeta(this.runs), wal: null };
    return { files: this.runs.map((r) => r.name), meta: meta as unknown as Record<string, unknown> };
  }

  keyCount(): number {
    return -1;
  }

  memoryBytes(): number {
    let n = this.mem.memoryBytes;
    for (const r of this.runs) n += r.memoryBytes;
    return n;
  }

  stats(): EngineStats {
    let fenceBytes = 0;
    let filterBytes = 0;
    let diskBytes = 0;
    const runsPerLevel: number[] = [];
    for (const r of this.runs) {
      fenceBytes += r.fences.bytes;
      filterBytes += r.bloom.bytes;
      diskBytes += r.size;
      while (runsPerLevel.length <= r.level) runsPerLevel.push(0);
      runsPerLevel[r.level]!++;
    }
    return {
      memtableBytes: this.mem.bytes,
      memtableEntries: this.mem.size,
      fenceBytes,
      filterBytes,
      runsPerLevel,
      diskBytes: diskBytes + (this.wal?.size ?? 0),
      walBytes: this.wal?.size ?? 0,
      bloomNegatives: this.probes.negatives,
      bloomFalsePositives: this.probes.falsePositives,
      bloomHits: this.probes.hits,
      flushes: this.flushes,
      merges: this.merges,
      mergeFailures: this.mergeFailures,
      walRecordsReplayed: this.walReplayed,
    };
  }

  async close(): Promise<void> {
    // The memtable is not flushed here: the shell also closes an engine it is about to replace by
    // a restore, and a commit at that moment would sweep the files the restore just fetched.
    this.closeFiles();
    this.mem.clear();
  }

  /** Writes the memtable as a level-0 run, starts a new WAL, commits; the memtable is then empty. */
  private flush(): void {
    if (this.mem.size === 0) {
      this.rotateWal();
      return;
    }
    const name = fileName('L0', this.ctx.nextGeneration(), 'run');
    // With no run on disk, a deletion hides nothing: leave it out.
    const dropDeletions = this.runs.length === 0;
    const w = new RunWriter(this.ctx.dir, name, this.p.densityFactor, this.p.bloomFalsePositiveRate);
    let reader: RunReader | null = null;
    let wal: Wal | null = null;
    try {
      const mem = this.mem;
      const arena = mem.values;
      for (const slot of mem.sortedSlots()) {
        const len = mem.lengthOf(slot);
        if (len === 0 && dropDeletions) continue;
        w.addStringKey(mem.keyOfSlot(slot), arena, mem.offsetOf(slot), len);
      }
      if (w.records > 0) {
        w.finish();
        reader = RunReader.open(this.ctx.dir, name, 0);
      } else {
        w.abort();
      }
      if (this.p.wal) wal = Wal.create(this.ctx.dir, fileName('wal', this.ctx.nextGeneration(), 'log'));
      const runs = reader ? [reader, ...this.runs].sort(searchOrder) : this.runs;
      this.commit(runs, wal);
      this.runs = runs;
    } catch (e) {
      w.abort();
      reader?.close();
      wal?.close();
      if (this.p.wal) this.walBroken = true;
      throw e;
    }
    this.wal?.close();
    this.wal = wal;
    this.walBroken = false;
    this.mem.clear();
    this.flushes++;
  }

  /** Starts a new, empty WAL (if enabled) and commits the set with it. */
  private rotateWal(): void {
    const wal = this.p.wal ? Wal.create(this.ctx.dir, fileName('wal', this.ctx.nextGeneration(), 'log')) : null;
    try {
      this.commit(this.runs, wal);
    } catch (e) {
      wal?.close();
      throw e;
    }
    this.wal?.close();
    this.wal = wal;
    this.walBroken = false;
  }

  /** Runs due merges; a failure is counted (and reported if it is corruption), not thrown. */
  private safeMerge(): void {
    try {
      this.mergeDue();
    } catch (e) {
      this.mergeFailures++;
      if (e instanceof CorruptionError) this.ctx.onCorruption?.(e);
    }
  }

  /** Merges every level that holds maxRunsPerLevel runs into the next, cascading downward. */
  private mergeDue(): void {
    for (let level = 0; ; level++) {
      let deepest = -1;
      const inputs: RunReader[] = [];
      for (const r of this.runs) {
        if (r.level === level) inputs.push(r); // already newest first
        if (r.level > deepest) deepest = r.level;
      }
      if (level > deepest) return;
      if (inputs.length < this.p.maxRunsPerLevel) continue;
      const outName = fileName(`L${level + 1}`, this.ctx.nextGeneration(), 'run');
      const written = mergeRuns(inputs, {
        dir: this.ctx.dir,
        outName,
        densityFactor: this.p.densityFactor,
        falsePositiveRate: this.p.bloomFalsePositiveRate,
        dropTombstones: deepest === level, // nothing older below the output
        maxLen: this.maxLen,
      });
      const out = written ? RunReader.open(this.ctx.dir, outName, level + 1) : null;
      const runs = this.runs.filter((r) => r.level !== level);
      if (out) runs.push(out);
      runs.sort(searchOrder);
      try {
        this.commit(runs, this.wal);
      } catch (e) {
        out?.close();
        throw e;
      }
      this.runs = runs;
      for (const r of inputs) r.close();
      this.merges++;
    }
  }

  private runMeta(runs: readonly RunReader[]): LsmRunMeta[] {
    return runs.map((r) => ({ name: r.name, level: r.level }));
  }

  /** Commits `runs` + `wal` as the live set; the base runs (no-WAL mode) stay referenced too. */
  private commit(runs: readonly RunReader[], wal: Wal | null): void {
    const files = new Set(runs.map((r) => r.name));
    if (this.base) for (const r of this.base) files.add(r.name);
    if (wal) files.add(wal.name);
    const meta: LsmMeta = { format: 1, runs: this.runMeta(runs), wal: wal?.name ?? null, base: this.base };
    this.ctx.commit({ files: [...files], meta: meta as unknown as Record<string, unknown> });
  }

  private closeFiles(): void {
    this.wal?.close();
    this.wal = null;
    for (const r of this.runs) r.close();
    this.runs = [];
  }
}

/** Checks the committed metadata against the file list; CorruptionError names CURRENT if it is off. */
function parseMeta(dir: string, state: FileSet): LsmMeta | null {
  const m = state.meta as Partial<LsmMeta>;
  if (state.files.length === 0 && m.runs === undefined) return null;
  const bad = (why: string): CorruptionError => new CorruptionError(path.join(dir, 'CURRENT'), -1, `LSM metadata ${why}`);
  if (m.format !== 1 || !Array.isArray(m.runs)) throw bad('is missing or of an unknown format');
  const files = new Set(state.files);
  for (const r of m.runs) {
    if (typeof r?.name !== 'string' || !Number.isSafeInteger(r.level) || r.level < 0) throw bad('lists a malformed run');
    if (!files.has(r.name)) throw bad(`names run ${r.name}, which the file set lacks`);
  }
  if (m.wal !== null && m.wal !== undefined && (typeof m.wal !== 'string' || !files.has(m.wal))) throw bad('names a WAL the file set lacks');
  if (m.base !== null && m.base !== undefined) {
    if (!Array.isArray(m.base)) throw bad('has a malformed base');
    for (const r of m.base) {
      if (typeof r?.name !== 'string' || !Number.isSafeInteger(r.level) || r.level < 0) throw bad('lists a malformed base run');
      if (!files.has(r.name)) throw bad(`names base run ${r.name}, which the file set lacks`);
    }
  }
  return { format: 1, runs: m.runs, wal: m.wal ?? null, base: m.base ?? null };
}

/** Registration of the LSM engine. */
export const lsm: EngineDefinition<LsmParams> = {
  name: 'lsm',
  params: lsmParams,
  async open(ctx, params, state) {
    const e = new LsmEngine(ctx, params);
    e.load(state);
    return e;
  },
};
