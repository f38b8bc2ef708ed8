// Why: background merges change when a merge's output appears, so what matters is what happens
// while one is in flight: gets and sets see one consistent state, a snapshot lists the inputs or
// the output (never a mix), a restore or a close never lets a stale output in or a temp file
// behind, back-pressure bounds the runs per level, and a merge that fails leaves the inputs
// serving; the same for memtable flushes, which run in a worker too when there is no WAL. A worker
// is held (holdMergeWorker) where a test needs a merge or a flush to stay in flight.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirReplica, open, type OpenOptions, type SnapStore } from '../src/index.js';
import { holdMergeWorker } from '../src/worker-pool.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

const stores: SnapStore[] = [];
const releases: Array<() => void> = [];
afterEach(async () => {
  for (const r of releases.splice(0)) r();
  for (const s of stores.splice(0)) await s.close();
});

async function openBg(dir: string, extra: Record<string, unknown> = {}): Promise<SnapStore> {
  const s = await open({ engine: 'lsm', dir, memtableBytesLimit: 512, maxRunsPerLevel: 2, densityFactor: 3, ...extra } as OpenOptions);
  stores.push(s);
  return s;
}

function hold(kind: 'merge' | 'flush' = 'merge'): () => void {
  const r = holdMergeWorker(kind);
  releases.push(r);
  return r;
}

const eng = (s: SnapStore): Record<string, unknown> => s.stats().engineStats as Record<string, unknown>;
const tmpFiles = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

/** Sets `n` keys k0..k(n-1) to values derived from `seed`, mirroring them into `model`. */
function fill(s: SnapStore, model: Map<string, string>, n: number, seed: number): void {
  for (let i = 0; i < n; i++) {
    const v = pattern(10 + (i % 40), seed * 7919 + i);
    s.set(b(`k${i}`), v);
    model.set(`k${i}`, hex(v));
  }
}

function expectState(s: SnapStore, model: Map<string, string>, n: number): void {
  for (let i = 0; i < n; i++) {
    const got = s.get(b(`k${i}`));
    expect(got === undefined ? undefined : hex(got), `k${i}`).toBe(model.get(`k${i}`));
  }
}

/** Waits (letting the workers run) until no merge or flush is in flight, nudging installs. */
async function settle(s: SnapStore): Promise<void> {
  const busy = (): boolean => eng(s).mergeInFlight !== -1 || eng(s).frozenMemtableBytes !== 0;
  for (let i = 0; i < 2000 && busy(); i++) {
    await new Promise((r) => setTimeout(r, 2));
    s.set(b('nudge'), b('x')); // a set installs a finished merge or flush
  }
  expect(busy()).toBe(false);
}

