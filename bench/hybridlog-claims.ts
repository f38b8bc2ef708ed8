// The "Must show" list of issue 4 (HybridLog engine), every figure measured side by side in one
// run on identical operation streams (../shared/WORKLOADS.md: 8-byte big-endian keys, 32-byte
// values, seed 42). Writes bench/results/hybridlog.md. Run: npx tsx bench/hybridlog-claims.ts
//
//   1. W2 (zipf sets) and W1 (uniform sets, 100K keys, ring holds them) >= 50% of a Map's ops/s
//   2. on W2, bytes written <= 20% of what the AppendLog writes for the same operations
//   3. W3 + W4 with memSegmentBytes = 16 MiB: gets >= 40% of raw positional fs.readSync
//   4. memory after W3 ~ memSegmentBytes + index (<= 32 B/key) + a small constant
//
// Bytes written are the process' `wchar` from /proc/self/io (every byte passed to write(2) and
// friends), so the two engines are measured by the kernel, not by their own counters; each run
// ends with close(), which persists everything for both engines.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from '../src/index.js';
import { keyString } from '../src/key-string.js';
import { permutation, uniformKeys, values, writeKey, zipfKeys } from './workloads.js';
import { type Claim, claimsTable, fmt, pct, rawRecordReader, timed } from './claims-common.js';

const N = 1_000_000;
const HOT = 100_000;
const vals = values(4096, 32);
const keyBuf = new Uint8Array(8);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-hlog-bench-'));
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
let dirN = 0;
const freshDir = (): string => path.join(tmpRoot, `d${dirN++}`);


