// tinybench micro-benchmarks of the hot pieces, each on the same 8-byte keys / 32-byte values:
// record codec (encode, parse+checksum), Bloom probe, fence search, hash index get/set, ring-buffer
// append, with a Map<string> get as the yardstick. Pieces whose source file does not exist yet are
// skipped with a note. Writes bench/results/micro.md and micro.json.
//
//   npm run bench:micro            # ~20 s
//   npm run bench:micro -- --time 1000   # ms per task (default 400)

import fs from 'node:fs';
import path from 'node:path';
import { Bench } from 'tinybench';
import { keyString } from '../src/key-string.js';
import { BloomFilter, bloomHash } from '../src/lsm/bloom-filter.js';
import { FenceIndex } from '../src/lsm/fence-index.js';
import { Parse, encodeRecord, parseRecord, recordSize } from '../src/record.js';
import { permutation, values, writeKey } from './workloads.js';

const ti = process.argv.indexOf('--time');
const TIME = ti >= 0 ? Number(process.argv[ti + 1]) : 400;
const N = 100_000;
const MASK = 4095;
const src = (p: string): boolean => fs.existsSync(new URL(`../src/${p}`, import.meta.url));

const keys: Buffer[] = [];
const order = permutation(N, 5);
for (let i = 0; i <= MASK; i++) keys.push(Buffer.from(writeKey(new Uint8Array(8), order[i]!)));
const vals = values(MASK + 1, 32);
let j = 0;
let sink = 0;
const notes: string[] = [];
const bench = new Bench({ time: TIME, warmupTime: 100 });

// Record codec.
const recBuf = new Uint8Array(recordSize(8, 32) * (MASK + 1));
const recLen = recordSize(8, 32);
for (let i = 0; i <= MASK; i++) encodeRecord(recBuf, i * recLen, keys[i]!, vals[i]!);
bench.add('record encode (8 B key, 32 B value, xxh32)', () => {
  const i = j++ & MASK;
  sink += encodeRecord(recBuf, i * recLen, keys[i]!, vals[i]!);
});
bench.add('record parse + checksum verify', () => {
  const i = j++ & MASK;
  if (parseRecord(recBuf, i * recLen, recBuf.length) !== Parse.Ok) throw new Error('bad record');
});

// Bloom filter of 100K keys at 1%.
const bloom = BloomFilter.forKeys(N, 0.01);
for (let i = 0; i < N; i++) bloom.add(bloomHash(writeKey(new Uint8Array(8), i)));
const hashes = keys.map((k) => bloomHash(k));
bench.add('Bloom probe, hash precomputed (100K keys, 1%)', () => {
  if (bloom.has(hashes[j++ & MASK]!)) sink++;
});
bench.add('Bloom hash + probe', () => {
  if (bloom.has(bloomHash(keys[j++ & MASK]!))) sink++;
});

// Fence index over 100K sorted 8-byte fence keys.
{
  const fk = new Uint8Array(N * 8);
  const ends = new Uint32Array(N);
  const offs = new Float64Array(N + 1);
  for (let i = 0; i < N; i++) {
    fk.set(writeKey(new Uint8Array(8), i * 10), i * 8);
    ends[i] = (i + 1) * 8;
    offs[i] = i * 480;
  }
  offs[N] = N * 480;
  const fences = new FenceIndex(offs, ends, fk);
  const probes = keys.map((_, i) => Buffer.from(writeKey(new Uint8Array(8), order[i]! * 10 + 3)));
  bench.add('fence search (100K fences)', () => {
    sink += fences.find(probes[j++ & MASK]!, 0, 8);
  });
}

// Hash index (AppendLog/HybridLog), if present.
if (src('hash-index.ts')) {
  const { HashIndex, hashKey } = (await import('../src/hash-index.js')) as typeof import('../src/hash-index.js');
  const all: Buffer[] = [];
  for (let i = 0; i < N; i++) all.push(Buffer.from(writeKey(new Uint8Array(8), i)));
  const idx = new HashIndex({ keyEquals: (loc, k) => all[loc]!.equals(k) }, N);
  for (let i = 0; i < N; i++) idx.set(all[i]!, i);
  bench.add('hash index get, hit (100K keys, key compare via matcher)', () => {
    sink += idx.get(keys[j++ & MASK]!);
  });
  const hashKeys = keys.map((k) => hashKey(k));
  bench.add('hash index get, hash precomputed', () => {
    const i = j++ & MASK;
    sink += idx.get(keys[i]!, hashKeys[i]!);
  });
  bench.add('hash index set (re-point existing key)', () => {
    const i = j++ & MASK;
    sink += idx.set(keys[i]!, order[i]!);
  });
} else {
  notes.push('src/hash-index.ts does not exist yet: hash index skipped');
}

// Ring-buffer append (HybridLog), if present.
if (src('hybridlog/ring-buffer.ts')) {
  const { RingBuffer } = (await import('../src/hybridlog/ring-buffer.js')) as typeof import('../src/hybridlog/ring-buffer.js');
  const ring = new RingBuffer(64 * 1024 * 1024);
  bench.add('ring-buffer append + encode record (64 MiB ring)', () => {
    const i = j++ & MASK;
    if (!ring.fits(recLen)) ring.reset(ring.tail);
    const at = ring.append(recLen, 32 * 1024 * 1024);
    encodeRecord(ring.buf, at, keys[i]!, vals[i]!);
  });
} else {
  notes.push('src/hybridlog/ring-buffer.ts does not exist yet: ring-buffer append skipped');
}

// Floor: what tinybench itself costs per call (subtract it from the rows above to compare pieces).
bench.add('floor: empty task (tinybench per-call cost)', () => {
  j++;
});

// Yardstick.
const map = new Map<string, Uint8Array>();
for (let i = 0; i < N; i++) map.set(keyString(writeKey(new Uint8Array(8), i)), vals[i & MASK]!);
bench.add('yardstick: Map<string>.get(keyString(key)) (100K keys)', () => {
  if (map.get(keyString(keys[j++ & MASK]!))) sink++;
});

await bench.run();
interface Res { throughput?: { mean: number }; latency?: { mean: number; p99: number }; hz?: number }
const rows = bench.tasks.map((t) => {
  const r = t.result as unknown as Res;
  const hz = r.throughput?.mean ?? r.hz ?? 0;
  return { task: t.name, opsPerSec: Math.round(hz), nsPerOp: Math.round(1e9 / hz), p99ns: Math.round((r.latency?.p99 ?? 0) * 1e6) };
});
const lines = [
  `# snapkv micro-benchmarks (tinybench), ${new Date().toISOString().slice(0, 16)}Z`,
  '',
  `Node ${process.version}, ${process.platform}/${process.arch}; ${TIME} ms per task; keys cycle through 4,096 random 8-byte keys. Command: \`npm run bench:micro\``,
  '',
  '| piece | ns/op (mean) | ops/s | p99 ns (per tinybench sample, includes its timer) |',
  '|---|---:|---:|---:|',
  ...rows.map((r) => `| ${r.task} | ${r.nsPerOp} | ${r.opsPerSec.toLocaleString('en-US')} | ${r.p99ns} |`),
  ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
];
console.log(lines.join('\n'));
if (sink === -1) console.log('');
const out = path.join('bench', 'results');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'micro.md'), `${lines.join('\n')}\n`);
fs.writeFileSync(path.join(out, 'micro.json'), `${JSON.stringify({ rows, notes }, null, 1)}\n`);
