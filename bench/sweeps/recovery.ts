// Why: after a restart a worker is down until its store answers again, and the thesis found the
// hash engines rebuilding their index by scanning every file (1.5 s at 1M keys) while the LSM only
// reads footers and index blocks. For growing key counts this sweep writes a store, makes it
// durable (snapshot(1) without a replica for snapkv engines, a settled commit / close for the
// peers), closes it, and times a fresh open until the first get answers; then 1,000 random keys
// are checked so a fast but wrong recovery cannot pass.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { open as openLmdb } from 'lmdb';
import type { Datum } from '../chart.js';
import { open, type OpenOptions } from '../../src/index.js';
import { permutation, uniformKeys, values, writeKey } from '../workloads.js';
import { engines, type Sweep } from './common.js';
import { pointProgress } from './points.js';

/** A store kind for this sweep: load, make durable, close; then reopen and return a getter. */
interface Reopenable {
  load(dir: string, n: number, key: (i: number) => Buffer, val: (i: number) => Buffer): Promise<void>;
  reopen(dir: string): Promise<{ get(k: Buffer): Uint8Array | undefined; close(): Promise<void> }>;
}

function engineKind(engine: string): Reopenable {
  return {
    async load(dir, n, key, val) {
      const s = await open({ engine, dir } as OpenOptions);
      for (let i = 0; i < n; i++) s.set(key(i), val(i));
      await s.snapshot(1);
      await s.close();
    },
    async reopen(dir) {
      const s = await open({ engine, dir } as OpenOptions);
      return { get: (k) => s.get(k), close: () => s.close() };
    },
  };
}

const lmdbKind: Reopenable = {
  async load(dir, n, key, val) {
    const db = openLmdb<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary', compression: false });
    let last: Promise<boolean> | undefined;
    for (let i = 0; i < n; i++) {
      last = db.put(key(i), val(i));
      if ((i & 8191) === 8191) await new Promise((r) => setImmediate(r));
    }
    await last;
    await db.close();
  },
  async reopen(dir) {
    const db = openLmdb<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary', compression: false });
    return { get: (k) => db.get(k), close: () => db.close() };
  },
};

const levelKind: Reopenable = {
  async load(dir, n, key, val) {
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    for (let i = 0; i < n; i += 1000) {
      const b = db.batch();
      for (let j = i; j < Math.min(n, i + 1000); j++) b.put(Buffer.from(key(j)), val(j));
      await b.write();
    }
    await db.close();
  },
  async reopen(dir) {
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return { get: (k) => db.getSync(k), close: () => db.close() };
  },
};

export const recovery: Sweep = {
  name: 'recovery',
  describe: 'reopen time (until the first get answers) vs key count, every engine and peer',
  async run(ctx) {
    const counts = ctx.full ? [100_000, 250_000, 500_000, 1_000_000] : [50_000, 100_000, 200_000, 400_000];
    const kinds: Array<[string, Reopenable]> = [...engines().map((e): [string, Reopenable] => [e, engineKind(e)]), ['lmdb', lmdbKind], ['classic-level', levelKind]];
    const vals = values(4096, 32).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    const kb = Buffer.alloc(8);
    const rows: Datum[] = [];
    const bar = pointProgress('recovery', kinds.length * counts.length);
    for (const [name, kind] of kinds) {
      for (const n of counts) {
        bar.relabel(`recovery ${name} ${n}`);
        const order = permutation(n, 99);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-sweep-rec-${name}-`));
        try {
          await kind.load(dir, n, (i) => writeKey(kb, order[i]!) as Buffer, (i) => vals[i & 4095]!);
          const t0 = performance.now();
          const s = await kind.reopen(dir);
          const first = s.get(writeKey(kb, order[0]!) as Buffer);
          const seconds = (performance.now() - t0) / 1000;
          if (first === undefined) throw new Error(`${name}: first key missing after reopen`);
          // Verify 1,000 random loaded keys: value i of the load order is vals[i & 4095].
          const pick = uniformKeys(1000, n, 11);
          for (const i of pick) {
            const got = s.get(writeKey(kb, order[i]!) as Buffer);
            if (!got || Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), vals[i & 4095]!) !== 0) throw new Error(`${name}: key #${i} wrong after reopen`);
          }
          await s.close();
          rows.push({ system: name, keys: n, reopenSeconds: Math.round(seconds * 1e5) / 1e5, reopenMs: Math.round(seconds * 1e5) / 100 });
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        bar.tick();
      }
    }
    bar.finish();
    return {
      rows,
      figures: [
        { id: 'reopen', chart: { title: 'Reopen time vs keys stored', subtitle: 'close, then open until the first get answers (1,000 random keys verified after); 8 B keys, 32 B values', x: { field: 'keys', title: 'keys stored (count)', log: true }, y: { field: 'reopenMs', title: 'reopen until first get (ms)', log: true }, series: { field: 'system', title: 'system' }, data: rows } },
      ],
    };
  },
};