/** Bytes this process has passed to write calls so far. */
function wchar(): number {
  const m = /wchar:\s*(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const claims: Claim[] = [];
const notes: string[] = [];

function mapRun(keys: Uint32Array): number {
  const m = new Map<string, Uint8Array>();
  return N / timed(N, (i) => {
    m.set(keyString(writeKey(keyBuf, keys[i]!)), vals[i & 4095]!);
  });
}

/** ops/s of the sets alone, and bytes written including close(). */
async function engineRun(engine: 'hybridlog' | 'appendlog', keys: Uint32Array): Promise<{ ops: number; written: number; stats: Record<string, unknown> }> {
  const dir = freshDir();
  const w0 = wchar();
  const s = await open({ engine, dir });
  const ops = N / timed(N, (i) => s.set(writeKey(keyBuf, keys[i]!), vals[i & 4095]!));
  const stats = s.stats().engineStats as Record<string, unknown>;
  await s.close();
  const written = wchar() - w0;
  fs.rmSync(dir, { recursive: true, force: true });
  return { ops, written, stats };
}

// ---------------------------------------------------------------- 1, 2. W1 and W2 sets
async function writes(): Promise<void> {
  for (const [name, keys] of [['W1 (uniform)', uniformKeys(N, HOT)], ['W2 (zipf 0.99)', zipfKeys(N, HOT)]] as const) {
    let map = 0;
    let hl = { ops: 0, written: 0, stats: {} as Record<string, unknown> };
    let al = { ops: 0, written: 0, stats: {} as Record<string, unknown> };
    // Alternate and keep each system's best of two, so a noisy neighbour hurts no one system alone.
    for (let round = 0; round < 2; round++) {
      map = Math.max(map, mapRun(keys));
      const h = await engineRun('hybridlog', keys);
      if (h.ops > hl.ops) hl = h;
      const a = await engineRun('appendlog', keys);
      if (a.ops > al.ops) al = a;
    }
    log(`${name}: Map ${fmt(map)}/s, hybridlog ${fmt(hl.ops)}/s (${mib(hl.written)} written), appendlog ${fmt(al.ops)}/s (${mib(al.written)} written)`);
    claims.push({ what: `${name} sets vs Map (same run), default ring (64 MiB) holds the 100K keys`, measured: `${fmt(hl.ops)} vs ${fmt(map)} ops/s = ${pct(hl.ops / map)}`, target: '>= 50%', pass: hl.ops / map >= 0.5 });
    notes.push(`${name}: in-place updates ${fmt(hl.stats.inPlaceUpdates as number)}, appends ${fmt(hl.stats.appends as number)}; AppendLog ${fmt(al.ops)} ops/s.`);
    if (name.startsWith('W2')) {
      claims.push({ what: 'W2 bytes written (sets + close), HybridLog vs AppendLog, same operations', measured: `${mib(hl.written)} vs ${mib(al.written)} = ${pct(hl.written / al.written)}`, target: '<= 20%', pass: hl.written / al.written <= 0.2 });
    }
  }
}

// ---------------------------------------------------------------- 3, 4. W3 load + W4 gets, memory
async function spill(): Promise<void> {
  const RING = 16 * 2 ** 20;
  global.gc?.();
  const before = process.memoryUsage();
  const dir = freshDir();
  const s = await open({ engine: 'hybridlog', dir, memSegmentBytes: RING });
  const order = permutation(N, 99);
  const loadS = timed(N, (i) => s.set(writeKey(keyBuf, order[i]!), vals[i & 4095]!));
  global.gc?.();
  const after = process.memoryUsage();
  const st = s.stats();
  const e = st.engineStats as Record<string, number | number[]>;
  const idxPerKey = (e.indexBytes as number) / N;
  const heldByProcess = after.rss - before.rss;
  const external = after.external + after.arrayBuffers - before.external - before.arrayBuffers;
  log(`W3 load: ${fmt(N / loadS)}/s, files per level ${JSON.stringify(e.filesPerLevel)}, rss +${mib(heldByProcess)}`);
  notes.push(`W3 load (1M distinct keys, 16 MiB ring): ${fmt(N / loadS)} sets/s; files per level ${JSON.stringify(e.filesPerLevel)}; ${mib(st.diskBytes)} on disk.`);
  const expected = RING + (e.indexBytes as number);
  claims.push({
    what: 'memory after W3 (16 MiB ring, 1M keys): stats() and process',
    measured: `stats().memoryBytes ${mib(st.memoryBytes)} = ring ${mib(RING)} + index ${mib(e.indexBytes as number)} (${idxPerKey.toFixed(1)} B/key); process: RSS +${mib(heldByProcess)}, heap+external+arrayBuffers +${mib(after.heapUsed - before.heapUsed + external)}`,
    target: `~ ${mib(expected)} + small constant; index <= 32 B/key`,
    pass: idxPerKey <= 32 && heldByProcess < expected + 32 * 2 ** 20,
  });

  // W4: gets vs raw positional reads of the same records (one flat file, offsets in RAM).
  const raw = rawRecordReader(path.join(tmpRoot, 'raw.records'), N, vals);
  const gets = uniformKeys(N, N, 4);
  let sink = 0;
  let missing = 0;
  let rawOps = 0;
  let hlOps = 0;
  for (let round = 0; round < 2; round++) {
    rawOps = Math.max(rawOps, N / timed(N, (i) => { sink += raw.read(gets[i]!); }));
    hlOps = Math.max(hlOps, N / timed(N, (i) => { if (s.get(writeKey(keyBuf, gets[i]!)) === undefined) missing++; }));
  }
  raw.close();
  if (missing > 0) throw new Error(`${missing} keys missing after W3`);
  log(`W4: raw pread ${fmt(rawOps)}/s, hybridlog ${fmt(hlOps)}/s (${sink > 0 ? 'ok' : ''})`);
  claims.push({ what: 'W4 gets on 1M keys, 16 MiB ring (state larger than memory) vs raw positional fs.readSync of the same records', measured: `${fmt(hlOps)} vs ${fmt(rawOps)} ops/s = ${pct(hlOps / rawOps)}`, target: '>= 40%', pass: hlOps / rawOps >= 0.4 });
  await s.close();
}

const t0 = Date.now();
await writes();
await spill();
fs.rmSync(tmpRoot, { recursive: true, force: true });
const total = (Date.now() - t0) / 1000;
const md = [
  '# HybridLog engine: issue 4 "Must show" (bench/hybridlog-claims.ts)',
  '',
  `Run ${new Date().toISOString().slice(0, 16)}Z — Node ${process.version}, ${os.platform()}/${os.arch()}, ${os.cpus().length} cores, shared with other jobs: every comparison is a same-run ratio, best of 2 alternating rounds. Default parameters unless stated (memSegmentBytes 64 MiB, roLagBytes 32 MiB, flushIntervalBytes 16 MiB, maxRunsPerLevel 3); 8-byte big-endian keys, 32-byte values, seed 42. Total ${total.toFixed(0)} s. Command: \`node --expose-gc --import tsx bench/hybridlog-claims.ts\``,
  '',
  ...claimsTable(claims),
  '',
  '## Notes',
  '',
  ...notes.map((n) => `- ${n}`),
  '',
];
fs.mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
fs.writeFileSync(new URL('./results/hybridlog.md', import.meta.url), md.join('\n'));
process.stdout.write(md.join('\n'));
