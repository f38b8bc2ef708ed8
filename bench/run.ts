// The workload runner: runs ../shared/WORKLOADS.md W1–W5 against every engine and a plain Map
// baseline in one process, one system after another on identical operation streams, and prints
// one table (also written to bench/results/).
//
//   npm run bench                                   # W1–W5, every engine, 1M operations each
//   npm run bench -- --workload W1 --ops 200000     # one workload, fewer operations
//   npm run bench -- --systems Map,appendlog        # a subset

import fs from 'node:fs';
import path from 'node:path';
import { defaultSystems, type System, type SystemFactory } from './systems.js';
import { permutation, uniformKeys, values, writeKey, zipfKeys } from './workloads.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const OPS = Number(arg('ops') ?? 1_000_000);
const LOAD = Number(arg('load') ?? OPS);
const workloads = (arg('workload') ?? 'W1,W2,W3,W4,W5').split(',');
const only = arg('systems')?.split(',');
const HOT_KEYS = 100_000;

/** One measured figure row. */
interface Row { system: string; workload: string; ops: number; seconds: number; opsPerSec: number; diskBytes: number; heapMiB: number; rssMiB: number; engineMiB: number }

const vals = values(4096, 32);
const keyBuf = new Uint8Array(8);

function timed(n: number, op: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function row(sys: System, workload: string, ops: number, seconds: number): Row {
  const mu = process.memoryUsage();
  return {
    system: sys.name,
    workload,
    ops,
    seconds,
    opsPerSec: ops / seconds,
    diskBytes: sys.diskBytes(),
    heapMiB: mu.heapUsed / 2 ** 20,
    rssMiB: mu.rss / 2 ** 20,
    engineMiB: sys.memoryBytes() / 2 ** 20,
  };
}

async function runSystem(name: string, make: SystemFactory): Promise<Row[]> {
  const rows: Row[] = [];
  for (const w of ['W1', 'W2'].filter((x) => workloads.includes(x))) {
    const keys = w === 'W1' ? uniformKeys(OPS, HOT_KEYS) : zipfKeys(OPS, HOT_KEYS);
    const sys = await make();
    const s = timed(OPS, (i) => sys.set(writeKey(keyBuf, keys[i]!), vals[i & 4095]!));
    rows.push(row(sys, w, OPS, s));
    await sys.close();
  }
  if (['W3', 'W4', 'W5'].some((x) => workloads.includes(x))) {
    const order = permutation(LOAD, 99);
    const sys = await make();
    const s = timed(LOAD, (i) => sys.set(writeKey(keyBuf, order[i]!), vals[i & 4095]!));
    if (workloads.includes('W3')) rows.push(row(sys, 'W3', LOAD, s));
    for (const w of ['W4', 'W5'].filter((x) => workloads.includes(x))) {
      const keys = w === 'W4' ? uniformKeys(OPS, LOAD, 4) : zipfKeys(OPS, LOAD, 0.99, 5);
      let missing = 0;
      const g = timed(OPS, (i) => {
        if (sys.get(writeKey(keyBuf, keys[i]!)) === undefined) missing++;
      });
      if (missing > 0) throw new Error(`${name} ${w}: ${missing} loaded keys were not found`);
      rows.push(row(sys, w, OPS, g));
    }
    await sys.close();
  }
  return rows;
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

async function main(): Promise<void> {
  const systems = defaultSystems(only);
  const rows: Row[] = [];
  for (const [name, make] of systems) {
    process.stderr.write(`running ${name} …\n`);
    rows.push(...(await runSystem(name, make)));
  }
  const names = systems.map(([n]) => n);
  const lines = [
    `# snapkv workload run, ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Node ${process.version}, ${process.platform}/${process.arch}, ${(await import('node:os')).cpus().length} cores. ${OPS.toLocaleString('en-US')} operations per workload, ${LOAD.toLocaleString('en-US')} keys loaded for W3–W5, 8-byte keys, 32-byte values, seed 42. Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\``,
    '',
    '## ops/s (higher is better; "% Map" is relative to the Map baseline in this run)',
    '',
    `| workload | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---:').join('|')}|`,
  ];
  for (const w of workloads) {
    const base = rows.find((r) => r.workload === w && r.system === 'Map')?.opsPerSec;
    const cells = names.map((n) => {
      const r = rows.find((x) => x.workload === w && x.system === n);
      if (!r) return '–';
      return base && n !== 'Map' ? `${fmt(r.opsPerSec)} (${Math.round((100 * r.opsPerSec) / base)}%)` : fmt(r.opsPerSec);
    });
    lines.push(`| ${w} | ${cells.join(' | ')} |`);
  }
  if (workloads.includes('W3')) {
    lines.push('', '## after W3 (load)', '', '| system | disk MiB | engine-reported MiB | heap MiB | RSS MiB |', '|---|---:|---:|---:|---:|');
    for (const r of rows.filter((x) => x.workload === 'W3')) {
      lines.push(`| ${r.system} | ${(r.diskBytes / 2 ** 20).toFixed(1)} | ${r.engineMiB.toFixed(1)} | ${r.heapMiB.toFixed(0)} | ${r.rssMiB.toFixed(0)} |`);
    }
  }
  const table = lines.join('\n');
  console.log(table);
  const out = path.join('bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'workloads-latest.md'), `${table}\n`);
  fs.writeFileSync(path.join(out, 'workloads-latest.json'), `${JSON.stringify(rows, null, 1)}\n`);
}

await main();
