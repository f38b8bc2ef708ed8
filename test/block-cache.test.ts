// Why: the block cache (src/block-cache.ts) serves sealed-file reads from memory, so it must never
// serve bytes of the wrong file or block — not after a slot is reused by a merge output, not for a
// record crossing a block's end — and it must never weaken corruption detection: every record
// taken from a cached block is checksummed again. These tests drive the cache alone, through
// SealedFiles (exact control over files and slots), and through the AppendLog against a model.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, BlockCache } from '../src/block-cache.js';
import { CorruptionError, InvalidArgumentError, open, type SnapStore } from '../src/index.js';
import { HashIndex } from '../src/hash-index.js';
import { writeSealedFileSync } from '../src/io.js';
import { mmapAvailable } from '../src/mmap.js';
import { encodeRecord, recordSize } from '../src/record.js';
import { SealedFiles, loc } from '../src/sealed-files.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

type Stats = Record<string, number | number[] | string>;
const eng = (s: SnapStore): Stats => s.stats().engineStats as Stats;

/** Encodes `pairs` as one file's bytes; returns the bytes and each record's offset. */
function records(pairs: Array<[Uint8Array, Uint8Array]>): { bytes: Uint8Array; offsets: number[] } {
  const bytes = new Uint8Array(pairs.reduce((n, [k, v]) => n + recordSize(k.length, v.length), 0));
  const offsets: number[] = [];
  let pos = 0;
  for (const [k, v] of pairs) {
    offsets.push(pos);
    pos = encodeRecord(bytes, pos, k, v);
  }
  return { bytes, offsets };
}

/** Writes a sealed file of `pairs` and adopts it in `slot`; returns the record offsets. */
function sealFile(dir: string, sf: SealedFiles, name: string, slot: number, pairs: Array<[Uint8Array, Uint8Array]>): number[] {
  const { bytes, offsets } = records(pairs);
  writeSealedFileSync(path.join(dir, name), [bytes]);
  sf.add(name, 0, slot, bytes);
  return offsets;
}

/** Keys k0.. with values whose lengths vary so that records start and end all over the blocks. */
function mixedPairs(n: number, seed: number): Array<[Uint8Array, Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < n; i++) {
    // Mostly short values, some around a block (crossing ends), a few longer than a block + overhang.
    const len = i % 17 === 0 ? 700 + (i % 5) * 300 : i % 7 === 0 ? 400 + (i % 13) * 10 : 1 + ((i * 31) % 90);
    out.push([b(`k${seed}-${i}`), pattern(len, seed * 1000 + i)]);
  }
  return out;
}

describe('BlockCache alone', () => {
  it('misses, fills, hits; the last block of a file holds only its bytes', () => {
    const c = new BlockCache(8 * BLOCK_BYTES);
    const file = {};
    const id = c.fileId(1, file);
    expect(c.fileId(1, file)).toBe(id);
    expect(c.lookup(id, 3)).toBe(-1);
    const src = pattern(100, 7);
    c.fill(id, 3, 1, src, 0, 100);
    const line = c.lookup(id, 3);
    expect(line).toBeGreaterThanOrEqual(0);
    expect(c.lineLen(line)).toBe(100);
    expect(hex(c.arena.subarray(line * BLOCK_BYTES, line * BLOCK_BYTES + 100))).toBe(hex(src));
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1, capacity: 8 * BLOCK_BYTES, bytes: 8 * BLOCK_BYTES });
  });

  it('a slot taken by another file gets a fresh id, and the old file\'s lines are emptied', () => {
    const c = new BlockCache(4 * BLOCK_BYTES);
    const a = {};
    const bFile = {};
    const ida = c.fileId(2, a);
    c.fill(ida, 0, 2, new Uint8Array(BLOCK_BYTES), 0, BLOCK_BYTES);
    expect(c.lookup(ida, 0)).toBeGreaterThanOrEqual(0);
    const idb = c.fileId(2, bFile);
    expect(idb).not.toBe(ida);
    expect(c.lookup(idb, 0)).toBe(-1);
    expect(c.lookup(ida, 0)).toBe(-1); // emptied, not just unreachable
    c.fill(idb, 0, 2, new Uint8Array(BLOCK_BYTES), 0, BLOCK_BYTES);
    c.invalidateSlot(2);
    expect(c.lookup(idb, 0)).toBe(-1);
  });

  it('fills free lines and lines of files no longer open; over a live line only every 8th miss', () => {
    const c = new BlockCache(BLOCK_BYTES); // one line: every block maps to it
    const f1 = {};
    const files: Array<object | undefined> = [undefined, f1];
    const id1 = c.fileId(1, f1);
    expect(c.lookup(id1, 0)).toBe(-1);
    expect(c.wantsFill(id1, 0, files)).toBe(true); // empty line
    c.fill(id1, 0, 1, new Uint8Array(10), 0, 10);
    let fills = 0;
    for (let i = 0; i < 16; i++) {
      expect(c.lookup(id1, 5)).toBe(-1);
      if (c.wantsFill(id1, 5, files)) fills++;
    }
    expect(fills).toBe(2);
    files[1] = undefined; // the file was closed: its line is free
    expect(c.lookup(id1, 6)).toBe(-1);
    expect(c.wantsFill(id1, 6, files) || c.wantsFill(id1, 6, files)).toBe(true);
  });
});

