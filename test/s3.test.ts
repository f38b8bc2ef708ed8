// Why: the S3 replica must behave exactly like the directory replica against a real
// S3-compatible server (s3rver, started by the test on 127.0.0.1): byte-exact objects including
// streamed multipart uploads, paginated listings, one prefix per store in a shared bucket, and —
// for every engine — delta restore, rollback lineage, unknown versions and migration of a store
// into an empty directory on "another machine".

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  S3Replica,
  UnknownVersionError,
  open,
  type OpenOptions,
  type SnapStore,
} from '../src/index.js';
import { decodeManifest } from '../src/snapshot/manifest.js';
import { ENGINE_CONFIGS } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { useS3Server } from './helpers/s3-server.js';
import { tmpDir } from './helpers/tmp.js';

const BUCKET = 'snapkv-s3-test';
const srv = useS3Server(BUCKET);
let prefixN = 0;

function s3(prefix = `store-${prefixN++}`, extra: Record<string, unknown> = {}): S3Replica {
  return new S3Replica({ bucket: BUCKET, prefix, ...srv.clientConfig(), ...extra });
}

type Model = Map<string, string>;

function write(s: SnapStore, model: Model, from: number, count: number, seed: number): void {
  for (let i = from; i < from + count; i++) {
    const k = `k${i % 150}`;
    if (i % 11 === 0) {
      s.delete(b(k));
      model.delete(k);
    } else {
      const v = pattern(1 + ((i * seed) % 60), i * 31 + seed);
      s.set(b(k), v);
      model.set(k, hex(v));
    }
  }
}

function expectState(s: SnapStore, model: Model, label: string): void {
  for (let i = 0; i < 150; i++) {
    const v = s.get(b(`k${i}`));
    expect(v === undefined ? undefined : hex(v), `${label}: k${i}`).toBe(model.get(`k${i}`));
  }
}

