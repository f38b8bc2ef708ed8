// Why: every `bench/*-claims.ts` measures an issue's "Must show" list the same way — a timed loop,
// the same number formats, and a table of claims with PASS/FAIL — so those pieces are written once.

import fs from 'node:fs';
import { encodeRecord, recordSize } from '../src/record.js';
import { writeKey } from './workloads.js';

/** One line of a claims table. */
export interface Claim {
  what: string;
  measured: string;
  target: string;
  pass: boolean;
}

/** Seconds taken by `n` calls of `op(i)`. */
export function timed(n: number, op: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** An integer with thousands separators. */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A ratio as a whole percentage. */
export const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

/** The markdown table of `claims`. */
export function claimsTable(claims: readonly Claim[]): string[] {
  return ['| claim | measured | target | result |', '|---|---|---|---|', ...claims.map((c) => `| ${c.what} | ${c.measured} | ${c.target} | ${c.pass ? 'PASS' : 'FAIL'} |`)];
}

/**
 * The syscall ceiling of a get: the records of keys 0..n-1 (8-byte keys, `vals[i & 4095]`) in one
 * flat file, each read back with one positional fs.readSync at its known offset.
 */
export function rawRecordReader(file: string, n: number, vals: readonly Uint8Array[]): { read(key: number): number; close(): void } {
  const recLen = recordSize(8, vals[0]!.length);
  const flat = Buffer.allocUnsafe(n * recLen);
  const k = new Uint8Array(8);
  for (let i = 0; i < n; i++) encodeRecord(flat, i * recLen, writeKey(k, i), vals[i & 4095]!);
  fs.writeFileSync(file, flat);
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(recLen);
  return {
    read: (key) => fs.readSync(fd, buf, 0, recLen, key * recLen),
    close: () => fs.closeSync(fd),
  };
}