describe('SealedFiles with a block cache', () => {
  it('returns the same keys and values as without a cache, records crossing blocks and longer ones included', () => {
    const dir = tmpDir('bc-sf');
    const plain = new SealedFiles({ dir, ext: 'log', maxRunsPerLevel: 4, maxLen: 1 << 20, nextGeneration: () => 0, merges: 'foreground' });
    const cached = new SealedFiles({ dir, ext: 'log', maxRunsPerLevel: 4, maxLen: 1 << 20, nextGeneration: () => 0, merges: 'foreground', blockCacheBytes: 64 * BLOCK_BYTES });
    const pairs = mixedPairs(400, 1);
    const { bytes, offsets } = records(pairs);
    writeSealedFileSync(path.join(dir, 'L0.g000000000001.log'), [bytes]);
    plain.add('L0.g000000000001.log', 0, 1, bytes);
    cached.add('L0.g000000000001.log', 0, 1, bytes);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pairs.length; i++) {
        const l = loc(1, offsets[i]!);
        expect(cached.keyEquals(l, pairs[i]![0])).toBe(true);
        expect(cached.keyEquals(l, b('nope'))).toBe(false);
        expect(hex(cached.valueAt(l))).toBe(hex(pairs[i]![1]));
        expect(hex(cached.valueAt(l))).toBe(hex(plain.valueAt(l)));
      }
    }
    const st = cached.cacheStats()!;
    expect(st.hits).toBeGreaterThan(0);
    expect(st.bypasses).toBeGreaterThan(0); // records crossing a block end were read directly
    expect(plain.cacheStats()).toBeNull();
    plain.close();
    cached.close();
  });

  it('never serves a block of a file whose slot was reused', () => {
    const dir = tmpDir('bc-reuse');
    const sf = new SealedFiles({ dir, ext: 'log', maxRunsPerLevel: 4, maxLen: 1 << 20, nextGeneration: () => 0, merges: 'foreground', blockCacheBytes: 64 * BLOCK_BYTES });
    const slot = sf.allocSlot();
    const first = mixedPairs(50, 2);
    const offs1 = sealFile(dir, sf, 'L0.g000000000001.log', slot, first);
    for (let i = 0; i < first.length; i++) expect(hex(sf.valueAt(loc(slot, offs1[i]!)))).toBe(hex(first[i]![1]));
    // The file leaves (as after a merge) and another file takes the same slot: same offsets, new bytes.
    sf.close();
    const sf2 = sf; // same instance: close() keeps the cache, as a merge would
    sf2.freeSlot(slot);
    const slot2 = sf2.allocSlot();
    expect(slot2).toBe(slot);
    const second = first.map(([k], i): [Uint8Array, Uint8Array] => [k, pattern(first[i]![1].length, 999 + i)]);
    const offs2 = sealFile(dir, sf2, 'L0.g000000000002.log', slot2, second);
    expect(offs2).toEqual(offs1);
    for (let i = 0; i < second.length; i++) expect(hex(sf2.valueAt(loc(slot2, offs2[i]!)))).toBe(hex(second[i]![1]));
    sf2.close();
  });

  it('detects corruption through the cache: a flipped bit in a cached block, and on disk', () => {
    const dir = tmpDir('bc-corrupt');
    const opts = { dir, ext: 'log', maxRunsPerLevel: 4, maxLen: 1 << 20, nextGeneration: () => 0, merges: 'foreground' as const, blockCacheBytes: 64 * BLOCK_BYTES };
    const sf = new SealedFiles(opts);
    const pairs = mixedPairs(40, 3).map(([k, v]): [Uint8Array, Uint8Array] => [k, v.subarray(0, Math.min(v.length, 30))]);
    const offs = sealFile(dir, sf, 'L0.g000000000001.log', 1, pairs);
    const l = loc(1, offs[5]!);
    expect(hex(sf.valueAt(l))).toBe(hex(pairs[5]![1])); // now cached
    // Flip a bit of that record's value inside the arena, as a stray write would.
    const c = (sf as unknown as { cache: BlockCache }).cache;
    const at = c.arena.indexOf(Buffer.from(pairs[5]![1]));
    expect(at).toBeGreaterThanOrEqual(0);
    c.arena[at]! ^= 1;
    (sf as unknown as { cachedLoc: number }).cachedLoc = -1; // as after any other read
    expect(() => sf.valueAt(l)).toThrow(CorruptionError);
    // The line was dropped: the next read goes to the (intact) file.
    expect(hex(sf.valueAt(l))).toBe(hex(pairs[5]![1]));
    sf.close();

    // On disk: flip a byte of record 9 and reopen: both the filling read and later hits report it.
    const file = path.join(dir, 'L0.g000000000001.log');
    const bytes = fs.readFileSync(file);
    bytes[offs[9]! + 3]! ^= 0x40;
    fs.writeFileSync(file, bytes);
    const sf3 = new SealedFiles(opts);
    sf3.load([{ name: 'L0.g000000000001.log', level: 0 }], new HashIndex({ keyEquals: (l, k) => sf3.keyEquals(l, k) }));
    const l9 = loc(sf3.list()[0]!.slot, offs[9]!);
    for (let i = 0; i < 3; i++) expect(() => sf3.valueAt(l9)).toThrow(CorruptionError);
    const l8 = loc(sf3.list()[0]!.slot, offs[8]!);
    expect(hex(sf3.valueAt(l8))).toBe(hex(pairs[8]![1]));
    sf3.close();
  });
});

