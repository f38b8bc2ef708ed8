// Why: one behaviour suite that every registered engine must pass unchanged (the abstract-level
// idea): a new engine joins by adding its configurations to engine-configs.ts.

import { describe, expect, it } from 'vitest';
import {
  BusyError,
  DirReplica,
  InvalidArgumentError,
  StoreClosedError,
  UnknownVersionError,
  engineNames,
  open,
  type OpenOptions,
  type SnapStore,
} from '../src/index.js';
import { ENGINE_CONFIGS, type EngineConfig } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

function opener(cfg: EngineConfig) {
  const root = tmpDir(cfg.label);
  const replica = new DirReplica(`${root}/replica`);
  let n = 0;
  return {
    replica,
    root,
    open(extra: Record<string, unknown> = {}, dir = `${root}/data`): Promise<SnapStore> {
      return open({ ...cfg.options, dir, replica, ...extra } as OpenOptions);
    },
    freshDir(): string {
      return `${root}/other-${n++}`;
    },
  };
}

/** Reads back every key of `expected` and checks absent keys stay absent. */
function expectState(s: SnapStore, expected: Map<string, Uint8Array>, absent: Iterable<Uint8Array> = []): void {
  for (const [k, v] of expected) expect(hex(s.get(Buffer.from(k, 'hex')) ?? new Uint8Array())).toBe(hex(v));
  for (const k of absent) if (!expected.has(hex(k))) expect(s.get(k)).toBeUndefined();
}

it('every registered engine has a conformance configuration', () => {
  const covered = new Set(ENGINE_CONFIGS.map((c) => c.options.engine));
  for (const name of engineNames()) expect(covered.has(name), `engine ${name} missing from engine-configs.ts`).toBe(true);
});

