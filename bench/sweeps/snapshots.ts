// Why: the thesis' headline — log-structured files are immutable, so a snapshot pushes only the
// files the replica lacks and the cumulative cost grows linearly in the number of snapshots, while
// MemOnly's full dump grows quadratically when the state grows. This sweep runs, per engine, on a
// directory replica (DirReplica):
//   grow   (W6): R rounds of inserting K new keys, then snapshot(round);
//   update (W7): load L keys, snapshot; then R rounds of U uniform updates, then snapshot;
//   then W8 — a fresh instance on an empty dir restores the latest version (seconds until the
//   first get answers, then keys verified) — and W9 — restore(the middle version), verified.
// The workloads themselves are bench/snapshot-workloads.ts (W6–W9 by name), shared with the
// snapshot claims bench, so both measure identical operation streams.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Datum, LineChart } from '../chart.js';
import { DirReplica } from '../../src/index.js';
import { runW6, runW7, runW8, runW9, type SnapshotRecord } from '../snapshot-workloads.js';
import { engines, type Sweep, type SweepContext } from './common.js';
import { pointProgress } from './points.js';

/** Sizes of the two scenarios. */
interface SnapSizes { rounds: number; growKeys: number; load: number; updates: number }
const QUICK: SnapSizes = { rounds: 25, growKeys: 16_000, load: 150_000, updates: 1_000 };
const FULL: SnapSizes = { rounds: 100, growKeys: 10_000, load: 1_000_000, updates: 1_000 };

const row = (engine: string, scenario: string, r: SnapshotRecord): Datum => ({
  engine, scenario, snapshot: r.round, seconds: r.seconds, bytesPushed: r.bytesPushed, filesPushed: r.filesPushed,
  versionBytes: r.totalBytes, cumSeconds: r.cumulativeSeconds, cumMiB: r.cumulativeBytes / 2 ** 20,
});