describe('AppendLog blockCacheBytes', () => {
  it('validates the option', async () => {
    const dir = tmpDir('bc-param');
    for (const bad of [-1, 100, 1.5, '1M', null]) {
      await expect(open({ engine: 'appendlog', dir, blockCacheBytes: bad as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    const s = await open({ engine: 'appendlog', dir, blockCacheBytes: 0 });
    expect(eng(s).blockCacheBytes).toBe(0);
    await s.close();
    const w = await open({ engine: 'appendlog', dir, mmap: false });
    expect(eng(w).blockCacheBytes).toBe(0); // allocated on the first read of a sealed file
    await w.close();
    // Mapped files are read in place: a cache beside them is refused, not silently ignored.
    if (mmapAvailable) await expect(open({ engine: 'appendlog', dir, mmap: true, blockCacheBytes: 1 << 20 })).rejects.toThrow(/mmap: false/);
  });

  it('gives the same answers with the cache on, small and off, and mapped, through seals, merges and slot reuse', async () => {
    const root = tmpDir('bc-model');
    // The cache serves pread(2) reads (mmap: false); the last store reads its mapped files in place.
    const configs = [{ blockCacheBytes: 0, mmap: false }, { blockCacheBytes: 4 * BLOCK_BYTES, mmap: false }, { mmap: false }, ...(mmapAvailable ? [{ mmap: true }] : [])];
    const stores = await Promise.all(configs.map((c, i) => open({ engine: 'appendlog', dir: `${root}/s${i}`, thresholdBytes: 4096, maxRunsPerLevel: 2, merges: 'foreground', ...c })));
    const model = new Map<string, string>();
    let x = 12345;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    for (let i = 0; i < 6000; i++) {
      const k = `key-${rnd(400)}`;
      const op = rnd(10);
      if (op < 5) {
        const v = pattern(1 + rnd(i % 50 === 0 ? 1500 : 120), i);
        for (const s of stores) s.set(b(k), v);
        model.set(k, hex(v));
      } else if (op === 5) {
        for (const s of stores) s.delete(b(k));
        model.delete(k);
      } else {
        for (const s of stores) {
          const v = s.get(b(k));
          expect(v === undefined ? undefined : hex(v), k).toBe(model.get(k));
        }
      }
    }
    for (const [k, v] of model) for (const s of stores) expect(hex(s.get(b(k))!)).toBe(v);
    const on = eng(stores[2]!);
    expect(Number(on.merges)).toBeGreaterThan(0);
    expect(Number(on.blockCacheHits)).toBeGreaterThan(0);
    expect(on.blockCacheBytes).toBeGreaterThan(0);
    expect(stores[2]!.stats().memoryBytes).toBeGreaterThan(Number(on.blockCacheBytes));
    expect(eng(stores[0]!).blockCacheHits).toBe(0);
    for (const s of stores) await s.close();
  });
});
