// Why: a worker is fed at the rate events arrive, not as fast as it can go, so the thesis plots
// write latency against offered throughput. For each system and key distribution one store is
// warmed up (100K untimed sets, which touch every key of the 100K key space and let the JIT
// settle), then driven open-loop at increasing target rates, a fixed duration each (measure.ts:
// latency from each op's due time, so a stall counts against every op queued behind it). Past a
// system's capacity its latency climbs steeply: the knee is its sustainable rate. Uniform (W1) and
// zipf (W2) keys; every engine, the Map baseline and both peers.

import type { Datum, LineChart } from '../chart.js';
import { measure } from '../measure.js';
import { defaultSystems } from '../systems.js';
import { uniformKeys, values, writeKey, zipfKeys } from '../workloads.js';
import { latencyFields, type Sweep } from './common.js';
import { pointProgress } from './points.js';

const HOT = 100_000;
const WARMUP = 100_000;

export const latencyThroughput: Sweep = {
  name: 'latency-throughput',
  describe: 'write latency vs offered rate (open loop), uniform and zipf, every engine and peer',
  async run(ctx) {
    const seconds = ctx.full ? 5 : 1;
    const rates = ctx.full ? [25_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000] : [50_000, 100_000, 200_000, 400_000, 800_000];
    const total = WARMUP + rates.reduce((s, r) => s + Math.round(r * seconds), 0);
    const streams = { uniform: uniformKeys(total, HOT), zipf: zipfKeys(total, HOT) };
    const vals = values(4096, 32).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    const kb = Buffer.alloc(8);
    const systems = defaultSystems();
    const rows: Datum[] = [];
    const bar = pointProgress('latency-throughput', systems.length * rates.length * 2);
    for (const [name, make] of systems) {
      for (const dist of ['uniform', 'zipf'] as const) {
        const keys = streams[dist];
        const sys = await make();
        let at = 0;
        const set = (i: number): void => sys.set(writeKey(kb, keys[at + i]!), vals[(at + i) & 4095]!);
        await measure(WARMUP, set, { settle: sys.settle?.bind(sys) });
        at += WARMUP;
        for (const rate of rates) {
          bar.relabel(`latency-throughput ${name} ${dist} ${rate}`);
          const ops = Math.round(rate * seconds);
          const r = await measure(ops, set, { rate, settle: sys.settle?.bind(sys) });
          at += ops;
          rows.push({ system: name, workload: dist, targetOpsPerSec: rate, achievedOpsPerSec: Math.round(r.opsPerSec), ...latencyFields('write', r.latency) });
          bar.tick();
        }
        await sys.close();
      }
    }
    bar.finish();
    const sub = `${seconds} s at each offered rate on one warmed-up store, sets over ${HOT.toLocaleString('en-US')} keys; latency from each op's due time`;
    const x = { field: 'targetOpsPerSec', title: 'offered write rate (ops/s)', log: true };
    const series = { field: 'system', title: 'system' };
    const fig = (id: string, dist: string, field: string, p: string): { id: string; chart: LineChart } => ({
      id,
      chart: { title: `Write latency (${p}) vs offered rate, ${dist} keys`, subtitle: sub, x, y: { field, title: `${p} set latency (µs)`, log: true }, series, data: rows.filter((r) => r.workload === dist) },
    });
    return {
      rows,
      figures: [fig('uniform-p99', 'uniform', 'writeP99us', 'p99'), fig('zipf-p99', 'zipf', 'writeP99us', 'p99'), fig('uniform-p50', 'uniform', 'writeP50us', 'p50'), fig('zipf-p50', 'zipf', 'writeP50us', 'p50')],
      notes: [
        'lmdb and classic-level queue writes (async put / chained batch): their latency is the queueing cost; commits happen on the event-loop turns between batches of 8,192 ops',
        'open loop: one stall of d ms delays every op due during it, so on a shared machine a single descheduling shows up at p99 of a short point',
      ],
    };
  },
};
