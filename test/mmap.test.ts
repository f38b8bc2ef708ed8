// Why: the AppendLog's mapped path (src/mmap.ts, native/mmap.c) changes what a crash can leave in
// the active segment: the file is allocated at its full capacity, so the records are followed by
// zeros, and a store cut short leaves a record whose unwritten bytes are still zeros. These tests
// build exactly those files and check that a reopen — mapped or not — keeps every whole record,
// drops only a torn last one, and reports anything else as corruption; and that the addon is
// really built, so the shared suites run the mapped path and not silently the write(2) one.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError, open, type SnapStore } from '../src/index.js';
import { mmapAvailable } from '../src/mmap.js';
import { encodeRecord, recordSize } from '../src/record.js';
import { b } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

const THRESHOLD = 64 * 1024;
const str = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString());
const eng = (s: SnapStore): Record<string, unknown> => s.stats().engineStats as Record<string, unknown>;

/** One record's bytes. */
function record(k: string, v: string): Uint8Array {
  const out = new Uint8Array(recordSize(Buffer.byteLength(k), Buffer.byteLength(v)));
  encodeRecord(out, 0, b(k), b(v));
  return out;
}

/** A store closed after `a`=1 and `b`=2: returns its dir and the active segment's path. */
async function twoRecords(label: string, mmap: boolean): Promise<{ dir: string; seg: string }> {
  const dir = tmpDir(label);
  const s = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap });
  s.set(b('a'), b('1'));
  s.set(b('b'), b('2'));
  await s.close();
  const seg = fs.readdirSync(dir).find((n) => n.endsWith('.log'))!;
  return { dir, seg: path.join(dir, seg) };
}

/** Makes `file` look like a mapped segment at a crash: `tail` written after its records, then zeros to THRESHOLD. */
function crashLayout(file: string, tail: Uint8Array): void {
  const size = fs.statSync(file).size;
  fs.appendFileSync(file, tail);
  fs.truncateSync(file, Math.max(THRESHOLD, size + tail.length));
}

describe('mapped AppendLog segments', () => {
  it('uses the native addon here (set SNAPKV_NO_MMAP=1 to test without it)', () => {
    expect(mmapAvailable).toBe(process.env.SNAPKV_NO_MMAP !== '1');
  });

  describe.runIf(mmapAvailable)('with the addon', () => {
    it('reserves the segment at its capacity while open and gives the rest back at close', async () => {
      const dir = tmpDir('mm-size');
      const s = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD });
      s.set(b('a'), b('1'));
      const seg = path.join(dir, fs.readdirSync(dir).find((n) => n.endsWith('.log'))!);
      expect(fs.statSync(seg).size).toBe(THRESHOLD);
      // The set reached the file (through the mapping) with no write(2): another reader sees it.
      expect(Buffer.from(fs.readFileSync(seg)).subarray(0, recordSize(1, 1))).toEqual(Buffer.from(record('a', '1')));
      await s.close();
      expect(fs.statSync(seg).size).toBe(recordSize(1, 1));
    });

    it('takes a record larger than thresholdBytes in a segment of its own size', async () => {
      const dir = tmpDir('mm-big');
      const s = await open({ engine: 'appendlog', dir, thresholdBytes: 256 });
      const big = 'x'.repeat(5000);
      s.set(b('small'), b('1'));
      s.set(b('big'), b(big));
      s.set(b('after'), b('2'));
      expect([str(s.get(b('small'))), str(s.get(b('big'))), str(s.get(b('after')))]).toEqual(['1', big, '2']);
      await s.close();
      const t = await open({ engine: 'appendlog', dir, thresholdBytes: 256 });
      expect([str(t.get(b('small'))), str(t.get(b('big'))), str(t.get(b('after')))]).toEqual(['1', big, '2']);
      await t.close();
    });

    it('a store cut short by a crash (rest of the record still zeros) is dropped; the segment continues in a clean copy', async () => {
      for (const mmap of [true, false]) {
        const { dir, seg } = await twoRecords(`mm-torn-${mmap}`, true);
        const whole = record('c', 'a value that was being stored when the process died');
        const torn = new Uint8Array(whole.length);
        torn.set(whole.subarray(0, whole.length - 9)); // the last 9 bytes never stored: zeros
        crashLayout(seg, torn);
        const t = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap });
        expect(t.get(b('c'))).toBeUndefined();
        expect(eng(t).activeRecordsReplayed).toBe(2);
        t.set(b('d'), b('4'));
        await t.close();
        expect(fs.existsSync(seg)).toBe(false);
        const u = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap });
        expect(['a', 'b', 'c', 'd'].map((k) => str(u.get(b(k))))).toEqual(['1', '2', undefined, '4']);
        await u.close();
      }
    });

    it('zeros after whole records (a crash between sets) lose nothing, read mapped or with pread', async () => {
      for (const mmap of [true, false]) {
        const { dir, seg } = await twoRecords(`mm-zeros-${mmap}`, true);
        crashLayout(seg, new Uint8Array(0));
        const t = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap });
        expect([str(t.get(b('a'))), str(t.get(b('b')))]).toEqual(['1', '2']);
        t.set(b('c'), b('3'));
        await t.close();
        // Mapped: appended in place after the records. Written: a write(2) after the zeros would
        // leave them inside the file, so it continued in a clean copy.
        expect(fs.existsSync(seg)).toBe(mmap);
        const u = await open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap: !mmap });
        expect(['a', 'b', 'c'].map((k) => str(u.get(b(k))))).toEqual(['1', '2', '3']);
        await u.close();
      }
    });

    it('an open that fails while replaying the active segment leaves its bytes alone', async () => {
      const dir = tmpDir('mm-failed-open');
      const opts = { engine: 'appendlog' as const, dir, thresholdBytes: 256, maxRunsPerLevel: 8, merges: 'foreground' as const };
      const s = await open(opts);
      s.set(b('key-x'), b('old value'));
      for (let i = 0; i < 20; i++) s.set(b(`fill${i}`), b('0123456789012345678901234567890123456789'));
      s.set(b('key-x'), b('new value')); // in the active segment; its replay compares with the old record
      await s.close();
      const logs = fs.readdirSync(dir).filter((n) => n.endsWith('.log')).sort();
      const first = path.join(dir, logs[0]!);
      const active = path.join(dir, logs[logs.length - 1]!);
      const activeBytes = fs.readFileSync(active);
      const bad = fs.readFileSync(first);
      bad[8] = bad[8]! ^ 0x01; // inside 'old value': that record fails its checksum when compared
      fs.writeFileSync(first, bad);
      await expect(open(opts)).rejects.toBeInstanceOf(CorruptionError);
      // Every record is still there (the failed open may have reserved capacity: zeros after them).
      const after = fs.readFileSync(active);
      expect(after.subarray(0, activeBytes.length)).toEqual(activeBytes);
      expect(after.subarray(activeBytes.length).every((x) => x === 0)).toBe(true);
    });

    it('a damaged record with bytes written after it is corruption, not a torn tail', async () => {
      for (const mmap of [true, false]) {
        const { dir, seg } = await twoRecords(`mm-bad-${mmap}`, true);
        const bad = record('c', 'three');
        bad[3] = bad[3]! ^ 0x10; // a flipped bit inside the key
        const tail = new Uint8Array(bad.length + 100);
        tail.set(bad);
        tail.set(record('d', '4'), bad.length + 60); // written later, further on
        crashLayout(seg, tail);
        await expect(open({ engine: 'appendlog', dir, thresholdBytes: THRESHOLD, mmap })).rejects.toBeInstanceOf(CorruptionError);
      }
    });
  });
});
