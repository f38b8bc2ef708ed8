// Why: the HybridLog's own behaviour, beyond what the shared suites can see from outside — the
// ring buffer's address mapping and padding, in-place updates only in the mutable region,
// read-copy-update from the read-only region and from disk, values larger than the ring, flushes
// that keep only live records, reopen from hint files without scanning (and the scan fallback
// when a hint is damaged), and the local reopen promise (last snapshot after a crash, everything
// after a clean close).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, open, type SnapStore } from '../src/index.js';
import { PAD_BYTE, RingBuffer } from '../src/hybridlog/ring-buffer.js';
import { hybridLogParams } from '../src/hybridlog/params.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

type Stats = Record<string, number | number[]>;
const es = (s: SnapStore): Stats => s.stats().engineStats as Stats;
const TINY = { engine: 'hybridlog', memSegmentBytes: 1000, roLagBytes: 300, flushIntervalBytes: 300, maxRunsPerLevel: 2 } as const;

describe('ring buffer', () => {
  it('maps addresses to positions, pads instead of wrapping, and recovers addresses from positions', () => {
    const r = new RingBuffer(100);
    expect(r.append(40, 50)).toBe(0);
    expect(r.append(40, 50)).toBe(40);
    expect(r.readOnly).toBe(30);
    // 20 bytes left before the end: a 30-byte record does not fit, nothing has been flushed.
    expect(r.fits(30)).toBe(false);
    r.advanceHead(40);
    expect(r.fits(30)).toBe(true);
    const at = r.append(30, 50);
    expect(at).toBe(0); // skipped the last 20 bytes
    expect(r.buf[80]).toBe(PAD_BYTE);
    expect(r.tail).toBe(130);
    expect(r.addrOf(0)).toBe(100);
    expect(r.addrOf(40)).toBe(40);
    expect(r.skipPad(80)).toBe(100);
    r.buf[40] = 3; // a record's first byte (its key length) is never 0
    expect(r.skipPad(40)).toBe(40);
  });

  it('an empty ring skips to the boundary for free, so any record up to its size fits', () => {
    const r = new RingBuffer(100);
    r.append(30, 10);
    r.advanceHead(30);
    expect(r.used).toBe(0);
    expect(r.fits(100)).toBe(true);
    expect(r.append(100, 10)).toBe(0);
    expect(r.head).toBe(100);
    expect(r.fits(1)).toBe(false);
  });
});

describe('HybridLog parameters', () => {
  it('rejects a ring that cannot hold its regions, with the numbers in the message', () => {
    expect(() => hybridLogParams({ memSegmentBytes: 100, roLagBytes: 60, flushIntervalBytes: 40 })).toThrow(/must exceed roLagBytes \+ flushIntervalBytes \(60 \+ 40\)/);
    expect(() => hybridLogParams({ roLagBytes: 0 })).toThrow(InvalidArgumentError);
    expect(() => hybridLogParams({ memSegmentBytes: 2 ** 40 })).toThrow(InvalidArgumentError);
  });

  it('scales unspecified regions to an explicit ring size', () => {
    expect(hybridLogParams({ memSegmentBytes: 1 << 20 })).toMatchObject({ roLagBytes: 1 << 19, flushIntervalBytes: 1 << 18 });
  });
});

