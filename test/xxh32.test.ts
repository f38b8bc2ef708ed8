// Why: record checksums and the index hash (persisted in hint files) both use src/xxh32.ts, a
// hand-written XXH32; a slip in it would silently change every checksum. It must equal the
// reference implementation (xxhash-wasm) bit for bit, at every length around the 4- and 16-byte
// boundaries, at any start offset, for any seed, on Buffers and plain Uint8Arrays.

import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { loadWasmHash, xxh32, xxh32Long } from '../src/xxh32.js';

describe('xxh32', () => {
  it('equals xxhash-wasm for lengths 0..100, offsets 0..5 and several seeds', async () => {
    const { h32Raw } = await xxhash();
    const src = new Uint8Array(256);
    for (let i = 0; i < src.length; i++) src[i] = (i * 131 + 7) & 0xff;
    for (const seed of [0, 1, 0x5eed5eed, 0xffffffff]) {
      for (let start = 0; start < 6; start++) {
        for (let len = 0; len <= 100; len++) {
          const want = h32Raw(src.slice(start, start + len), seed) >>> 0;
          expect(xxh32(src, start, start + len, seed), `len ${len} start ${start} seed ${seed}`).toBe(want);
          expect(xxh32(Buffer.from(src.buffer, start, len), 0, len, seed)).toBe(want);
        }
      }
    }
  });

  it('xxh32Long equals xxh32 on both sides of its WebAssembly threshold, before and after loading', async () => {
    const src = new Uint8Array(70_000);
    for (let i = 0; i < src.length; i++) src[i] = (i * 2654435761) >>> 24;
    const cases = [[0, 4095], [1, 4097], [3, 65_539], [0, 70_000]] as const;
    const before = cases.map(([s, e]) => xxh32Long(src, s, e, 7));
    await loadWasmHash();
    for (let i = 0; i < cases.length; i++) {
      const [s, e] = cases[i]!;
      expect(xxh32Long(src, s, e, 7)).toBe(xxh32(src, s, e, 7));
      expect(before[i]).toBe(xxh32(src, s, e, 7));
    }
  });
});
