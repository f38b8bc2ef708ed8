// Why: the AppendLog's own promises, beyond the shared suites: sealed files merge keeping only the
// records the index points at (tombstones only while older files exist); reopen loads hints and
// scans only the active tail, and falls back to a scan when a hint is missing or bad; a torn tail
// is tolerated and never appended after; keys whose index hashes collide stay apart on disk too;
// compaction rewrites a just-sealed segment; snapshots push only new sealed files.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError, DirReplica, open, type SnapStore } from '../src/index.js';
import { HashIndex, type KeyMatcher, hashKey } from '../src/hash-index.js';
import { hintName, readHint } from '../src/hint-file.js';
import { writeSealedFileSync } from '../src/io.js';
import { encodeRecord, recordSize } from '../src/record.js';
import { SealedFiles, loc } from '../src/sealed-files.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

type Stats = Record<string, number | number[] | string>;
const eng = (s: SnapStore): Stats => s.stats().engineStats as Stats;

/** Encodes [key, value] pairs as one record file's bytes. */
function records(pairs: Array<[string, string]>): Uint8Array {
  const out = new Uint8Array(pairs.reduce((n, [k, v]) => n + recordSize(Buffer.byteLength(k), Buffer.byteLength(v)), 0));
  let pos = 0;
  for (const [k, v] of pairs) pos = encodeRecord(out, pos, b(k), b(v));
  return out;
}

/** A SealedFiles + HashIndex pair over `dir`, with a matcher reading keys from the files. */
function harness(dir: string, maxRunsPerLevel = 2): { sf: SealedFiles; index: HashIndex; gen: { n: number } } {
  const gen = { n: 100 };
  // Foreground: these tests drive merges and hints step by step (background: test/hash-background.test.ts).
  const sf = new SealedFiles({ dir, ext: 'log', maxRunsPerLevel, maxLen: 1 << 20, nextGeneration: () => gen.n++, merges: 'foreground' });
  const matcher: KeyMatcher = { keyEquals: (l, k) => sf.keyEquals(l, k) };
  return { sf, index: new HashIndex(matcher), gen };
}

/** Seals `pairs` as level-0 file `name` and indexes it like an engine would. */
function seal(dir: string, sf: SealedFiles, index: HashIndex, name: string, pairs: Array<[string, string]>): void {
  const bytes = records(pairs);
  writeSealedFileSync(path.join(dir, name), [bytes]);
  const slot = sf.allocSlot();
  let off = 0;
  for (const [k, v] of pairs) {
    if (v === '') index.delete(b(k));
    else index.set(b(k), loc(slot, off));
    off += recordSize(Buffer.byteLength(k), Buffer.byteLength(v));
  }
  sf.add(name, 0, slot, bytes);
}

function lookup(sf: SealedFiles, index: HashIndex, k: string): string | undefined {
  const l = index.get(b(k));
  return l < 0 ? undefined : Buffer.from(sf.valueAt(l)).toString();
}

