// Why: reads are the other half of an operator's hot path. After the same W3 load, each system's
// get latency distribution (p50 … max) for uniform (W4) and zipf (W5) keys, on one chart per
// workload, shows where each engine pays: memory-resident engines at the Map's level, the LSM a
// block read and parse per get, lmdb a B-tree walk in a memory map, LevelDB its block cache.

import type { Datum } from '../chart.js';
import { defaultSystems } from '../systems.js';
import { type Sweep, us } from './common.js';
import { pointProgress, runPoint, sweepSizes } from './points.js';

const PCTS: Array<[string, number, 'p50' | 'p95' | 'p99' | 'p999']> = [['p50', 0.5, 'p50'], ['p95', 0.95, 'p95'], ['p99', 0.99, 'p99'], ['p99.9', 0.999, 'p999']];

export const readLatency: Sweep = {
  name: 'read-latency',
  describe: 'get latency distribution (p50..p99.9) per system after a W3 load, uniform and zipf',
  async run(ctx) {
    const sizes = sweepSizes(ctx.full);
    const systems = defaultSystems();
    const rows: Datum[] = [];
    const bar = pointProgress('read-latency', systems.length);
    for (const [name, make] of systems) {
      bar.relabel(`read-latency ${name}`);
      const r = await runPoint(make, sizes, ['W3', 'W4', 'W5']);
      for (const w of ['W4', 'W5'] as const) {
        const row = r[w]!;
        for (const [label, q, f] of PCTS) {
          rows.push({ system: name, workload: w === 'W4' ? 'W4 uniform' : 'W5 zipf', percentile: label, nines: Math.round(-Math.log10(1 - q) * 1000) / 1000, latencyUs: us(row.latency[f]), opsPerSec: Math.round(row.opsPerSec) });
        }
      }
      bar.tick();
    }
    bar.finish();
    const sub = `${sizes.ops.toLocaleString('en-US')} gets after loading ${sizes.load.toLocaleString('en-US')} keys (8 B keys, 32 B values), default parameters`;
    const x = { field: 'nines', title: 'percentile, in nines (0.3 = p50, 1.3 = p95, 2 = p99, 3 = p99.9)' };
    const series = { field: 'system', title: 'system' };
    return {
      rows,
      figures: [
        { id: 'uniform', chart: { title: 'Get latency percentiles, uniform keys (W4)', subtitle: sub, x, y: { field: 'latencyUs', title: 'get latency (µs)', log: true }, series, data: rows.filter((r) => r.workload === 'W4 uniform') } },
        { id: 'zipf', chart: { title: 'Get latency percentiles, zipf keys (W5)', subtitle: sub, x, y: { field: 'latencyUs', title: 'get latency (µs)', log: true }, series, data: rows.filter((r) => r.workload === 'W5 zipf') } },
      ],
    };
  },
};
