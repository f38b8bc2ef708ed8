// Why: every engine, baseline and peer must see the identical operation stream, so keys, values
// and key choices come from one seeded generator (../shared/WORKLOADS.md): 8-byte big-endian
// keys, seed 42, uniform or zipf(0.99) with hot keys scattered by a fixed permutation.
// `runReadWrite` runs W1–W5 on one system, for the runner and the sweeps alike.

import type { LatencySummary } from './histogram.js';
import { measure, type PhaseResult } from './measure.js';
import type { Progress } from './progress.js';
import type { SystemFactory } from './systems.js';

/** Deterministic 32-bit PRNG (mulberry32); the same seed gives the same stream everywhere. */
export function rng(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes key number `i` as 8 bytes big-endian into `out` (reused to avoid allocation). */
export function writeKey(out: Uint8Array, i: number): Uint8Array {
  const hi = Math.floor(i / 4294967296);
  const lo = i >>> 0;
  out[0] = hi >>> 24; out[1] = hi >>> 16; out[2] = hi >>> 8; out[3] = hi;
  out[4] = lo >>> 24; out[5] = lo >>> 16; out[6] = lo >>> 8; out[7] = lo;
  return out;
}

/** A fresh 8-byte key for number `i`. */
export function key(i: number): Uint8Array {
  return writeKey(new Uint8Array(8), i);
}

/** `n` random values of `size` bytes, drawn from the seeded PRNG (reused round-robin by workloads). */
export function values(n: number, size = 32, seed = 7): Uint8Array[] {
  const r = rng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const v = new Uint8Array(size);
    for (let j = 0; j < size; j++) v[j] = (r() * 256) | 0;
    out.push(v);
  }
  return out;
}

/** `count` key numbers drawn uniformly from [0, keySpace). */
export function uniformKeys(count: number, keySpace: number, seed = 42): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(r() * keySpace);
  return out;
}

/**
 * `count` key numbers from a zipf(theta) distribution over [0, keySpace), rank r mapped through a
 * fixed permutation so hot keys are not adjacent. Uses the Gray et al. closed-form generator.
 */
export function zipfKeys(count: number, keySpace: number, theta = 0.99, seed = 42): Uint32Array {
  const r = rng(seed);
  let zetan = 0;
  for (let i = 1; i <= keySpace; i++) zetan += 1 / i ** theta;
  const zeta2 = 1 + 1 / 2 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / keySpace) ** (1 - theta)) / (1 - zeta2 / zetan);
  const perm = permutation(keySpace, seed + 1);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const u = r();
    const uz = u * zetan;
    let rank: number;
    if (uz < 1) rank = 0;
    else if (uz < zeta2) rank = 1;
    else rank = Math.min(keySpace - 1, Math.floor(keySpace * (eta * u - eta + 1) ** alpha));
    out[i] = perm[rank]!;
  }
  return out;
}