describe('SealedFiles', () => {
  it('merges keep only records the index points at and re-point the index; hints match a scan', () => {
    const dir = tmpDir('sealed-merge');
    const { sf, index } = harness(dir);
    seal(dir, sf, index, 'L0.g000000000001.log', [['a', '1'], ['b', '1'], ['c', '1']]);
    seal(dir, sf, index, 'L0.g000000000002.log', [['a', '2'], ['c', ''], ['d', '2']]);
    expect(sf.mergeDue(index)).toBe(true);
    expect(sf.stats().filesPerLevel).toEqual([0, 1]);
    const [out] = sf.list();
    // Only the live a=2, b=1, d=2 remain; c's deletion is dropped (nothing older exists).
    expect(out!.size).toBe(recordSize(1, 1) * 3);
    expect(['a', 'b', 'c', 'd'].map((k) => lookup(sf, index, k))).toEqual(['2', '1', undefined, '2']);
    const h = readHint(path.join(dir, hintName(out!.name)))!;
    expect(h.entries).toBe(3);
    expect(h.dataSize).toBe(out!.size);
    const meta = sf.meta();
    sf.close();
    // Reopen from the hint, then from a scan: the same index.
    for (const dropHint of [false, true]) {
      if (dropHint) fs.rmSync(path.join(dir, hintName(out!.name)));
      const r = harness(dir);
      r.sf.load(meta, r.index);
      expect(['a', 'b', 'c', 'd'].map((k) => lookup(r.sf, r.index, k))).toEqual(['2', '1', undefined, '2']);
      expect(r.sf.stats()[dropHint ? 'filesScanned' : 'hintsLoaded']).toBe(1);
      r.sf.close();
    }
  });

  it('keeps a tombstone while older files exist, then drops it at the last level', () => {
    const dir = tmpDir('sealed-tomb');
    const { sf, index } = harness(dir, 3);
    seal(dir, sf, index, 'L0.g000000000001.log', [['x', 'old'], ['y', 'old']]);
    seal(dir, sf, index, 'L0.g000000000002.log', [['z', '1']]);
    seal(dir, sf, index, 'L0.g000000000003.log', [['u', '1']]);
    sf.mergeDue(index); // → L1 holding x, y, z, u
    seal(dir, sf, index, 'L0.g000000000004.log', [['x', '']]);
    seal(dir, sf, index, 'L0.g000000000005.log', [['x', ''], ['w', '1']]);
    seal(dir, sf, index, 'L0.g000000000006.log', [['u', '']]);
    sf.mergeDue(index); // L0 → L1: the deletions must survive (the older L1 file holds x and u)
    const l1 = sf.list().filter((f) => f.level === 1);
    expect(l1).toHaveLength(2);
    const newest = l1.at(-1)!;
    const hint = readHint(path.join(dir, hintName(newest.name)))!;
    expect(hint.entries).toBe(3); // one tombstone for x (deduplicated), w, one tombstone for u
    expect(lookup(sf, index, 'x')).toBeUndefined();
    // Reopen applies files oldest first: x and u stay deleted.
    const meta = sf.meta();
    sf.close();
    const r = harness(dir, 3);
    r.sf.load(meta, r.index);
    expect(['x', 'y', 'z', 'u', 'w'].map((k) => lookup(r.sf, r.index, k))).toEqual([undefined, 'old', '1', undefined, '1']);
    // L1 merged into L2, the last level: the tombstones go.
    r.sf.mergeLevel(1, r.index);
    expect(r.sf.stats().filesPerLevel).toEqual([0, 0, 1]);
    expect(r.sf.list()[0]!.size).toBe(recordSize(1, 3) + recordSize(1, 1) * 2);
    expect(['x', 'y', 'z', 'u', 'w'].map((k) => lookup(r.sf, r.index, k))).toEqual([undefined, 'old', '1', undefined, '1']);
    r.sf.close();
  });

  it('a hint whose data file has another size is corruption naming the data file', () => {
    const dir = tmpDir('sealed-size');
    const { sf, index } = harness(dir);
    seal(dir, sf, index, 'L0.g000000000001.log', [['a', '1'], ['b', '2']]);
    const meta = sf.meta();
    sf.close();
    const file = path.join(dir, 'L0.g000000000001.log');
    fs.truncateSync(file, recordSize(1, 1)); // cut at a record boundary: a scan alone would not notice
    const r = harness(dir);
    expect(() => r.sf.load(meta, r.index)).toThrow(CorruptionError);
    expect(() => r.sf.load(meta, r.index)).toThrow(/L0\.g000000000001\.log/);
  });
});

