// The "Must show" list of issue 5 (LSM engine), every figure measured side by side in one run on
// identical operation streams (../shared/WORKLOADS.md: 8-byte big-endian keys, 32-byte values,
// seed 42). Writes bench/results/lsm.md. Run: npx tsx bench/lsm-claims.ts  (~2 minutes)
//
//   1. W1 sets, WAL off, >= 33% of a plain Map's ops/s (WAL on reported too)
//   2. W4 gets on 1M keys >= 25% of raw positional fs.readSync of the same records
//   3. fences + filters <= 4 bytes per key at densityFactor 10, 1M keys
//   4. Bloom probes >= 10x faster than `bloom-filters` on the same keys; FP rate within ±30%
//   5. reopen of a 1M-key store >= 10x faster than an AppendLog-style full-scan rebuild
// Plus the memtable choice: Map sorted at flush vs a skip list.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bloomFilters from 'bloom-filters';
import { Bench } from 'tinybench';
import { open, type SnapStore } from '../src/index.js';
import { keyString } from '../src/key-string.js';
import { BloomFilter, bloomHash } from '../src/lsm/bloom-filter.js';
import { compareBytes } from '../src/lsm/key-compare.js';
import { Memtable } from '../src/lsm/memtable.js';
import { RunReader } from '../src/lsm/run-reader.js';
import { scanRecords } from '../src/record-scan.js';
import { rec } from '../src/record.js';
import { permutation, uniformKeys, values, writeKey } from './workloads.js';
import { type Claim, claimsTable, fmt, pct, rawRecordReader, timed } from './claims-common.js';

// bloom-filters is CommonJS: take the class off its default export (works under Node and vitest).
const RefBloom = bloomFilters.BloomFilter;

const N = 1_000_000;
const HOT = 100_000;
const vals = values(4096, 32);
const keyBuf = new Uint8Array(8);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-lsm-bench-'));
const log = (s: string): void => void process.stderr.write(`${s}\n`);

let dirN = 0;
const freshDir = (): string => path.join(tmpRoot, `d${dirN++}`);

const claims: Claim[] = [];
const notes: string[] = [];

// ---------------------------------------------------------------- 1. W1 sets
async function w1(): Promise<void> {
  const keys = uniformKeys(N, HOT);
  const runMap = (): number => {
    const m = new Map<string, Uint8Array>();
    return N / timed(N, (i) => {
      const k = keyString(writeKey(keyBuf, keys[i]!));
      m.set(k, vals[i & 4095]!);
    });
  };
  const runLsm = async (wal: boolean): Promise<number> => {
    const dir = freshDir();
    const s = await open({ engine: 'lsm', dir, wal });
    const ops = N / timed(N, (i) => s.set(writeKey(keyBuf, keys[i]!), vals[i & 4095]!));
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
    return ops;
  };
  // Alternate and keep each system's best of two, so a noisy neighbour hurts no one system alone.
  let map = 0;
  let off = 0;
  let on = 0;
  for (let round = 0; round < 2; round++) {
    map = Math.max(map, runMap());
    off = Math.max(off, await runLsm(false));
    on = Math.max(on, await runLsm(true));
  }
  log(`W1: Map ${fmt(map)}/s, lsm ${fmt(off)}/s, lsm+wal ${fmt(on)}/s`);
  claims.push({ what: 'W1 sets, WAL off, vs Map (same run)', measured: `${fmt(off)} vs ${fmt(map)} ops/s = ${pct(off / map)}`, target: '>= 33%', pass: off / map >= 0.33 });
  notes.push(`W1 with \`wal: true\`: ${fmt(on)} ops/s = ${pct(on / map)} of Map (one positional write per set).`);
}