describe('HybridLog engine', () => {
  it('updates in place in the mutable region and appends (read-copy-update) otherwise', async () => {
    const s = await open({ ...TINY, dir: tmpDir('hl-inplace') });
    s.set(b('hot'), pattern(20, 1));
    s.set(b('hot'), pattern(20, 2)); // same length, mutable: in place
    expect(es(s).inPlaceUpdates).toBe(1);
    expect(es(s).appends).toBe(1);
    s.set(b('hot'), pattern(21, 3)); // longer: a new record
    expect(es(s).appends).toBe(2);
    // Push the record out of the mutable region with other keys: the next update appends.
    for (let i = 0; i < 12; i++) s.set(b(`filler${i}`), pattern(20, i));
    const appends = es(s).appends as number;
    s.set(b('hot'), pattern(21, 4));
    expect(es(s).appends).toBe(appends + 1);
    expect(hex(s.get(b('hot'))!)).toBe(hex(pattern(21, 4)));
    await s.close();
  });

  it('a get returns a copy that a later in-place update does not change', async () => {
    const s = await open({ ...TINY, dir: tmpDir('hl-copy') });
    s.set(b('k'), pattern(10, 1));
    const first = s.get(b('k'))!;
    s.set(b('k'), pattern(10, 2));
    expect(hex(first)).toBe(hex(pattern(10, 1)));
    expect(hex(s.get(b('k'))!)).toBe(hex(pattern(10, 2)));
    await s.close();
  });

  it('flushes keep only live records, and files are merged by level', async () => {
    const s = await open({ ...TINY, dir: tmpDir('hl-flush') });
    const model = new Map<string, Uint8Array>();
    for (let i = 0; i < 600; i++) {
      const k = `k${i % 25}`;
      const v = pattern(10 + (i % 7), i);
      s.set(b(k), v);
      model.set(k, v);
    }
    const st = es(s);
    expect(st.flushes).toBeGreaterThan(3);
    expect(st.merges).toBeGreaterThan(0);
    // 600 records were written but only live ones reach the disk: far fewer bytes than appended.
    expect(st.bytesFlushed).toBeLessThan(600 * 20);
    for (const [k, v] of model) expect(hex(s.get(b(k))!), k).toBe(hex(v));
    await s.close();
  });

  it('deletes that older files need survive flushes and merges', async () => {
    const dir = tmpDir('hl-delete');
    let s = await open({ ...TINY, dir });
    for (let i = 0; i < 40; i++) s.set(b(`k${i}`), pattern(30, i));
    await s.snapshot(1); // everything on disk
    for (let i = 0; i < 40; i += 2) s.delete(b(`k${i}`));
    for (let i = 0; i < 200; i++) s.set(b(`other${i % 30}`), pattern(30, i)); // flush and merge the deletions
    await s.close();
    s = await open({ ...TINY, dir });
    for (let i = 0; i < 40; i++) expect(s.get(b(`k${i}`)) === undefined, `k${i}`).toBe(i % 2 === 0);
    await s.close();
  });

  it('a value larger than the ring goes to its own file and reads back', async () => {
    const dir = tmpDir('hl-giant');
    let s = await open({ ...TINY, dir });
    s.set(b('small'), pattern(10, 1));
    s.set(b('giant'), pattern(5000, 2));
    s.set(b('small'), pattern(10, 3));
    expect(es(s).directWrites).toBe(1);
    expect(hex(s.get(b('giant'))!)).toBe(hex(pattern(5000, 2)));
    await s.close();
    s = await open({ ...TINY, dir });
    expect(hex(s.get(b('giant'))!)).toBe(hex(pattern(5000, 2)));
    expect(hex(s.get(b('small'))!)).toBe(hex(pattern(10, 3)));
    await s.close();
  });

  it('reopens from hint files without scanning, and scans when a hint is damaged', async () => {
    const dir = tmpDir('hl-hints');
    let s = await open({ ...TINY, dir });
    for (let i = 0; i < 300; i++) s.set(b(`k${i}`), pattern(12, i));
    await s.close();
    s = await open({ ...TINY, dir });
    expect(es(s).filesScanned).toBe(0);
    expect(es(s).hintsLoaded).toBeGreaterThan(0);
    await s.close();
    const hint = fs.readdirSync(dir).find((f) => f.endsWith('.hint'))!;
    const file = path.join(dir, hint);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 6]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    s = await open({ ...TINY, dir });
    expect(es(s).filesScanned).toBe(1);
    for (let i = 0; i < 300; i++) expect(hex(s.get(b(`k${i}`))!), `k${i}`).toBe(hex(pattern(12, i)));
    await s.close();
  });

  it('a clean close keeps unsnapshotted sets; a reopen without close returns the last snapshot', async () => {
    const dir = tmpDir('hl-reopen');
    let s = await open({ ...TINY, dir });
    s.set(b('a'), b('1'));
    await s.snapshot(1);
    s.set(b('a'), b('2'));
    await s.close();
    s = await open({ ...TINY, dir });
    expect(hex(s.get(b('a'))!)).toBe(hex(b('2')));
    await s.close();
  });

  it('stats report the ring regions, index and files', async () => {
    const s = await open({ ...TINY, dir: tmpDir('hl-stats') });
    for (let i = 0; i < 100; i++) s.set(b(`k${i}`), pattern(12, i));
    const st = es(s);
    expect(st.ringBytes).toBe(1000);
    expect((st.mutableBytes as number) + (st.readOnlyBytes as number)).toBeLessThanOrEqual(1000);
    expect(st.mutableBytes).toBeLessThanOrEqual(300);
    expect(st.keys).toBe(100);
    expect(st.indexBytes).toBeGreaterThan(0);
    expect(Array.isArray(st.filesPerLevel)).toBe(true);
    expect(s.stats().memoryBytes).toBe(1000 + (st.indexBytes as number));
    await s.close();
  });
});

describe('background flush', () => {
  it('copies a big read-only region a slice per set; writes, deletes, snapshots and reopen meanwhile see the right state', async () => {
    // ~14K records of ~20 bytes per flush: several sets of 2,048 records each.
    const opts = { engine: 'hybridlog', memSegmentBytes: 1 << 20, roLagBytes: 64 << 10, flushIntervalBytes: 256 << 10, maxRunsPerLevel: 3 } as const;
    const dir = tmpDir('hl-bgflush');
    const rdir = tmpDir('hl-bgflush-rep');
    const { DirReplica } = await import('../src/index.js');
    const s = await open({ ...opts, dir, replica: new DirReplica(rdir) });
    const model = new Map<string, string>();
    const put = (k: string, v: Uint8Array): void => {
      s.set(b(k), v);
      if (v.length === 0) model.delete(k);
      else model.set(k, hex(v));
    };
    const check = (st: SnapStore, m: Map<string, string>): void => {
      for (let i = 0; i < 20_000; i++) {
        const got = st.get(b(`k${i}`));
        expect(got === undefined ? undefined : hex(got), `k${i}`).toBe(m.get(`k${i}`));
      }
    };
    let pendingSets = 0;
    let snapModel: Map<string, string> | null = null;
    for (let i = 0; i < 60_000; i++) {
      const k = `k${(i * 7919) % 20_000}`;
      if (es(s).flushPending === 1) {
        pendingSets++;
        // Replace and delete keys whose records may sit in the region being copied.
        put(`k${i % 20_000}`, i % 4 === 0 ? new Uint8Array(0) : pattern(8, i));
        if (snapModel === null && pendingSets > 3) {
          await s.snapshot(1); // finishes the pending flush first
          snapModel = new Map(model);
          expect(es(s).flushPending).toBe(0);
        }
      }
      put(k, pattern(8 + (i % 5), i));
    }
    expect(pendingSets).toBeGreaterThan(5);
    expect(es(s).flushes).toBeGreaterThan(3);
    expect(snapModel).not.toBeNull();
    check(s, model);
    await s.close();
    const t = await open({ ...opts, dir });
    check(t, model);
    await t.close();
    const u = await open({ ...opts, dir: tmpDir('hl-bgflush-2'), replica: new DirReplica(rdir) });
    await u.restore(1);
    check(u, snapModel!);
    await u.close();
  });
});
