// Why: a table of every public entry point fed wrong types, sizes and orders. Each must throw a
// typed error with a message, and the store must be unchanged afterwards.

import { describe, expect, it } from 'vitest';
import {
  DirReplica,
  InvalidArgumentError,
  SnapKVError,
  StoreClosedError,
  UnknownVersionError,
  open,
  type OpenOptions,
} from '../src/index.js';
import { ENGINE_CONFIGS } from './engine-configs.js';
import { b } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

const cast = <T>(x: unknown): T => x as T;

describe('open() options', () => {
  const dir = tmpDir('bad-open');
  const cases: Array<[string, unknown]> = [
    ['no options', undefined],
    ['null options', null],
    ['a string', 'lsm'],
    ['unknown engine', { engine: 'rocksdb', dir }],
    ['missing engine', { dir }],
    ['missing dir', { engine: 'memonly' }],
    ['empty dir', { engine: 'memonly', dir: '' }],
    ['numeric dir', { engine: 'memonly', dir: 42 }],
    ['replica not a Replica', { engine: 'memonly', dir, replica: {} }],
    ['replica a string', { engine: 'memonly', dir, replica: '/tmp/x' }],
    ['maxValueBytes negative', { engine: 'memonly', dir, maxValueBytes: -1 }],
    ['maxValueBytes fractional', { engine: 'memonly', dir, maxValueBytes: 1.5 }],
    ['maxValueBytes a string', { engine: 'memonly', dir, maxValueBytes: '10' }],
    ['transferParallelism 0', { engine: 'memonly', dir, transferParallelism: 0 }],
    ['unknown option', { engine: 'memonly', dir, memtableLimit: 5 }],
  ];
  it.each(cases)('%s → InvalidArgumentError', async (_label, opts) => {
    await expect(open(cast<OpenOptions>(opts))).rejects.toThrow(InvalidArgumentError);
  });
  it('DirReplica without a root → InvalidArgumentError', () => {
    expect(() => new DirReplica(cast<string>(undefined))).toThrow(InvalidArgumentError);
    expect(() => new DirReplica('')).toThrow(InvalidArgumentError);
  });
  it('a directory of another engine is refused with a clear message', async () => {
    const d = tmpDir('bad-engine-dir');
    const s = await open({ engine: 'memonly', dir: d });
    await s.close();
    const other = ENGINE_CONFIGS.find((c) => c.options.engine !== 'memonly');
    if (!other) return;
    await expect(open({ ...other.options, dir: d } as OpenOptions)).rejects.toThrow(/holds a 'memonly' store/);
  });
});

describe.each(ENGINE_CONFIGS)('bad input: $label', (cfg) => {
  it.each((cfg.invalidParams ?? []).map((p) => [JSON.stringify(p), p] as const))('engine parameters %s → InvalidArgumentError', async (_l, p) => {
    await expect(open({ ...cfg.options, ...p, dir: tmpDir('bad-params') } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
  });

  it('every method rejects wrong arguments with a typed error and leaves the state unchanged', async () => {
    const root = tmpDir(`bad-${cfg.label}`);
    const s = await open({ ...cfg.options, dir: `${root}/d`, replica: new DirReplica(`${root}/r`), maxValueBytes: 4096 } as OpenOptions);
    s.set(b('k'), b('v'));
    await s.snapshot(3);
    const sync: Array<[string, () => unknown]> = [
      ['get(undefined)', () => s.get(cast(undefined))],
      ['get(string)', () => s.get(cast('k'))],
      ['get(number)', () => s.get(cast(1))],
      ['get(ArrayBuffer)', () => s.get(cast(new ArrayBuffer(2)))],
      ['get(empty)', () => s.get(new Uint8Array(0))],
      ['get(65536 bytes)', () => s.get(new Uint8Array(65_536))],
      ['set(string, v)', () => s.set(cast('k'), b('x'))],
      ['set(k, string)', () => s.set(b('k'), cast('x'))],
      ['set(k, null)', () => s.set(b('k'), cast(null))],
      ['set(k, number[])', () => s.set(b('k'), cast([1, 2]))],
      ['set(empty, v)', () => s.set(new Uint8Array(0), b('x'))],
      ['set(65536 bytes, v)', () => s.set(new Uint8Array(65_536), b('x'))],
      ['set(k, 4097 bytes)', () => s.set(b('k'), new Uint8Array(4097))],
      ['delete(string)', () => s.delete(cast('k'))],
      ['delete(empty)', () => s.delete(new Uint8Array(0))],
      ['typed(bad codec)', () => s.typed(cast('json'))],
    ];
    for (const [label, call] of sync) {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err, label).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message.length, label).toBeGreaterThan(10);
      expect(s.get(b('k')), label).toEqual(b('v'));
    }
    const asyncCases: Array<[string, () => Promise<unknown>, new (...args: never[]) => SnapKVError]> = [
      ['snapshot(NaN)', () => s.snapshot(Number.NaN), InvalidArgumentError],
      ['snapshot(-1)', () => s.snapshot(-1), InvalidArgumentError],
      ['snapshot(2.5)', () => s.snapshot(2.5), InvalidArgumentError],
      ['snapshot(3) again', () => s.snapshot(3), InvalidArgumentError],
      ['snapshot(2) below last', () => s.snapshot(2), InvalidArgumentError],
      ['snapshot("4")', () => s.snapshot(cast('4')), InvalidArgumentError],
      ['snapshot(Infinity)', () => s.snapshot(Infinity), InvalidArgumentError],
      ['restore(NaN)', () => s.restore(Number.NaN), InvalidArgumentError],
      ['restore(-1)', () => s.restore(-1), InvalidArgumentError],
      ['restore(unknown)', () => s.restore(4), UnknownVersionError],
      ['restore(object)', () => s.restore(cast({})), InvalidArgumentError],
    ];
    for (const [label, call, type] of asyncCases) {
      await expect(call(), label).rejects.toThrow(type);
      expect(s.get(b('k')), label).toEqual(b('v'));
    }
    expect(await s.versions()).toEqual([3]);
    await s.close();
    for (const [label, call] of sync) expect(call, `${label} after close`).toThrow(StoreClosedError);
    await expect(s.snapshot(4)).rejects.toThrow(StoreClosedError);
    await expect(s.versions()).rejects.toThrow(StoreClosedError);
  });
});
