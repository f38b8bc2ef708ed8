// Why: the issue asks how snapkv compares with established embedded stores, so two peers run on
// the same operation streams, each through its fastest idiomatic API (measured here, 200K sets of
// 32-byte values, 8-byte keys):
//  - lmdb-js: `db.put()` without awaiting — lmdb-js batches every write of an event turn into one
//    transaction committed on its own thread (the design its README recommends; ~470K sets/s),
//    against ~75K/s for `putSync` even with `noSync` and ~4K/s for `putSync` with default sync,
//    which commits a transaction per call. Reads use `get` (a fresh Buffer; `getBinaryFast` was
//    ~10% faster but its reused buffer did not compare equal to the stored bytes here).
//    A write is readable only once its batch commits, so `settle()` awaits the last put.
//  - LevelDB via classic-level: writes go into a chained batch written every BATCH ops (~420K/s,
//    against ~32K/s for awaiting each `put`); reads use `getSync` (abstract-level 3). Writes are
//    not fsynced (LevelDB's default `sync: false`), like snapkv between snapshots.
// Neither peer has incremental snapshots: lmdb's `backup()` copies the whole environment, which
// the runner reports as its snapshot; classic-level has none.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { open as openLmdb } from 'lmdb';
import type { SnapshotFigures, System, SystemFactory } from './systems.js';
import { dirBytes } from './systems.js';

/** Writes per classic-level chained batch. */
const BATCH = 1000;

/** A Buffer view of `u` without copying (lmdb and LevelDB's buffer encodings want Buffers). */
function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** lmdb-js in a fresh temp directory (removed on close). */
export function lmdbSystem(): SystemFactory {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-bench-lmdb-'));
    const db = openLmdb<Buffer, Buffer>({ path: path.join(dir, 'db'), keyEncoding: 'binary', encoding: 'binary', compression: false });
    let last: Promise<boolean> | undefined;
    let backups = 0;
    const sys: System = {
      name: 'lmdb',
      set(k, v) {
        last = v.length === 0 ? db.remove(buf(k)) : db.put(buf(k), buf(v));
      },
      get: (k) => db.get(buf(k)),
      async settle() {
        if (last) await last;
        last = undefined;
      },
      diskBytes: () => dirBytes(path.join(dir, 'db')),
      memoryBytes: () => 0,
      async snapshot(): Promise<SnapshotFigures> {
        await sys.settle!();
        const target = path.join(dir, `backup-${backups++}`);
        fs.mkdirSync(target); // lmdb writes data.mdb into an existing directory
        const t0 = performance.now();
        await db.backup(target, false);
        return { seconds: (performance.now() - t0) / 1000, bytes: dirBytes(target) };
      },
      async close() {
        await sys.settle!();
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return sys;
  };
}

/** LevelDB (classic-level) in a fresh temp directory (removed on close). */
export function levelSystem(): SystemFactory {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-bench-level-'));
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    let batch = db.batch();
    let pending: Array<Promise<void>> = [];
    const flush = (): void => {
      if (batch.length === 0) return;
      pending.push(batch.write());
      batch = db.batch();
      // Bound the promises kept: reap the settled ones now and then.
      if (pending.length >= 64) {
        const all = Promise.all(pending).then(() => undefined);
        pending = [all];
      }
    };
    const sys: System = {
      name: 'classic-level',
      set(k, v) {
        if (v.length === 0) batch.del(buf(k));
        else batch.put(buf(k), buf(v));
        if (batch.length >= BATCH) flush();
      },
      get: (k) => db.getSync(buf(k)),
      async settle() {
        flush();
        await Promise.all(pending);
        pending = [];
      },
      diskBytes: () => dirBytes(dir),
      memoryBytes: () => 0,
      async close() {
        await sys.settle!();
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return sys;
  };
}
