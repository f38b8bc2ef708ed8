// Why: every figure of the runner and the sweeps comes from one timed loop, so they all share one
// definition of throughput and latency. Two modes:
//  - as fast as possible: each op is timed by chaining performance.now() stamps (one call per op,
//    the end of one op is the start of the next), so the recorded latency includes the timer and
//    histogram cost; `timerFloor()` measures that floor so readers can subtract it.
//  - rate-controlled (open loop): op i is due at t0 + i/rate; the loop spins until it is due, and
//    its latency is measured from the due time, not from when it actually started. A stall thus
//    shows up as latency of every op queued behind it (no coordinated omission), like a worker
//    fed by a steady stream of events.
// The loop yields to the event loop every YIELD_EVERY ops so systems that do work in callbacks
// (lmdb's commits, classic-level's batches, any background merge) make progress; the yield is part
// of the wall time, and in rate mode of the latency of the ops that waited for it.

import { Histogram, type LatencySummary } from './histogram.js';
import type { Progress } from './progress.js';

const YIELD_EVERY = 8192;
const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/** How a phase is paced. */
export interface PaceOptions {
  /** Target ops/s (open loop); undefined = as fast as possible. */
  rate?: number;
  /** Shown while the phase runs. */
  progress?: Progress;
  /** Awaited after the last op, inside the timed wall clock (writes a system accepted asynchronously). */
  settle?: () => Promise<void>;
}

/** Throughput and latency of one timed phase. Latencies are in nanoseconds. */
export interface PhaseResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Target rate, when rate-controlled. */
  targetRate?: number;
  latency: LatencySummary;
}

/** Runs op(0..n-1) and measures it; see the file comment for the two modes. */
export async function measure(n: number, op: (i: number) => void, opts: PaceOptions = {}): Promise<PhaseResult> {
  const h = new Histogram();
  const p = opts.progress;
  // Start without earlier phases' garbage (when run with --expose-gc), so their GC is not billed here.
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  if (opts.rate === undefined) {
    let t0 = start;
    for (let i = 0; i < n; i++) {
      op(i);
      const t1 = performance.now();
      h.record((t1 - t0) * 1e6);
      t0 = t1;
      if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) {
        p?.tick(YIELD_EVERY);
        await yieldNow();
        t0 = performance.now();
      }
    }
  } else {
    if (!(opts.rate > 0)) throw new RangeError(`rate must be a positive number of ops/s, got ${opts.rate}`);
    const interval = 1000 / opts.rate;
    for (let i = 0; i < n; i++) {
      const due = start + i * interval;
      while (performance.now() < due) { /* spin: the op is not due yet */ }
      op(i);
      h.record((performance.now() - due) * 1e6);
      if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) {
        p?.tick(YIELD_EVERY);
        await yieldNow();
      }
    }
  }
  if (opts.settle) await opts.settle();
  const seconds = (performance.now() - start) / 1000;
  const out: PhaseResult = { ops: n, seconds, opsPerSec: n / seconds, latency: h.summary() };
  if (opts.rate !== undefined) out.targetRate = opts.rate;
  return out;
}

/** Latency the as-fast-as-possible loop records for an empty op: the cost of timing itself. */
export async function timerFloor(n = 1_000_000): Promise<LatencySummary> {
  let sink = 0;
  const r = await measure(n, (i) => { sink += i; });
  if (sink < 0) throw new Error('unreachable');
  return r.latency;
}
