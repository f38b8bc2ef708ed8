// The workload runner: runs ../shared/WORKLOADS.md W1–W5 against every registered engine, the Map
// baseline and the lmdb / LevelDB peers, on identical operation streams, and prints ONE table
// (also written to bench/results/workloads-latest.md and .json). Each system runs in its own
// child process (started with --expose-gc), so its RSS and heap figures are its own and no GC
// debt carries over from the system before it.
//
//   npm run bench                                   # quick: 500K ops per workload, 500K keys (~1-2 min)
//   npm run bench -- --full                         # the WORKLOADS.md sizes: 1M ops, 1M keys
//   npm run bench -- --rate 100000                  # open-loop at 100K ops/s (latency from due time)
//   npm run bench -- --workload W1,W4 --ops 100000 --systems Map,lsm,lmdb
//   npm run bench -- --snapshots                    # also W6–W9 (the snapshots sweep's scenarios)

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/index.js';
import { timerFloor } from './measure.js';
import { Progress } from './progress.js';
import { defaultSystems } from './systems.js';
import { FULL_SIZES, QUICK_SIZES, READ_WRITE, runReadWrite, type Sizes, type WorkloadRow } from './workloads.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

function positive(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

const base = flag('full') ? FULL_SIZES : QUICK_SIZES;
const sizes: Sizes = {
  ops: positive('ops', arg('ops'), base.ops),
  load: positive('load', arg('load') ?? arg('ops'), base.load),
  hotKeys: positive('hot', arg('hot'), base.hotKeys),
};
const rateArg = arg('rate');
const rate = rateArg === undefined ? undefined : positive('rate', rateArg, 1);
const workloads = (arg('workload') ?? READ_WRITE.join(',')).split(',').filter((w) => (READ_WRITE as readonly string[]).includes(w));
const only = arg('systems')?.split(',');

/** Child mode: run one system and write its rows as JSON to the given file. */
async function child(name: string, out: string): Promise<void> {
  const make = defaultSystems([name])[0]?.[1];
  if (!make) throw new Error(`unknown system ${name}`);
  const total = workloads.filter((w) => w !== 'W3').length * sizes.ops + sizes.load;
  const progress = new Progress(name.padEnd(14), total);
  const rows = await runReadWrite(make, { sizes, workloads, rate, progress });
  progress.finish();
  fs.writeFileSync(out, JSON.stringify(rows));
}

/** Runs one system in a child process and returns its rows. */
function runChild(name: string): Promise<WorkloadRow[]> {
  const out = path.join(os.tmpdir(), `snapkv-bench-${process.pid}-${name}.json`);
  const script = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, '--expose-gc', script, ...process.argv.slice(2), '--child', name, '--out', out];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${name}: child exited with ${code}`));
      const rows = JSON.parse(fs.readFileSync(out, 'utf8')) as WorkloadRow[];
      fs.rmSync(out, { force: true });
      resolve(rows);
    });
  });
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const us = (ns: number): string => (ns >= 100_000 ? (ns / 1000).toFixed(0) : (ns / 1000).toFixed(2));
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

/** The one table: every system on every workload. */
export function table(rows: WorkloadRow[], names: string[], wl: readonly string[]): string[] {
  const lines = [
    '| workload | system | ops/s | vs Map | p50 µs | p95 µs | p99 µs | p99.9 µs | max µs | RSS MiB | heap MiB | stats() MiB | disk MiB | snapshot s / MiB |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of wl) {
    const baseline = rows.find((r) => r.workload === w && r.system === 'Map')?.opsPerSec;
    for (const n of names) {
      const r = rows.find((x) => x.workload === w && x.system === n);
      if (!r) continue;
      const l = r.latency;
      const vs = baseline && n !== 'Map' ? `${Math.round((100 * r.opsPerSec) / baseline)}%` : '';
      const snap = r.snapshotSeconds !== undefined ? `${r.snapshotSeconds.toFixed(3)} / ${mib(r.snapshotBytes ?? 0)}` : '';
      lines.push(`| ${w} | ${n} | ${fmt(r.opsPerSec)} | ${vs} | ${us(l.p50)} | ${us(l.p95)} | ${us(l.p99)} | ${us(l.p999)} | ${us(l.max)} | ${mib(r.rssBytes)} | ${mib(r.heapBytes)} | ${mib(r.engineBytes)} | ${mib(r.diskBytes)} | ${snap} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const childName = arg('child');
  if (childName) return child(childName, arg('out')!);
  const systems = defaultSystems(only).map(([n]) => n);
  const floor = await timerFloor();
  const t0 = performance.now();
  const rows: WorkloadRow[] = [];
  for (const name of systems) rows.push(...(await runChild(name)));
  const wall = (performance.now() - t0) / 1000;
  const n = (x: number): string => x.toLocaleString('en-US');
  const mode = rate === undefined ? 'as fast as possible' : `open loop at ${n(rate)} ops/s (latency from each op's due time)`;
  const lines = [
    `# snapkv workload run, ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores; ${wall.toFixed(0)} s. ` +
      `**Sizes: W1/W2 ${n(sizes.ops)} sets over ${n(sizes.hotKeys)} keys; W3 loads ${n(sizes.load)} keys; W4/W5 ${n(sizes.ops)} gets.** ` +
      `8-byte keys, 32-byte values, seed 42; mode: ${mode}. Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\``,
    '',
    `Every op is timed (chained \`performance.now()\` stamps); the timing itself costs p50 ${us(floor.p50)} µs, mean ${us(floor.mean)} µs per op, included in every latency and in ops/s. ` +
      '"vs Map" is ops/s relative to the Map baseline in this run. Memory is measured after a GC in a child process per system; ' +
      'RSS includes mapped files (lmdb). lmdb writes are async batched `put`s and classic-level writes chained batches of 1000, so their write latency is the cost of queueing, and their ops/s include waiting for the last commit. ' +
      'W3\'s last column: one snapshot of the loaded state to a directory replica (lmdb: `backup()`).',
    '',
    ...table(rows, systems, workloads),
  ];
  const text = lines.join('\n');
  console.log(text);
  const out = path.join('bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'workloads-latest.md'), `${text}\n`);
  fs.writeFileSync(path.join(out, 'workloads-latest.json'), `${JSON.stringify({ sizes, rate: rate ?? null, timerFloorNs: floor, rows }, null, 1)}\n`);
  if (flag('snapshots')) {
    const { runSnapshotScenarios } = await import('./sweeps/snapshots.js');
    const { engineNames } = await import('../src/index.js');
    const r = await runSnapshotScenarios({ full: flag('full'), has: (e) => engineNames().includes(e), log: (l) => console.log(l) });
    const snap = ['', '## W6–W9: snapshots to a directory replica', '', ...r.notes].join('\n');
    console.log(snap);
    fs.appendFileSync(path.join(out, 'workloads-latest.md'), `${snap}\n`);
  }
}

await main();
