// Why: issue 9's claim is about tails, not averages — a set that triggers a merge must not pay
// for it. This bench times every single set of W3 (load of 1M distinct keys) followed by W1 (1M
// sets over 100K keys) on one store at default parameters, once with background and once with
// foreground merges, for each log-structured engine, in the same process, and prints
// p50/p99/p99.9/max set latency, throughput and the longest merge of each run. For the LSM it also
// measures the one step an incremental (bounded steps on the main thread) design could not split:
// sealing the largest run (Bloom filter, index, fsync). Results go to bench/results/merge-latency.md.
//
//   npx tsx bench/merge-latency.ts                         # lsm, appendlog, hybridlog; 1M + 1M
//   npx tsx bench/merge-latency.ts --engine appendlog      # one engine (or a comma-separated list)
//   npx tsx bench/merge-latency.ts --keys 200000 --ops 200000 --out /tmp/x.md
//   npx tsx bench/merge-latency.ts --engine hybridlog --params '{"memSegmentBytes":16777216}' --out …
//   npx tsx bench/merge-latency.ts --rate 150000           # open-loop rate (default: half the
//                                                          # foreground closed-loop throughput)
//
// Two ways of timing, both reported. Closed loop: each set is timed alone, the next starts when
// it returns — the service time, whose max is the claim "no set waits for a merge". Open loop:
// sets are due at a fixed rate (as events reach a stream worker) and each is timed from when it
// was due, so a set stalled for a second also delays every set due during that second, as an
// event stream sees it; a closed loop counts that stall once and hides the queue behind it
// (coordinated omission). The thesis' 2 s p99 was of this kind: transactions waiting behind merges.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type OpenOptions, type SnapStore } from '../src/index.js';
import { RunWriter } from '../src/lsm/run-writer.js';
import { permutation, uniformKeys, values, writeKey } from './workloads.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ENGINES = (arg('engine') ?? 'lsm,appendlog,hybridlog').split(',');
let ENGINE = ENGINES[0]!;
const KEYS = Number(arg('keys') ?? 1_000_000);
const OPS = Number(arg('ops') ?? 1_000_000);
const HOT_KEYS = 100_000;
const MODES = (arg('modes') ?? 'background,foreground').split(',');
const OUT = arg('out') ?? path.join('bench', 'results', 'merge-latency.md');
/** Engine parameters besides `merges` (JSON), e.g. a smaller HybridLog ring so its state spills to files. */
const PARAMS = JSON.parse(arg('params') ?? '{}') as Record<string, unknown>;
/** Open-loop rate in sets/s; 0 = half the foreground closed-loop throughput measured in the same run. */
const RATE = Number(arg('rate') ?? 0);
/** Closed-loop rounds per mode (the fastest is reported). */
const ROUNDS = Number(arg('rounds') ?? 2);

/** Latency figures of one phase, in microseconds (max also in ms). */
interface Lat { p50: number; p99: number; p999: number; p9999: number; max: number; opsPerSec: number; ops: number }
interface RunResult {
  mode: string;
  phases: Record<string, Lat>;
  all: Lat;
  /** The slowest sets: phase, index and ms. */
  slowest: string;
  /** ops/s counting the wait for merges still running after the last set. */
  opsPerSecDrained: number;
  drainMs: number;
  /** Sets whose latency passed 1 ms. */
  late: number;
  engine: Record<string, unknown>;
}

const vals = values(4096, 32);
const keyBuf = new Uint8Array(8);

function summarize(lat: Float64Array, seconds: number): Lat {
  const s = Float64Array.from(lat).sort();
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 1000;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), p9999: q(0.9999), max: s[s.length - 1]! * 1000, opsPerSec: lat.length / seconds, ops: lat.length };
}

/**
 * Runs `n` sets and returns per-set latency (ms) and wall seconds. rate 0 (closed loop): each set
 * is timed from the end of the previous one. rate > 0 (open loop): set i is due at t0 + i / rate,
 * waits (spinning) until then, and is timed from when it was due, so time spent queued behind a
 * slower set counts too.
 */
