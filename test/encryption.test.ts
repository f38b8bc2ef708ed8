// Why: with `encryption: { key }` nothing readable may reach the replica, the right key must give
// back exactly the snapshot state (with delta restores still skipping good local files), and a
// wrong key, a missing key or a tampered object must fail with a CorruptionError that says so —
// never return garbage. Runs for every engine on a directory and on s3rver.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import {
  CorruptionError,
  DirReplica,
  EncryptedReplica,
  InvalidArgumentError,
  S3Replica,
  open,
  type OpenOptions,
  type Replica,
  type SnapStore,
} from '../src/index.js';
import { ENCRYPTION_OVERHEAD } from '../src/snapshot/encryption.js';
import { decodeManifest } from '../src/snapshot/manifest.js';
import { type EngineConfig, ONE_PER_ENGINE } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { useS3Server } from './helpers/s3-server.js';
import { tmpDir } from './helpers/tmp.js';

const BUCKET = 'snapkv-encryption';
const srv = useS3Server(BUCKET);
let n = 0;
const KEY = crypto.randomBytes(32);
const OTHER_KEY = crypto.randomBytes(32);
const MARKER = Buffer.from('PLAINTEXT-MARKER-0123456789abcdef');

type Model = Map<string, string>;
const KEYS = 100;

function write(s: SnapStore, model: Model, round: number): void {
  for (let i = 0; i < 150; i++) {
    const k = `k${(i * 3 + round) % KEYS}`;
    const v = i % 10 === 0 ? MARKER : pattern(1 + ((i + round) % 50), round * 997 + i);
    s.set(b(k), v);
    model.set(k, hex(v));
  }
}

function expectState(s: SnapStore, model: Model, label: string): void {
  for (let i = 0; i < KEYS; i++) {
    const v = s.get(b(`k${i}`));
    expect(v === undefined ? undefined : hex(v), `${label}: k${i}`).toBe(model.get(`k${i}`));
  }
}

const KINDS: Array<{ name: string; make(root: string): () => Replica }> = [
  { name: 'dir', make: (root) => () => new DirReplica(`${root}/replica`) },
  {
    name: 's3',
    make: () => {
      const prefix = `enc-${n++}`;
      return () => new S3Replica({ bucket: BUCKET, prefix, ...srv.clientConfig() });
    },
  },
];

/** Raw bytes of every object in the replica (data and manifests), undecrypted. */
async function rawObjects(r: Replica): Promise<Buffer[]> {
  const dir = tmpDir('enc-raw');
  const out: Buffer[] = [];
  for (const name of await r.listData()) {
    await r.getData(name, path.join(dir, name));
    out.push(fs.readFileSync(path.join(dir, name)));
  }
  for (const v of await r.listManifests()) out.push(Buffer.from((await r.readManifest(v))!));
  return out;
}

const freshOpen = (cfg: EngineConfig, replica: Replica, extra: Record<string, unknown> = {}): Promise<SnapStore> =>
  open({ ...cfg.options, dir: `${tmpDir('enc-fresh')}/d`, replica, ...extra } as OpenOptions);