/** A seeded random permutation of [0, n). */
export function permutation(n: number, seed = 43): Uint32Array {
  const r = rng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Operation counts of W1–W5. */
export interface Sizes {
  /** Operations per workload (W1, W2 sets; W4, W5 gets). */
  ops: number;
  /** Distinct keys loaded by W3 (and read by W4, W5). */
  load: number;
  /** Key space of W1, W2. */
  hotKeys: number;
}

/** The sizes of ../shared/WORKLOADS.md. */
export const FULL_SIZES: Sizes = { ops: 1_000_000, load: 1_000_000, hotKeys: 100_000 };
/** A quick default that keeps `npm run bench` within a few minutes on 2 shared cores. */
export const QUICK_SIZES: Sizes = { ops: 500_000, load: 500_000, hotKeys: 100_000 };

/** The read/write workloads, by id. */
export const READ_WRITE = ['W1', 'W2', 'W3', 'W4', 'W5'] as const;

/** One measured row: a system on a workload. Latencies in nanoseconds. */
export interface WorkloadRow {
  system: string;
  workload: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  targetRate?: number;
  latency: LatencySummary;
  /** Process figures after the phase (after a GC when --expose-gc is on). */
  rssBytes: number;
  heapBytes: number;
  /** stats().memoryBytes of an engine, 0 for the others. */
  engineBytes: number;
  diskBytes: number;
  /** W3 only: a snapshot of the loaded state, for systems that have one. */
  snapshotSeconds?: number;
  snapshotBytes?: number;
}

/** Options of runReadWrite. */
export interface RunOptions {
  sizes: Sizes;
  /** Subset of READ_WRITE to run. */
  workloads: readonly string[];
  /** Open-loop target ops/s for every phase; undefined = as fast as possible. */
  rate?: number;
  progress?: Progress;
  /** Take a snapshot after W3 and report its seconds and bytes (default true). */
  snapshotAfterLoad?: boolean;
}

/** Stream data shared by every system in one process, built once. */
interface Streams { vals: Buffer[]; w1?: Uint32Array; w2?: Uint32Array; order?: Uint32Array; w4?: Uint32Array; w5?: Uint32Array }
const cache = new Map<string, Streams>();

function streams(sz: Sizes, wl: readonly string[]): Streams {
  const id = `${sz.ops}/${sz.load}/${sz.hotKeys}/${wl.join()}`;
  let s = cache.get(id);
  if (s) return s;
  // Buffers, not plain Uint8Arrays: the peers' binary encodings take them without a copy.
  s = { vals: values(4096, 32).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)) };
  if (wl.includes('W1')) s.w1 = uniformKeys(sz.ops, sz.hotKeys);
  if (wl.includes('W2')) s.w2 = zipfKeys(sz.ops, sz.hotKeys);
  if (wl.some((w) => w === 'W3' || w === 'W4' || w === 'W5')) s.order = permutation(sz.load, 99);
  if (wl.includes('W4')) s.w4 = uniformKeys(sz.ops, sz.load, 4);
  if (wl.includes('W5')) s.w5 = zipfKeys(sz.ops, sz.load, 0.99, 5);
  cache.clear();
  cache.set(id, s);
  return s;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Runs the chosen W1–W5 workloads on fresh instances of one system; W4, W5 read W3's instance. */
export async function runReadWrite(make: SystemFactory, opts: RunOptions): Promise<WorkloadRow[]> {
  const { sizes, workloads: wl } = opts;
  const st = streams(sizes, wl);
  const vals = st.vals;
  const keyBuf = Buffer.alloc(8);
  const rows: WorkloadRow[] = [];
  const pace = { rate: opts.rate, progress: opts.progress };
  const row = (name: string, w: string, r: PhaseResult, sys: { diskBytes(): number; memoryBytes(): number }): WorkloadRow => {
    gc?.();
    const mu = process.memoryUsage();
    return { system: name, workload: w, ...r, rssBytes: mu.rss, heapBytes: mu.heapUsed, engineBytes: sys.memoryBytes(), diskBytes: sys.diskBytes() };
  };
  for (const w of ['W1', 'W2'] as const) {
    if (!wl.includes(w)) continue;
    const keys = (w === 'W1' ? st.w1 : st.w2)!;
    const sys = await make();
    const r = await measure(sizes.ops, (i) => sys.set(writeKey(keyBuf, keys[i]!), vals[i & 4095]!), { ...pace, settle: sys.settle?.bind(sys) });
    rows.push(row(sys.name, w, r, sys));
    await sys.close();
  }
  if (st.order) {
    const order = st.order;
    const sys = await make();
    const r = await measure(sizes.load, (i) => sys.set(writeKey(keyBuf, order[i]!), vals[i & 4095]!), { ...pace, settle: sys.settle?.bind(sys) });
    const load = row(sys.name, 'W3', r, sys);
    if (opts.snapshotAfterLoad !== false && sys.snapshot) {
      const s = await sys.snapshot(1);
      load.snapshotSeconds = s.seconds;
      load.snapshotBytes = s.bytes;
    }
    if (wl.includes('W3')) rows.push(load);
    for (const w of ['W4', 'W5'] as const) {
      if (!wl.includes(w)) continue;
      const keys = (w === 'W4' ? st.w4 : st.w5)!;
      let missing = 0;
      const g = await measure(sizes.ops, (i) => {
        if (sys.get(writeKey(keyBuf, keys[i]!)) === undefined) missing++;
      }, pace);
      if (missing > 0) throw new Error(`${sys.name} ${w}: ${missing} loaded keys were not found`);
      rows.push(row(sys.name, w, g, sys));
    }
    // Untimed: 1,000 random loaded keys must hold exactly the bytes W3 wrote.
    for (const i of uniformKeys(1000, sizes.load, 17)) {
      const got = sys.get(writeKey(keyBuf, order[i]!));
      const want = vals[i & 4095]!;
      if (!got || got.length !== want.length || Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), want) !== 0) {
        throw new Error(`${sys.name}: the value of loaded key #${i} differs from what W3 wrote`);
      }
    }
    await sys.close();
  }
  return rows;
}
