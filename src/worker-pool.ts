// Why: background merges need a thread, but set() and get() must stay synchronous — so this is
// the main thread's side of the merge worker, built on primitives that never need the event loop:
// a job's completion is a flag in shared memory (polled by every set at the cost of one atomic
// load, or waited on with Atomics.wait when a set must stall), and its result is picked up with
// receiveMessageOnPort. No result is ever delivered by an event handler, so nothing is installed
// behind the engine's back (during a restore, say). One worker per kind of job per process — LSM
// merges, LSM memtable flushes, hash-engine merges — serves every store; they are unref'd, so they never keep a process alive,
// and each starts on its first job.
//
// The worker file is TypeScript in the source tree and JavaScript in dist/: a small bootstrap
// registers tsx in the worker when this module itself runs from a .ts file (tests, benches).

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { FLAG_DONE, FLAG_SLOTS, FLAG_STOP, type JobSpec, type MergeJobMessage, type MergeJobResult, type PauseMessage } from './worker-protocol.js';

/** Slot of the pool's shared state set to 1 when the worker could not start. */
const POOL_DEAD = 0;

// Runs in the worker as a CommonJS script (eval); failures to load set the pool's dead flag.
const BOOT = `
const { workerData } = require('node:worker_threads');
const state = new Int32Array(workerData.state);
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register(); // the TypeScript loader
  await import(workerData.entry);
})().catch((e) => {
  process.stderr.write('snapkv merge worker failed to start: ' + (e && e.stack || e) + '\\n');
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
});
`;

interface Pool {
  worker: Worker;
  state: Int32Array;
  live: Set<MergeTicket<JobSpec>>;
  onDeath: () => void;
}

/**
 * One worker per kind of job: a flush must not queue behind a merge of big runs (the next
 * memtable fills in a fraction of a second, a big merge takes seconds), and the hash engines'
 * merges do not queue behind the LSM's.
 */
const pools: Record<PoolName, Pool | null> = { merge: null, flush: null, 'hash-merge': null };

/** The pool of a kind of job: a hash engine's seal jobs queue with its merges (a merge must not
 * start on a file before the seal job that fsyncs it). */
type PoolName = Exclude<JobSpec['kind'], 'hash-seal'>;
const poolName = (kind: JobSpec['kind']): PoolName => (kind === 'hash-seal' ? 'hash-merge' : kind);

function poolFor(jobKind: JobSpec['kind']): Pool {
  const kind = poolName(jobKind);
  let p = pools[kind];
  if (p === null) {
    p = startPool();
    const mine = p;
    p.onDeath = () => {
      if (pools[kind] === mine) pools[kind] = null;
    };
    pools[kind] = p;
  }
  return p;
}

/**
 * Flushes running right now, across both workers: merges pause while it is non-zero, because a
 * set may be waiting for a flush (the next memtable fills in a fraction of a second) and on a
 * two-core machine the main thread, a flush and a merge do not all get a core.
 */
const flushesRunning = new Int32Array(new SharedArrayBuffer(4));

function startPool(): Pool {
  const self = import.meta.url;
  const fromSource = self.endsWith('.ts');
  const entry = new URL(fromSource ? './worker-main.ts' : './worker-main.js', self).href;
  // tsx's 'tsx/esm/api' (import condition) sits next to 'tsx/esm', which has no conditions.
  const tsx = fromSource ? new URL('./api/index.mjs', pathToFileURL(createRequire(self).resolve('tsx/esm'))).href : null;
  const state = new Int32Array(new SharedArrayBuffer(4));
  // execArgv: [] — the bootstrap loads what the worker needs; inheriting e.g. `--import tsx` would
  // register the loader twice.
  const worker = new Worker(BOOT, { eval: true, execArgv: [], workerData: { entry, tsx, state: state.buffer, flushesRunning: flushesRunning.buffer } });
  worker.unref();
  const p: Pool = { worker, state, live: new Set(), onDeath: () => undefined };
  const die = (why: string): void => {
    Atomics.store(state, POOL_DEAD, 1);
    for (const t of p.live) t.fail(why);
    p.onDeath();
  };
  worker.on('error', (e) => die(`merge worker failed: ${e.message}`));
  worker.on('exit', (code) => die(`merge worker exited with code ${code}`));
  return p;
}

