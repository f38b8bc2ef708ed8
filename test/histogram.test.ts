// Why: every latency figure the benchmarks publish comes from bench/histogram.ts, so its
// percentiles are checked against the exact answer from a sorted array (within the promised
// 1/128 relative error), on random and adversarial inputs, and its fixed-memory claim is pinned.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../bench/histogram.js';

/** The exact nearest-rank percentile of sorted integers. */
function exact(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('Histogram', () => {
  it('is exact below 128 and reports min, max, mean, count exactly', () => {
    const h = new Histogram();
    for (let v = 0; v < 100; v++) h.record(v);
    expect(h.count).toBe(100);
    expect(h.min).toBe(0);
    expect(h.max).toBe(99);
    expect(h.mean).toBeCloseTo(49.5, 10);
    expect(h.percentile(50)).toBe(49);
    expect(h.percentile(99)).toBe(98);
    expect(h.percentile(100)).toBe(99);
  });

  it('answers every percentile within 1/128 of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(2 ** 31), fc.constant(2 ** 32 + 7)), { minLength: 1, maxLength: 400 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (vals, p) => {
          const h = new Histogram();
          for (const v of vals) h.record(v);
          const sorted = [...vals].sort((a, b) => a - b);
          const want = exact(sorted, p);
          const got = h.percentile(p);
          expect(got).toBeGreaterThanOrEqual(want);
          expect(got).toBeLessThanOrEqual(want + want / 128 + 1e-9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a one-in-a-thousand outlier visible at p99.9 and max', () => {
    const h = new Histogram();
    for (let i = 0; i < 99_899; i++) h.record(200 + (i % 50));
    for (let i = 0; i < 101; i++) h.record(2_000_000);
    expect(h.percentile(99)).toBeLessThan(260);
    expect(h.percentile(99.9)).toBeGreaterThanOrEqual(2_000_000);
    expect(h.percentile(99.9)).toBeLessThanOrEqual(2_000_000 * (1 + 1 / 128));
    expect(h.max).toBe(2_000_000);
  });

  it('merges, resets, rounds fractions and clamps negatives and infinities, rejects NaN', () => {
    const a = new Histogram();
    const b = new Histogram();
    a.record(10.4);
    a.record(-5);
    b.record(1e6);
    a.add(b);
    expect(a.count).toBe(3);
    expect(a.min).toBe(0);
    expect(a.max).toBe(1e6);
    expect(a.percentile(50)).toBe(10);
    expect(() => a.record(Number.NaN)).toThrow(RangeError);
    a.record(Infinity);
    expect(a.max).toBe(Number.MAX_SAFE_INTEGER);
    a.reset();
    expect(a.count).toBe(0);
    expect(a.percentile(99)).toBe(0);
    expect(a.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 });
  });

  it('rejects a percentile outside 0..100', () => {
    const h = new Histogram();
    h.record(1);
    expect(() => h.percentile(101)).toThrow(RangeError);
    expect(() => h.percentile(-1)).toThrow(RangeError);
  });

  it('uses fixed memory whatever the number of samples', () => {
    expect(Histogram.bytes).toBeLessThan(64 * 1024);
  });
});