describe.each(ONE_PER_ENGINE)('encryption: $label', (cfg) => {
  for (const kind of KINDS) {
    it(`${kind.name}: ciphertext only in the replica; right key restores exactly; wrong or no key fails clearly`, async () => {
      const root = tmpDir(`enc-${cfg.label}`);
      const mk = kind.make(root);
      const s = await open({ ...cfg.options, dir: `${root}/data`, replica: mk(), encryption: { key: KEY } } as OpenOptions);
      const model: Model = new Map();
      write(s, model, 1);
      await s.snapshot(1);
      const v1 = new Map(model);
      write(s, model, 2);
      const i2 = await s.snapshot(2);

      // Nothing readable in the replica: no value bytes, no manifest JSON.
      const raw = await rawObjects(mk());
      expect(raw.length).toBeGreaterThan(2);
      for (const obj of raw) {
        expect(obj.includes(MARKER)).toBe(false);
        expect(obj.includes(Buffer.from('"engine"'))).toBe(false);
        expect(obj.subarray(0, 4).toString()).toBe('SKVE');
      }
      // Sizes in SnapshotInfo are plaintext sizes.
      expect(i2.totalBytes).toBeGreaterThan(0);

      // Delta restore: the local files match the plaintext hashes, nothing is downloaded.
      const pulled = s.stats().bytesPulled;
      await s.restore(2);
      expect(s.stats().bytesPulled).toBe(pulled);
      await s.restore(1);
      expectState(s, v1, 'restore(1)');
      await s.close();

      // The right key on another machine.
      const t = await freshOpen(cfg, mk(), { encryption: { key: KEY } });
      expectState(t, model, 'fresh with key');
      await t.close();

      // A wrong key: a CorruptionError that names the object and says the key may be wrong.
      const bad = await freshOpen(cfg, mk(), { encryption: { key: OTHER_KEY } }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(CorruptionError);
      expect((bad as Error).message).toMatch(/wrong encryption key/);
      expect((bad as CorruptionError).file).toMatch(/manifests\/2\.manifest$/);

      // No key at all: the manifest does not parse as one — corruption, not a wrong state.
      const none = await freshOpen(cfg, mk()).catch((e: unknown) => e);
      expect(none).toBeInstanceOf(CorruptionError);
    });
  }

  it('a tampered data object, or an object moved to another name, fails decryption naming it', async () => {
    const root = tmpDir(`enc-tamper-${cfg.label}`);
    const srvPrefix = `enc-tamper-${n++}`;
    const mk = (): S3Replica => new S3Replica({ bucket: BUCKET, prefix: srvPrefix, ...srv.clientConfig() });
    const s = await open({ ...cfg.options, dir: `${root}/data`, replica: mk(), encryption: { key: KEY } } as OpenOptions);
    write(s, new Map(), 1);
    await s.snapshot(1);
    write(s, new Map(), 2);
    await s.snapshot(2);
    await s.close();
    const r = mk();
    // A file the latest version needs (so the fresh open must download it), and any other object.
    const m2 = await decodeManifest((await new EncryptedReplica(r, { key: KEY }).readManifest(2))!, 'm2');
    const victim = m2.files[0]!.name;
    const names = [victim, (await r.listData()).find((x) => x !== victim)!];
    expect(names[1]).toBeDefined();
    const tmp = tmpDir('enc-obj');
    await r.getData(names[0]!, `${tmp}/a`);
    await r.getData(names[1]!, `${tmp}/b`);
    const a = fs.readFileSync(`${tmp}/a`);
    const put = (name: string, body: Buffer): Promise<unknown> => r.client.send(new PutObjectCommand({ Bucket: r.bucket, Key: `${r.prefix}data/${name}`, Body: body }));

    // One flipped ciphertext bit.
    const flipped = Buffer.from(a);
    flipped[Math.min(flipped.length - 1, ENCRYPTION_OVERHEAD)]! ^= 1;
    await put(names[0]!, flipped);
    const e1 = await freshOpen(cfg, mk(), { encryption: { key: KEY } }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(CorruptionError);
    expect((e1 as CorruptionError).file).toContain(`data/${names[0]}`);
    expect((e1 as Error).message).toMatch(/wrong encryption key, or the object is damaged/);

    // A valid ciphertext under the wrong name (swapped objects): the name is authenticated too.
    await put(names[0]!, fs.readFileSync(`${tmp}/b`));
    const e2 = await freshOpen(cfg, mk(), { encryption: { key: KEY } }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(CorruptionError);
    expect((e2 as CorruptionError).file).toContain(`data/${names[0]}`);
    r.destroy();
  });
});

describe('encryption options', () => {
  it('rejects bad keys and encryption without a replica', async () => {
    const root = tmpDir('enc-bad');
    const replica = new DirReplica(`${root}/replica`);
    for (const key of [undefined, 'x'.repeat(32), crypto.randomBytes(16), crypto.randomBytes(33)]) {
      await expect(open({ engine: 'memonly', dir: `${root}/d`, replica, encryption: { key } } as unknown as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    }
    await expect(open({ engine: 'memonly', dir: `${root}/d`, encryption: { key: KEY } } as OpenOptions)).rejects.toThrow(InvalidArgumentError);
    expect(() => new EncryptedReplica(replica, { key: crypto.randomBytes(31) })).toThrow(InvalidArgumentError);
  });

  it('EncryptedReplica round-trips empty and multi-megabyte files', async () => {
    const dir = tmpDir('enc-rt');
    const r = new EncryptedReplica(new DirReplica(`${dir}/replica`), { key: KEY });
    const big = Buffer.from(pattern(3 * 1024 * 1024 + 17, 5));
    fs.writeFileSync(`${dir}/empty`, '');
    fs.writeFileSync(`${dir}/big`, big);
    await r.putData('e.g000000000001.x', `${dir}/empty`);
    await r.putData('b.g000000000002.x', `${dir}/big`);
    expect(fs.statSync(`${dir}/replica/data/e.g000000000001.x`).size).toBe(ENCRYPTION_OVERHEAD);
    await r.getData('e.g000000000001.x', `${dir}/e2`);
    await r.getData('b.g000000000002.x', `${dir}/b2`);
    expect(fs.readFileSync(`${dir}/e2`).length).toBe(0);
    expect(Buffer.compare(fs.readFileSync(`${dir}/b2`), big)).toBe(0);
    // No temp files are left next to the sources or in the replica.
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readdirSync(`${dir}/replica/data`).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