describe.each(ENGINE_CONFIGS)('conformance: $label', (cfg) => {
  it('set, get, overwrite, delete, and empty value deletes', async () => {
    const o = opener(cfg);
    const s = await o.open();
    expect(s.get(b('a'))).toBeUndefined();
    s.set(b('a'), b('1'));
    s.set(b('b'), b('2'));
    expect(s.get(b('a'))).toEqual(b('1'));
    s.set(b('a'), b('one'));
    expect(s.get(b('a'))).toEqual(b('one'));
    s.set(b('a'), b('x')); // shorter than before
    expect(s.get(b('a'))).toEqual(b('x'));
    s.delete(b('a'));
    expect(s.get(b('a'))).toBeUndefined();
    s.set(b('b'), new Uint8Array(0));
    expect(s.get(b('b'))).toBeUndefined();
    s.delete(b('never-set'));
    expect(s.get(b('never-set'))).toBeUndefined();
    s.set(b('a'), b('back'));
    expect(s.get(b('a'))).toEqual(b('back'));
    await s.close();
  });

  it('stores a copy: mutating the caller buffer after set changes nothing', async () => {
    const o = opener(cfg);
    const s = await o.open();
    const k = b('key');
    const v = b('value');
    s.set(k, v);
    k[0] = 0;
    v[0] = 0;
    expect(s.get(b('key'))).toEqual(b('value'));
    await s.close();
  });

  it('returns a copy: a value read earlier does not change when the key, or others, are set again', async () => {
    const o = opener(cfg);
    const s = await o.open();
    const firsts: Array<[number, Uint8Array]> = [];
    for (let i = 0; i < 40; i++) {
      s.set(b(`k${i}`), pattern(16, i));
      firsts.push([i, s.get(b(`k${i}`))!]);
    }
    // Same-length values (the in-place update path of engines that have one), then many more
    // writes, so buffers an engine might reuse for reads are overwritten.
    for (let round = 0; round < 5; round++) for (let i = 0; i < 40; i++) s.set(b(`k${i}`), pattern(16, 1000 * (round + 1) + i));
    for (const [i, v] of firsts) expect(hex(v), `k${i}`).toBe(hex(pattern(16, i)));
    await s.close();
  });

  it('binary keys with every byte value, and keys that share prefixes', async () => {
    const o = opener(cfg);
    const s = await o.open();
    const expected = new Map<string, Uint8Array>();
    for (let i = 0; i < 256; i++) {
      const k1 = Uint8Array.of(i);
      const k2 = Uint8Array.of(i, 0, 255 - i);
      expected.set(hex(k1), pattern(1 + (i % 7), i + 1));
      expected.set(hex(k2), pattern(3, i + 1000));
    }
    const all = new Uint8Array(256).map((_, i) => i);
    expected.set(hex(all), b('all bytes'));
    expected.set(hex(all.subarray(0, 255)), b('prefix'));
    for (const [k, v] of expected) s.set(Buffer.from(k, 'hex'), v);
    expectState(s, expected);
    await s.snapshot(1);
    await s.close();
    const t = await o.open({}, o.freshDir());
    expectState(t, expected);
    await t.close();
  });

  it('large values, the maximum key length, and maxValueBytes', async () => {
    const o = opener(cfg);
    const s = await o.open({ maxValueBytes: 2 * 1024 * 1024 });
    const big = pattern(2 * 1024 * 1024, 9);
    const longKey = pattern(65_535, 3);
    longKey[0] = 1;
    s.set(b('big'), big);
    s.set(longKey, b('long key'));
    s.set(b('small'), b('s'));
    expect(hex(s.get(b('big'))!)).toBe(hex(big));
    expect(s.get(longKey)).toEqual(b('long key'));
    expect(() => s.set(b('too-big'), new Uint8Array(2 * 1024 * 1024 + 1))).toThrow(InvalidArgumentError);
    await s.snapshot(1);
    await s.close();
    const t = await o.open({ maxValueBytes: 2 * 1024 * 1024 }, o.freshDir());
    expect(hex(t.get(b('big'))!)).toBe(hex(big));
    expect(t.get(longKey)).toEqual(b('long key'));
    expect(t.get(b('too-big'))).toBeUndefined();
    await t.close();
  });

  it('many keys across seals, flushes and merges stay readable', async () => {
    const o = opener(cfg);
    const s = await o.open();
    const expected = new Map<string, Uint8Array>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1500; i++) {
        const k = b(`key-${(i * 7919) % 1000}`);
        if ((i + round) % 11 === 0) {
          s.delete(k);
          expected.delete(hex(k));
        } else {
          const v = pattern(1 + ((i * 13 + round) % 60), i + round * 10_000);
          s.set(k, v);
          expected.set(hex(k), v);
        }
      }
      await s.snapshot(round + 1);
    }
    const absent = Array.from({ length: 1000 }, (_, i) => b(`key-${i}`));
    expectState(s, expected, absent);
    await s.close();
    const t = await o.open({}, o.freshDir());
    expectState(t, expected, absent);
    await t.close();
  });

  it('snapshot then restore latest, then roll back to an older version and branch', async () => {
    const o = opener(cfg);
    const s = await o.open();
    s.set(b('k'), b('v1'));
    s.set(b('gone-later'), b('x'));
    const i1 = await s.snapshot(10);
    expect(i1.id).toBe(10);
    expect(i1.parent).toBeNull();
    s.set(b('k'), b('v2'));
    s.delete(b('gone-later'));
    s.set(b('new'), b('n'));
    const i2 = await s.snapshot(20);
    expect(i2.parent).toBe(10);
    s.set(b('k'), b('dirty'));
    await s.restore();
    expect(s.get(b('k'))).toEqual(b('v2'));
    expect(s.get(b('gone-later'))).toBeUndefined();
    await s.restore(10);
    expect(s.get(b('k'))).toEqual(b('v1'));
    expect(s.get(b('gone-later'))).toEqual(b('x'));
    expect(s.get(b('new'))).toBeUndefined();
    // After restore(10) the next id must exceed 10; 15 is on a new branch.
    await expect(s.snapshot(10)).rejects.toThrow(InvalidArgumentError);
    s.set(b('branch'), b('b'));
    const i3 = await s.snapshot(15);
    expect(i3.parent).toBe(10);
    // Reusing id 20 replaces the abandoned manifest.
    s.set(b('k'), b('v3'));
    await s.snapshot(20);
    expect(await s.versions()).toEqual([10, 15, 20]);
    await s.restore(20);
    expect(s.get(b('k'))).toEqual(b('v3'));
    expect(s.get(b('branch'))).toEqual(b('b'));
    expect(s.get(b('new'))).toBeUndefined();
    await s.restore(15);
    expect(s.get(b('k'))).toEqual(b('v1'));
    await s.close();
  });

  it('reopen from local files without a replica', async () => {
    const o = opener(cfg);
    const dir = o.freshDir();
    const s = await open({ ...cfg.options, dir } as OpenOptions);
    s.set(b('a'), b('1'));
    s.set(b('b'), b('2'));
    await s.snapshot(1);
    s.delete(b('b'));
    s.set(b('c'), b('3'));
    await s.close();
    const t = await open({ ...cfg.options, dir } as OpenOptions);
    expect(t.get(b('a'))).toEqual(b('1'));
    if (cfg.keepsUnsnapshottedOnClose) {
      expect(t.get(b('b'))).toBeUndefined();
      expect(t.get(b('c'))).toEqual(b('3'));
    } else {
      expect(t.get(b('b'))).toEqual(b('2'));
      expect(t.get(b('c'))).toBeUndefined();
    }
    // Snapshot ids stay ascending across reopen.
    await expect(t.snapshot(1)).rejects.toThrow(InvalidArgumentError);
    await t.snapshot(2);
    await t.close();
  });

  it('opening with a replica restores its latest version into an empty directory', async () => {
    const o = opener(cfg);
    const s = await o.open();
    for (let i = 0; i < 300; i++) s.set(b(`k${i}`), pattern(20, i));
    await s.snapshot(1);
    for (let i = 0; i < 300; i += 2) s.delete(b(`k${i}`));
    await s.snapshot(2);
    s.set(b('after'), b('not snapshotted'));
    await s.close();
    const t = await o.open({}, o.freshDir());
    for (let i = 0; i < 300; i++) {
      if (i % 2 === 0) expect(t.get(b(`k${i}`))).toBeUndefined();
      else expect(t.get(b(`k${i}`))).toEqual(pattern(20, i));
    }
    expect(t.get(b('after'))).toBeUndefined();
    expect(t.stats().lastSnapshotId).toBe(2);
    await t.close();
  });

  it('a second snapshot pushes only what the replica lacks', async () => {
    const o = opener(cfg);
    const s = await o.open();
    for (let i = 0; i < 500; i++) s.set(b(`k${i}`), pattern(40, i));
    const first = await s.snapshot(1);
    expect(first.bytesPushed).toBeGreaterThan(0);
    const again = await s.snapshot(2);
    expect(again.bytesPushed).toBe(0);
    await s.close();
  });

  it('rejects bad input with typed errors and changes nothing', async () => {
    const o = opener(cfg);
    const s = await o.open({ maxValueBytes: 1024 });
    s.set(b('k'), b('v'));
    await s.snapshot(5);
    const bad: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
      ['string key', () => s.set('k' as unknown as Uint8Array, b('x')), InvalidArgumentError],
      ['number key', () => s.set(5 as unknown as Uint8Array, b('x')), InvalidArgumentError],
      ['null key', () => s.get(null as unknown as Uint8Array), InvalidArgumentError],
      ['array key', () => s.delete([1, 2] as unknown as Uint8Array), InvalidArgumentError],
      ['empty key', () => s.set(new Uint8Array(0), b('x')), InvalidArgumentError],
      ['oversized key', () => s.set(new Uint8Array(65_536), b('x')), InvalidArgumentError],
      ['string value', () => s.set(b('k'), 'x' as unknown as Uint8Array), InvalidArgumentError],
      ['undefined value', () => s.set(b('k'), undefined as unknown as Uint8Array), InvalidArgumentError],
      ['oversized value', () => s.set(b('k'), new Uint8Array(1025)), InvalidArgumentError],
    ];
    for (const [label, call, type] of bad) {
      expect(call, label).toThrow(type);
      expect(s.get(b('k')), label).toEqual(b('v'));
    }
    const badIds: unknown[] = [5, 4, -1, 1.5, Number.NaN, Infinity, '6', null, undefined, 2 ** 60];
    for (const id of badIds) {
      await expect(s.snapshot(id as number), String(id)).rejects.toThrow(InvalidArgumentError);
    }
    await expect(s.restore(99)).rejects.toThrow(UnknownVersionError);
    await expect(s.restore(-3)).rejects.toThrow(InvalidArgumentError);
    await expect(s.restore('5' as unknown as number)).rejects.toThrow(InvalidArgumentError);
    expect(s.get(b('k'))).toEqual(b('v'));
    s.set(b('k'), b('v2'));
    expect((await s.snapshot(6)).id).toBe(6);
    await s.close();
    await expect(open({ ...cfg.options, dir: o.freshDir(), noSuchOption: 1 } as unknown as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    await expect(open({ ...cfg.options, dir: '' } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    await expect(open({ ...cfg.options, dir: o.freshDir(), maxValueBytes: -1 } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
  });

  it('a concurrent snapshot is refused with BusyError; the first completes', async () => {
    const o = opener(cfg);
    const s = await o.open();
    s.set(b('k'), b('v'));
    const first = s.snapshot(1);
    await expect(s.snapshot(2)).rejects.toThrow(BusyError);
    await expect(s.restore(1)).rejects.toThrow(BusyError);
    expect((await first).id).toBe(1);
    expect((await s.snapshot(2)).id).toBe(2);
    await s.close();
  });

  it('use after close throws StoreClosedError', async () => {
    const o = opener(cfg);
    const s = await o.open();
    s.set(b('k'), b('v'));
    await s.close();
    await s.close(); // idempotent
    expect(() => s.get(b('k'))).toThrow(StoreClosedError);
    expect(() => s.set(b('k'), b('v'))).toThrow(StoreClosedError);
    expect(() => s.delete(b('k'))).toThrow(StoreClosedError);
    expect(() => s.stats()).toThrow(StoreClosedError);
    await expect(s.snapshot(1)).rejects.toThrow(StoreClosedError);
    await expect(s.restore()).rejects.toThrow(StoreClosedError);
  });

  it('stats report keys, memory, disk and counters', async () => {
    const o = opener(cfg);
    const s = await o.open();
    for (let i = 0; i < 100; i++) s.set(b(`k${i}`), pattern(32, i));
    s.get(b('k1'));
    await s.snapshot(1);
    const st = s.stats();
    expect(st.engine).toBe(cfg.options.engine);
    expect(st.sets).toBe(100);
    expect(st.gets).toBe(1);
    expect(st.snapshots).toBe(1);
    expect(st.lastSnapshotId).toBe(1);
    expect(st.keys === 100 || st.keys === -1).toBe(true);
    expect(st.diskBytes).toBeGreaterThan(100 * 32);
    expect(st.bytesPushed).toBeGreaterThan(0);
    await s.close();
  });

  it('the typed layer stores operator state with string and number keys', async () => {
    const o = opener(cfg);
    const s = await o.open();
    const counts = s.typed<string, { n: number; tags: string[] }>('utf8');
    counts.set('sensor-1', { n: 1, tags: ['a'] });
    counts.update('sensor-1', (old) => ({ n: (old?.n ?? 0) + 1, tags: [...(old?.tags ?? []), 'b'] }));
    expect(counts.get('sensor-1')).toEqual({ n: 2, tags: ['a', 'b'] });
    const byNum = s.typed<number, number>('number');
    byNum.set(-1.5, 7);
    byNum.set(0, 8);
    expect(byNum.get(-1.5)).toBe(7);
    expect(byNum.get(-0)).toBe(8);
    byNum.delete(0);
    expect(byNum.get(0)).toBeUndefined();
    expect(() => counts.set(3 as unknown as string, { n: 0, tags: [] })).toThrow(InvalidArgumentError);
    expect(() => byNum.set(Number.NaN, 1)).toThrow(InvalidArgumentError);
    await s.snapshot(1);
    await s.close();
    const t = await o.open({}, o.freshDir());
    expect(t.typed<string, { n: number }>().get('sensor-1')).toEqual({ n: 2, tags: ['a', 'b'] });
    await t.close();
  });
});

describe.each(ENGINE_CONFIGS)('lifecycle: $label', (cfg) => {
  it('close() during a snapshot waits for it; the snapshot completes and is restorable', async () => {
    const o = opener(cfg);
    const s = await o.open();
    for (let i = 0; i < 200; i++) s.set(b(`k${i}`), pattern(30, i));
    const snap = s.snapshot(1);
    const closing = s.close();
    expect((await snap).id).toBe(1);
    await closing;
    expect(() => s.get(b('k1'))).toThrow(StoreClosedError);
    const t = await o.open({}, o.freshDir());
    expect(t.get(b('k199'))).toEqual(pattern(30, 199));
    await t.close();
  });
});
