// Why: the LSM's parts tested on their own — run files (fences, filter, footer), k-way merges
// (newest wins, deletions dropped only at the last level), cascading tiered merges, reopen that
// reads no record, the WAL (replay, torn tail, corruption) and the no-WAL reopen semantics.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptionError, open, type SnapStore } from '../src/index.js';
import { bloomHash } from '../src/lsm/bloom-filter.js';
import { FenceIndex } from '../src/lsm/fence-index.js';
import { Memtable } from '../src/lsm/memtable.js';
import { mergeRuns } from '../src/lsm/merge.js';
import { type ProbeCounters, RunReader, TOMBSTONE } from '../src/lsm/run-reader.js';
import { RunWriter } from '../src/lsm/run-writer.js';
import { rec } from '../src/record.js';
import { scanRecords } from '../src/record-scan.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

const latin1 = (u: Uint8Array): string => Buffer.from(u).toString('latin1');
const counters = (): ProbeCounters => ({ negatives: 0, falsePositives: 0, hits: 0 });

/** Writes a run from [key, value] pairs (sorted here); an empty value is a deletion. */
function writeRun(dir: string, name: string, pairs: Array<[Uint8Array, Uint8Array]>, density = 4): RunReader {
  const sorted = [...pairs].sort((x, y) => Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])));
  const w = new RunWriter(dir, name, density, 0.01);
  for (const [k, v] of sorted) w.addStringKey(latin1(k), v, 0, v.length);
  w.finish();
  return RunReader.open(dir, name, 0);
}

/** Every record of a run file's data section, as hex key → hex value. */
function runContents(r: RunReader): Map<string, string> {
  const m = new Map<string, string>();
  scanRecords(r.file, (buf) => {
    m.set(buf.subarray(rec.keyStart, rec.keyStart + rec.keyLen).toString('hex'), buf.subarray(rec.valueStart, rec.valueStart + rec.valueLen).toString('hex'));
  }, { end: r.footer.dataEnd });
  return m;
}

const stores: SnapStore[] = [];
async function openLsm(dir: string, extra: Record<string, unknown> = {}): Promise<SnapStore> {
  const s = await open({ engine: 'lsm', dir, ...extra });
  stores.push(s);
  return s;
}
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) await s.close();
});

