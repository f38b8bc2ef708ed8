// Why: maxRunsPerLevel is the tiering fan-in of all three log-structured engines: more runs per
// level means fewer merges (cheaper writes) but more files per get and more disk for stale
// records. This sweep shows that trade-off per engine: W1 write ops/s and tail latency, disk after
// W1 (space amplification), and W4 get latency after a W3 load. Small buffers (SMALL_BUFFERS) make
// a quick run build several levels.

import type { Datum } from '../chart.js';
import { LOG_ENGINES, SMALL_BUFFERS, latencyFields, mib, type Sweep } from './common.js';
import { pointProgress, runEngine, sweepSizes } from './points.js';

const VALUES = [2, 3, 4, 6, 8];

export const maxRuns: Sweep = {
  name: 'max-runs',
  describe: 'maxRunsPerLevel (lsm, appendlog, hybridlog): write ops/s and p99.9, disk after W1, get latency',
  async run(ctx) {
    const sizes = sweepSizes(ctx.full);
    const list = LOG_ENGINES.filter((e) => ctx.has(e));
    const rows: Datum[] = [];
    const bar = pointProgress('max-runs', list.length * VALUES.length);
    for (const engine of list) {
      for (const m of VALUES) {
        bar.relabel(`max-runs ${engine} ${m}`);
        const r = await runEngine(engine, { ...SMALL_BUFFERS[engine], maxRunsPerLevel: m }, sizes, ['W1', 'W3', 'W4']);
        rows.push({
          engine,
          maxRunsPerLevel: m,
          writeOpsPerSec: Math.round(r.W1!.opsPerSec),
          ...latencyFields('write', r.W1!.latency),
          diskAfterW1MiB: mib(r.W1!.diskBytes),
          ...latencyFields('read', r.W4!.latency),
          readOpsPerSec: Math.round(r.W4!.opsPerSec),
        });
        bar.tick();
      }
    }
    bar.finish();
    const sub = `${sizes.ops.toLocaleString('en-US')} W1 sets over ${sizes.hotKeys.toLocaleString('en-US')} keys; gets after loading ${sizes.load.toLocaleString('en-US')} keys; small buffers`;
    const x = { field: 'maxRunsPerLevel', title: 'maxRunsPerLevel (runs per level before a merge)' };
    const series = { field: 'engine', title: 'engine' };
    return {
      rows,
      figures: [
        { id: 'write-throughput', chart: { title: 'Write throughput vs maxRunsPerLevel (W1)', subtitle: sub, x, y: { field: 'writeOpsPerSec', title: 'sets per second (ops/s)' }, series, data: rows } },
        { id: 'write-p999', chart: { title: 'Write tail latency vs maxRunsPerLevel (W1, p99.9)', subtitle: sub, x, y: { field: 'writeP999us', title: 'p99.9 set latency (µs)', log: true }, series, data: rows } },
        { id: 'disk', chart: { title: 'Disk after W1 vs maxRunsPerLevel (space amplification)', subtitle: sub, x, y: { field: 'diskAfterW1MiB', title: 'bytes on disk (MiB)' }, series, data: rows } },
        { id: 'read-p99', chart: { title: 'Get latency vs maxRunsPerLevel (W4, p99)', subtitle: sub, x, y: { field: 'readP99us', title: 'p99 get latency (µs)' }, series, data: rows } },
      ],
    };
  },
};
