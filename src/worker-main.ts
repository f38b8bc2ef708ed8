// Why: the entry of the merge worker threads (started by worker-pool.ts). It takes one job at a
// time, runs it to completion or until the main thread raises its stop flag, and answers with a
// result that never throws across the thread boundary: a failure is a value, with the corruption
// details kept so the main thread can report a CorruptionError naming the file.

import { parentPort } from 'node:worker_threads';
import { CorruptionError } from './errors.js';
import { runHashMerge, runHashSeal } from './hash-merge-job.js';
import { runLsmJob } from './lsm/merge-worker.js';
import { FLAG_DONE, FLAG_STOP, type JobOutcome, JobStopped, type MergeJobMessage, type WorkerMessage } from './worker-protocol.js';

function runJob(m: MergeJobMessage): JobOutcome {
  const t0 = performance.now();
  const flags = new Int32Array(m.flags);
  const stop = (): boolean => Atomics.load(flags, FLAG_STOP) !== 0;
  try {
    const s = m.spec;
    if (s.kind === 'hash-merge') return runHashMerge(s, stop);
    if (s.kind === 'hash-seal') return runHashSeal(s);
    return runLsmJob(s, stop);
  } catch (e) {
    const err = e as Error;
    let corruption: { file: string; offset: number; detail: string } | null = null;
    if (e instanceof CorruptionError) {
      const prefix = `corruption in ${e.file}${e.offset >= 0 ? ` at offset ${e.offset}` : ''}: `;
      corruption = { file: e.file, offset: e.offset, detail: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message };
    }
    return { result: { ok: false, stopped: e instanceof JobStopped, message: String(err?.message ?? e), corruption, ms: performance.now() - t0 }, transfer: [] };
  }
}

parentPort!.on('message', (msg: WorkerMessage) => {
  if ('pause' in msg) {
    const gate = new Int32Array(msg.pause);
    const until = performance.now() + (msg.maxMs ?? Infinity);
    while (Atomics.load(gate, 0) === 0 && performance.now() < until) Atomics.wait(gate, 0, 0, Math.min(1000, Math.max(1, until - performance.now())));
    return;
  }
  const { result, transfer } = runJob(msg);
  // Post first, then raise the flag: a main thread that sees the flag finds the message queued.
  msg.port.postMessage(result, transfer);
  const flags = new Int32Array(msg.flags);
  Atomics.store(flags, FLAG_DONE, 1);
  Atomics.notify(flags, FLAG_DONE);
});