/** Random keys over a tiny alphabet, so prefixes, equal 4-byte windows and length ties abound. */
function trickyKeys(n: number, seed: number, prefix: number[] = []): Uint8Array[] {
  let x = seed;
  const r = (m: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % m;
  };
  const alphabet = [0, 1, 2, 255];
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(Uint8Array.from([...prefix, ...Array.from({ length: 1 + r(9) }, () => alphabet[r(4)]!)]));
  return out;
}
const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('ordering', () => {
  for (const prefix of [[], [7, 7, 7, 7, 7]]) {
    it(`memtable flush order is unsigned byte order (prefix ${prefix.length})`, () => {
      const m = new Memtable(1 << 20);
      const keys = trickyKeys(3000, 11 + prefix.length, prefix);
      for (const k of keys) m.set(k, Uint8Array.of(1));
      const got = m.sortedSlots().map((s) => m.keyOfSlot(s));
      const want = [...new Set(keys.map(latin1))].sort((a, b) => cmp(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
      expect(got).toEqual(want);
    });

    it(`fence search agrees with a linear scan (prefix ${prefix.length})`, () => {
      const fenceKeys = [...new Map(trickyKeys(800, 5 + prefix.length, prefix).map((k) => [latin1(k), k])).values()].sort(cmp);
      const ends = new Uint32Array(fenceKeys.length);
      let total = 0;
      fenceKeys.forEach((k, i) => (ends[i] = total += k.length));
      const bytes = new Uint8Array(total);
      fenceKeys.forEach((k, i) => bytes.set(k, ends[i]! - k.length));
      const idx = new FenceIndex(new Float64Array(fenceKeys.length + 1), ends, bytes);
      const queries = [...trickyKeys(3000, 99 + prefix.length, prefix), ...trickyKeys(300, 7), ...fenceKeys, Uint8Array.of(255, 255, 255, 255, 255, 255, 255)];
      for (const q of queries) {
        let want = -1;
        for (let i = 0; i < fenceKeys.length; i++) if (cmp(fenceKeys[i]!, q) <= 0) want = i;
        expect(idx.find(q, 0, q.length), hex(q)).toBe(want);
      }
    });
  }
});

describe('run files', () => {
  it('round-trip: every key found through Bloom + fences + one block read; absent keys are not', () => {
    const dir = tmpDir('lsm-run');
    const pairs: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 500; i++) pairs.push([b(`key-${String(i * 3).padStart(5, '0')}`), pattern(1 + (i % 40), i + 1)]);
    pairs.push([Uint8Array.of(0), b('lowest')], [Uint8Array.of(255, 255), b('highest')], [b('key-00003x'), new Uint8Array(0)]);
    const r = writeRun(dir, 'L0.g000000000001.run', pairs, 7);
    expect(r.footer.records).toBe(503);
    expect(r.footer.fenceCount).toBe(Math.ceil(503 / 7));
    const c = counters();
    for (const [k, v] of pairs) {
      const got = r.get(k, bloomHash(k), c);
      if (v.length === 0) expect(got).toBe(TOMBSTONE);
      else expect(hex(got!)).toBe(hex(v));
    }
    expect(c.hits).toBe(503);
    const absent = [Uint8Array.of(0, 0), b('a'), b('key-00001'), b('key-99999'), Uint8Array.of(255, 255, 0), b('key-0000')];
    for (let i = 0; i < 2000; i++) absent.push(b(`key-${String(i * 3 + 1).padStart(5, '0')}`));
    for (const k of absent) expect(r.get(k, bloomHash(k), c)).toBeUndefined();
    // Most absent keys never cost a read: the filter turns them away.
    expect(c.negatives).toBeGreaterThan(absent.length * 0.9);
    expect(c.negatives + c.falsePositives).toBe(absent.length);
    r.close();
  });

  it('a damaged footer or index block is a CorruptionError naming the file; a damaged record fails only its reads', () => {
    const dir = tmpDir('lsm-run-bad');
    const pairs: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 100; i++) pairs.push([b(`k${String(i).padStart(3, '0')}`), pattern(20, i + 1)]);
    const name = 'L0.g000000000001.run';
    const r = writeRun(dir, name, pairs, 10);
    const { dataEnd } = r.footer;
    r.close();
    const file = path.join(dir, name);
    const good = fs.readFileSync(file);
    for (const at of [good.length - 3, good.length - 40, dataEnd + 5, good.length - 60]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x10;
      fs.writeFileSync(file, bad);
      expect(() => RunReader.open(dir, name, 0)).toThrow(CorruptionError);
      try { RunReader.open(dir, name, 0); } catch (e) { expect((e as Error).message).toContain(name); }
    }
    fs.writeFileSync(file, good.subarray(0, good.length - 1));
    expect(() => RunReader.open(dir, name, 0)).toThrow(/footer/);
    // Flip a byte inside record 55: gets in its block throw, gets elsewhere still answer.
    const bad = Buffer.from(good);
    let off55 = -1;
    scanRecords(file, (_buf, off) => { if (rec.keyLen && off55 < 0 && _buf.toString('latin1', rec.keyStart, rec.keyStart + rec.keyLen) === 'k055') off55 = off; }, { end: dataEnd });
    bad[off55 + 6]! ^= 0x01;
    fs.writeFileSync(file, bad);
    const r2 = RunReader.open(dir, name, 0);
    const c = counters();
    expect(() => r2.get(b('k055'), bloomHash(b('k055')), c)).toThrow(CorruptionError);
    // A later key of the same block skims past the damaged value and is itself verified.
    expect(hex(r2.get(b('k057'), bloomHash(b('k057')), c)!)).toBe(hex(pattern(20, 58)));
    expect(hex(r2.get(b('k012'), bloomHash(b('k012')), c)!)).toBe(hex(pattern(20, 13)));
    r2.close();
    // Damage k055's value length instead: the skim of its block goes out of step, so a later key
    // of the block cannot be found — and "absent" is only answered after verifying, so it throws.
    const bad2 = Buffer.from(good);
    bad2[off55 + 5]! ^= 0x03;
    fs.writeFileSync(file, bad2);
    const r3 = RunReader.open(dir, name, 0);
    for (const k of ['k055', 'k056', 'k057', 'k059']) expect(() => r3.get(b(k), bloomHash(b(k)), c), k).toThrow(CorruptionError);
    expect(hex(r3.get(b('k012'), bloomHash(b('k012')), c)!)).toBe(hex(pattern(20, 13)));
    r3.close();
  });
});