describe('AppendLog engine', () => {
  it('reopen loads hints, scans only the active tail, and shows every set', async () => {
    const dir = tmpDir('al-reopen');
    const s = await open({ engine: 'appendlog', dir, thresholdBytes: 4096, maxRunsPerLevel: 3 });
    const model = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      s.set(b(`k${i % 700}`), pattern(10 + (i % 30), i));
      model.set(`k${i % 700}`, hex(pattern(10 + (i % 30), i)));
    }
    for (let i = 0; i < 700; i += 7) {
      s.delete(b(`k${i}`));
      model.delete(`k${i}`);
    }
    const before = eng(s);
    expect(before.seals).toBeGreaterThan(10);
    expect(before.merges).toBeGreaterThan(0);
    await s.close();
    const t = await open({ engine: 'appendlog', dir, thresholdBytes: 4096, maxRunsPerLevel: 3 });
    const st = eng(t);
    expect(st.filesScanned).toBe(0);
    expect(st.hintsLoaded).toBe((before.filesPerLevel as number[]).reduce((x, y) => x + y, 0));
    expect(st.activeRecordsReplayed).toBeGreaterThan(0);
    expect(t.stats().keys).toBe(600);
    for (let i = 0; i < 700; i++) {
      const v = t.get(b(`k${i}`));
      expect(v === undefined ? undefined : hex(v), `k${i}`).toBe(model.get(`k${i}`));
    }
    await t.close();
  });

  it('get returns copies: later reads, sets and seals never change a returned value', async () => {
    const dir = tmpDir('al-copies');
    const s = await open({ engine: 'appendlog', dir, thresholdBytes: 1024, maxRunsPerLevel: 3 });
    for (let i = 0; i < 200; i++) s.set(b(`k${i}`), pattern(30, i));
    const got = Array.from({ length: 200 }, (_, i) => s.get(b(`k${i}`))!); // sealed and active
    for (let i = 0; i < 200; i++) s.set(b(`k${i}`), pattern(30, i + 1000)); // recycles buffers
    for (let i = 0; i < 200; i++) expect(hex(got[i]!), `k${i}`).toBe(hex(pattern(30, i)));
    await s.close();
  });

  it('missing or corrupt hints fall back to scanning and are rewritten', async () => {
    const dir = tmpDir('al-hints');
    const s = await open({ engine: 'appendlog', dir, thresholdBytes: 2048, maxRunsPerLevel: 4 });
    for (let i = 0; i < 2000; i++) s.set(b(`key${i % 300}`), pattern(20, i));
    await s.close();
    const hints = fs.readdirSync(dir).filter((n) => n.endsWith('.hint'));
    expect(hints.length).toBeGreaterThan(1);
    fs.rmSync(path.join(dir, hints[0]!));
    const bad = fs.readFileSync(path.join(dir, hints[1]!));
    bad[bad.length >> 1]! ^= 0x40;
    fs.writeFileSync(path.join(dir, hints[1]!), bad);
    const t = await open({ engine: 'appendlog', dir, thresholdBytes: 2048, maxRunsPerLevel: 4 });
    expect(eng(t).filesScanned).toBe(2);
    for (let i = 1700; i < 2000; i++) expect(hex(t.get(b(`key${i % 300}`))!)).toBe(hex(pattern(20, i)));
    await t.close();
    const u = await open({ engine: 'appendlog', dir, thresholdBytes: 2048, maxRunsPerLevel: 4 });
    expect(eng(u).filesScanned).toBe(0);
    await u.close();
  });

  it('a torn last record is dropped and never appended after', async () => {
    const dir = tmpDir('al-torn');
    const s = await open({ engine: 'appendlog', dir });
    s.set(b('a'), b('1'));
    s.set(b('b'), b('2'));
    await s.close();
    const seg = fs.readdirSync(dir).find((n) => n.endsWith('.log'))!;
    const torn = records([['c', 'a value that was being written when the process died']]);
    fs.appendFileSync(path.join(dir, seg), torn.subarray(0, torn.length - 9));
    const t = await open({ engine: 'appendlog', dir });
    expect(t.get(b('c'))).toBeUndefined();
    t.set(b('d'), b('4'));
    await t.close();
    // The torn file was replaced by a clean copy, so the record after the tear is readable.
    expect(fs.existsSync(path.join(dir, seg))).toBe(false);
    const u = await open({ engine: 'appendlog', dir });
    expect([u.get(b('a')), u.get(b('b')), u.get(b('c')), u.get(b('d'))].map((v) => v && Buffer.from(v).toString())).toEqual(['1', '2', undefined, '4']);
    await u.close();
  });

  it.each(['foreground', 'background'] as const)('keys whose index hashes collide stay apart in memory, on disk and after merges (%s)', async (merges) => {
    // Find two keys with the same 32-bit index hash (birthday search).
    const seen = new Map<number, number>();
    let pair: [Uint8Array, Uint8Array] | null = null;
    const kb = (i: number): Uint8Array => b(`collide-${i}`);
    for (let i = 0; pair === null; i++) {
      const h = hashKey(kb(i));
      const j = seen.get(h);
      if (j !== undefined) pair = [kb(j), kb(i)];
      else seen.set(h, i);
    }
    const [x, y] = pair;
    expect(hashKey(x)).toBe(hashKey(y));
    const dir = tmpDir('al-collide');
    const opts = { engine: 'appendlog' as const, dir, thresholdBytes: 256, maxRunsPerLevel: 2, merges };
    const s = await open(opts);
    s.set(x, b('x1'));
    expect(s.get(y)).toBeUndefined();
    s.set(y, b('y1'));
    for (let i = 0; i < 40; i++) s.set(b(`filler${i}`), pattern(20, i)); // seal x and y, merge them
    // A background merge lands at a set after the worker is done (its first job also starts it).
    const deadline = Date.now() + 30_000;
    for (let i = 0; eng(s).merges === 0 && Date.now() < deadline; i++) {
      s.set(b(`filler${i % 40}`), pattern(20, i));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    expect(eng(s).merges).toBeGreaterThan(0);
    s.set(x, b('x2'));
    expect([s.get(x), s.get(y)].map((v) => Buffer.from(v!).toString())).toEqual(['x2', 'y1']);
    s.delete(y);
    expect(s.get(y)).toBeUndefined();
    expect(Buffer.from(s.get(x)!).toString()).toBe('x2');
    await s.close();
    const t = await open(opts);
    expect(t.get(y)).toBeUndefined();
    expect(Buffer.from(t.get(x)!).toString()).toBe('x2');
    await t.close();
  });

  it('compaction rewrites each sealed segment to its live records', async () => {
    const run = async (compaction: boolean): Promise<Stats> => {
      const dir = tmpDir(`al-compact-${compaction}`);
      const s = await open({ engine: 'appendlog', dir, thresholdBytes: 4096, maxRunsPerLevel: 100, compaction }); // no merges
      // Each segment rewrites the same 20 keys many times: most of it is garbage when sealed.
      for (let i = 0; i < 3000; i++) s.set(b(`hot${i % 20}`), pattern(30, i));
      for (let i = 0; i < 20; i++) expect(hex(s.get(b(`hot${i}`))!)).toBe(hex(pattern(30, 2980 + i)));
      const st = eng(s);
      await s.close();
      return st;
    };
    const off = await run(false);
    const on = await run(true);
    expect(off.compactions).toBe(0);
    expect(on.compactions).toBe(on.seals);
    expect(on.diskBytes as number).toBeLessThan((off.diskBytes as number) / 3);
  });

  it('snapshots push only the sealed files the replica lacks', async () => {
    const root = tmpDir('al-snap');
    const s = await open({ engine: 'appendlog', dir: `${root}/d`, replica: new DirReplica(`${root}/r`), thresholdBytes: 1 << 16, maxRunsPerLevel: 10 });
    for (let i = 0; i < 3000; i++) s.set(b(`k${i}`), pattern(40, i));
    const first = await s.snapshot(1);
    s.set(b('k1'), b('new'));
    const second = await s.snapshot(2);
    expect(second.filesPushed).toBe(1);
    expect(second.bytesPushed).toBeLessThan(100);
    expect(second.totalBytes).toBeGreaterThan(first.totalBytes);
    expect(fs.readdirSync(`${root}/r/data`).some((n) => n.endsWith('.hint'))).toBe(false);
    await s.restore(1);
    expect(hex(s.get(b('k1'))!)).toBe(hex(pattern(40, 1)));
    await s.close();
  });
});
