// The sweep driver: `npm run sweep -- <name> [--full]`, `npm run sweep -- list`,
// `npm run sweep -- all`. Each sweep (one module in bench/sweeps/) writes JSON, CSV and one SVG per
// figure into bench/results/sweeps/. Engines not registered yet are reported and skipped, so the
// same command picks them up once they land. The driver re-executes itself with --expose-gc so
// memory figures are taken after a full GC.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import '../src/index.js';
import { engines, type Sweep, type SweepContext, writeSweep } from './sweeps/common.js';
import { SWEEPS } from './sweeps/index.js';

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) {
    const script = fileURLToPath(import.meta.url);
    const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', script, ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const full = process.argv.includes('--full');
  const which = args[0] ?? 'list';
  if (which === 'list') {
    console.log('sweeps (npm run sweep -- <name> [--full]; "all" runs every one):');
    for (const s of SWEEPS) console.log(`  ${s.name.padEnd(20)} ${s.describe}`);
    console.log(`registered engines: ${engines().join(', ')}`);
    return;
  }
  const chosen: Sweep[] = which === 'all' ? SWEEPS : args.map((n) => {
    const s = SWEEPS.find((x) => x.name === n);
    if (!s) throw new Error(`unknown sweep ${JSON.stringify(n)}; run \`npm run sweep -- list\``);
    return s;
  });
  for (const s of chosen) {
    const t0 = performance.now();
    const skipped: string[] = [];
    const ctx: SweepContext = {
      full,
      has(engine) {
        if (engines().includes(engine)) return true;
        if (!skipped.includes(engine)) {
          skipped.push(engine);
          console.log(`[${s.name}] engine ${engine} not registered, skipped`);
        }
        return false;
      },
      log: (line) => console.log(`[${s.name}] ${line}`),
    };
    console.log(`[${s.name}] ${s.describe}${full ? ' (full sizes)' : ' (quick sizes; --full for WORKLOADS.md sizes)'}`);
    const res = await s.run(ctx);
    const seconds = (performance.now() - t0) / 1000;
    const files = await writeSweep(s.name, res, {
      full,
      seconds: Math.round(seconds),
      date: new Date().toISOString(),
      machine: `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores`,
      engines: engines(),
      skipped,
    });
    for (const n of res.notes ?? []) console.log(`[${s.name}] ${n}`);
    console.log(`[${s.name}] done in ${seconds.toFixed(0)} s; wrote ${files.join(', ')}`);
  }
}

await main();