describe('merges', () => {
  it('k-way merge: newest wins, deletions kept above the last level and dropped at it', () => {
    const dir = tmpDir('lsm-merge');
    const oldest = writeRun(dir, 'L0.g000000000001.run', [[b('a'), b('a1')], [b('b'), b('b1')], [b('c'), b('c1')], [b('d'), b('d1')]]);
    const middle = writeRun(dir, 'L0.g000000000002.run', [[b('b'), b('b2')], [b('c'), new Uint8Array(0)], [b('e'), b('e2')]]);
    const newest = writeRun(dir, 'L0.g000000000003.run', [[b('a'), b('a3')], [b('c'), b('c3')], [b('e'), new Uint8Array(0)], [b('f'), b('f3')]]);
    const opts = { dir, densityFactor: 2, falsePositiveRate: 0.01, maxLen: 1 << 20 };
    const keep = mergeRuns([newest, middle, oldest], { ...opts, outName: 'L1.g000000000004.run', dropTombstones: false })!;
    const kept = RunReader.open(dir, keep.name, 1);
    const m = runContents(kept);
    const h = (s: string) => Buffer.from(s).toString('hex');
    expect([...m.entries()]).toEqual([[h('a'), h('a3')], [h('b'), h('b2')], [h('c'), h('c3')], [h('d'), h('d1')], [h('e'), ''], [h('f'), h('f3')]]);
    const drop = mergeRuns([newest, middle, oldest], { ...opts, outName: 'L1.g000000000005.run', dropTombstones: true })!;
    const dropped = runContents(RunReader.open(dir, drop.name, 1));
    expect(dropped.has(h('e'))).toBe(false);
    expect(dropped.size).toBe(5);
    // Only deletions in, nothing out: no empty run is written.
    const dels = writeRun(dir, 'L0.g000000000006.run', [[b('x'), new Uint8Array(0)], [b('y'), new Uint8Array(0)]]);
    expect(mergeRuns([dels], { ...opts, outName: 'L1.g000000000007.run', dropTombstones: true })).toBeNull();
    expect(fs.existsSync(path.join(dir, 'L1.g000000000007.run'))).toBe(false);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('cascading tiered merges keep every key readable and deletions vanish at the last level', async () => {
    const dir = tmpDir('lsm-cascade');
    // Foreground: the set that fills a level merges it at once (background: lsm-background.test.ts).
    const s = await openLsm(dir, { memtableBytesLimit: 512, maxRunsPerLevel: 2, densityFactor: 3, merges: 'foreground' });
    const model = new Map<string, Uint8Array>();
    for (let i = 0; i < 3000; i++) {
      const k = b(`k${(i * 7919) % 700}`);
      if (i % 5 === 0) {
        s.delete(k);
        model.delete(hex(k));
      } else {
        const v = pattern(1 + (i % 30), i + 1);
        s.set(k, v);
        model.set(hex(k), v);
      }
    }
    const st = s.stats().engineStats;
    const levels = st.runsPerLevel as number[];
    expect(levels.length).toBeGreaterThanOrEqual(4); // cascaded at least three times
    for (const n of levels) expect(n).toBeLessThan(2);
    expect(st.merges as number).toBeGreaterThan(10);
    expect(st.mergeFailures).toBe(0);
    for (let i = 0; i < 700; i++) {
      const k = b(`k${i}`);
      const want = model.get(hex(k));
      const got = s.get(k);
      expect(got === undefined ? undefined : hex(got), `k${i}`).toBe(want === undefined ? undefined : hex(want));
    }
    // Delete everything, snapshot: the deepest run's merges drop the deletions.
    await s.snapshot(1);
    for (let i = 0; i < 700; i++) s.delete(b(`k${i}`));
    for (let i = 0; i < 4000; i++) s.set(b(`z${i % 50}`), pattern(8, i)); // force flushes and merges
    await s.snapshot(2);
    for (let i = 0; i < 700; i++) expect(s.get(b(`k${i}`))).toBeUndefined();
    const current = JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8').split('\n#')[0]!) as { meta: { runs: Array<{ name: string; level: number }> } };
    const runs = current.meta.runs;
    const deepest = Math.max(...runs.map((r) => r.level));
    for (const r of runs.filter((x) => x.level === deepest)) {
      const rr = RunReader.open(dir, r.name, r.level);
      for (const [, v] of runContents(rr)) expect(v).not.toBe('');
      rr.close();
    }
  });
});

describe('reopen', () => {
  it('reads footers, fences and filters only — not the records', async () => {
    const dir = tmpDir('lsm-reopen');
    let s = await openLsm(dir, { memtableBytesLimit: 64 * 1024 });
    for (let i = 0; i < 20_000; i++) s.set(b(`key-${i}`), pattern(32, i + 1));
    await s.snapshot(1);
    const disk = s.stats().diskBytes;
    await s.close();
    stores.pop();
    const spy = vi.spyOn(fs, 'readSync');
    s = await openLsm(dir, { memtableBytesLimit: 64 * 1024 });
    let bytes = 0;
    for (const call of spy.mock.calls) bytes += Number((call as unknown[])[3] ?? 0);
    // Index blocks are ~4 bytes per key (fences every 10 records + 1% filter); records ~46.
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(disk / 5);
    spy.mockRestore();
    for (let i = 0; i < 20_000; i += 97) expect(hex(s.get(b(`key-${i}`))!)).toBe(hex(pattern(32, i + 1)));
    expect(s.get(b('key-20000'))).toBeUndefined();
  });

  it('without the WAL, a reopen returns exactly the last snapshot, even after flushes and merges', async () => {
    const dir = tmpDir('lsm-nowal');
    let s = await openLsm(dir, { memtableBytesLimit: 300, maxRunsPerLevel: 2 });
    for (let i = 0; i < 100; i++) s.set(b(`k${i}`), pattern(10, i + 1));
    await s.snapshot(1);
    for (let i = 0; i < 100; i++) s.set(b(`k${i}`), pattern(10, i + 1000)); // many flushes + merges
    for (let i = 0; i < 50; i++) s.delete(b(`k${i}`));
    expect((s.stats().engineStats.flushes as number)).toBeGreaterThan(3);
    await s.close();
    stores.pop();
    s = await openLsm(dir, { memtableBytesLimit: 300, maxRunsPerLevel: 2 });
    for (let i = 0; i < 100; i++) expect(hex(s.get(b(`k${i}`))!)).toBe(hex(pattern(10, i + 1)));
    // Files of the abandoned state are swept by the commit made at open.
    const current = fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8');
    for (const n of fs.readdirSync(dir).filter((x) => x.endsWith('.run'))) expect(current).toContain(n);
  });
});

describe('write-ahead log', () => {
  const walFile = (dir: string): string => {
    const w = fs.readdirSync(dir).filter((n) => n.endsWith('.log'));
    expect(w).toHaveLength(1);
    return path.join(dir, w[0]!);
  };

  it('replays acknowledged sets and deletes after close, and tolerates a torn tail', async () => {
    const dir = tmpDir('lsm-wal');
    let s = await openLsm(dir, { wal: true, memtableBytesLimit: 1 << 20 });
    for (let i = 0; i < 300; i++) s.set(b(`k${i}`), pattern(1 + (i % 50), i + 1));
    for (let i = 0; i < 300; i += 3) s.delete(b(`k${i}`));
    expect(s.stats().engineStats.flushes).toBe(0);
    await s.close();
    stores.pop();
    // A crash in the middle of an append leaves part of a record at the end.
    const wal = walFile(dir);
    const walBefore = fs.readFileSync(wal);
    fs.appendFileSync(wal, walBefore.subarray(0, 7)); // the first record is 9 bytes
    s = await openLsm(dir, { wal: true, memtableBytesLimit: 1 << 20 });
    expect(s.stats().engineStats.walRecordsReplayed).toBe(400);
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) expect(s.get(b(`k${i}`))).toBeUndefined();
      else expect(hex(s.get(b(`k${i}`))!)).toBe(hex(pattern(1 + (i % 50), i + 1)));
    }
    // The replayed log became a run; a new, empty log was started.
    expect(fs.statSync(walFile(dir)).size).toBe(0);
    s.set(b('after'), b('x'));
    await s.close();
    stores.pop();
    s = await openLsm(dir, { wal: true });
    expect(s.get(b('after'))).toEqual(b('x'));
    expect(hex(s.get(b('k1'))!)).toBe(hex(pattern(2, 2)));
  });

  it('a flipped bit inside the log is a CorruptionError naming it, never wrong data', async () => {
    const dir = tmpDir('lsm-wal-bad');
    let s = await openLsm(dir, { wal: true });
    for (let i = 0; i < 50; i++) s.set(b(`k${i}`), pattern(20, i + 1));
    await s.close();
    stores.pop();
    const wal = walFile(dir);
    const buf = fs.readFileSync(wal);
    buf[Math.floor(buf.length / 2)]! ^= 0x04;
    fs.writeFileSync(wal, buf);
    const err = await open({ engine: 'lsm', dir, wal: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as Error).message).toContain(path.basename(wal));
  });

  it('a store opened without the WAL after one with it keeps the logged sets', async () => {
    const dir = tmpDir('lsm-wal-off');
    let s = await openLsm(dir, { wal: true });
    s.set(b('a'), b('1'));
    await s.close();
    stores.pop();
    s = await openLsm(dir);
    expect(s.get(b('a'))).toEqual(b('1'));
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.log'))).toEqual([]);
  });
});

