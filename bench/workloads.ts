// Why: every engine, baseline and peer must see the identical operation stream, so keys, values
// and key choices come from one seeded generator (../shared/WORKLOADS.md): 8-byte big-endian
// keys, seed 42, uniform or zipf(0.99) with hot keys scattered by a fixed permutation.

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
