// Why: densityFactor sets how many records lie between two LSM fence pointers: denser fences cost
// memory per key, sparser ones make every get read and parse a longer block. This sweep shows get
// latency (W4 uniform, W5 zipf), the engine's memory (fences + filters, stats().memoryBytes) per
// key, and disk bytes, after a W3 load.

import type { Datum } from '../chart.js';
import { SMALL_BUFFERS, latencyFields, mib, type Sweep } from './common.js';
import { pointProgress, runEngine, sweepSizes } from './points.js';

const VALUES = [1, 2, 5, 10, 20, 50, 100, 200];

export const density: Sweep = {
  name: 'density',
  describe: 'lsm densityFactor: get latency (W4/W5), memory per key, disk bytes',
  async run(ctx) {
    if (!ctx.has('lsm')) return { rows: [], figures: [] };
    const sizes = sweepSizes(ctx.full);
    const rows: Datum[] = [];
    const bar = pointProgress('density', VALUES.length);
    for (const d of VALUES) {
      bar.relabel(`density ${d}`);
      const r = await runEngine('lsm', { ...SMALL_BUFFERS.lsm, densityFactor: d }, sizes, ['W3', 'W4', 'W5']);
      const w4 = r.W4!;
      for (const [w, row] of [['W4 uniform', w4], ['W5 zipf', r.W5!]] as const) {
        rows.push({ engine: 'lsm', workload: w, densityFactor: d, readOpsPerSec: Math.round(row.opsPerSec), ...latencyFields('read', row.latency) });
      }
      rows.push({ engine: 'lsm', workload: 'memory', densityFactor: d, memoryBytesPerKey: Math.round((100 * w4.engineBytes) / sizes.load) / 100, diskMiB: mib(w4.diskBytes) });
      bar.tick();
    }
    bar.finish();
    const sub = `lsm after loading ${sizes.load.toLocaleString('en-US')} keys (8 B keys, 32 B values), 256 KiB memtable; ${sizes.ops.toLocaleString('en-US')} gets`;
    const x = { field: 'densityFactor', title: 'densityFactor (records per fence pointer)', log: true };
    const reads = rows.filter((r) => r.workload !== 'memory');
    const mem = rows.filter((r) => r.workload === 'memory');
    return {
      rows,
      figures: [
        { id: 'read-p50', chart: { title: 'Get latency vs densityFactor (p50)', subtitle: sub, x, y: { field: 'readP50us', title: 'p50 get latency (µs)' }, series: { field: 'workload', title: 'workload' }, data: reads } },
        { id: 'read-p99', chart: { title: 'Get latency vs densityFactor (p99)', subtitle: sub, x, y: { field: 'readP99us', title: 'p99 get latency (µs)' }, series: { field: 'workload', title: 'workload' }, data: reads } },
        { id: 'memory', chart: { title: 'Engine memory per key vs densityFactor', subtitle: `${sub}; stats().memoryBytes / keys`, x, y: { field: 'memoryBytesPerKey', title: 'memory (bytes per key)' }, series: { field: 'engine', title: 'engine' }, data: mem } },
        { id: 'disk', chart: { title: 'Disk bytes vs densityFactor', subtitle: sub, x, y: { field: 'diskMiB', title: 'bytes on disk (MiB)' }, series: { field: 'engine', title: 'engine' }, data: mem } },
      ],
    };
  },
};