/**
 * Starts the worker of a kind of job now, if it is not running: an engine in background mode calls
 * this when it opens, so the worker's start-up (~0.1 s from JavaScript, ~0.5 s when it must load
 * tsx) overlaps the filling of the first memtable or segment instead of stalling the set whose
 * flush or merge finds the worker still booting.
 */
export function prestartWorker(kind: JobSpec['kind']): void {
  poolFor(kind);
}

/** Hands a merge or a flush to its worker thread; the ticket tracks it. */
export function startJob<S extends JobSpec>(spec: S): MergeTicket<S> {
  const pool = poolFor(spec.kind);
  const { port1, port2 } = new MessageChannel();
  const flags = new SharedArrayBuffer(4 * FLAG_SLOTS);
  const t = new MergeTicket(spec, port1, new Int32Array(flags), pool);
  const msg: MergeJobMessage = { spec, flags, port: port2 };
  const transfer: Array<MessagePort | ArrayBuffer> = [port2];
  if (spec.kind === 'hash-merge') {
    transfer.push(spec.live.buffer as ArrayBuffer);
  } else if (spec.kind === 'flush') {
    const e = spec.entries;
    transfer.push(e.keys.buffer as ArrayBuffer, e.keyEnds.buffer as ArrayBuffer, e.values.buffer as ArrayBuffer, e.valueOffs.buffer as ArrayBuffer, e.valueLens.buffer as ArrayBuffer);
  }
  pool.worker.postMessage(msg, transfer);
  return t;
}

/**
 * Test hook: holds the worker (jobs queue up behind it, as behind a long merge) until the
 * returned function is called, or — with `maxMs` — until that many milliseconds have passed (so a
 * test can make a set stall on a merge that finishes without the blocked main thread's help).
 * Always call the returned function: a held worker never finishes a merge.
 */
export function holdMergeWorker(kind: JobSpec['kind'] = 'merge', maxMs?: number): () => void {
  const pool = poolFor(kind);
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const msg: PauseMessage = { pause: gate.buffer as SharedArrayBuffer, maxMs };
  pool.worker.postMessage(msg);
  return () => {
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  };
}

/** A merge running (or queued) in the worker. All methods are synchronous. */
export class MergeTicket<S extends JobSpec = JobSpec> {
  private result: MergeJobResult | null = null;

  /** @internal use startMerge() */
  constructor(
    /** What is being merged or flushed. */
    readonly spec: S,
    private readonly port: MessagePort,
    private readonly flags: Int32Array,
    private readonly pool: Pool,
  ) {
    pool.live.add(this);
  }

  /** True once the result can be taken without waiting (one atomic load). */
  get done(): boolean {
    return this.result !== null || Atomics.load(this.flags, FLAG_DONE) !== 0;
  }

  /** Asks the worker to give the job up at its next check (a few thousand records at most). */
  stop(): void {
    Atomics.store(this.flags, FLAG_STOP, 1);
  }

  /** Blocks this thread until the job is done (or the worker is gone), then returns the result. */
  take(): MergeJobResult {
    if (this.result !== null) return this.result;
    while (Atomics.load(this.flags, FLAG_DONE) === 0) {
      if (Atomics.load(this.pool.state, POOL_DEAD) !== 0) {
        this.fail('merge worker could not start');
        return this.result!;
      }
      Atomics.wait(this.flags, FLAG_DONE, 0, 100);
    }
    // The worker posts before raising the flag, so the message is queued; tolerate a short lag.
    let m = receiveMessageOnPort(this.port);
    for (let i = 0; m === undefined && i < 1000; i++) {
      Atomics.wait(this.flags, FLAG_DONE, 1, 1); // the flag is 1: a 1 ms sleep
      m = receiveMessageOnPort(this.port);
    }
    this.result = m ? (m.message as MergeJobResult) : { ok: false, stopped: false, message: 'merge worker posted no result', corruption: null, ms: 0 };
    this.release();
    return this.result;
  }

  /** Ends the job as failed (the worker died); used by the pool. */
  fail(why: string): void {
    if (this.result !== null) return;
    this.result = { ok: false, stopped: false, message: why, corruption: null, ms: 0 };
    this.release();
  }

  private release(): void {
    this.port.close();
    this.pool.live.delete(this);
  }
}
