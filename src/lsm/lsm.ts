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
// Merges (`merges: 'background'`, the default) run in a worker thread (../worker-pool.ts): the main
// thread hands over the names of a full level's runs and goes on serving sets and gets from them;
// the worker writes the merged run under a temp name, seals and checks it. The next set that
// finds the job done installs it: renames the output into place, swaps the run
// list and commits — so installing, like flushing, happens only inside an engine call and never
// during a restore (the shell blocks calls then, and close() cancels the job). A snapshot taken
// meanwhile lists the inputs; the inputs' files stay committed until the output replaces them.
// One merge runs at a time, lowest full level first. If writes outrun merging, levels grow past
// maxRunsPerLevel up to maxRunsBeforeStall; then the set that flushed waits (stats: mergeStalls,
// mergeStallMs). Without a WAL, a full memtable is flushed the same way: it becomes read-only
// (gets still read it), a second worker writes it as a level-0 run, and a fresh memtable takes the
// sets; the set that fills the next one while the first is still being written waits for it
// (flushStalls). With a WAL the flush stays inline (it also switches logs; see freeze()).
// `merges: 'foreground'` keeps the thesis' behaviour — the set that fills a level
// merges it, cascading — so the two can be measured side by side (bench/merge-latency.ts).

import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from '../engine.js';
import { CorruptionError } from '../errors.js';
import { fileName } from '../file-names.js';
import { rec } from '../record.js';
import { DEFAULT_MAX_VALUE_BYTES } from '../validate.js';
import { bloomHash } from './bloom-filter.js';
import { renameSync } from '../io.js';
import { mergeRuns } from './merge.js';
import { type MergeTicket, prestartWorker, startJob } from '../worker-pool.js';
import type { FlushJobSpec, MergeJobSpec, MergedRunParts } from '../worker-protocol.js';
import { Memtable, writePacked } from './memtable.js';
import { type LsmParams, lsmParams } from './params.js';
import { type ProbeCounters, RunReader } from './run-reader.js';
import fs from 'node:fs';
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

/** A background merge in flight: its worker ticket and the runs it replaces. */
interface MergeJob {
  ticket: MergeTicket<MergeJobSpec>;
  /** Level of the inputs (the output goes one level down). */
  level: number;
  inputs: RunReader[];
}

/** Orders runs for search: level ascending, then generation descending (newest first). */
function searchOrder(a: RunReader, b: RunReader): number {
  return a.level - b.level || b.gen - a.gen;
}

/** The LSM-tree engine. */
export class LsmEngine implements Engine {
  private mem: Memtable;
  /**
   * Background flushes (background merges without a WAL): the full memtable a worker is writing
   * as a level-0 run — gets read it until the run is installed — and the job doing it.
   */
  private imm: Memtable | null = null;
  private immJob: MergeTicket<FlushJobSpec> | null = null;
  /** A cleared memtable kept for the next swap (its arena is reused). */
  private spare: Memtable | null = null;
  private readonly asyncFlush: boolean;
  private flushStalls = 0;
  private flushStallMs = 0;
  private flushFallbacks = 0;
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
  /** The background merge in flight, or null (always null in foreground mode). */
  private job: MergeJob | null = null;
  /** Set at open: levels may be due for a merge (one cancelled by a close, or a crash). */
  private recheckMerges = false;
  private mergesCancelled = 0;
  private mergeMsTotal = 0;
  private mergeMsMax = 0;
  private stalls = 0;
  private stallMs = 0;
  private stallMsMax = 0;
  private flushMsTotal = 0;
  private flushMsMax = 0;