// ------------------------------------------------ 2, 3, 5. W3 load, W4 gets, bytes/key, reopen
async function loadGetsReopen(): Promise<void> {
  const dir = freshDir();
  let s: SnapStore = await open({ engine: 'lsm', dir });
  const order = permutation(N, 99);
  const loadS = timed(N, (i) => s.set(writeKey(keyBuf, order[i]!), vals[i & 4095]!));
  await s.snapshot(1); // seals the memtable: every key is in a run
  const st = s.stats();
  const e = st.engineStats;
  log(`W3 load: ${fmt(N / loadS)}/s, runs per level ${JSON.stringify(e.runsPerLevel)}, disk ${(st.diskBytes / 2 ** 20).toFixed(1)} MiB`);
  notes.push(`W3 load (1M distinct keys): ${fmt(N / loadS)} sets/s; runs per level after the load ${JSON.stringify(e.runsPerLevel)}; ${(st.diskBytes / 2 ** 20).toFixed(1)} MiB on disk.`);

  // 3. bytes per key
  const perKey = ((e.fenceBytes as number) + (e.filterBytes as number)) / N;
  claims.push({
    what: 'in-memory bytes per key (fences + filters), densityFactor 10, 1M keys',
    measured: `${perKey.toFixed(2)} B/key (fences ${((e.fenceBytes as number) / N).toFixed(2)}, filters ${((e.filterBytes as number) / N).toFixed(2)})`,
    target: '<= 4',
    pass: perKey <= 4,
  });

  // 2. W4 gets vs raw positional reads of the same records (one flat file, offsets in RAM).
  const raw = rawRecordReader(path.join(tmpRoot, 'raw.records'), N, vals);
  const gets = uniformKeys(N, N, 4);
  let sink = 0;
  const rawRun = (): number => N / timed(N, (i) => {
    sink += raw.read(gets[i]!);
  });
  let missing = 0;
  const lsmRun = (): number => N / timed(N, (i) => {
    if (s.get(writeKey(keyBuf, gets[i]!)) === undefined) missing++;
  });
  let rawOps = 0;
  let lsmOps = 0;
  for (let round = 0; round < 2; round++) {
    rawOps = Math.max(rawOps, rawRun());
    lsmOps = Math.max(lsmOps, lsmRun());
  }
  raw.close();
  if (missing > 0) throw new Error(`W4: ${missing} loaded keys not found`);
  const e2 = s.stats().engineStats;
  log(`W4: lsm ${fmt(lsmOps)}/s, raw readSync ${fmt(rawOps)}/s (sink ${sink > 0})`);
  claims.push({ what: 'W4 gets on 1M keys vs raw positional fs.readSync of the same records', measured: `${fmt(lsmOps)} vs ${fmt(rawOps)} ops/s = ${pct(lsmOps / rawOps)}`, target: '>= 25%', pass: lsmOps / rawOps >= 0.25 });
  notes.push(`W4 Bloom outcomes over ${fmt(2 * N)} gets: ${fmt(e2.bloomNegatives as number)} negatives, ${fmt(e2.bloomFalsePositives as number)} false positives, ${fmt(e2.bloomHits as number)} hits.`);

  // Absent keys: measured false-positive rate of the filters inside the engine.
  const before = s.stats().engineStats;
  const ABSENT = 300_000;
  for (let i = 0; i < ABSENT; i++) s.get(writeKey(keyBuf, N + 1 + i * 13));
  const after = s.stats().engineStats;
  const negs = (after.bloomNegatives as number) - (before.bloomNegatives as number);
  const fps = (after.bloomFalsePositives as number) - (before.bloomFalsePositives as number);
  const engineFpr = fps / (negs + fps);
  notes.push(`In-engine FP rate on ${fmt(ABSENT)} absent-key gets (each probes every run): ${(100 * engineFpr).toFixed(3)}% (${fmt(fps)} of ${fmt(negs + fps)} probes), configured 1%.`);
  await s.close();

  // 5. reopen vs AppendLog-style full-scan rebuild of the same data files.
  // Oldest first (deepest level, then generation); each file's record section ends at its index.
  // A copy of the closed store's runs: the reopens below may install a merge (a get does), which
  // deletes runs from `dir`; the scan must keep reading the same files.
  const scanDir = `${dir}-scan`;
  fs.mkdirSync(scanDir);
  for (const n of fs.readdirSync(dir).filter((x) => x.endsWith('.run'))) fs.copyFileSync(path.join(dir, n), path.join(scanDir, n));
  const files = fs.readdirSync(scanDir).filter((n) => n.endsWith('.run'))
    .map((n) => RunReader.open(scanDir, n, Number(n.slice(1, n.indexOf('.')))))
    .sort((a, b) => b.level - a.level || a.gen - b.gen);
  for (const f of files) f.close();
  const scanRebuild = (): number => {
    const t0 = process.hrtime.bigint();
    const index = new Map<string, number>();
    files.forEach((f, fi) => {
      scanRecords(f.file, (buf, off) => {
        const k = buf.toString('latin1', rec.keyStart, rec.keyStart + rec.keyLen);
        if (rec.valueLen === 0) index.delete(k);
        else index.set(k, fi * 2 ** 32 + off);
      }, { end: f.footer.dataEnd });
    });
    if (index.size !== N) throw new Error(`scan rebuild found ${index.size} keys`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const reopen = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    s = await open({ engine: 'lsm', dir });
    const first = s.get(writeKey(keyBuf, 12345)); // until the first get answers
    const t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (!first) throw new Error('reopen: key missing');
    await s.close();
    return t;
  };
  let scanS = Infinity;
  let openS = Infinity;
  for (let round = 0; round < 3; round++) {
    scanS = Math.min(scanS, scanRebuild());
    openS = Math.min(openS, await reopen());
  }
  log(`reopen ${(openS * 1000).toFixed(1)} ms vs scan ${(scanS * 1000).toFixed(1)} ms`);
  claims.push({ what: 'reopen of a 1M-key store vs AppendLog-style full-scan rebuild (same files)', measured: `${(openS * 1000).toFixed(1)} ms vs ${(scanS * 1000).toFixed(0)} ms = ${(scanS / openS).toFixed(0)}x faster`, target: '>= 10x', pass: scanS / openS >= 10 });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(scanDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- 4. Bloom probes
async function bloom(): Promise<void> {
  const n = 100_000;
  const p = 0.01;
  const ours = BloomFilter.forKeys(n, p);
  const ref = RefBloom.create(n, p);
  const member: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const k = Buffer.from(writeKey(new Uint8Array(8), i * 2));
    member.push(k);
    ours.add(bloomHash(k));
    ref.add(k);
  }
  // Probe keys: half members, half not (odd numbers), identical for both filters.
  const probes: Buffer[] = [];
  for (let i = 0; i < 4096; i++) probes.push(Buffer.from(writeKey(new Uint8Array(8), i * 37)));
  let j = 0;
  let hits = 0;
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench
    .add('snapkv BloomFilter (xxh32 + double hashing)', () => {
      if (ours.has(bloomHash(probes[j++ & 4095]!))) hits++;
    })
    .add('bloom-filters BloomFilter', () => {
      if (ref.has(probes[j++ & 4095]!)) hits++;
    });
  await bench.run();
  const [a, b] = bench.tasks.map((t) => t.result as unknown as { throughput?: { mean: number }; hz?: number; latency?: { mean: number } });
  const hz = (r: typeof a): number => r?.throughput?.mean ?? r?.hz ?? 0;
  const oursHz = hz(a);
  const refHz = hz(b);
  log(`bloom: ours ${fmt(oursHz)}/s, bloom-filters ${fmt(refHz)}/s (${hits > 0})`);
  claims.push({ what: 'Bloom probe vs bloom-filters, same 8-byte keys (tinybench)', measured: `${(1e9 / oursHz).toFixed(0)} ns vs ${(1e9 / refHz).toFixed(0)} ns per probe = ${(oursHz / refHz).toFixed(0)}x faster`, target: '>= 10x', pass: oursHz / refHz >= 10 });
  let fp = 0;
  const M = 1_000_000;
  for (let i = 0; i < M; i++) if (ours.has(bloomHash(writeKey(keyBuf, 2 * i + 1)))) fp++;
  let refFp = 0;
  const RM = 100_000;
  for (let i = 0; i < RM; i++) if (ref.has(Buffer.from(writeKey(keyBuf, 2 * i + 1)))) refFp++;
  const rate = fp / M;
  claims.push({ what: `measured Bloom FP rate at configured ${p} (${fmt(n)} keys, ${fmt(M)} non-member probes)`, measured: `${(100 * rate).toFixed(3)}% (bloom-filters: ${((100 * refFp) / RM).toFixed(3)}% on ${fmt(RM)} probes)`, target: '1% ± 30% (0.7–1.3%)', pass: Math.abs(rate - p) <= 0.3 * p });
  notes.push(`Filter memory at 1%: ${(ours.bytes * 8 / n).toFixed(2)} bits/key, k = ${ours.k}.`);
}

// ---------------------------------------------------------------- memtable structure
/** A minimal skip list over byte keys, the alternative to Map + sort at flush. */
class SkipList {
  private readonly keys: Uint8Array[] = [new Uint8Array(0)];
  private readonly vals: Uint8Array[] = [new Uint8Array(0)];
  private readonly next: Int32Array[] = [new Int32Array(16).fill(-1)];
  private level = 1;
  private seed = 12345;
  private readonly update = new Int32Array(16);
  set(k: Uint8Array, v: Uint8Array): void {
    let x = 0;
    for (let l = this.level - 1; l >= 0; l--) {
      for (;;) {
        const nx = this.next[x]![l]!;
        if (nx < 0) break;
        const c = compareBytes(this.keys[nx]!, 0, this.keys[nx]!.length, k, 0, k.length);
        if (c >= 0) break;
        x = nx;
      }
      this.update[l] = x;
    }
    const cand = this.next[x]![0]!;
    if (cand >= 0 && compareBytes(this.keys[cand]!, 0, this.keys[cand]!.length, k, 0, k.length) === 0) {
      this.vals[cand] = v;
      return;
    }
    let lvl = 1;
    while (lvl < 16 && ((this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0) & 0x30000) === 0) lvl++;
    for (let l = this.level; l < lvl; l++) this.update[l] = 0;
    if (lvl > this.level) this.level = lvl;
    const id = this.keys.length;
    this.keys.push(k.slice());
    this.vals.push(v);
    const nexts = new Int32Array(lvl);
    for (let l = 0; l < lvl; l++) {
      const u = this.update[l]!;
      nexts[l] = this.next[u]![l]!;
      this.next[u]![l] = id;
    }
    this.next.push(nexts);
  }
}

function memtable(): void {
  const keys = uniformKeys(N, HOT);
  const timeSort = (f: () => number): number => {
    const t0 = process.hrtime.bigint();
    if (f() === 0) throw new Error('empty');
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // (a) the engine's memtable: Map<string, slot> + value arena, sorted slots at flush.
  const runArena = (): [number, number] => {
    const m = new Memtable(1 << 30);
    const ins = timed(N, (i) => m.set(writeKey(keyBuf, keys[i]!), vals[i & 4095]!));
    return [ins, timeSort(() => m.sortedSlots().length)];
  };
  // (b) Map<string, Uint8Array> with a fresh copy per value, key strings sorted at flush.
  const runCopy = (): [number, number] => {
    const m = new Map<string, Uint8Array>();
    const ins = timed(N, (i) => {
      const k = keyString(writeKey(keyBuf, keys[i]!));
      m.set(k, Uint8Array.prototype.slice.call(vals[i & 4095]!));
    });
    return [ins, timeSort(() => {
      const sorted = Array.from(m.keys()).sort();
      let n = 0;
      for (const k of sorted) n += m.get(k)!.length; // a flush reads each value back
      return n;
    })];
  };
  // (c) a skip list over byte keys (already sorted at flush).
  const runSkip = (): number => {
    const sl = new SkipList();
    return timed(N, (i) => sl.set(writeKey(keyBuf, keys[i]!), Uint8Array.prototype.slice.call(vals[i & 4095]!)));
  };
  const best = { arena: [Infinity, Infinity], copy: [Infinity, Infinity], skip: Infinity };
  for (let r = 0; r < 2; r++) {
    const a = runArena();
    const c = runCopy();
    best.arena = [Math.min(best.arena[0]!, a[0]), Math.min(best.arena[1]!, a[1])];
    best.copy = [Math.min(best.copy[0]!, c[0]), Math.min(best.copy[1]!, c[1])];
    best.skip = Math.min(best.skip, runSkip());
  }
  const ms = (x: number): string => (x * 1000).toFixed(0);
  log(`memtable: arena ${fmt(N / best.arena[0]!)}/s + sort ${ms(best.arena[1]!)} ms; Map+copy ${fmt(N / best.copy[0]!)}/s + sort ${ms(best.copy[1]!)} ms; skip list ${fmt(N / best.skip)}/s`);
  notes.push(
    `Memtable choice (1M sets over 100K keys, 32-byte values copied; then ordering the 100K entries for a flush): ` +
      `Map<string, slot> + value arena (chosen) ${fmt(N / best.arena[0]!)} sets/s + ${ms(best.arena[1]!)} ms to order; ` +
      `Map<string, Uint8Array> with a copy per value ${fmt(N / best.copy[0]!)} sets/s + ${ms(best.copy[1]!)} ms (sort + lookups); ` +
      `skip list over byte keys ${fmt(N / best.skip)} sets/s (ordered for free). Totals: ${ms(best.arena[0]! + best.arena[1]!)} / ${ms(best.copy[0]! + best.copy[1]!)} / ${ms(best.skip)} ms.`,
  );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  await w1();
  memtable();
  await bloom();
  await loadGetsReopen();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
  const lines = [
    `# LSM engine: issue 5 "Must show" (bench/lsm-claims.ts)`,
    '',
    `Run ${new Date().toISOString().slice(0, 16)}Z — Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), shared with other jobs: every comparison is a same-run ratio, best of 2–3 alternating rounds. Default parameters (memtableBytesLimit 4 MiB, maxRunsPerLevel 3, densityFactor 10, bloomFalsePositiveRate 0.01, wal off); 8-byte big-endian keys, 32-byte values, seed 42. Total ${((Date.now() - t0) / 1000).toFixed(0)} s. Command: \`npx tsx bench/lsm-claims.ts\``,
    '',
    ...claimsTable(claims),
    '',
    '## Notes',
    '',
    ...notes.map((n) => `- ${n}`),
  ];
  const md = `${lines.join('\n')}\n`;
  console.log(md);
  fs.mkdirSync(path.join('bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join('bench', 'results', 'lsm.md'), md);
}

await main();
