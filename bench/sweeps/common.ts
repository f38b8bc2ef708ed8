// Why: every sweep has the same shape — run points, collect rows, write JSON + CSV + one SVG per
// figure into bench/results/sweeps/ — so that plumbing, the engine-registered check and the
// small-buffer parameters that make quick runs exercise merges live here once.

import fs from 'node:fs';
import path from 'node:path';
import { engineNames } from '../../src/index.js';
import { type Datum, type LineChart, writeLineChart } from '../chart.js';
import type { LatencySummary } from '../histogram.js';

/** Where sweeps write their results. */
export const SWEEP_DIR = path.join('bench', 'results', 'sweeps');

/** What a sweep gets from the driver. */
export interface SweepContext {
  /** Run the WORKLOADS.md sizes instead of the quick default. */
  full: boolean;
  /** True if `engine` is registered; otherwise prints "engine X not registered, skipped". */
  has(engine: string): boolean;
  /** Lines printed to stdout (and kept for the summary). */
  log(line: string): void;
}

/** One figure of a sweep: a chart written as `<sweep>-<id>.svg`. */
export interface Figure {
  id: string;
  chart: LineChart;
}

/** What a sweep returns: its data rows and figures, plus notes for the summary. */
export interface SweepResult {
  rows: Datum[];
  figures: Figure[];
  notes?: string[];
}

/** A sweep, run by `npm run sweep -- <name>`. */
export interface Sweep {
  name: string;
  /** One line: what it shows. */
  describe: string;
  run(ctx: SweepContext): Promise<SweepResult>;
}

/** Engines with merge levels (maxRunsPerLevel). */
export const LOG_ENGINES = ['lsm', 'appendlog', 'hybridlog'] as const;

/**
 * Small in-memory buffers, so a quick sweep of a few hundred thousand sets already builds several
 * levels of files (with the defaults, 200K sets would not even fill one LSM memtable).
 */
export const SMALL_BUFFERS: Record<string, Record<string, unknown>> = {
  lsm: { memtableBytesLimit: 256 * 1024 },
  appendlog: { thresholdBytes: 256 * 1024 },
  hybridlog: { memSegmentBytes: 2 * 1024 * 1024 },
  memonly: {},
};

/** The registered engines (every one, in registry order). */
export function engines(): string[] {
  return engineNames();
}

/** Latency in microseconds, rounded to 0.01. */
export function us(ns: number): number {
  return Math.round(ns / 10) / 100;
}

/** p50/p99/p99.9/max of a summary in µs, with field names prefixed by `prefix`. */
export function latencyFields(prefix: string, l: LatencySummary): Datum {
  return { [`${prefix}P50us`]: us(l.p50), [`${prefix}P99us`]: us(l.p99), [`${prefix}P999us`]: us(l.p999), [`${prefix}MaxUs`]: us(l.max) };
}

/** Bytes as MiB, rounded to 0.01. */
export function mib(b: number): number {
  return Math.round((b / 2 ** 20) * 100) / 100;
}

/** Rows as CSV (union of all fields, in first-seen order). */
export function toCsv(rows: Datum[]): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** Writes `<name>.json`, `<name>.csv` and one `<name>-<figure>.svg` per figure; returns the paths. */
export async function writeSweep(name: string, res: SweepResult, meta: Record<string, unknown>): Promise<string[]> {
  fs.mkdirSync(SWEEP_DIR, { recursive: true });
  const out: string[] = [];
  const json = path.join(SWEEP_DIR, `${name}.json`);
  fs.writeFileSync(json, `${JSON.stringify({ sweep: name, ...meta, notes: res.notes ?? [], rows: res.rows }, null, 1)}\n`);
  out.push(json);
  const csv = path.join(SWEEP_DIR, `${name}.csv`);
  fs.writeFileSync(csv, toCsv(res.rows));
  out.push(csv);
  for (const f of res.figures) {
    if (f.chart.data.length === 0) continue;
    out.push(await writeLineChart(path.join(SWEEP_DIR, `${name}-${f.id}.svg`), f.chart));
  }
  return out;
}

/** Keeps only the rows that have a numeric `field` (e.g. engines that ran). */
export function having(rows: Datum[], field: string): Datum[] {
  return rows.filter((r) => typeof r[field] === 'number');
}
