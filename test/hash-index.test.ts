// Why: the hash index is shared by both hash engines and never stores keys, so its correctness
// under hash collisions rests entirely on probing + the matcher. These tests force collisions
// (every key hashed to one of a few values, or all to one) and check every operation against a
// Map model through growth and backward-shift deletions.

import { describe, expect, it } from 'vitest';
import { HashIndex, type KeyMatcher, hashKey } from '../src/hash-index.js';
import { rng } from '../bench/workloads.js';

/** Matcher over a test-side table of key bytes per location; counts compares. */
class TableMatcher implements KeyMatcher {
  readonly keys: string[] = [];
  compares = 0;
  keyEquals(loc: number, key: Uint8Array): boolean {
    this.compares++;
    return this.keys[loc] === Buffer.from(key).toString('latin1');
  }
  /** Records `key` at a new location and returns it. */
  put(key: string): number {
    this.keys.push(key);
    return this.keys.length - 1;
  }
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** Runs random set/delete/get/replaceIf against a Map model with hashes from `hashOf`. */
function fuzz(hashOf: (k: string) => number, ops: number, keySpace: number, seed: number, migrateSlots?: number): void {
  const m = new TableMatcher();
  const idx = new HashIndex(m, 16, migrateSlots);
  const model = new Map<string, number>();
  const r = rng(seed);
  let opsWhileGrowing = 0;
  // An incremental scan (a merge's start) runs now and then, a few slots per operation, over a
  // range of existing locations (new ones are always higher, as a merge's inputs are sealed).
  let scan: { lo: number; hi: number } | null = null;
  let scans = 0;
  for (let i = 0; i < ops; i++) {
    if (idx.growing) opsWhileGrowing++;
    if (scan === null && r() < 0.02) {
      const hi = m.keys.length;
      scan = { lo: Math.floor(r() * hi), hi };
      idx.beginScan(scan.lo, scan.hi);
    } else if (scan !== null && idx.scanStep(1 + Math.floor(r() * 6))) {
      const got = new Set(idx.endScan());
      for (const g of got) expect(g >= scan.lo && g < scan.hi, `listed ${g} outside the scan`).toBe(true);
      for (const [k, v] of model) if (v >= scan.lo && v < scan.hi) expect(got.has(v), `scan missed ${k} at ${v}`).toBe(true);
      scan = null;
      scans++;
    }
    const k = `k${Math.floor(r() * keySpace)}`;
    const h = hashOf(k);
    const op = r();
    if (op < 0.5) {
      const loc = m.put(k);
      expect(idx.set(bytes(k), loc, h)).toBe(model.get(k) ?? -1);
      model.set(k, loc);
    } else if (op < 0.75) {
      expect(idx.delete(bytes(k), h)).toBe(model.get(k) ?? -1);
      model.delete(k);
    } else if (op < 0.8) {
      // A merge drops an entry only if it still points where the merge saw it.
      const old = model.get(k);
      if (old !== undefined && r() < 0.5) {
        expect(idx.deleteIf(h, old)).toBe(true);
        model.delete(k);
      } else {
        expect(idx.deleteIf(h, m.put(k))).toBe(false);
      }
    } else if (op < 0.85) {
      // A merge re-points an entry only if it is still at the old location.
      const old = model.get(k);
      const stale = m.put(k); // a location the index never held
      expect(idx.replaceIf(h, stale, stale + 1)).toBe(false);
      if (old !== undefined) {
        const moved = m.put(k);
        expect(idx.hasLoc(h, old)).toBe(true);
        expect(idx.replaceIf(h, old, moved)).toBe(true);
        expect(idx.hasLoc(h, old)).toBe(false);
        model.set(k, moved);
      }
    } else {
      expect(idx.get(bytes(k), h)).toBe(model.get(k) ?? -1);
    }
    expect(idx.size).toBe(model.size);
    if (i % 97 === 0) {
      // locsIn sees both tables while a doubling is under way.
      const all = [...idx.locsIn(0, Number.MAX_SAFE_INTEGER - 1)].sort((a, b) => a - b);
      expect(all).toEqual([...model.values()].sort((a, b) => a - b));
    }
  }
  // With a small migrateSlots the doublings span many operations: the test must have run during them.
  if (migrateSlots !== undefined) expect(opsWhileGrowing).toBeGreaterThan(40);
  expect(scans).toBeGreaterThan(2);
  for (let j = 0; j < keySpace; j++) {
    const k = `k${j}`;
    expect(idx.get(bytes(k), hashOf(k)), k).toBe(model.get(k) ?? -1);
  }
  const seen = new Map<number, number>();
  idx.forEach((loc, h) => seen.set(loc, h));
  expect(seen.size).toBe(model.size);
  for (const [k, loc] of model) expect(seen.get(loc)).toBe(hashOf(k));
}

describe('HashIndex', () => {
  it('matches a Map model with real hashes through growth and deletions', () => {
    fuzz((k) => hashKey(bytes(k)), 20_000, 3000, 1);
  });

  it('tells colliding keys apart: every key hashed to one of 3 values', () => {
    fuzz((k) => [7, 0x80000007, 0xffffffff][Number(k.slice(1)) % 3]!, 6000, 300, 2);
  });

  it('tells colliding keys apart: all keys on one hash, wrapping around the table end', () => {
    fuzz(() => 0xffffffff, 3000, 60, 3);
  });

  it('incremental doubling (2 old slots moved per operation): every operation stays exact mid-migration', () => {
    fuzz((k) => hashKey(bytes(k)), 20_000, 3000, 4, 2);
  });

  it('incremental doubling with colliding hashes and a cluster wrapping the table end', () => {
    fuzz((k) => [7, 0x80000007, 0xffffffff][Number(k.slice(1)) % 3]!, 6000, 300, 5, 1);
    fuzz(() => 0xffffffff, 3000, 150, 6, 1);
  });

  it('backward-shift deletion keeps clusters reachable across the table end', () => {
        const m = new TableMatcher();
    const idx = new HashIndex(m, 16);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    // The home slot is the hash's top bits: homes 14, 15, 15 in 16 slots, so the cluster wraps.
    const hashOf = (k: string): number => [0xe0000000, 0xf0000000, 0xf0000001][k.charCodeAt(0) % 3]!;
    const locs = new Map<string, number>();
    for (const k of keys) {
      const loc = m.put(k);
      idx.set(bytes(k), loc, hashOf(k));
      locs.set(k, loc);
    }
    for (const gone of ['b', 'a', 'e']) {
      expect(idx.delete(bytes(gone), hashOf(gone))).toBe(locs.get(gone));
      locs.delete(gone);
      for (const k of keys) expect(idx.get(bytes(k), hashOf(k)), `${k} after deleting ${gone}`).toBe(locs.get(k) ?? -1);
    }
  });

  it('compares keys only on equal hashes, and never for replaceIf/hasLoc', () => {
    const m = new TableMatcher();
    const idx = new HashIndex(m, 1 << 16);
    for (let i = 0; i < 10_000; i++) idx.set(bytes(`key${i}`), m.put(`key${i}`));
    const before = m.compares;
    for (let i = 0; i < 10_000; i++) expect(idx.get(bytes(`key${i}`))).toBe(i);
    // With 32-bit hashes, 10k keys collide almost never: one compare per hit.
    expect(m.compares - before).toBeLessThan(10_010);
    const c2 = m.compares;
    for (let i = 0; i < 10_000; i++) expect(idx.replaceIf(hashKey(bytes(`key${i}`)), i, i + 100_000)).toBe(true);
    expect(m.compares).toBe(c2);
  });

  it('costs at most 32 bytes per key at 1M keys', () => {
    // All keys are distinct, so a matcher answering "different" is exact here.
    const m: KeyMatcher = { keyEquals: () => false };
    const idx = new HashIndex(m);
    const k = new Uint8Array(8);
    const dv = new DataView(k.buffer);
    for (let i = 0; i < 1_000_000; i++) {
      dv.setUint32(4, i);
      idx.set(k, i);
    }
    expect(idx.size).toBe(1_000_000);
    expect(idx.bytes / 1_000_000).toBeLessThanOrEqual(32);
  });
});

describe('HashIndex.shrinkToFit', () => {
  it('halves an over-reserved table down to the size its entries need, and every entry stays findable', () => {
    // The location of key i is i * 10: the matcher reads the key back from it.
    const idx = new HashIndex({ keyEquals: (l, k) => new DataView(k.buffer, k.byteOffset).getUint32(0) * 10 === l });
    idx.reserve(100_000);
    const key = new Uint8Array(4);
    const dv = new DataView(key.buffer);
    for (let i = 0; i < 1000; i++) {
      dv.setUint32(0, i);
      idx.set(key, i * 10);
    }
    expect(idx.capacity).toBeGreaterThanOrEqual(131_072);
    idx.shrinkToFit();
    expect(idx.capacity).toBe(2048); // 1000 entries: 1024 slots would pass the 3/4 load limit
    const found = new Set<number>();
    idx.forEach((l) => found.add(l));
    expect(found.size).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      expect(found.has(i * 10)).toBe(true);
      dv.setUint32(0, i);
      expect(idx.get(key)).toBe(i * 10);
    }
  });
});
