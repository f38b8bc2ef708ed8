// Why: replicas live across a network. When the replica rejects writes or disappears in the middle
// of a snapshot, the snapshot must fail with SnapshotError while the store keeps serving, earlier
// versions stay restorable, and the same id succeeds once the replica is back. A corrupted or
// truncated replica object must fail the restore with a CorruptionError naming it, leaving the
// local state untouched. Each case runs for every engine on DirReplica and on a real s3rver
// (which is killed and restarted mid-snapshot).

import { PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CorruptionError,
  DirReplica,
  RestoreError,
  S3Replica,
  SnapKVError,
  SnapshotError,
  open,
  type OpenOptions,
  type Replica,
  type SnapStore,
} from '../src/index.js';
import { decodeManifest } from '../src/snapshot/manifest.js';
import { type EngineConfig, ONE_PER_ENGINE } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { useS3Server } from './helpers/s3-server.js';
import { tmpDir } from './helpers/tmp.js';

const BUCKET = 'snapkv-faults';
const srv = useS3Server(BUCKET);
let n = 0;

type Op = 'putData' | 'writeManifest' | 'getData' | 'readManifest';

/** Delegates to `inner`; `failNext(op, after)` makes the call after `after` more successes throw. */
class FaultyReplica implements Replica {
  readonly location: string;
  private armed: { op: Op; after: number; action?: () => Promise<void> } | null = null;
  constructor(readonly inner: Replica) {
    this.location = inner.location;
  }
  /** Arms a fault; with `action`, that runs instead of throwing (e.g. stop the server) and the call proceeds. */
  failNext(op: Op, after = 0, action?: () => Promise<void>): void {
    this.armed = { op, after, action };
  }
  disarm(): void {
    this.armed = null;
  }
  private async gate(op: Op): Promise<void> {
    const a = this.armed;
    if (!a || a.op !== op) return;
    if (a.after-- > 0) return;
    this.armed = null;
    if (a.action) return a.action();
    const e = new Error(`injected: replica rejected ${op}`) as NodeJS.ErrnoException;
    e.code = 'EACCES';
    throw e;
  }
  listData(): Promise<string[]> { return this.inner.listData(); }
  async putData(name: string, p: string): Promise<void> { await this.gate('putData'); return this.inner.putData(name, p); }
  async getData(name: string, p: string): Promise<void> { await this.gate('getData'); return this.inner.getData(name, p); }
  deleteData(name: string): Promise<void> { return this.inner.deleteData(name); }
  listManifests(): Promise<number[]> { return this.inner.listManifests(); }
  async readManifest(v: number): Promise<Uint8Array | undefined> { await this.gate('readManifest'); return this.inner.readManifest(v); }
  async writeManifest(v: number, bytes: Uint8Array): Promise<void> { await this.gate('writeManifest'); return this.inner.writeManifest(v, bytes); }
  deleteManifest(v: number): Promise<void> { return this.inner.deleteManifest(v); }
}

type Model = Map<string, string>;
const KEYS = 120;

function write(s: SnapStore, model: Model, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    const v = pattern(1 + (i % 45), i * 7 + 1);
    s.set(b(`k${i % KEYS}`), v);
    model.set(`k${i % KEYS}`, hex(v));
  }
}

function expectState(s: SnapStore, model: Model, label: string): void {
  for (let i = 0; i < KEYS; i++) {
    const v = s.get(b(`k${i}`));
    expect(v === undefined ? undefined : hex(v), `${label}: k${i}`).toBe(model.get(`k${i}`));
  }
}

interface Kind {
  name: string;
  /** A fresh replica location; `again()` opens the same location anew (another machine). */
  make(root: string): { replica: Replica; again(): Replica };
}

const KINDS: Kind[] = [
  {
    name: 'dir',
    make: (root) => ({ replica: new DirReplica(`${root}/replica`), again: () => new DirReplica(`${root}/replica`) }),
  },
  {
    name: 's3',
    make: () => {
      const prefix = `faults-${n++}`;
      // Two attempts keep the dead-server cases quick; the SDK's retry path is still exercised.
      const mk = (): S3Replica => new S3Replica({ bucket: BUCKET, prefix, ...srv.clientConfig({ maxAttempts: 2 }) });
      return { replica: mk(), again: mk };
    },
  },
];

async function restoreFresh(cfg: EngineConfig, replica: Replica, label: string): Promise<SnapStore> {
  return open({ ...cfg.options, dir: `${tmpDir(`fresh-${label}`)}/d`, replica } as OpenOptions);
}