function timedSets(store: SnapStore, n: number, keyOf: (i: number) => number, rate = 0): { lat: Float64Array; seconds: number } {
  const lat = new Float64Array(n);
  const gap = rate > 0 ? 1000 / rate : 0;
  const t0 = performance.now();
  let now = t0;
  for (let i = 0; i < n; i++) {
    const due = rate > 0 ? t0 + i * gap : now;
    while (now < due) now = performance.now();
    store.set(writeKey(keyBuf, keyOf(i)), vals[i & 4095]!);
    now = performance.now();
    lat[i] = now - due;
  }
  return { lat, seconds: (now - t0) / 1000 };
}

async function runMode(mode: string, KEYS_ = KEYS, OPS_ = OPS, rate = 0): Promise<RunResult> {
  const KEYS = KEYS_;
  const OPS = OPS_;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-mergelat-${ENGINE}-`));
  const store = await open({ engine: ENGINE, dir, ...PARAMS, merges: mode } as unknown as OpenOptions);
  try {
    const order = permutation(KEYS, 99);
    const hot = uniformKeys(OPS, HOT_KEYS);
    const w3 = timedSets(store, KEYS, (i) => order[i]!, rate);
    const w1 = timedSets(store, OPS, (i) => hot[i]!, rate);
    const all = new Float64Array(KEYS + OPS);
    all.set(w3.lat);
    all.set(w1.lat, KEYS);
    const seconds = w3.seconds + w1.seconds;
    const idx = Array.from(all.keys()).sort((a, b) => all[b]! - all[a]!).slice(0, 4);
    const slowest = idx.map((i) => `${i < KEYS ? `W3 #${i}` : `W1 #${i - KEYS}`}: ${all[i]!.toFixed(1)} ms`).join(', ');
    // Background merges may still be running: wait for them (re-setting one loaded key lets the
    // engine install a finished merge), so throughput can also be compared with all work done.
    const t0 = performance.now();
    const eng = (): Record<string, unknown> => store.stats().engineStats as Record<string, unknown>;
    // The main thread's share of a merge (liveness scan, re-pointing) advances one slice per set,
    // so the loop sets as fast as it can, yielding to the event loop between sets.
    while (eng().mergeInFlight !== undefined && eng().mergeInFlight !== -1) {
      await new Promise((r) => setImmediate(r));
      store.set(writeKey(keyBuf, 0), vals[0]!);
    }
    const drainMs = performance.now() - t0;
    return {
      mode,
      phases: { W3: summarize(w3.lat, w3.seconds), W1: summarize(w1.lat, w1.seconds) },
      all: summarize(all, seconds),
      slowest,
      opsPerSecDrained: (KEYS + OPS) / (seconds + drainMs / 1000),
      drainMs,
      late: all.reduce((n, x) => n + (x > 1 ? 1 : 0), 0),
      engine: eng(),
    };
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Times sealing a run of `records` 8-byte-key/32-byte-value records (RunWriter.finish: Bloom
 * filter, index block, fsync, rename) — a step a bounded-steps merge would run in one set.
 */
function sealCost(records: number): { writeMs: number; finishMs: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-seal-'));
  try {
    const w = new RunWriter(dir, 'L9.g000000000001.run', 10, 0.01);
    const key = new Uint8Array(8);
    const t0 = performance.now();
    for (let i = 0; i < records; i++) {
      writeKey(key, i);
      w.addStringKey(Buffer.from(key).toString('latin1'), vals[i & 4095]!, 0, 32);
    }
    const t1 = performance.now();
    w.finish();
    return { writeMs: t1 - t0, finishMs: performance.now() - t1 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const us = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(1)} ms` : `${n.toFixed(1)} µs`);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Runs both modes on ENGINE; returns its report section and appends its row to `summary`. */
