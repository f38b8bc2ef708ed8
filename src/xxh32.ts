// Why: record checksums and index hashes run once per operation over a few dozen bytes. The
// xxhash-wasm package copies its input into WebAssembly memory on every call, which costs more
// than hashing 50 bytes in plain JS does; this is the same XXH32 algorithm, computed in place
// over the caller's bytes. test/xxh32.test.ts checks it against xxhash-wasm bit for bit. For long
// inputs it is the other way round (a hint file of 16 MiB: 53 ms in JS, 7 ms in WebAssembly, copy
// included), so xxh32Long uses xxhash-wasm once `loadWasmHash` has loaded it (open() does).

import xxhash from 'xxhash-wasm';

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

/**
 * XXH32 of `b[start, end)` with `seed`, as an unsigned 32-bit integer. The rounds are written out
 * with no helper calls: helpers inlined by the optimizer still carry call feedback, and a call site
 * first reached after optimization (the 16-byte stripe loop, when short keys came first) deopts
 * the function again and again (seen hundreds of times in one W4 run with --trace-deopt).
 */
export function xxh32(b: Uint8Array, start = 0, end = b.length, seed = 0): number {
  let i = start;
  const len = end - start;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    do {
      v1 = (v1 + Math.imul(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24), P2)) | 0;
      v1 = Math.imul((v1 << 13) | (v1 >>> 19), P1);
      v2 = (v2 + Math.imul(b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24), P2)) | 0;
      v2 = Math.imul((v2 << 13) | (v2 >>> 19), P1);
      v3 = (v3 + Math.imul(b[i + 8]! | (b[i + 9]! << 8) | (b[i + 10]! << 16) | (b[i + 11]! << 24), P2)) | 0;
      v3 = Math.imul((v3 << 13) | (v3 >>> 19), P1);
      v4 = (v4 + Math.imul(b[i + 12]! | (b[i + 13]! << 8) | (b[i + 14]! << 16) | (b[i + 15]! << 24), P2)) | 0;
      v4 = Math.imul((v4 << 13) | (v4 >>> 19), P1);
      i += 16;
    } while (i <= limit);
    h = (((v1 << 1) | (v1 >>> 31)) + ((v2 << 7) | (v2 >>> 25)) + ((v3 << 12) | (v3 >>> 20)) + ((v4 << 18) | (v4 >>> 14))) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= end) {
    h = (h + Math.imul(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24), P3)) | 0;
    h = Math.imul((h << 17) | (h >>> 15), P4);
    i += 4;
  }
  while (i < end) {
    h = (h + Math.imul(b[i]!, P5)) | 0;
    h = Math.imul((h << 11) | (h >>> 21), P1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The xxhash-wasm functions. */
export type WasmHasher = Awaited<ReturnType<typeof xxhash>>;

let wasm: WasmHasher | null = null;
let loading: Promise<WasmHasher> | undefined;

/** The xxhash-wasm instance, created once per process; xxh32Long uses it from then on. */
export function loadWasmHash(): Promise<WasmHasher> {
  loading ??= xxhash().then((h) => (wasm = h));
  return loading;
}

/** Inputs from this length on are hashed in WebAssembly by xxh32Long (once loaded). */
const LONG_INPUT = 4096;

/** XXH32 of `b[start, end)`, as xxh32, for inputs that may be long (whole hint files). */
export function xxh32Long(b: Uint8Array, start = 0, end = b.length, seed = 0): number {
  if (wasm !== null && end - start >= LONG_INPUT) return wasm.h32Raw(b.subarray(start, end), seed) >>> 0;
  return xxh32(b, start, end, seed);
}
