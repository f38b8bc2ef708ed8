// Why: a merge of big runs takes seconds of reading, writing, Bloom building and fsync; in this
// worker thread it runs on the machine's other core while the main thread keeps serving sets and
// gets from the inputs. The worker opens the inputs by name (their files stay committed until the
// output is installed), writes the output under a temp name, re-opens it to check footer and index
// and hands the index block to the main thread, which only renames, opens and installs. The same
// worker code writes frozen memtables (flush jobs) in a second worker; merges pause while a flush
// runs, since a set may be waiting for the flush and a merge never has a set waiting that soon.
// The worker's message loop is ../worker-main.ts; this file is the LSM's jobs.

import fs from 'node:fs';
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import { writePacked } from './memtable.js';
import { type MergedRun, mergeRuns, type RunSource } from './merge.js';
import { type FlushJobSpec, type JobOutcome, JobStopped, type MergeJobSpec, type MergedRunParts } from '../worker-protocol.js';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';

/** Flushes running in either worker (see ../worker-pool.ts): merges pause while there are any. */
const flushesRunning = new Int32Array((workerData as { flushesRunning: SharedArrayBuffer }).flushesRunning);
/** Milliseconds the current merge spent paused for flushes (not counted as merge time). */
let pausedMs = 0;

/** Polled by merges: waits while a flush runs (unless asked to stop); true = stop. */
function pauseForFlushes(stop: () => boolean): boolean {
  let v = Atomics.load(flushesRunning, 0);
  if (v === 0) return stop();
  const t0 = performance.now();
  for (; v > 0 && !stop(); v = Atomics.load(flushesRunning, 0)) Atomics.wait(flushesRunning, 0, v, 10);
  pausedMs += performance.now() - t0;
  return stop();
}

/** Writes a frozen memtable's entries as a run under its temp name; null if nothing to write. */
function flushRun(s: FlushJobSpec): MergedRun | null {
  const w = new RunWriter(s.dir, s.outName, s.densityFactor, s.falsePositiveRate);
  try {
    writePacked(s.entries, w, s.dropDeletions);
    if (w.records === 0) {
      w.abort();
      return null;
    }
    return { ...w.finish(false), path: w.tmpPath };
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** Runs one LSM job (merge or flush); throws on failure (JobStopped when asked to stop). */
export function runLsmJob(s: MergeJobSpec | FlushJobSpec, stop: () => boolean): JobOutcome {
  const t0 = performance.now();
  const inputs: RunSource[] = [];
  pausedMs = 0;
  const flush = s.kind === 'flush';
  if (flush) Atomics.add(flushesRunning, 0, 1);
  try {
    if (stop()) throw new JobStopped();
    const out = flush ? flushRun(s) : mergeInputs(s, inputs, () => pauseForFlushes(stop));
    if (out === null) return { result: { ok: true, run: null, records: 0, ms: performance.now() - t0 }, transfer: [] };
    let run: MergedRunParts;
    try {
      const r = RunReader.open(s.dir, s.outName, s.level, out.path);
      // The descriptor stays here: Node tracks the descriptors a worker opens and closes them if
      // it exits, so the main thread opens its own.
      const { size, footer, block } = r.parts;
      r.close();
      run = { tmp: out.path, size, footer, block };
    } catch (e) {
      try { fs.unlinkSync(out.path); } catch { /* swept at open */ }
      throw e;
    }
    return { result: { ok: true, run, records: out.records, ms: performance.now() - t0 - pausedMs }, transfer: [run.block] };
  } finally {
    if (flush) {
      Atomics.sub(flushesRunning, 0, 1);
      Atomics.notify(flushesRunning, 0);
    }
    for (const i of inputs) {
      try { fs.closeSync(i.fd); } catch { /* already closed */ }
    }
  }
}

/** Opens the inputs (recorded in `inputs`, closed by the caller) and merges them. */
function mergeInputs(s: MergeJobSpec, inputs: RunSource[], stop: () => boolean): MergedRun | null {
  for (const i of s.inputs) {
    const file = path.join(s.dir, i.name);
    inputs.push({ fd: fs.openSync(file, 'r'), file, footer: { dataEnd: i.dataEnd } });
  }
  return mergeRuns(inputs, {
    dir: s.dir,
    outName: s.outName,
    densityFactor: s.densityFactor,
    falsePositiveRate: s.falsePositiveRate,
    dropTombstones: s.dropTombstones,
    maxLen: s.maxLen,
    keepTempName: true,
    shouldStop: stop,
  });
}
