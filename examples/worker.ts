// A worker-style demo: a keyed stream operator (per-sensor running aggregates) keeps its state in
// snapkv with a directory replica, snapshots every N events together with the source offset, is
// killed midway (SIGKILL, no close), restarts, restores the latest snapshot, replays the event log
// from the saved offset, and checks that its final state equals a crash-free run.
//
//   npm run example -- [--engine lsm|hybridlog|appendlog|memonly (default lsm)] [--events 200000] [--every 10000]

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirReplica, engineNames, open, type OpenOptions } from '../src/index.js';

interface Agg { count: number; sum: number; min: number; max: number }

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const engine = arg('engine', 'lsm');
const events = Number(arg('events', '200000'));
const every = Number(arg('every', '10000'));
const SENSORS = 5_000;

/** Event `i` of the replayable source log: a pure function of i, like a partition offset. */
function event(i: number): { sensor: string; value: number } {
  let x = (i + 1) * 0x9e3779b1;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  const h = x >>> 0;
  // A few hot sensors and a long tail, as real telemetry has.
  const sensor = h % 4 === 0 ? h % 20 : h % SENSORS;
  return { sensor: `sensor-${sensor}`, value: (h >>> 8) % 1000 };
}

function apply(old: Agg | undefined, v: number): Agg {
  return old
    ? { count: old.count + 1, sum: old.sum + v, min: Math.min(old.min, v), max: Math.max(old.max, v) }
    : { count: 1, sum: v, min: v, max: v };
}

function digest(entries: Array<[string, Agg]>): string {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
}

/** The worker process: run the operator from the restored offset; optionally die at `crashAt`. */
async function worker(dir: string, replicaDir: string, crashAt: number): Promise<void> {
  const store = await open({ engine, dir, replica: new DirReplica(replicaDir) } as OpenOptions);
  const state = store.typed<string, Agg>('utf8');
  const meta = store.typed<string, number>('utf8');
  const start = meta.get('__source_offset') ?? 0;
  const snaps = await store.versions();
  console.log(`[worker ${process.pid}] ${engine}: restored snapshot ${snaps.at(-1) ?? '(none)'}, replaying from offset ${start}`);
  for (let i = start; i < events; i++) {
    const e = event(i);
    state.update(e.sensor, (old) => apply(old, e.value));
    if ((i + 1) % every === 0) {
      meta.set('__source_offset', i + 1);
      const info = await store.snapshot((i + 1) / every);
      if (((i + 1) / every) % 5 === 0) {
        console.log(`[worker ${process.pid}] snapshot ${info.id} at offset ${i + 1}: ${info.files} files, pushed ${info.filesPushed} (${info.bytesPushed} B) in ${(info.seconds * 1000).toFixed(1)} ms`);
      }
    }
    if (i + 1 === crashAt) {
      console.log(`[worker ${process.pid}] crashing at event ${crashAt} (SIGKILL, no close)`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
  const out: Array<[string, Agg]> = [];
  for (let s = 0; s < SENSORS; s++) {
    const a = state.get(`sensor-${s}`);
    if (a) out.push([`sensor-${s}`, a]);
  }
  console.log(`RESULT ${digest(out)} ${out.length}`);
  await store.close();
}

function runChild(args: string[]): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--role-worker')) {
    await worker(arg('dir', ''), arg('replica', ''), Number(arg('crash-at', '0')));
    return;
  }
  if (!engineNames().includes(engine)) throw new Error(`unknown --engine ${engine}; choose one of ${engineNames().join(', ')}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-example-'));
  const dir = path.join(root, 'state', 'worker-3');
  const replica = path.join(root, 'replica');
  const crashAt = Math.floor(events * 0.63);
  console.log(`snapkv worker demo: engine=${engine}, ${events} events, snapshot every ${every}, crash at ${crashAt}`);
  console.log(`data dir ${dir}, replica ${replica}`);
  try {
    // Reference: the same operator over the same log in a plain Map, no crash.
    const ref = new Map<string, Agg>();
    for (let i = 0; i < events; i++) {
      const e = event(i);
      ref.set(e.sensor, apply(ref.get(e.sensor), e.value));
    }
    const want = digest([...ref.entries()]);

    const first = await runChild(['--role-worker', '--engine', engine, '--dir', dir, '--replica', replica, '--crash-at', String(crashAt), '--events', String(events), '--every', String(every)]);
    if (first.signal !== 'SIGKILL') throw new Error(`the first worker was expected to die by SIGKILL, got code ${first.code} signal ${first.signal}`);
    console.log('[demo] worker killed; restarting it on the same directory');
    const second = await runChild(['--role-worker', '--engine', engine, '--dir', dir, '--replica', replica, '--events', String(events), '--every', String(every)]);
    const m = /RESULT (\w+) (\d+)/.exec(second.out);
    if (second.code !== 0 || !m) throw new Error(`the restarted worker failed (code ${second.code})`);
    console.log(`[demo] crash-free run: ${ref.size} sensors, digest ${want}`);
    console.log(`[demo] crashed+restored:  ${m[2]} sensors, digest ${m[1]}`);
    if (m[1] !== want) {
      console.log('FAILED: the recovered state differs from the crash-free run');
      process.exitCode = 1;
    } else {
      console.log('PASSED: final state equals the crash-free run');
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
