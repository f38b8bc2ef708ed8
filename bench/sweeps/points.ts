// Why: most sweeps measure "engine E with parameter P = v on workloads W", so one helper runs such
// a point on a fresh instance and returns its rows by workload id, with a progress bar per sweep.

import { Progress } from '../progress.js';
import { engineSystem, type SystemFactory } from '../systems.js';
import { runReadWrite, type Sizes, type WorkloadRow } from '../workloads.js';

/** Quick sweep sizes: 200K ops, 200K keys (WORKLOADS.md sizes with --full). */
export function sweepSizes(full: boolean): Sizes {
  return full ? { ops: 1_000_000, load: 1_000_000, hotKeys: 100_000 } : { ops: 200_000, load: 200_000, hotKeys: 100_000 };
}

/** Rows of one point, by workload id. */
export type PointRows = Record<string, WorkloadRow>;

/** Runs `workloads` on fresh instances of `make`; rows by workload. */
export async function runPoint(make: SystemFactory, sizes: Sizes, workloads: readonly string[], rate?: number): Promise<PointRows> {
  const rows = await runReadWrite(make, { sizes, workloads, rate, snapshotAfterLoad: false });
  const out: PointRows = {};
  for (const r of rows) out[r.workload] = r;
  return out;
}

/** Runs `workloads` on engine `engine` with `params`. */
export function runEngine(engine: string, params: Record<string, unknown>, sizes: Sizes, workloads: readonly string[]): Promise<PointRows> {
  return runPoint(engineSystem(engine, params), sizes, workloads);
}

/** A progress bar over `total` points. */
export function pointProgress(name: string, total: number): Progress {
  return new Progress(name, total);
}