  constructor(private readonly ctx: EngineContext, private readonly p: LsmParams) {
    this.maxLen = Math.max(65_535, ctx.maxValueBytes, DEFAULT_MAX_VALUE_BYTES);
    this.mem = new Memtable(p.memtableBytesLimit);
    // With a WAL, a flush also starts the next log, and the log being replaced must stay until
    // the run is installed: that needs two logs in the committed metadata, so it stays inline.
    this.asyncFlush = p.merges === 'background' && !p.wal;
    if (p.merges === 'background') prestartWorker('merge');
    if (this.asyncFlush) prestartWorker('flush');
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
        if (this.p.merges === 'foreground') this.safeMerge();
      } else if (this.p.wal) {
        this.rotateWal();
      }
      if (!this.p.wal) {
        // What was just loaded is what the next reopen returns, until the next snapshot; the
        // commit also drops an old log and runs newer than the base.
        this.base = this.runMeta(this.runs);
        if (meta) this.commit(this.runs, null);
      }
      // A close may have cancelled merges that were due: the first set or snapshot starts them
      // (not open itself: a store opened only to be read, or to be checked, starts no work).
      this.recheckMerges = true;
    } catch (e) {
      this.closeFiles();
      throw e;
    }
  }

  get(key: Uint8Array): Uint8Array | undefined {
    // Gets install a finished merge too: after a burst of writes, a phase of reads would otherwise
    // keep probing every input run (10 level-0 runs after a 1M-key load here) until the next set.
    if (this.job !== null && this.job.ticket.done) this.finishJob();
    const m = this.mem.get(key);
    if (m !== undefined) return m.length === 0 ? undefined : m;
    if (this.imm !== null) {
      const f = this.imm.get(key);
      if (f !== undefined) return f.length === 0 ? undefined : f;
    }
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
    // A finished background merge is installed by the first set or get that sees it (one atomic load).
    if (this.job !== null && this.job.ticket.done) this.finishJob();
    if (this.imm !== null && (this.immJob === null || this.immJob.done)) this.finishFlush();
    if (this.recheckMerges) {
      this.recheckMerges = false;
      this.afterFlush();
    }
    // Flush before inserting, so a failed flush throws with nothing changed.
    if (this.walBroken || this.mem.full) {
      if (this.asyncFlush) {
        // While the previous memtable is still being written, this one may grow to twice its
        // limit before a set waits for that flush: a flush slowed down by a busy machine then
        // costs memory, not latency.
        if (this.imm === null || this.walBroken || this.mem.fullBy(2)) this.freeze();
      } else {
        this.flush();
        this.afterFlush();
      }
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
    // A running merge is neither waited for nor installed here: the snapshot lists its inputs,
    // which is as consistent, and a snapshot with no sets since the last one stays the same file
    // set (nothing to push). Sets and gets install merges.
    if (this.recheckMerges && this.p.merges === 'background') {
      this.recheckMerges = false;
      this.startDueMerge();
    }
    // A frozen memtable's run must be in the snapshot: wait for its flush (sets may go on meanwhile
    // and freeze the next one, hence the loop).
    while (this.imm !== null) {
      if (this.immJob !== null && !this.immJob.done) await new Promise((r) => setTimeout(r, 1));
      else this.finishFlush();
    }
    if (this.mem.size > 0 || this.walBroken) {
      this.flush();
      this.afterFlush();
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
    let n = this.mem.memoryBytes + (this.imm?.memoryBytes ?? 0) + (this.spare?.memoryBytes ?? 0);
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
      frozenMemtableBytes: this.imm?.bytes ?? 0,
      fenceBytes,
      filterBytes,
      runsPerLevel,
      diskBytes: diskBytes + (this.wal?.size ?? 0),
      walBytes: this.wal?.size ?? 0,
      bloomNegatives: this.probes.negatives,
      bloomFalsePositives: this.probes.falsePositives,
      bloomHits: this.probes.hits,
      flushes: this.flushes,
      flushMsTotal: this.flushMsTotal,
      flushMsMax: this.flushMsMax,
      flushStalls: this.flushStalls,
      flushStallMs: this.flushStallMs,
      flushFallbacks: this.flushFallbacks,
      merges: this.merges,
      mergeFailures: this.mergeFailures,
      mergeMode: this.p.merges,
      mergeInFlight: this.job === null ? -1 : this.job.level,
      mergesCancelled: this.mergesCancelled,
      mergeMsTotal: this.mergeMsTotal,
      mergeMsMax: this.mergeMsMax,
      mergeStalls: this.stalls,
      mergeStallMs: this.stallMs,
      mergeStallMsMax: this.stallMsMax,
      walRecordsReplayed: this.walReplayed,
    };
  }

  async close(): Promise<void> {
    // The memtable is not flushed here: the shell also closes an engine it is about to replace by
    // a restore, and a commit at that moment would sweep the files the restore just fetched. For
    // the same reason a running merge is cancelled, not installed: the worker stops at its next
    // check (or finishes sealing), and its temp output is removed. Its inputs stay readable (their
    // descriptors are the worker's own) until then.
    const immJob = this.immJob;
    this.immJob = null;
    this.imm = null;
    if (immJob !== null) {
      immJob.stop();
      while (!immJob.done) await new Promise((r) => setTimeout(r, 1));
      const r = immJob.take();
      if (r.ok && r.run) discard(r.run);
    }
    const job = this.job;
    this.job = null;
    if (job !== null) {
      job.ticket.stop();
      while (!job.ticket.done) await new Promise((r) => setTimeout(r, 1));
      const r = job.ticket.take();
      if (r.ok && r.run) discard(r.run);
      this.noteMergeTime(r.ms);
      this.mergesCancelled++;
    }
    this.closeFiles();
    this.mem.clear();
  }

  /**
   * Writes `mem` (the memtable, or a frozen one whose background flush failed) as a level-0 run,
   * starts a new WAL, commits; `mem` is then empty.
   */
  private flush(mem: Memtable = this.mem): void {
    if (mem.size === 0) {
      this.rotateWal();
      return;
    }
    const t0 = performance.now();
    const name = fileName('L0', this.ctx.nextGeneration(), 'run');
    // With no run on disk, a deletion hides nothing: leave it out.
    const dropDeletions = this.runs.length === 0;
    const w = new RunWriter(this.ctx.dir, name, this.p.densityFactor, this.p.bloomFalsePositiveRate);
    let reader: RunReader | null = null;
    let wal: Wal | null = null;
    try {
      writePacked(mem.pack(), w, dropDeletions);
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
    mem.clear();
    this.flushes++;
    this.noteFlushTime(performance.now() - t0);
  }

  private noteFlushTime(ms: number): void {
    this.flushMsTotal += ms;
    if (ms > this.flushMsMax) this.flushMsMax = ms;
  }

  /**
   * Background flush: the full memtable becomes read-only (gets still read it) and a worker writes
   * it as a level-0 run; sets go on into a fresh memtable. The main thread only copies the
   * entries into flat arrays (Memtable.pack, a few ms for 4 MiB). If the previous one is still
   * being written (and this one reached twice the limit), this set waits for it first (counted
   * in flushStalls / flushStallMs).
   */
  private freeze(): void {
    if (this.imm !== null) {
      const t0 = performance.now();
      this.flushStalls++;
      this.finishFlush();
      this.flushStallMs += performance.now() - t0;
    }
    if (this.mem.size === 0) return;
    const imm = this.mem;
    this.immJob = startJob({
      kind: 'flush',
      dir: this.ctx.dir,
      outName: fileName('L0', this.ctx.nextGeneration(), 'run'),
      level: 0,
      densityFactor: this.p.densityFactor,
      falsePositiveRate: this.p.bloomFalsePositiveRate,
      // With no run on disk, a deletion hides nothing; no run can appear before this one lands.
      dropDeletions: this.runs.length === 0,
      entries: imm.pack(),
    });
    this.imm = imm;
    this.mem = this.spare ?? new Memtable(this.p.memtableBytesLimit);
    this.spare = null;
  }

  /**
   * Takes the frozen memtable's flush result (waiting if needed) and installs the run; if the
   * worker failed, or its run could not be installed, writes the memtable here instead — and if
   * that fails too, throws with the frozen memtable still serving reads (the next set retries).
   */
  private finishFlush(): void {
    const imm = this.imm!;
    const ticket = this.immJob;
    this.immJob = null;
    let installed = false;
    if (ticket !== null) {
      const r = ticket.take();
      if (r.ok) {
        try {
          this.installFlush(ticket.spec.outName, r.run);
          this.noteFlushTime(r.ms);
          installed = true;
        } catch { /* written again below */ }
      }
      if (!installed) this.flushFallbacks++;
    }
    if (!installed) this.flush(imm);
    imm.clear();
    this.spare = imm;
    this.imm = null;
    this.afterFlush();
  }

  /** Puts a background flush's run (null: nothing to write) at the head of level 0 and commits. */
  private installFlush(outName: string, run: MergedRunParts | null): void {
    let out: RunReader | null = null;
    if (run) {
      try {
        renameSync(run.tmp, path.join(this.ctx.dir, outName));
      } catch (e) {
        discard(run);
        throw e;
      }
      out = openMerged(this.ctx.dir, outName, 0, run);
    }
    const runs = out ? [out, ...this.runs].sort(searchOrder) : this.runs;
    try {
      this.commit(runs, this.wal);
    } catch (e) {
      out?.close(); // in no committed set: the next sweep removes the file
      throw e;
    }
    this.runs = runs;
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

  /** After a new run appeared: merge now (foreground), or start due merges and apply back-pressure. */
  private afterFlush(): void {
    if (this.p.merges === 'foreground') {
      this.safeMerge();
      return;
    }
    this.startDueMerge();
    // Back-pressure: while some level holds maxRunsBeforeStall runs, this call blocks on the
    // running merge (Atomics.wait inside take()), installs it and starts the next due one —
    // synchronously, since set() cannot await. A failed merge ends the wait (no job left), so a
    // persistent failure degrades reads instead of hanging writes.
    if (this.job === null || !this.overStallLimit()) return;
    const t0 = performance.now();
    this.stalls++;
    while (this.job !== null && this.overStallLimit()) this.finishJob();
    const ms = performance.now() - t0;
    this.stallMs += ms;
    if (ms > this.stallMsMax) this.stallMsMax = ms;
  }

  /** True when some level holds maxRunsBeforeStall runs or more. */
  private overStallLimit(): boolean {
    const limit = this.p.maxRunsBeforeStall;
    let level = -1;
    let n = 0;
    for (const r of this.runs) {
      // Runs are sorted by level, so each level's runs are contiguous.
      if (r.level !== level) {
        level = r.level;
        n = 0;
      }
      if (++n >= limit) return true;
    }
    return false;
  }

  /** Hands the lowest level holding maxRunsPerLevel runs to the merge worker, if none is running. */
  private startDueMerge(): void {
    if (this.job !== null) return;
    let deepest = -1;
    for (const r of this.runs) if (r.level > deepest) deepest = r.level;
    for (let level = 0; level <= deepest; level++) {
      const inputs = this.runs.filter((r) => r.level === level); // newest first
      if (inputs.length < this.p.maxRunsPerLevel) continue;
      const ticket = startJob({
        kind: 'merge',
        dir: this.ctx.dir,
        outName: fileName(`L${level + 1}`, this.ctx.nextGeneration(), 'run'),
        level: level + 1,
        inputs: inputs.map((r) => ({ name: r.name, dataEnd: r.footer.dataEnd })),
        densityFactor: this.p.densityFactor,
        falsePositiveRate: this.p.bloomFalsePositiveRate,
        // Only one merge runs at a time, so nothing can appear below the output meanwhile.
        dropTombstones: deepest === level,
        maxLen: this.maxLen,
      });
      this.job = { ticket, level, inputs };
      return;
    }
  }

  /**
   * Takes the background merge's result (waiting if it is still running) and installs it: rename
   * the output into place, swap the inputs for it in the run list, commit. A failure is counted
   * (and reported if it is corruption), never thrown: the inputs simply stay. On success the next
   * due merge starts; after a failure the next flush retries.
   */
  private finishJob(): void {
    const job = this.job!;
    this.job = null;
    const r = job.ticket.take();
    this.noteMergeTime(r.ms);
    if (!r.ok) {
      this.mergeFailures++;
      if (r.corruption) this.ctx.onCorruption?.(new CorruptionError(r.corruption.file, r.corruption.offset, r.corruption.detail));
      return;
    }
    try {
      this.install(job, r.run);
    } catch (e) {
      this.mergeFailures++;
      if (e instanceof CorruptionError) this.ctx.onCorruption?.(e);
      return;
    }
    this.startDueMerge();
  }

  /** Replaces `job.inputs` by `run` (null: nothing survived the merge) and commits. */
  private install(job: MergeJob, run: MergedRunParts | null): void {
    // The inputs must all still be live; anything else would make the output stale.
    for (const r of job.inputs) {
      if (!this.runs.includes(r)) {
        if (run) discard(run);
        throw new Error('merge inputs are no longer live; output discarded');
      }
    }
    const outName = job.ticket.spec.outName;
    let out: RunReader | null = null;
    if (run) {
      try {
        // Until this rename the output is a temp file no sweep touches and no open trusts; the
        // commit's directory fsync makes the rename durable together with the new file set.
        renameSync(run.tmp, path.join(this.ctx.dir, outName));
      } catch (e) {
        discard(run);
        throw e;
      }
      out = openMerged(this.ctx.dir, outName, job.level + 1, run);
    }
    const runs = this.runs.filter((r) => !job.inputs.includes(r));
    if (out) runs.push(out);
    runs.sort(searchOrder);
    try {
      this.commit(runs, this.wal);
    } catch (e) {
      out?.close(); // the renamed file is in no committed set: the next sweep removes it
      throw e;
    }
    this.runs = runs;
    // The commit's sweep is unlinking the inputs: the last close would free their blocks here.
    for (const r of job.inputs) r.closeInBackground();
    this.merges++;
  }

  /** Adds one merge's duration (worker time for background merges) to the stats. */
  private noteMergeTime(ms: number): void {
    this.mergeMsTotal += ms;
    if (ms > this.mergeMsMax) this.mergeMsMax = ms;
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
      const t0 = performance.now();
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
      this.noteMergeTime(performance.now() - t0);
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

/** Drops a merge output that will not be installed: its temp file. */
function discard(run: MergedRunParts): void {
  try { fs.unlinkSync(run.tmp); } catch { /* gone; a leftover temp file is removed at open */ }
}

/** Opens an installed merge output with the index block the worker read and checked. */
function openMerged(dir: string, name: string, level: number, run: MergedRunParts): RunReader {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== run.size) throw new CorruptionError(file, -1, `merged run has ${size} bytes, the merge wrote ${run.size}`);
    return RunReader.fromParts(dir, name, level, { fd, size, footer: run.footer, block: run.block });
  } catch (e) {
    fs.closeSync(fd);
    throw e;
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
