// Why: thresholdBytes is the AppendLog's segment size: small segments mean many files, frequent
// merges and many files for recovery to scan; large ones fewer, longer merges. The thesis also
// measured an optional compaction right after each flush and found it only slowed writes down;
// `compaction` reproduces that comparison on this code.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Datum } from '../chart.js';
import { open, type OpenOptions } from '../../src/index.js';
import { latencyFields, mib, type Sweep } from './common.js';
import { pointProgress, runEngine, sweepSizes } from './points.js';
import { permutation, values, writeKey } from '../workloads.js';

/** Seconds to reopen an AppendLog of `n` keys written with `params` (its recovery scan). */
async function reopenSeconds(params: Record<string, unknown>, n: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-sweep-al-'));
  try {
    const vals = values(4096, 32);
    const order = permutation(n, 99);
    const k = new Uint8Array(8);
    const s = await open({ engine: 'appendlog', dir, ...params } as OpenOptions);
    for (let i = 0; i < n; i++) s.set(writeKey(k, order[i]!), vals[i & 4095]!);
    await s.snapshot(1);
    await s.close();
    const t0 = performance.now();
    const r = await open({ engine: 'appendlog', dir, ...params } as OpenOptions);
    r.get(writeKey(k, order[0]!));
    const sec = (performance.now() - t0) / 1000;
    await r.close();
    return sec;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const threshold: Sweep = {
  name: 'threshold',
  describe: 'appendlog thresholdBytes (segment size): write ops/s and p99.9, disk, reopen time',
  async run(ctx) {
    if (!ctx.has('appendlog')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const KIB = [64, 256, 1024, 4096, 16384];
    const rows: Datum[] = [];
    const bar = pointProgress('threshold', KIB.length);
    for (const k of KIB) {
      bar.relabel(`threshold ${k} KiB`);
      const params = { thresholdBytes: k * 1024 };
      const r = await runEngine('appendlog', params, sizes, ['W1', 'W3', 'W4']);
      rows.push({
        engine: 'appendlog', thresholdKiB: k, writeOpsPerSec: Math.round(r.W1!.opsPerSec), ...latencyFields('write', r.W1!.latency),
        diskAfterW1MiB: mib(r.W1!.diskBytes), ...latencyFields('read', r.W4!.latency), reopenSeconds: await reopenSeconds(params, sizes.load),
      });
      bar.tick();
    }
    bar.finish();
    const sub = `appendlog; ${sizes.ops.toLocaleString('en-US')} W1 sets over ${sizes.hotKeys.toLocaleString('en-US')} keys; reopen after loading ${sizes.load.toLocaleString('en-US')} keys`;
    const x = { field: 'thresholdKiB', title: 'thresholdBytes, segment size (KiB)', log: true };
    const series = { field: 'engine', title: 'engine' };
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'Write throughput vs segment size (W1)', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series, data: rows } },
        { id: 'write-p999', chart: { title: 'Write tail latency vs segment size (W1, p99.9)', subtitle: sub, x, y: { field: 'writeP999us', title: 'p99.9 set latency (µs)', log: true }, series, data: rows } },
        { id: 'reopen', chart: { title: 'Reopen time vs segment size', subtitle: sub, x, y: { field: 'reopenSeconds', title: 'reopen until first get (s)' }, series, data: rows } },
      ],
    };
  },
};

export const compaction: Sweep = {
  name: 'compaction',
  describe: 'appendlog compaction on/off: write ops/s and latency, disk, across segment sizes',
  async run(ctx) {
    if (!ctx.has('appendlog')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const KIB = [64, 256, 1024, 4096];
    const rows: Datum[] = [];
    const bar = pointProgress('compaction', KIB.length * 2);
    for (const k of KIB) {
      for (const on of [false, true]) {
        bar.relabel(`compaction ${on ? 'on' : 'off'} ${k} KiB`);
        const r = await runEngine('appendlog', { thresholdBytes: k * 1024, compaction: on }, sizes, ['W1', 'W2']);
        for (const [w, row] of [['W1', r.W1!], ['W2', r.W2!]] as const) {
          rows.push({ engine: 'appendlog', compaction: on ? 'on' : 'off', series: `compaction ${on ? 'on' : 'off'}, ${w}`, workload: w, thresholdKiB: k, writeOpsPerSec: Math.round(row.opsPerSec), ...latencyFields('write', row.latency), diskMiB: mib(row.diskBytes) });
        }
        bar.tick();
      }
    }
    bar.finish();
    const sub = `appendlog; ${sizes.ops.toLocaleString('en-US')} sets over ${sizes.hotKeys.toLocaleString('en-US')} keys, uniform (W1) and zipf (W2)`;
    const x = { field: 'thresholdKiB', title: 'thresholdBytes, segment size (KiB)', log: true };
    const series = { field: 'series', title: 'configuration' };
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'AppendLog write throughput, compaction on vs off', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series, data: rows } },
        { id: 'disk', chart: { title: 'AppendLog disk bytes, compaction on vs off', subtitle: sub, x, y: { field: 'diskMiB', title: 'bytes on disk (MiB)' }, series, data: rows } },
      ],
    };
  },
};