describe('stats', () => {
  it('reports memtable, fences, filters, runs per level, disk and Bloom outcomes', async () => {
    const dir = tmpDir('lsm-stats');
    const s = await openLsm(dir, { memtableBytesLimit: 4096, maxRunsPerLevel: 4, merges: 'foreground' });
    for (let i = 0; i < 1000; i++) s.set(b(`k${i}`), pattern(16, i + 1));
    await s.snapshot(1);
    s.set(b('mem'), b('x'));
    for (let i = 0; i < 1000; i++) s.get(b(`absent-${i}`));
    const e = s.stats().engineStats;
    expect(e.memtableBytes).toBeGreaterThan(0);
    expect(e.fenceBytes as number).toBeGreaterThan(0);
    expect(e.filterBytes as number).toBeGreaterThan(0);
    expect((e.runsPerLevel as number[]).reduce((x, y) => x + y, 0)).toBeGreaterThan(1);
    expect(e.diskBytes as number).toBeGreaterThan(1000 * 16);
    const runs = (e.runsPerLevel as number[]).reduce((x, y) => x + y, 0);
    expect((e.bloomNegatives as number) + (e.bloomFalsePositives as number)).toBe(1000 * runs);
    expect(e.bloomFalsePositives as number).toBeLessThan(1000 * runs * 0.05);
    expect(s.stats().memoryBytes).toBeGreaterThan((e.fenceBytes as number) + (e.filterBytes as number));
  });
});
