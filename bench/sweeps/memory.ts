// Why: the thesis' first criterion after speed is memory: the LSM keeps only fences and filters
// per key, hash engines an index entry per key, MemOnly and the Map every value. For growing key
// counts this sweep loads each system and reports the engine's own figure (stats().memoryBytes)
// and the JS heap plus array-buffer growth measured after a full GC, both per key. lmdb and
// LevelDB keep their data off the JS heap (memory map, block cache), so they are left out: their
// footprint is not visible to this measurement.

import type { Datum } from '../chart.js';
import { engineSystem, mapBaseline, type SystemFactory } from '../systems.js';
import { permutation, values, writeKey } from '../workloads.js';
import { engines, type Sweep } from './common.js';
import { pointProgress } from './points.js';

/** Two full GCs around a turn of the event loop, so closed systems' buffers are really freed. */
async function gc(): Promise<void> {
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  await new Promise((r) => setImmediate(r));
  g?.();
}
const js = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export const memory: Sweep = {
  name: 'memory',
  describe: 'memory per key vs key count, per engine (stats() and JS heap + buffers after GC)',
  async run(ctx) {
    const counts = ctx.full ? [250_000, 500_000, 1_000_000, 2_000_000] : [125_000, 250_000, 500_000, 1_000_000];
    const systems: Array<[string, SystemFactory]> = [['Map', mapBaseline()], ...engines().map((e): [string, SystemFactory] => [e, engineSystem(e)])];
    const vals = values(4096, 32).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    const k = Buffer.alloc(8);
    const rows: Datum[] = [];
    const bar = pointProgress('memory', systems.length * counts.length);
    for (const [name, make] of systems) {
      for (const n of counts) {
        bar.relabel(`memory ${name} ${n}`);
        const order = permutation(n, 99);
        await gc();
        const before = js();
        const sys = await make();
        for (let i = 0; i < n; i++) sys.set(writeKey(k, order[i]!), vals[i & 4095]!);
        await sys.settle?.();
        await gc();
        const grown = js() - before;
        rows.push({ system: name, keys: n, engineMiB: Math.round((100 * sys.memoryBytes()) / 2 ** 20) / 100, jsMiB: Math.round((100 * grown) / 2 ** 20) / 100, engineBytesPerKey: Math.round((100 * sys.memoryBytes()) / n) / 100, jsBytesPerKey: Math.round((100 * grown) / n) / 100, diskMiB: Math.round(sys.diskBytes() / 2 ** 20 * 100) / 100 });
        await sys.close();
        bar.tick();
      }
    }
    bar.finish();
    const sub = 'distinct 8 B keys with 32 B values, default parameters; after a full GC';
    const x = { field: 'keys', title: 'keys loaded (count)', log: true };
    const series = { field: 'system', title: 'system' };
    return {
      rows,
      figures: [
        { id: 'total', chart: { title: 'Engine-reported memory vs keys loaded (stats().memoryBytes)', subtitle: `${sub}; fixed buffers (LSM 4 MiB memtable, HybridLog 64 MiB ring) dominate small stores`, x, y: { field: 'engineMiB', title: 'stats().memoryBytes (MiB)', log: true }, series, data: rows.filter((r) => r.system !== 'Map') } },
        { id: 'js-per-key', chart: { title: 'JS heap + buffers per key vs keys loaded', subtitle: sub, x, y: { field: 'jsBytesPerKey', title: 'heap + array buffers (bytes per key)' }, series, data: rows } },
        { id: 'stats-per-key', chart: { title: 'Engine-reported memory per key (stats().memoryBytes)', subtitle: sub, x, y: { field: 'engineBytesPerKey', title: 'stats().memoryBytes (bytes per key)' }, series, data: rows.filter((r) => r.system !== 'Map') } },
      ],
      notes: ['lmdb and classic-level are not in this sweep: their data lives outside the JS heap (memory map, LevelDB block cache)'],
    };
  },
};
