// Why: the two HybridLog regions decide where a set goes. roLagBytes is the mutable region: a set
// to a key inside it updates in place, a set to an older key appends a copy (read-copy-update), so
// a larger region means fewer appends, fewer flushed bytes and less disk, most of all under skew.
// flushIntervalBytes is how much of the read-only region is written per file: small intervals
// mean many small files (more merges, more files per get), large ones longer flush stalls.

import type { Datum } from '../chart.js';
import { latencyFields, mib, type Sweep } from './common.js';
import { pointProgress, runEngine, sweepSizes } from './points.js';

const MIB = 1024 * 1024;
const RING = 16 * MIB;

export const roLag: Sweep = {
  name: 'ro-lag',
  describe: 'hybridlog roLagBytes (mutable region): write ops/s and disk for uniform (W1) and zipf (W2) keys',
  async run(ctx) {
    if (!ctx.has('hybridlog')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const KIB = [128, 512, 1024, 2048, 4096, 8192, 12288];
    const rows: Datum[] = [];
    const bar = pointProgress('ro-lag', KIB.length);
    for (const k of KIB) {
      bar.relabel(`ro-lag ${k} KiB`);
      const r = await runEngine('hybridlog', { memSegmentBytes: RING, flushIntervalBytes: 2 * MIB, roLagBytes: k * 1024 }, sizes, ['W1', 'W2']);
      for (const [w, row] of [['W1 uniform', r.W1!], ['W2 zipf', r.W2!]] as const) {
        rows.push({ engine: 'hybridlog', workload: w, roLagKiB: k, writeOpsPerSec: Math.round(row.opsPerSec), ...latencyFields('write', row.latency), diskMiB: mib(row.diskBytes), engineMiB: mib(row.engineBytes) });
      }
      bar.tick();
    }
    bar.finish();
    const sub = `hybridlog, 16 MiB ring, 2 MiB flush interval; ${sizes.ops.toLocaleString('en-US')} sets over ${sizes.hotKeys.toLocaleString('en-US')} keys (~4.8 MB of records)`;
    const x = { field: 'roLagKiB', title: 'roLagBytes, mutable region (KiB)', log: true };
    const series = { field: 'workload', title: 'workload' };
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'Write throughput vs mutable region size', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series, data: rows } },
        { id: 'disk', chart: { title: 'Disk bytes after the writes vs mutable region size', subtitle: sub, x, y: { field: 'diskMiB', title: 'bytes on disk (MiB)' }, series, data: rows } },
      ],
    };
  },
};

export const flushInterval: Sweep = {
  name: 'flush-interval',
  describe: 'hybridlog flushIntervalBytes: write ops/s and p99.9, get latency, disk',
  async run(ctx) {
    if (!ctx.has('hybridlog')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const KIB = [128, 256, 512, 1024, 2048, 4096, 8192];
    const rows: Datum[] = [];
    const bar = pointProgress('flush-interval', KIB.length);
    for (const k of KIB) {
      bar.relabel(`flush-interval ${k} KiB`);
      const r = await runEngine('hybridlog', { memSegmentBytes: RING, roLagBytes: 2 * MIB, flushIntervalBytes: k * 1024 }, sizes, ['W1', 'W3', 'W4']);
      rows.push({ engine: 'hybridlog', flushIntervalKiB: k, writeOpsPerSec: Math.round(r.W1!.opsPerSec), ...latencyFields('write', r.W1!.latency), ...latencyFields('read', r.W4!.latency), diskAfterW3MiB: mib(r.W3!.diskBytes) });
      bar.tick();
    }
    bar.finish();
    const sub = `hybridlog, 16 MiB ring, 2 MiB mutable region; ${sizes.ops.toLocaleString('en-US')} W1 sets; gets after loading ${sizes.load.toLocaleString('en-US')} keys`;
    const x = { field: 'flushIntervalKiB', title: 'flushIntervalBytes (KiB)', log: true };
    const series = { field: 'engine', title: 'engine' };
    const tail = rows.flatMap((r) => [
      { flushIntervalKiB: r.flushIntervalKiB!, latencyUs: r.writeP999us!, what: 'set p99.9 (W1)' },
      { flushIntervalKiB: r.flushIntervalKiB!, latencyUs: r.readP99us!, what: 'get p99 (W4)' },
    ]);
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'Write throughput vs flush interval (W1)', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series, data: rows } },
        { id: 'latency', chart: { title: 'Set and get tail latency vs flush interval', subtitle: sub, x, y: { field: 'latencyUs', title: 'latency (µs)', log: true }, series: { field: 'what', title: 'operation' }, data: tail } },
      ],
    };
  },
};