describe('background merges', () => {
  it('gets alone install a finished merge (a read phase after a burst of writes probes fewer runs)', async () => {
    const dir = tmpDir();
    const s = await openBg(dir, { maxRunsBeforeStall: 1000 });
    const model = new Map<string, string>();
    const release = hold();
    fill(s, model, 120, 1); // several flushes: a level-0 merge is due and waits on the held worker
    expect(eng(s).mergeInFlight).toBe(0);
    const before = eng(s).merges as number;
    release();
    for (let i = 0; i < 2000 && eng(s).merges === before; i++) {
      await new Promise((r) => setTimeout(r, 2));
      expectState(s, model, 5); // gets only
    }
    expect(eng(s).merges).toBeGreaterThan(before);
    expectState(s, model, 120);
  });

  it('sets and gets go on against the inputs while a merge is held, and the output installs later', async () => {
    const dir = tmpDir('bg-overlap');
    const s = await openBg(dir, { maxRunsBeforeStall: 50 });
    const release = hold();
    const model = new Map<string, string>();
    fill(s, model, 200, 1);
    // The worker is held: merges are due but none finished, so levels grew past maxRunsPerLevel.
    let st = eng(s);
    expect(st.mergeInFlight).toBe(0);
    expect(st.merges).toBe(0);
    expect((st.runsPerLevel as number[])[0]).toBeGreaterThan(2);
    expectState(s, model, 200);
    fill(s, model, 200, 2); // overwrites, still served from memtable + inputs
    expectState(s, model, 200);
    release();
    await settle(s);
    st = eng(s);
    expect(st.merges as number).toBeGreaterThan(0);
    expect(st.mergeFailures).toBe(0);
    expect(st.mergeStalls).toBe(0);
    expectState(s, model, 200);
    // Installed merges keep every level under the stall limit, and the data intact after reopen.
    await s.snapshot(1);
    await s.close();
    expect(tmpFiles(dir)).toEqual([]);
    const t = await openBg(dir);
    expectState(t, model, 200);
  });

  it('back-pressure: at maxRunsBeforeStall a set waits for merges, counted in stats', async () => {
    const dir = tmpDir('bg-stall');
    const s = await openBg(dir, { maxRunsBeforeStall: 3 });
    const model = new Map<string, string>();
    // A tight loop of sets flushes every few sets, faster than the worker merges: sets must stall.
    for (let round = 0; round < 8; round++) {
      fill(s, model, 150, round);
      for (const n of eng(s).runsPerLevel as number[]) expect(n).toBeLessThan(3);
    }
    const st = eng(s);
    expect(st.mergeStalls as number).toBeGreaterThan(0);
    expect(st.mergeStallMs as number).toBeGreaterThan(0);
    expect(st.mergeStallMsMax as number).toBeLessThanOrEqual(st.mergeStallMs as number);
    expect(st.mergeFailures).toBe(0);
    expectState(s, model, 150);
  });

  it('a snapshot during a merge lists the inputs; it restores exactly, before and after the install', async () => {
    const root = tmpDir('bg-snap');
    const replica = new DirReplica(`${root}/replica`);
    const s = await openBg(`${root}/a`, { replica, maxRunsBeforeStall: 50 });
    const release = hold();
    const model = new Map<string, string>();
    fill(s, model, 150, 3);
    expect(eng(s).mergeInFlight).toBe(0);
    await s.snapshot(1);
    const atSnap = new Map(model);
    release();
    await settle(s);
    fill(s, model, 150, 4);
    await s.snapshot(2);
    // The snapshot taken mid-merge, restored in a fresh directory and in place.
    const t = await openBg(`${root}/b`, { replica });
    await t.restore(1);
    expectState(t, atSnap, 150);
    await s.restore(1);
    expectState(s, atSnap, 150);
    await s.restore(2);
    expectState(s, model, 150);
  });

  it('a snapshot with no sets since the last one pushes nothing, even if a merge finished meanwhile', async () => {
    const root = tmpDir('bg-snap-same');
    const replica = new DirReplica(`${root}/replica`);
    const s = await openBg(`${root}/a`, { replica, maxRunsBeforeStall: 50 });
    const release = hold();
    const model = new Map<string, string>();
    fill(s, model, 150, 9);
    expect(eng(s).mergeInFlight).toBe(0);
    expect((await s.snapshot(1)).bytesPushed).toBeGreaterThan(0);
    release();
    await new Promise((r) => setTimeout(r, 300)); // the worker finishes; no set installs it
    expect((await s.snapshot(2)).bytesPushed).toBe(0);
    await settle(s); // the next sets install it
    expect(eng(s).merges as number).toBeGreaterThan(0);
    expectState(s, model, 150);
  });

  it('a restore during a merge never installs the stale output', async () => {
    const root = tmpDir('bg-restore');
    const replica = new DirReplica(`${root}/replica`);
    const dir = `${root}/a`;
    const s = await openBg(dir, { replica, maxRunsBeforeStall: 50 });
    const model = new Map<string, string>();
    fill(s, model, 100, 5);
    await s.snapshot(1);
    const atSnap = new Map(model);
    const release = hold();
    fill(s, model, 150, 6); // merges due over the newer data, held in the worker
    expect(eng(s).mergeInFlight).not.toBe(-1);
    const restoring = s.restore(1);
    setTimeout(release, 20); // the worker finishes (or is stopped) while the restore runs
    await restoring;
    expectState(s, atSnap, 100);
    for (let i = 100; i < 150; i++) expect(s.get(b(`k${i}`))).toBeUndefined();
    // Later merges work on the restored state only.
    const restored = new Map(atSnap);
    fill(s, restored, 60, 7);
    await settle(s);
    expectState(s, restored, 100);
    for (let i = 100; i < 150; i++) expect(s.get(b(`k${i}`))).toBeUndefined();
    expect(eng(s).mergeFailures).toBe(0);
    await s.close();
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('close() during a merge cancels it cleanly: no temp file, the next open works', async () => {
    const dir = tmpDir('bg-close');
    // Big runs, so the merge is still running when close() asks it to stop.
    const s = await openBg(dir, { memtableBytesLimit: 1 << 20, maxRunsPerLevel: 2, maxRunsBeforeStall: 50 });
    const model = new Map<string, string>();
    for (let i = 0; i < 60_000; i++) {
      const v = pattern(40, i);
      s.set(b(`key-${i}`), v);
      model.set(`key-${i}`, hex(v));
    }
    await s.snapshot(1);
    expect(eng(s).mergeInFlight).not.toBe(-1);
    await s.close();
    expect(tmpFiles(dir)).toEqual([]);
    const t = await openBg(dir, { memtableBytesLimit: 1 << 20 });
    for (let i = 0; i < 60_000; i += 97) expect(hex(t.get(b(`key-${i}`))!)).toBe(model.get(`key-${i}`));
  });

  it('a merge that hits a damaged input fails quietly: counted, reported, inputs keep serving', async () => {
    const dir = tmpDir('bg-corrupt');
    const reported: string[] = [];
    const s = await openBg(dir, { maxRunsPerLevel: 3, maxRunsBeforeStall: 50 });
    const release = hold();
    const model = new Map<string, string>();
    fill(s, model, 100, 8); // several level-0 runs; their merge is held
    // Damage the first record of the oldest level-0 run (the merge reads every record).
    const cur = JSON.parse(fs.readFileSync(path.join(dir, 'CURRENT'), 'utf8').split('\n#')[0]!) as { meta: { runs: Array<{ name: string; level: number }> } };
    const victim = cur.meta.runs.filter((r) => r.level === 0).at(-1)!.name;
    const file = path.join(dir, victim);
    const buf = fs.readFileSync(file);
    buf[2] ^= 0xff; // a key byte: the record's checksum no longer matches
    fs.writeFileSync(file, buf);
    // The engine reports background corruption through its context (the shell leaves it unset).
    const ctx = (s as unknown as { ctx: { onCorruption?: (e: Error) => void } }).ctx;
    ctx.onCorruption = (e) => reported.push(e.message);
    release();
    await settle(s);
    expect(eng(s).mergeFailures as number).toBeGreaterThan(0);
    expect(eng(s).merges).toBe(0);
    expect(reported.some((m) => m.includes(victim))).toBe(true);
    expect(tmpFiles(dir)).toEqual([]);
    // Every get answers the model's value or a CorruptionError — never a wrong value.
    let good = 0;
    for (let i = 0; i < 100; i++) {
      try {
        const got = s.get(b(`k${i}`));
        expect(got === undefined ? undefined : hex(got), `k${i}`).toBe(model.get(`k${i}`));
        good++;
      } catch (e) {
        expect((e as Error).name).toBe('CorruptionError');
      }
    }
    expect(good).toBeGreaterThan(50);
  });

  it('background flush: the frozen memtable serves gets until its run lands; snapshot and close wait for it', async () => {
    const root = tmpDir('bg-flush');
    const replica = new DirReplica(`${root}/replica`);
    const dir = `${root}/a`;
    const s = await openBg(dir, { replica, memtableBytesLimit: 4096, maxRunsBeforeStall: 50 });
    const release = hold('flush');
    const model = new Map<string, string>();
    let i = 0;
    // Fill exactly one memtable: the set after it is full freezes it, and the flush is held.
    while (eng(s).frozenMemtableBytes === 0) {
      const v = pattern(30, i);
      s.set(b(`k${i}`), v);
      model.set(`k${i}`, hex(v));
      i++;
    }
    const n = i;
    expect(eng(s).flushes).toBe(0);
    expectState(s, model, n); // from the frozen memtable (and the new one)
    s.delete(b('k0')); // a deletion in the new memtable hides the frozen value
    model.delete('k0');
    expectState(s, model, n);
    const snapping = s.snapshot(1);
    setTimeout(release, 30);
    await snapping;
    const st = eng(s);
    expect(st.flushes as number).toBeGreaterThan(0);
    expect(st.frozenMemtableBytes).toBe(0);
    expect(st.flushFallbacks).toBe(0);
    expectState(s, model, n);
    // Held again: close() cancels the flush and leaves no temp file; a reopen shows snapshot 1.
    const release2 = hold('flush');
    for (let j = 0; eng(s).frozenMemtableBytes === 0; j++) s.set(b(`x${j}`), pattern(30, j));
    const closing = s.close();
    setTimeout(release2, 30);
    await closing;
    expect(tmpFiles(dir)).toEqual([]);
    const t = await openBg(dir);
    expectState(t, model, n);
    expect(t.get(b('x0'))).toBeUndefined();
  });

  it('foreground and background modes end in the same state', async () => {
    const fg = await openBg(tmpDir('bg-same-fg'), { merges: 'foreground' });
    const bg = await openBg(tmpDir('bg-same-bg'), { maxRunsBeforeStall: 2 });
    const m1 = new Map<string, string>();
    const m2 = new Map<string, string>();
    for (let round = 0; round < 5; round++) {
      fill(fg, m1, 120, round);
      fill(bg, m2, 120, round);
      for (let i = round; i < 120; i += 9) {
        fg.delete(b(`k${i}`));
        bg.delete(b(`k${i}`));
        m1.delete(`k${i}`);
      }
    }
    for (let i = 0; i < 120; i++) {
      const x = fg.get(b(`k${i}`));
      const y = bg.get(b(`k${i}`));
      expect(y === undefined ? undefined : hex(y), `k${i}`).toBe(x === undefined ? undefined : hex(x));
      expect(x === undefined ? undefined : hex(x)).toBe(m1.get(`k${i}`));
    }
    expect(eng(fg).mergeMode).toBe('foreground');
    expect(eng(bg).mergeMode).toBe('background');
  });
});