/** W6, W7, W8, W9 for one engine on a temp directory replica; rows per snapshot plus a recover row. */
async function scenarios(engine: string, sz: SnapSizes): Promise<Datum[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-sweep-snap-${engine}-`));
  try {
    const replicas = (name: string): DirReplica => new DirReplica(path.join(root, 'replicas', name));
    const workDir = path.join(root, 'work');
    const opts = { engine };
    const rows: Datum[] = [];
    const w6 = await runW6(opts, replicas, { workDir, rounds: sz.rounds, keysPerRound: sz.growKeys });
    rows.push(...w6.records.map((r) => row(engine, 'grow', r)));
    const w7 = await runW7(opts, replicas, { workDir, loadKeys: sz.load, rounds: sz.rounds, updatesPerRound: sz.updates });
    rows.push({ ...row(engine, 'update', w7.load), initial: true });
    rows.push(...w7.records.map((r) => row(engine, 'update', r)));
    const w8 = await runW8(opts, replicas, w7, { workDir });
    const w9 = await runW9(opts, replicas, w7, { version: Math.floor(sz.rounds / 2) });
    if (w8.mismatches > 0 || w9.mismatches > 0) throw new Error(`${engine}: W8 ${w8.mismatches} / W9 ${w9.mismatches} keys wrong after restore`);
    rows.push({ engine, scenario: 'recover', recoverSeconds: w8.secondsToFirstGet, recoverBytesPulled: w8.bytesPulled, rollbackSeconds: w9.seconds, rollbackTo: w9.version, rollbackBytesPulled: w9.bytesPulled, rollbackFullStateBytes: w9.fullStateBytes, verifiedKeys: w8.checked + w9.checked });
    return rows;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Least-squares fit of cum(n) = a·n + b·n² (no intercept); returns [a, b]. */
export function fitLinQuad(ns: number[], ys: number[]): [number, number] {
  let s2 = 0, s3 = 0, s4 = 0, t1 = 0, t2 = 0;
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i]!, y = ys[i]!;
    s2 += n * n; s3 += n ** 3; s4 += n ** 4; t1 += n * y; t2 += n * n * y;
  }
  const det = s2 * s4 - s3 * s3;
  return [(t1 * s4 - t2 * s3) / det, (s2 * t2 - s3 * t1) / det];
}

/** The grow and update scenarios for every registered engine. */
export async function runSnapshotScenarios(ctx: SweepContext): Promise<{ rows: Datum[]; notes: string[]; sizes: SnapSizes }> {
  const sz = ctx.full ? FULL : QUICK;
  const list = engines();
  const rows: Datum[] = [];
  const bar = pointProgress('snapshots', list.length * 2);
  for (const e of list) {
    bar.relabel(`snapshots ${e}`);
    rows.push(...(await scenarios(e, sz)));
    bar.tick(2);
  }
  bar.finish();
  const notes: string[] = [];
  notes.push('| engine | scenario | snapshots | cumulative s | cumulative MiB pushed | fit a·n + b·n² (s): a, b | last / first snapshot s |');
  notes.push('|---|---|---:|---:|---:|---|---:|');
  for (const e of list) {
    for (const sc of ['grow', 'update']) {
      const rs = rows.filter((r) => r.engine === e && r.scenario === sc && !r.initial);
      if (rs.length === 0) continue;
      const [a, b] = fitLinQuad(rs.map((r) => r.snapshot as number), rs.map((r) => r.cumSeconds as number));
      const last = rs.at(-1)!;
      const avgFirst = rs.slice(0, 3).reduce((x, r) => x + (r.seconds as number), 0) / Math.min(3, rs.length);
      const avgLast = rs.slice(-3).reduce((x, r) => x + (r.seconds as number), 0) / Math.min(3, rs.length);
      notes.push(`| ${e} | ${sc} | ${rs.length} | ${(last.cumSeconds as number).toFixed(3)} | ${(last.cumMiB as number).toFixed(1)} | ${a.toExponential(2)}, ${b.toExponential(2)} | ${(avgLast / avgFirst).toFixed(1)} |`);
    }
  }
  for (const r of rows.filter((x) => x.scenario === 'recover')) {
    notes.push(`${r.engine}: W8 restore on an empty dir ${(r.recoverSeconds as number).toFixed(3)} s (${((r.recoverBytesPulled as number) / 2 ** 20).toFixed(1)} MiB pulled); W9 rollback to v${r.rollbackTo} ${(r.rollbackSeconds as number).toFixed(3)} s (${((r.rollbackBytesPulled as number) / 2 ** 20).toFixed(1)} of ${((r.rollbackFullStateBytes as number) / 2 ** 20).toFixed(1)} MiB pulled); ${r.verifiedKeys} keys verified`);
  }
  return { rows, notes, sizes: sz };
}

export const snapshots: Sweep = {
  name: 'snapshots',
  describe: 'snapshot time and bytes vs number of snapshots, growing (W6) and update-only (W7) state; W8 recover, W9 rollback',
  async run(ctx) {
    const { rows, notes, sizes: sz } = await runSnapshotScenarios(ctx);
    const perSnap = rows.filter((r) => (r.scenario === 'grow' || r.scenario === 'update') && !r.initial).map((r): Datum => ({ ...r, curve: 'measured' }));
    // The headline: measured cumulative seconds plus each engine's a·n + b·n² fit, dashed.
    const growRows = perSnap.filter((r) => r.scenario === 'grow');
    const fits: Datum[] = [];
    for (const e of [...new Set(growRows.map((r) => r.engine as string))]) {
      const rs = growRows.filter((r) => r.engine === e);
      const [a, b] = fitLinQuad(rs.map((r) => r.snapshot as number), rs.map((r) => r.cumSeconds as number));
      for (const r of rs) fits.push({ engine: e, snapshot: r.snapshot as number, cumSeconds: a * (r.snapshot as number) + b * (r.snapshot as number) ** 2, curve: 'fit a·n + b·n²' });
    }
    const x = { field: 'snapshot', title: 'snapshots taken (count)' };
    const series = { field: 'engine', title: 'engine' };
    const growSub = `${sz.rounds} rounds of ${sz.growKeys.toLocaleString('en-US')} new keys (32 B values), snapshot after each, directory replica`;
    const updSub = `${sz.load.toLocaleString('en-US')} keys loaded and snapshotted, then ${sz.rounds} rounds of ${sz.updates.toLocaleString('en-US')} uniform updates + snapshot`;
    const chart = (title: string, subtitle: string, y: LineChart['y'], data: Datum[], dash = false): LineChart =>
      ({ title, subtitle, x, y, series, data, ...(dash ? { dash: { field: 'curve', title: 'curve', domain: ['measured', 'fit a·n + b·n²'] as [string, string] } } : {}) });
    return {
      rows,
      notes,
      figures: [
        { id: 'grow-cumulative-seconds', chart: chart('Cumulative snapshot time, growing state: incremental vs full dump', growSub, { field: 'cumSeconds', title: 'cumulative snapshot time (s)' }, [...growRows, ...fits], true) },
        { id: 'grow-cumulative-bytes', chart: chart('Cumulative bytes pushed to the replica, growing state', growSub, { field: 'cumMiB', title: 'cumulative bytes pushed (MiB)' }, growRows) },
        { id: 'grow-per-snapshot', chart: chart('Time of each snapshot, growing state', growSub, { field: 'seconds', title: 'snapshot time (s)' }, growRows) },
        { id: 'update-cumulative-seconds', chart: chart('Cumulative snapshot time, update-only state', updSub, { field: 'cumSeconds', title: 'cumulative snapshot time (s)' }, perSnap.filter((r) => r.scenario === 'update')) },
        { id: 'update-cumulative-bytes', chart: chart('Cumulative bytes pushed to the replica, update-only state', updSub, { field: 'cumMiB', title: 'cumulative bytes pushed (MiB)' }, perSnap.filter((r) => r.scenario === 'update')) },
      ],
    };
  },
};