describe.each(ONE_PER_ENGINE)('replica faults: $label', (cfg) => {
  for (const kind of KINDS) {
    for (const op of ['putData', 'writeManifest'] as const) {
      it(`${kind.name}: ${op} rejected mid-snapshot → SnapshotError, store serves, v1 intact, retry of the same id succeeds`, async () => {
        const root = tmpDir(`rf-${cfg.label}`);
        const loc = kind.make(root);
        const faulty = new FaultyReplica(loc.replica);
        const s = await open({ ...cfg.options, dir: `${root}/data`, replica: faulty } as OpenOptions);
        const model: Model = new Map();
        write(s, model, 0, 300);
        await s.snapshot(1);
        const v1 = new Map(model);
        write(s, model, 300, 200);
        faulty.failNext(op);
        const err = await s.snapshot(2).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SnapshotError);
        expect((err as Error).message).toMatch(/retry with the same id/);
        // The store keeps serving reads and writes.
        expectState(s, model, 'after failed snapshot');
        write(s, model, 500, 50);
        expect(await s.versions()).toEqual([1]);
        const t = await restoreFresh(cfg, loc.again(), cfg.label);
        expectState(t, v1, 'v1 from replica');
        await t.close();
        // Same id again, replica healthy.
        const info = await s.snapshot(2);
        expect(info.id).toBe(2);
        expect(await s.versions()).toEqual([1, 2]);
        const u = await restoreFresh(cfg, loc.again(), cfg.label);
        expectState(u, model, 'v2 after retry');
        await u.close();
        await s.close();
      });
    }

    it(`${kind.name}: replica fails during restore → RestoreError, local state unchanged, later restore works`, async () => {
      const root = tmpDir(`rf-restore-${cfg.label}`);
      const loc = kind.make(root);
      const faulty = new FaultyReplica(loc.replica);
      const s = await open({ ...cfg.options, dir: `${root}/data`, replica: faulty } as OpenOptions);
      const model: Model = new Map();
      write(s, model, 0, 300);
      await s.snapshot(1);
      const v1 = new Map(model);
      write(s, model, 300, 300);
      await s.snapshot(2);
      await s.restore(1);
      write(s, v1, 1000, 40); // unsnapshotted changes on top of 1
      faulty.failNext('getData');
      const err = await s.restore(2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RestoreError);
      expectState(s, v1, 'after failed restore');
      faulty.failNext('readManifest');
      await expect(s.restore(2)).rejects.toThrow(SnapKVError);
      expectState(s, v1, 'after failed manifest read');
      await s.restore(2);
      expectState(s, model, 'restore(2) once healthy');
      await s.close();
    });

    it(`${kind.name}: corrupted or truncated object → CorruptionError naming it, local state untouched`, async () => {
      for (const how of ['flip', 'truncate'] as const) {
        const root = tmpDir(`rf-corrupt-${cfg.label}`);
        const loc = kind.make(root);
        const s = await open({ ...cfg.options, dir: `${root}/data`, replica: loc.replica } as OpenOptions);
        const model: Model = new Map();
        write(s, model, 0, 300);
        await s.snapshot(1);
        const v1 = new Map(model);
        write(s, model, 300, 300);
        await s.snapshot(2);
        const m1 = await decodeManifest((await loc.replica.readManifest(1))!, 'm1');
        const m2 = await decodeManifest((await loc.replica.readManifest(2))!, 'm2');
        const only2 = m2.files.filter((f) => !m1.files.some((g) => g.name === f.name));
        expect(only2.length, 'version 2 has files version 1 lacks').toBeGreaterThan(0);
        const victim = only2[0]!.name;
        await damageObject(loc.replica, victim, how);
        await s.restore(1);
        write(s, v1, 2000, 30);
        const err = await s.restore(2).catch((e: unknown) => e);
        expect(err, `${how}: expected CorruptionError`).toBeInstanceOf(CorruptionError);
        expect((err as CorruptionError).file).toContain(`data/${victim}`);
        expectState(s, v1, `${how}: local state after failed restore`);
        // An empty directory cannot restore 2 either, and says why.
        const e2 = await restoreFresh(cfg, loc.again(), cfg.label).catch((e: unknown) => e);
        expect(e2).toBeInstanceOf(CorruptionError);
        await s.close();
      }
    });
  }

  it('s3: server killed mid-push → SnapshotError; store serves; after a restart the same id succeeds', async () => {
    const root = tmpDir(`rf-kill-${cfg.label}`);
    const loc = KINDS[1]!.make(root);
    const faulty = new FaultyReplica(loc.replica);
    const s = await open({ ...cfg.options, dir: `${root}/data`, replica: faulty } as OpenOptions);
    const model: Model = new Map();
    write(s, model, 0, 300);
    await s.snapshot(1);
    const v1 = new Map(model);
    write(s, model, 300, 300);
    try {
      // The first upload of snapshot 2 finds the server gone.
      faulty.failNext('putData', 0, () => srv.stop());
      const err = await s.snapshot(2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotError);
      expectState(s, model, 'serving while the server is down');
      write(s, model, 600, 20);
      await expect(s.versions()).rejects.toThrow();
    } finally {
      await srv.restart();
    }
    expect(await s.versions()).toEqual([1]);
    const t = await restoreFresh(cfg, loc.again(), cfg.label);
    expectState(t, v1, 'v1 after restart');
    await t.close();
    await s.snapshot(2);
    const u = await restoreFresh(cfg, loc.again(), cfg.label);
    expectState(u, model, 'v2 after retry');
    await u.close();
    await s.close();
  });
});

/** Replaces replica object `name` with damaged bytes (written through the replica's own channel). */
async function damageObject(replica: Replica, name: string, how: 'flip' | 'truncate'): Promise<void> {
  const tmp = `${tmpDir('victim')}/obj`;
  await replica.getData(name, tmp);
  const buf = fs.readFileSync(tmp);
  const bad = how === 'truncate' ? buf.subarray(0, Math.floor(buf.length / 2)) : Buffer.from(buf);
  if (how === 'flip') bad[Math.floor(bad.length / 2)]! ^= 0x40;
  if (replica instanceof S3Replica) {
    await replica.client.send(new PutObjectCommand({ Bucket: replica.bucket, Key: `${replica.prefix}data/${name}`, Body: bad }));
  } else {
    fs.writeFileSync(`${(replica as DirReplica).root}/data/${name}`, bad);
  }
}
