// Why: a benchmark of a million operations must report tail latencies (p99.9, max) without
// keeping a million samples and sorting them. This is an HDR-style log-linear histogram: values
// below SUB (128) are counted exactly, above that every power-of-two range [2^e, 2^(e+1)) is split
// into SUB equal buckets, so any recorded value is reported within 1/SUB (< 0.8%) of itself, in
// fixed memory (~6K counters, 48 KiB) whatever the number of samples. Units are the caller's
// (the runner records nanoseconds).

const SUB_BITS = 7;
/** Linear buckets per power of two (and the exact range at the bottom). */
const SUB = 1 << SUB_BITS;
/** Largest exponent covered: values up to 2^53 (exact integers in a double). */
const MAX_EXP = 53;
const BUCKETS = SUB + (MAX_EXP - SUB_BITS + 1) * SUB;
const TWO32 = 4294967296;

/** floor(log2(v)) for an integer v >= 1, exact (no floating-point log). */
function log2Floor(v: number): number {
  if (v < TWO32) return 31 - Math.clz32(v);
  return 32 + 31 - Math.clz32(Math.floor(v / TWO32));
}

/** Bucket index of a non-negative integer value. */
function indexOf(v: number): number {
  if (v < SUB) return v;
  const e = log2Floor(v);
  const shift = e - SUB_BITS;
  const sub = Math.floor(v / 2 ** shift); // in [SUB, 2*SUB)
  return SUB + shift * SUB + (sub - SUB);
}

/** Largest value that lands in bucket `i` (HDR's "highest equivalent value"). */
function upperOf(i: number): number {
  if (i < SUB) return i;
  const shift = Math.floor((i - SUB) / SUB);
  const sub = ((i - SUB) % SUB) + SUB;
  return (sub + 1) * 2 ** shift - 1;
}

/** The figures a benchmark table shows for one latency distribution. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** A fixed-memory log-linear histogram of non-negative values (relative error < 1/128). */
export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = 0;

  /** Records one value; negatives count as 0, fractions are rounded, huge values clamp to 2^53. NaN throws. */
  record(value: number): void {
    if (value !== value) throw new RangeError('Histogram.record(NaN): a timing bug upstream');
    let v = value > 0 ? Math.round(value) : 0;
    if (v > Number.MAX_SAFE_INTEGER) v = Number.MAX_SAFE_INTEGER;
    this.counts[indexOf(v)]!++;
    this.n++;
    this.sum += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Number of recorded values. */
  get count(): number {
    return this.n;
  }

  /** Exact largest recorded value (0 when empty). */
  get max(): number {
    return this.hi;
  }

  /** Exact smallest recorded value (0 when empty). */
  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }

  /** Exact mean of the recorded (rounded) values (0 when empty). */
  get mean(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }

  /**
   * The value at percentile `p` (0..100): the smallest bucket bound with at least p% of the
   * values at or below it, capped at the exact max. 0 when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
    const target = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < BUCKETS; i++) {
      seen += c[i]!;
      if (seen >= target) return Math.max(this.min, Math.min(upperOf(i), this.hi));
    }
    return this.hi;
  }

  /** Adds every value of `other` into this histogram. */
  add(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    this.sum += other.sum;
    if (other.n > 0) {
      this.lo = Math.min(this.lo, other.lo);
      this.hi = Math.max(this.hi, other.hi);
    }
  }

  /** Forgets every value. */
  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.lo = Infinity;
    this.hi = 0;
  }

  /** count, min, mean, p50/p95/p99/p99.9 and max. */
  summary(): LatencySummary {
    return {
      count: this.n,
      min: this.min,
      mean: this.mean,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.hi,
    };
  }

  /** Bytes of counters this histogram holds (constant). */
  static get bytes(): number {
    return BUCKETS * 8;
  }
}
