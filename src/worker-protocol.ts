// Why: the main thread and the merge workers (worker-main.ts) exchange a job description and a
// result over a MessagePort, plus two flags in shared memory the main thread can test or wait on
// synchronously (a set that must stall cannot await a message). Both sides import the shapes and
// flag slots from here. Jobs: the LSM's merges and memtable flushes (lsm/merge-worker.ts) and the
// hash engines' merges of sealed files (hash-merge-job.ts).

import type { MessagePort } from 'node:worker_threads';
import type { PackedMemtable } from './lsm/memtable.js';
import type { Footer } from './lsm/run-format.js';

/** Slot of the job's flags set to 1 by the worker once the result has been posted. */
export const FLAG_DONE = 0;
/** Slot of the job's flags set to 1 by the main thread to ask the worker to give the job up. */
export const FLAG_STOP = 1;
/** Number of Int32 slots in a job's flags. */
export const FLAG_SLOTS = 2;

/** One input run of a merge: its file name and where its data section ends. */
export interface MergeInput {
  name: string;
  dataEnd: number;
}

/** Everything the worker needs to merge runs into one new run (inputs newest first). */
export interface MergeJobSpec {
  kind: 'merge';
  dir: string;
  outName: string;
  /** Level of the output. */
  level: number;
  inputs: MergeInput[];
  densityFactor: number;
  falsePositiveRate: number;
  dropTombstones: boolean;
  maxLen: number;
}

/** Everything the worker needs to write a frozen memtable as a level-0 run. */
export interface FlushJobSpec {
  kind: 'flush';
  dir: string;
  outName: string;
  level: 0;
  densityFactor: number;
  falsePositiveRate: number;
  /** Leave deletions out (no run lies below the output). */
  dropDeletions: boolean;
  /** The entries (transferred, not copied). */
  entries: PackedMemtable;
}

/**
 * Everything the worker needs to merge sealed files of a hash engine (AppendLog, HybridLog) into
 * one file. Liveness is decided on the main thread, from the index, when the job starts: `live`
 * lists the locations the index pointed at then (a record never becomes live again, so the worker
 * may only copy a few that died since: garbage the next merge drops).
 */
export interface HashMergeJobSpec {
  kind: 'hash-merge';
  dir: string;
  /** Final name of the output; the worker writes `<outName>.tmp` and `<hint name>.tmp`. */
  outName: string;
  /** Oldest first; `slot` is the input's location slot. */
  inputs: { name: string; size: number; slot: number }[];
  /** Locations (slot * 2^37 + offset) of the live records of the inputs, any order (transferred). */
  live: Float64Array;
  /** Older files exist: keep one tombstone per deleted key (else drop them all). */
  keepTombstones: boolean;
  maxLen: number;
}

/**
 * The off-thread half of sealing a hash engine's file: fsync it (if the engine wrote it without)
 * and write its hint, `<hint name>.tmp`, from a scan of the file.
 */
export interface HashSealJobSpec {
  kind: 'hash-seal';
  dir: string;
  name: string;
  sync: boolean;
  maxLen: number;
}

/** A job for a worker thread. */
export type JobSpec = MergeJobSpec | FlushJobSpec | HashMergeJobSpec | HashSealJobSpec;

/** A hash merge's output under temp names, and the moves the main thread applies to its index. */
export interface HashMergeParts {
  /** Temp path of the data file (null: no record was live, nothing written). */
  tmp: string | null;
  /** Temp path of its hint (null if it could not be written: hints are optional). */
  hintTmp: string | null;
  size: number;
  /** Index moves (index-moves.ts), one per copied value record: its index hash, */
  hashes: Uint32Array;
  /** its location before (input slot, offset), */
  from: Float64Array;
  /** and its offset in the output. */
  to: Float64Array;
  bytesIn: number;
}

/** The message that starts a job: the spec, the shared flags and the port to answer on. */
export interface MergeJobMessage {
  spec: JobSpec;
  flags: SharedArrayBuffer;
  port: MessagePort;
}

/** Test hook: the worker blocks (taking no job) until slot 0 of `pause` turns non-zero, or `maxMs` pass. */
export interface PauseMessage {
  pause: SharedArrayBuffer;
  maxMs?: number;
}

/** What the worker receives. */
export type WorkerMessage = MergeJobMessage | PauseMessage;

/** The sealed output, still under its temp name, opened and checked by the worker. */
export interface MergedRunParts {
  /** Temp path; the main thread renames it to the run's name when it installs the run. */
  tmp: string;
  size: number;
  footer: Footer;
  /** The index block, transferred (not copied) to the main thread. */
  block: ArrayBuffer;
}

/** A job's outcome. */
export type MergeJobResult =
  | { ok: true; run: MergedRunParts | null; records: number; ms: number; hash?: HashMergeParts; hintTmp?: string | null }
  | { ok: false; stopped: boolean; message: string; corruption: { file: string; offset: number; detail: string } | null; ms: number };

/** A job's result and the buffers to transfer with it. */
export interface JobOutcome {
  result: MergeJobResult;
  transfer: ArrayBuffer[];
}

/** Thrown inside a job whose stop flag was raised; the output is discarded. */
export class JobStopped extends Error {
  constructor() {
    super('merge stopped on request');
  }
}
