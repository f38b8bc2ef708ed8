// Why: the record format is shared by every engine; its checksum and torn-tail rules must hold
// exactly, and the JS xxh32 must equal the xxhash-wasm reference bit for bit.

import fs from 'node:fs';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../src/errors.js';
import { Parse, encodeRecord, parseRecord, rec, recordSize } from '../src/record.js';
import { scanRecords } from '../src/record-scan.js';
import { xxh32 } from '../src/xxh32.js';
import { pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

describe('xxh32', () => {
  it('equals xxhash-wasm h32 for every length 0..300 and several seeds', async () => {
    const ref = await xxhash();
    for (let len = 0; len <= 300; len++) {
      const data = pattern(len, len + 11);
      for (const seed of [0, 1, 0x9e3779b1]) {
        expect(xxh32(data, 0, len, seed), `len ${len} seed ${seed}`).toBe(ref.h32Raw(data, seed) >>> 0);
      }
    }
  });
  it('hashes a sub-range in place', async () => {
    const ref = await xxhash();
    const data = pattern(100, 5);
    expect(xxh32(data, 10, 60)).toBe(ref.h32Raw(data.subarray(10, 60)) >>> 0);
  });
});

function encodeAll(items: Array<[Uint8Array, Uint8Array]>): Buffer {
  const buf = Buffer.alloc(items.reduce((s, [k, v]) => s + recordSize(k.length, v.length), 0));
  let pos = 0;
  for (const [k, v] of items) pos = encodeRecord(buf, pos, k, v);
  expect(pos).toBe(buf.length);
  return buf;
}

describe('records', () => {
  const items: Array<[Uint8Array, Uint8Array]> = [
    [pattern(1, 1), pattern(0, 2)],
    [pattern(127, 3), pattern(128, 4)],
    [pattern(300, 5), pattern(70_000, 6)],
    [pattern(8, 7), pattern(32, 8)],
  ];

  it('round-trip through parseRecord, including tombstones and multi-byte varints', () => {
    const buf = encodeAll(items);
    let pos = 0;
    for (const [k, v] of items) {
      expect(parseRecord(buf, pos, buf.length)).toBe(Parse.Ok);
      expect(buf.subarray(rec.keyStart, rec.keyStart + rec.keyLen)).toEqual(k);
      expect(buf.subarray(rec.valueStart, rec.valueStart + rec.valueLen)).toEqual(v);
      pos = rec.end;
    }
    expect(pos).toBe(buf.length);
  });

  it('every truncation is Short and every single flipped bit is Bad or Short, never Ok', () => {
    const buf = encodeAll([[pattern(5, 1), pattern(20, 2)]]);
    for (let cut = 0; cut < buf.length; cut++) expect(parseRecord(buf, 0, cut)).toBe(Parse.Short);
    for (let i = 0; i < buf.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const c = Buffer.from(buf);
        c[i]! ^= 1 << bit;
        expect(parseRecord(c, 0, c.length), `byte ${i} bit ${bit}`).not.toBe(Parse.Ok);
      }
    }
  });

  it('scanRecords visits every record across chunk boundaries and tolerates a torn tail only when asked', () => {
    const dir = tmpDir('records');
    const many: Array<[Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 40_000; i++) many.push([pattern(8, i + 1), pattern(i % 97, i + 2)]);
    many.push([pattern(10, 3), pattern(3_000_000, 4)]); // larger than one scan chunk
    const buf = encodeAll(many);
    const file = path.join(dir, 'x.log');
    fs.writeFileSync(file, buf);
    let n = 0;
    const r = scanRecords(file, (b) => {
      expect(b.subarray(rec.keyStart, rec.keyStart + rec.keyLen)).toEqual(many[n]![0]);
      expect(rec.valueLen).toBe(many[n]![1].length);
      n++;
    });
    expect(n).toBe(many.length);
    expect(r.validEnd).toBe(buf.length);

    const torn = path.join(dir, 'torn.log');
    fs.writeFileSync(torn, buf.subarray(0, buf.length - 5));
    expect(() => scanRecords(torn, () => {})).toThrow(CorruptionError);
    const t = scanRecords(torn, () => {}, { tornTailOk: true });
    expect(t.validEnd).toBe(buf.length - recordSize(10, 3_000_000));

    const flipped = path.join(dir, 'flipped.log');
    const c = Buffer.from(buf);
    c[1000]! ^= 0x10;
    fs.writeFileSync(flipped, c);
    try {
      scanRecords(flipped, () => {}, { tornTailOk: true });
      expect.unreachable('a flipped byte must be reported');
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptionError);
      expect((e as CorruptionError).file).toBe(flipped);
      expect((e as CorruptionError).offset).toBeLessThanOrEqual(1000);
      expect((e as Error).message).toContain('flipped.log');
    }
  });
});