describe('S3Replica', () => {
  it('round-trips objects; a 6 MiB file goes up as a streamed multipart upload, byte-exact', async () => {
    const dir = tmpDir('s3-objects');
    const r = s3(undefined, { multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 });
    const big = Buffer.from(pattern(6 * 1024 * 1024 + 1234, 9));
    const small = Buffer.from(pattern(100_000, 3));
    fs.writeFileSync(`${dir}/big`, big);
    fs.writeFileSync(`${dir}/small`, small);
    await r.putData('big.g000000000001.run', `${dir}/big`);
    await r.putData('small.g000000000002.run', `${dir}/small`);
    await r.getData('big.g000000000001.run', `${dir}/big2`);
    await r.getData('small.g000000000002.run', `${dir}/small2`);
    expect(Buffer.compare(fs.readFileSync(`${dir}/big2`), big)).toBe(0);
    expect(fs.statSync(`${dir}/small2`).size).toBe(100_000);
    expect(Buffer.compare(fs.readFileSync(`${dir}/small2`), small)).toBe(0);
    expect((await r.listData()).sort()).toEqual(['big.g000000000001.run', 'small.g000000000002.run']);
    await expect(r.getData('missing.g000000000009.run', `${dir}/x`)).rejects.toThrow();
    await r.deleteData('big.g000000000001.run');
    await r.deleteData('never-existed.g000000000003.run');
    expect(await r.listData()).toEqual(['small.g000000000002.run']);
    expect(await r.readManifest(4)).toBeUndefined();
    await r.writeManifest(4, b('four'));
    await r.writeManifest(12, b('twelve'));
    expect(await r.listManifests()).toEqual([4, 12]);
    expect(Buffer.from(await r.readManifest(12) as Uint8Array).toString()).toBe('twelve');
    await r.deleteManifest(4);
    expect(await r.listManifests()).toEqual([12]);
    r.destroy();
  });

  it('listing follows continuation tokens (page size 2 over 7 objects and 5 manifests)', async () => {
    const dir = tmpDir('s3-pages');
    fs.writeFileSync(`${dir}/f`, 'x');
    const r = s3(undefined, { listPageSize: 2 });
    const names = Array.from({ length: 7 }, (_, i) => `f.g${String(i).padStart(12, '0')}.run`);
    for (const n of names) await r.putData(n, `${dir}/f`);
    for (const v of [3, 1, 20, 100, 7]) await r.writeManifest(v, b(`m${v}`));
    expect((await r.listData()).sort()).toEqual(names);
    expect(await r.listManifests()).toEqual([1, 3, 7, 20, 100]);
    r.destroy();
  });

  it('passes S3 client options through and validates its own', async () => {
    const r = new S3Replica({ bucket: BUCKET, prefix: '/a/b/', endpoint: srv.endpoint, forcePathStyle: true, region: 'eu-west-1', requestChecksumCalculation: 'WHEN_REQUIRED', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    expect(r.location).toBe(`s3://${BUCKET}/a/b`);
    expect(r.prefix).toBe('a/b/');
    expect(await r.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    expect(await r.client.config.region()).toBe('eu-west-1');
    r.destroy();
    const viaConfig = new S3Replica({ bucket: BUCKET, clientConfig: { region: 'ap-south-1' } });
    expect(await viaConfig.client.config.region()).toBe('ap-south-1');
    viaConfig.destroy();
    expect(() => new S3Replica({ bucket: 'ab' })).toThrow(InvalidArgumentError);
    expect(() => new S3Replica({ bucket: BUCKET, partSizeBytes: 1024 })).toThrow(InvalidArgumentError);
    expect(() => new S3Replica({ bucket: BUCKET, listPageSize: 5000 })).toThrow(InvalidArgumentError);
    expect(() => new S3Replica(null as unknown as { bucket: string })).toThrow(InvalidArgumentError);
  });

  it('many stores share one bucket, one prefix each (including nested and look-alike prefixes)', async () => {
    const root = tmpDir('s3-shared');
    const prefixes = ['team/w1', 'team/w1x', 'team/w1/nested', 'team/w2'];
    const models: Model[] = [];
    for (const [i, p] of prefixes.entries()) {
      const s = await open({ engine: 'memonly', dir: `${root}/d${i}`, replica: s3(p) });
      const m: Model = new Map();
      write(s, m, 0, 100 + i * 7, i + 2);
      await s.snapshot(1 + i);
      await s.snapshot(10 + i);
      await s.close();
      models.push(m);
    }
    for (const [i, p] of prefixes.entries()) {
      const r = s3(p);
      expect(await r.listManifests(), p).toEqual([1 + i, 10 + i]);
      const s = await open({ engine: 'memonly', dir: `${root}/fresh${i}`, replica: r });
      expectState(s, models[i]!, p);
      await s.close();
    }
  });
});

describe.each(ENGINE_CONFIGS)('S3 snapshots: $label', (cfg) => {
  const opts = (dir: string, replica: S3Replica): OpenOptions => ({ ...cfg.options, dir, replica } as OpenOptions);

  it('delta restore, lineage (a branch replaces abandoned ids), unknown versions, migration', async () => {
    const root = tmpDir(`s3-${cfg.label}`);
    const prefix = `lineage-${cfg.label}-${prefixN++}`;
    const replica = s3(prefix);
    const s = await open(opts(`${root}/a`, replica));
    const model: Model = new Map();
    const at = new Map<number, Model>();
    write(s, model, 0, 400, 3);
    await s.snapshot(1);
    at.set(1, new Map(model));
    write(s, model, 400, 300, 5);
    await s.snapshot(2);
    at.set(2, new Map(model));
    write(s, model, 700, 300, 7);
    const i3 = await s.snapshot(3);
    at.set(3, new Map(model));
    expect(i3.parent).toBe(2);
    expect(await s.versions()).toEqual([1, 2, 3]);

    // Restoring the version the local files already hold downloads nothing.
    const pulled0 = s.stats().bytesPulled;
    await s.restore(3);
    expect(s.stats().bytesPulled).toBe(pulled0);
    expectState(s, at.get(3)!, 'restore(3)');

    // An unknown version throws and changes nothing, including unsnapshotted sets.
    s.set(b('k1'), b('unsnapshotted'));
    await expect(s.restore(99)).rejects.toThrow(UnknownVersionError);
    expect(hex(s.get(b('k1'))!)).toBe(hex(b('unsnapshotted')));

    // Roll back to 1, branch: id 2 is reused and replaces the abandoned manifest.
    await s.restore(1);
    expectState(s, at.get(1)!, 'restore(1)');
    const branch = new Map(at.get(1)!);
    write(s, branch, 2000, 200, 11);
    const i2 = await s.snapshot(2);
    expect(i2.parent).toBe(1);
    const m2 = await decodeManifest((await replica.readManifest(2))!, 'manifest 2');
    expect(m2.parent).toBe(1);
    expect(m2.engine).toBe(cfg.options.engine);
    expect(m2.files.every((f) => typeof f.size === 'number' && /^[0-9a-f]{16}$/.test(f.hash))).toBe(true);
    expect(await s.versions()).toEqual([1, 2, 3]);
    // The abandoned 3 is still restorable as it was; the new 2 is the branch.
    await s.restore(3);
    expectState(s, at.get(3)!, 'abandoned 3');
    await s.restore(2);
    expectState(s, branch, 'branch 2');
    write(s, branch, 3000, 150, 13);
    await s.snapshot(4);
    await s.close();

    // Migration: an empty directory elsewhere, same bucket and prefix, a new client.
    const other = s3(prefix);
    const t = await open(opts(path.join(tmpDir(`s3-other-${cfg.label}`), 'worker'), other));
    expectState(t, branch, 'migrated');
    expect(t.stats().bytesPulled).toBeGreaterThan(0);
    await t.restore(1);
    expectState(t, at.get(1)!, 'migrated then restore(1)');
    await t.close();
    replica.destroy();
    other.destroy();
  });

  it('rollbackCacheVersions keeps the files of recent versions: rolling back among them downloads nothing', async () => {
    const root = tmpDir(`s3-cache-${cfg.label}`);
    const replica = s3(`cache-${cfg.label}-${prefixN++}`);
    const s = await open({ ...opts(`${root}/a`, replica), rollbackCacheVersions: 4 } as OpenOptions);
    const model: Model = new Map();
    const at = new Map<number, Model>();
    for (let v = 1; v <= 6; v++) {
      write(s, model, v * 500, 500, v + 2);
      await s.snapshot(v);
      at.set(v, new Map(model));
    }
    await s.close();
    // Reopening keeps the cache (it is recorded in CURRENT): versions 3..6 need no download.
    const t = await open({ ...opts(`${root}/a`, replica), rollbackCacheVersions: 4 } as OpenOptions);
    for (const v of [3, 6, 4, 5]) {
      await t.restore(v);
      expectState(t, at.get(v)!, `cached ${v}`);
    }
    expect(t.stats().bytesPulled).toBe(0);
    await t.close();
    await expect(open({ ...opts(`${root}/b`, replica), rollbackCacheVersions: -1 } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    replica.destroy();
  });
});
