// Why: retention deletes data, so it must never delete what a kept version needs. For every
// engine, on a directory and on s3rver: after retain({ keepLast, pinned }) exactly the kept
// versions remain, each restores to its exact state, and the replica holds exactly the files the
// kept manifests name. Manifests go before data files, a failed run leaves every remaining version
// restorable, and a snapshot whose files were swept as orphans re-uploads them.

import { describe, expect, it } from 'vitest';
import {
  BusyError,
  DirReplica,
  InvalidArgumentError,
  S3Replica,
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

const BUCKET = 'snapkv-retention';
const srv = useS3Server(BUCKET);
let n = 0;

type Model = Map<string, string>;
const KEYS = 100;

function write(s: SnapStore, model: Model, round: number): void {
  for (let i = 0; i < 120; i++) {
    const k = `k${(i * 7 + round * 13) % KEYS}`;
    if ((i + round) % 17 === 0) {
      s.delete(b(k));
      model.delete(k);
    } else {
      const v = pattern(1 + ((i + round) % 40), round * 1000 + i);
      s.set(b(k), v);
      model.set(k, hex(v));
    }
  }
}

function expectState(s: SnapStore, model: Model, label: string): void {
  for (let i = 0; i < KEYS; i++) {
    const v = s.get(b(`k${i}`));
    expect(v === undefined ? undefined : hex(v), `${label}: k${i}`).toBe(model.get(`k${i}`));
  }
}

/** Records the order of deletions; can fail the first deleteData or writeManifest. */
class RecordingReplica implements Replica {
  readonly location: string;
  readonly log: string[] = [];
  failDeleteData = false;
  failWriteManifest = false;
  constructor(readonly inner: Replica) {
    this.location = inner.location;
  }
  listData(): Promise<string[]> { return this.inner.listData(); }
  putData(name: string, p: string): Promise<void> { return this.inner.putData(name, p); }
  getData(name: string, p: string): Promise<void> { return this.inner.getData(name, p); }
  async deleteData(name: string): Promise<void> {
    if (this.failDeleteData) {
      this.failDeleteData = false;
      throw new Error('injected: deleteData failed');
    }
    this.log.push(`data:${name}`);
    return this.inner.deleteData(name);
  }
  listManifests(): Promise<number[]> { return this.inner.listManifests(); }
  readManifest(v: number): Promise<Uint8Array | undefined> { return this.inner.readManifest(v); }
  async writeManifest(v: number, bytes: Uint8Array): Promise<void> {
    if (this.failWriteManifest) {
      this.failWriteManifest = false;
      throw new Error('injected: writeManifest failed');
    }
    return this.inner.writeManifest(v, bytes);
  }
  async deleteManifest(v: number): Promise<void> {
    this.log.push(`manifest:${v}`);
    return this.inner.deleteManifest(v);
  }
}

const KINDS: Array<{ name: string; make(root: string): () => Replica }> = [
  { name: 'dir', make: (root) => () => new DirReplica(`${root}/replica`) },
  {
    name: 's3',
    make: () => {
      const prefix = `ret-${n++}`;
      return () => new S3Replica({ bucket: BUCKET, prefix, ...srv.clientConfig() });
    },
  },
];

/** Every file named by a remaining manifest exists, and nothing else is in data/. */
async function expectExactFiles(r: Replica): Promise<void> {
  const need = new Set<string>();
  for (const v of await r.listManifests()) for (const f of (await decodeManifest((await r.readManifest(v))!, `m${v}`)).files) need.add(f.name);
  expect(new Set(await r.listData())).toEqual(need);
}

async function restoreFresh(cfg: EngineConfig, r: Replica, v: number): Promise<SnapStore> {
  const s = await open({ ...cfg.options, dir: `${tmpDir('ret-fresh')}/d`, replica: r } as OpenOptions);
  await s.restore(v);
  return s;
}

describe.each(ONE_PER_ENGINE)('retention: $label', (cfg) => {
  for (const kind of KINDS) {
    it(`${kind.name}: keepLast + pinned keep exactly those versions, each restorable, no stray files`, async () => {
      const root = tmpDir(`ret-${cfg.label}`);
      const mk = kind.make(root);
      const rec = new RecordingReplica(mk());
      const s = await open({ ...cfg.options, dir: `${root}/data`, replica: rec } as OpenOptions);
      const model: Model = new Map();
      const at = new Map<number, Model>();
      for (let v = 1; v <= 6; v++) {
        write(s, model, v);
        await s.snapshot(v);
        at.set(v, new Map(model));
      }
      const before = (await rec.listData()).length;
      const r = await s.retain({ keepLast: 2, pinned: [2, 42] });
      expect(r.kept).toEqual([2, 5, 6]);
      expect(r.deletedVersions).toEqual([1, 3, 4]);
      expect(await s.versions()).toEqual([2, 5, 6]);
      expect((await rec.listData()).length).toBe(before - r.deletedFiles.length);
      // Every manifest deletion precedes every data deletion.
      const lastManifest = Math.max(...rec.log.map((e, i) => (e.startsWith('manifest:') ? i : -1)));
      const firstData = rec.log.findIndex((e) => e.startsWith('data:'));
      if (firstData >= 0) expect(lastManifest).toBeLessThan(firstData);
      await expectExactFiles(rec);
      for (const v of [2, 5, 6]) {
        const t = await restoreFresh(cfg, mk(), v);
        expectState(t, at.get(v)!, `v${v}`);
        await t.close();
      }
      // The store goes on: the next snapshot is complete and restorable.
      write(s, model, 7);
      await s.snapshot(7);
      const t = await restoreFresh(cfg, mk(), 7);
      expectState(t, model, 'v7 after retention');
      await t.close();
      await s.close();
    });
  }

  it('the version the store stands on is kept; the retain open option runs after every snapshot', async () => {
    const root = tmpDir(`ret-opt-${cfg.label}`);
    const replica = new DirReplica(`${root}/replica`);
    const s = await open({ ...cfg.options, dir: `${root}/data`, replica, retain: { keepLast: 3 } } as OpenOptions);
    const model: Model = new Map();
    const at = new Map<number, Model>();
    for (let v = 1; v <= 6; v++) {
      write(s, model, v);
      const info = await s.snapshot(v * 10);
      at.set(v * 10, new Map(model));
      expect(info.retention?.kept.at(-1)).toBe(v * 10);
      expect(info.retentionError).toBeUndefined();
    }
    expect(await s.versions()).toEqual([40, 50, 60]);
    await s.restore(40);
    const r = await s.retain({ keepLast: 1 });
    expect(r.kept).toEqual([40, 60]);
    await expectExactFiles(replica);
    expectState(s, at.get(40)!, 'still at 40');
    const t = await restoreFresh(cfg, new DirReplica(`${root}/replica`), 40);
    expectState(t, at.get(40)!, 'fresh 40');
    await t.close();
    await s.close();
  });

  it('a failed run leaves every remaining version restorable; orphans of a failed snapshot are re-uploaded', async () => {
    const root = tmpDir(`ret-fail-${cfg.label}`);
    const rec = new RecordingReplica(new DirReplica(`${root}/replica`));
    const s = await open({ ...cfg.options, dir: `${root}/data`, replica: rec } as OpenOptions);
    const model: Model = new Map();
    const at = new Map<number, Model>();
    for (let v = 1; v <= 4; v++) {
      write(s, model, v);
      await s.snapshot(v);
      at.set(v, new Map(model));
    }
    rec.failDeleteData = true;
    await expect(s.retain({ keepLast: 1 })).rejects.toThrow(/deleteData failed/);
    for (const v of await s.versions()) {
      const t = await restoreFresh(cfg, new DirReplica(`${root}/replica`), v);
      expectState(t, at.get(v)!, `v${v} after failed retention`);
      await t.close();
    }
    // Snapshot 5 uploads its files but not its manifest; retention sweeps them as orphans; the
    // retry of 5 must upload them again rather than trust its stale view of the replica.
    write(s, model, 5);
    rec.failWriteManifest = true;
    await expect(s.snapshot(5)).rejects.toThrow(SnapshotError);
    await s.retain({ keepLast: 1 });
    await expectExactFiles(rec);
    await s.snapshot(5);
    const t = await restoreFresh(cfg, new DirReplica(`${root}/replica`), 5);
    expectState(t, model, 'v5 after orphan sweep and retry');
    await t.close();
    await s.close();
  });

  it('bad policies, no replica and overlapping calls are refused', async () => {
    const root = tmpDir(`ret-bad-${cfg.label}`);
    const s = await open({ ...cfg.options, dir: `${root}/data`, replica: new DirReplica(`${root}/replica`) } as OpenOptions);
    for (const bad of [undefined, null, {}, { keepLast: 0 }, { keepLast: 1.5 }, { keepLast: '2' }, { keepLast: 2, pinned: [-1] }, { keepLast: 2, pinned: 3 }]) {
      await expect(s.retain(bad as never), JSON.stringify(bad)).rejects.toThrow(InvalidArgumentError);
    }
    write(s, new Map(), 1);
    const snap = s.snapshot(1);
    await expect(s.retain({ keepLast: 1 })).rejects.toThrow(BusyError);
    await snap;
    const ret = s.retain({ keepLast: 1 });
    await expect(s.snapshot(2)).rejects.toThrow(BusyError);
    await ret;
    await s.close();
    const local = await open({ ...cfg.options, dir: `${root}/local` } as OpenOptions);
    await expect(local.retain({ keepLast: 1 })).rejects.toThrow(InvalidArgumentError);
    await local.close();
    await expect(open({ ...cfg.options, dir: `${root}/x`, retain: { keepLast: 1 } } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    await expect(open({ ...cfg.options, dir: `${root}/y`, replica: new DirReplica(`${root}/r2`), retain: { keepLast: 0 } } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
  });
});
