// Why: the main thread and the merge worker (merge-worker.ts) exchange a job description and a
// result over a MessagePort, plus two flags in shared memory the main thread can test or wait on
// synchronously (a set that must stall cannot await a message). Both sides import the shapes and
// flag slots from here, and nothing else, so the worker loads no engine code.

import type { MessagePort } from 'node:worker_threads';
import type { PackedMemtable } from './memtable.js';
import type { Footer } from './run-format.js';

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

/** A job for a worker thread. */
export type JobSpec = MergeJobSpec | FlushJobSpec;

/** The message that starts a job: the spec, the shared flags and the port to answer on. */
export interface MergeJobMessage {
  spec: JobSpec;
  flags: SharedArrayBuffer;
  port: MessagePort;
}

/** Test hook: the worker blocks (taking no job) until slot 0 of `pause` turns non-zero. */
export interface PauseMessage {
  pause: SharedArrayBuffer;
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
  | { ok: true; run: MergedRunParts | null; records: number; ms: number }
  | { ok: false; stopped: boolean; message: string; corruption: { file: string; offset: number; detail: string } | null; ms: number };
