// Why: memtableBytesLimit trades memory for write cost: a bigger memtable means fewer, larger
// flushes and merges (higher throughput) but more memory, and a set that has to wait for a flush
// or a merge (when the background workers fall behind) waits longer. This sweep shows W1 ops/s, the write
// tail latency and the memory the memtable holds, plus get latency after a W3 load.

import type { Datum } from '../chart.js';
import { latencyFields, mib, type Sweep } from './common.js';
import { pointProgress, runEngine, sweepSizes } from './points.js';

const KIB = [64, 256, 1024, 4096, 16384];

export const memtable: Sweep = {
  name: 'memtable',
  describe: 'lsm memtableBytesLimit: write ops/s, write p99/p99.9/max, memory, get latency',
  async run(ctx) {
    if (!ctx.has('lsm')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const rows: Datum[] = [];
    const bar = pointProgress('memtable', KIB.length);
    for (const k of KIB) {
      bar.relabel(`memtable ${k} KiB`);
      const r = await runEngine('lsm', { memtableBytesLimit: k * 1024 }, sizes, ['W1', 'W3', 'W4']);
      const w1 = r.W1!;
      for (const [p, v] of [['p99', w1.latency.p99], ['p99.9', w1.latency.p999], ['max', w1.latency.max]] as const) {
        rows.push({ engine: 'lsm', memtableKiB: k, percentile: p, writeLatencyUs: Math.round(v / 10) / 100 });
      }
      rows.push({ engine: 'lsm', memtableKiB: k, percentile: 'summary', writeOpsPerSec: Math.round(w1.opsPerSec), engineMiBAfterW1: mib(w1.engineBytes), ...latencyFields('read', r.W4!.latency), heapMiBAfterW3: mib(r.W3!.heapBytes) });
      bar.tick();
    }
    bar.finish();
    const sub = `lsm; ${sizes.ops.toLocaleString('en-US')} W1 sets over ${sizes.hotKeys.toLocaleString('en-US')} keys`;
    const x = { field: 'memtableKiB', title: 'memtableBytesLimit (KiB)', log: true };
    const summary = rows.filter((r) => r.percentile === 'summary').map((r) => ({ ...r, series: 'lsm' }));
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'Write throughput vs memtable size (W1)', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series: { field: 'series', title: 'engine' }, data: summary } },
        { id: 'write-tail', chart: { title: 'Write tail latency vs memtable size (W1)', subtitle: `${sub}; the tail is sets that waited for a flush or merge`, x, y: { field: 'writeLatencyUs', title: 'set latency (µs)', log: true }, series: { field: 'percentile', title: 'percentile' }, data: rows.filter((r) => r.percentile !== 'summary') } },
        { id: 'memory', chart: { title: 'Engine memory after W1 vs memtable size', subtitle: `${sub}; stats().memoryBytes`, x, y: { field: 'engineMiBAfterW1', title: 'engine memory (MiB)' }, series: { field: 'series', title: 'engine' }, data: summary } },
      ],
    };
  },
};