async function engineSection(summary: string[]): Promise<string[]> {
  // Warm-up (not reported): JIT and worker start-up must not count against the first mode run.
  for (const m of MODES) await runMode(m, Math.min(KEYS, 100_000), Math.min(OPS, 100_000));
  // Closed loop: ROUNDS rounds in ABBA order (neither mode always runs first on a fresh heap);
  // each mode's reported run is its fastest (the machine is shared: slower runs are other jobs).
  const best = new Map<string, RunResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const m of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      process.stderr.write(`${ENGINE} ${m} (round ${round + 1}) …\n`);
      const r = await runMode(m);
      const b = best.get(m);
      if (b === undefined || r.all.opsPerSec > b.all.opsPerSec) best.set(m, r);
    }
  }
  const results: RunResult[] = MODES.map((m) => best.get(m)!);
  // Open loop at one rate for both modes: half what the foreground mode sustained in the closed
  // loop (merges included), so neither mode is overloaded on average and only stalls queue sets.
  const fgClosed = results.find((r) => r.mode === 'foreground');
  const rate = RATE > 0 ? RATE : fgClosed ? Math.max(10_000, Math.round(fgClosed.all.opsPerSec / 2 / 10_000) * 10_000) : 100_000;
  const paced: RunResult[] = [];
  for (const m of MODES) {
    process.stderr.write(`${ENGINE} ${m} open loop at ${rate}/s …\n`);
    paced.push(await runMode(m, KEYS, OPS, rate));
  }
  const seal = ENGINE === 'lsm' ? sealCost(KEYS) : null;
  const lines = [
    `## ${ENGINE}`,
    '',
    `Node ${process.version}, ${process.platform}/${process.arch}, ${os.cpus().length} cores (shared with other jobs). W3: ${int(KEYS)} distinct 8-byte keys loaded once; then W1: ${int(OPS)} sets over ${int(HOT_KEYS)} keys, uniform; 32-byte values, seed 42; ${Object.keys(PARAMS).length ? `engine parameters ${JSON.stringify(PARAMS)} and defaults` : 'default engine parameters'} except \`merges\`; one store per run, all in one process; closed loop: ${ROUNDS} rounds per mode in ABBA order, the fastest run of each mode reported. Every set timed with performance.now(). Command: \`npx tsx bench/merge-latency.ts ${process.argv.slice(2).join(' ')}\``,
    '',
    '| mode | phase | p50 | p99 | p99.9 | p99.99 | max | ops/s |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    for (const [ph, l] of [...Object.entries(r.phases), ['W3+W1', r.all] as const]) {
      lines.push(`| ${r.mode} | ${ph} | ${us(l.p50)} | ${us(l.p99)} | ${us(l.p999)} | ${us(l.p9999)} | ${us(l.max)} | ${int(l.opsPerSec)} |`);
    }
  }
  lines.push('', 'Slowest sets:', '', ...results.map((r) => `- ${r.mode}: ${r.slowest}`));
  lines.push('', `Open loop: sets due at ${int(rate)}/s (W3 then W1, same keys), each timed from when it was due — queueing behind a stalled set included:`, '', '| mode | phase | p50 | p99 | p99.9 | p99.99 | max | sets due late by > 1 ms |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of paced) {
    lines.push(`| ${r.mode} | W3+W1 | ${us(r.all.p50)} | ${us(r.all.p99)} | ${us(r.all.p999)} | ${us(r.all.p9999)} | ${us(r.all.max)} | ${int(r.late)} |`);
  }
  lines.push('', 'Open loop, latest sets (from when due) and the engine meanwhile:', '', ...paced.map((r) => `- ${r.mode}: ${r.slowest}; merges ${r.engine.merges ?? '?'}, largest ${Number(r.engine.mergeMsMax ?? 0).toFixed(0)} ms, sets that waited for merges ${r.engine.mergeStalls ?? '–'} (${Number(r.engine.mergeStallMs ?? 0).toFixed(0)} ms)`));
  lines.push('', '| mode | flushes | longest flush | sets that waited for a flush | merges | largest merge | all merges | sets that waited for merges | merge wait time | wait for running merges after the last set | ops/s incl. that wait | runs per level at the end |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    const e = r.engine;
    const n = (k: string): number => Number(e[k] ?? NaN);
    const ms = (k: string): string => (e[k] === undefined ? '–' : `${n(k).toFixed(0)} ms`);
    lines.push(`| ${r.mode} | ${e.flushes ?? e.seals ?? '?'} | ${ms('flushMsMax')} | ${e.flushStalls ?? '–'} (${ms('flushStallMs')}) | ${e.merges ?? '?'} | ${n('mergeMsMax').toFixed(0)} ms | ${n('mergeMsTotal').toFixed(0)} ms | ${e.mergeStalls ?? '–'} | ${n('mergeStallMs').toFixed(0)} ms | ${r.drainMs.toFixed(0)} ms | ${int(r.opsPerSecDrained)} | ${JSON.stringify(e.runsPerLevel ?? e.filesPerLevel ?? '?')} |`);
  }
  const bg = results.find((r) => r.mode === 'background');
  const fg = results.find((r) => r.mode === 'foreground');
  if (bg && fg) {
    const bgMerge = Number(bg.engine.mergeMsMax);
    const maxShare = bg.all.max / 1000 / bgMerge;
    const tail = fg.all.p999 / bg.all.p999;
    const pbg = paced.find((r) => r.mode === 'background')!;
    const pfg = paced.find((r) => r.mode === 'foreground')!;
    const openTail = pfg.all.p999 / pbg.all.p999;
    const thr = bg.all.opsPerSec / fg.all.opsPerSec;
    const thrDrained = bg.opsPerSecDrained / fg.opsPerSecDrained;
    // No merge ran (the state fit in memory): the ratio has no denominator, so no verdict.
    const share = bgMerge > 0 ? `${(100 * maxShare).toFixed(1)}% ${maxShare <= 0.05 ? 'met' : 'NOT met'}` : 'no merge ran: n/a';
    // With no merge in either mode both run the same code: their tails differ by noise alone.
    const noMerges = [bg, fg, pbg, pfg].every((r) => Number(r.engine.merges ?? 0) === 0);
    const tailVerdict = noMerges ? 'no merge ran: n/a' : openTail >= 10 ? 'met' : 'NOT met';
    lines.push(
      '',
      `### Targets (issue 9), ${ENGINE}`,
      '',
      `- background max single set ≤ 5% of the largest background merge: ${us(bg.all.max)} / ${bgMerge.toFixed(0)} ms = **${share}**`,
      `- background p99.9 ≥ 10× lower than foreground, open loop at ${int(rate)} sets/s: ${us(pfg.all.p999)} / ${us(pbg.all.p999)} = **${openTail.toFixed(1)}×** — ${tailVerdict}; closed loop (each set alone): ${us(fg.all.p999)} / ${us(bg.all.p999)} = ${tail.toFixed(1)}× (there merges touch a few dozen of ${int(KEYS + OPS)} sets, below the 0.1% a p99.9 sees)`,
      `- background throughput not lower: **${thr.toFixed(2)}×** foreground over the sets, ${thrDrained.toFixed(2)}× counting the wait for running merges — ${thr >= 1 && thrDrained >= 1 ? 'met' : 'NOT met'}`,
    );
    summary.push(`| ${ENGINE} | ${us(bg.all.max)} vs ${us(fg.all.max)} | ${bgMerge.toFixed(0)} ms | ${share} | ${us(pbg.all.p999)} vs ${us(pfg.all.p999)} = ${openTail.toFixed(1)}× ${tailVerdict} (at ${int(rate)}/s) | ${us(bg.all.p999)} vs ${us(fg.all.p999)} = ${tail.toFixed(1)}× | ${thr.toFixed(2)}× / ${thrDrained.toFixed(2)}× ${thr >= 1 && thrDrained >= 1 ? 'met' : 'NOT met'} |`);
  }
  if (seal) {
    lines.push(
      '',
      '### Why a worker thread rather than bounded steps (lsm)',
      '',
      `Sealing a run of ${int(KEYS)} records — the size of the largest output above — took ${seal.finishMs.toFixed(0)} ms in \`RunWriter.finish\` (Bloom filter over all keys, index block, fsync, rename) after ${seal.writeMs.toFixed(0)} ms of record writing. A merge advanced in bounded steps on the main thread can spread the record writing over many sets, but this final step runs in one set unless the run format changes (filter built incrementally, fsync off-thread) — and every record of every merge would still cost main-thread time, so its throughput could not exceed the foreground row above (the same work, same thread, plus bookkeeping). The worker does all of it on the other core; the main thread only renames the sealed output and commits the new file set.`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const summary: string[] = [];
  const sections: string[] = [];
  for (const e of ENGINES) {
    ENGINE = e;
    sections.push(...(await engineSection(summary)), '');
  }
  const lines = [
    `# Set latency with background vs foreground merges (${ENGINES.join(', ')}), ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    `Command: \`npx tsx bench/merge-latency.ts ${process.argv.slice(2).join(' ')}\`; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
    '| engine | max set: background vs foreground (closed loop) | largest background merge | max ≤ 5% of it | p99.9 open loop: background vs foreground (≥ 10× lower) | p99.9 closed loop: background vs foreground | ops/s background ÷ foreground (sets / incl. drain) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...summary,
    '',
    ...sections,
  ];
  const table = lines.join('\n');
  console.log(table);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${table}\n`);
}

await main();
