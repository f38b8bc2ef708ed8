// Why: bytes rot and files vanish. For every engine, flip a byte in, truncate, or delete each local
// file (data, hint/index, CURRENT), each manifest and each replica object; every case must end in
// the correct answer (e.g. a rebuilt hint, a re-download) or a CorruptionError naming the file —
// never wrong data, never another kind of crash.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError, DirReplica, RestoreError, SnapKVError, open, type OpenOptions } from '../src/index.js';
import { ENGINE_CONFIGS, type EngineConfig } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

const KEYS = 300;
type Damage = 'flip' | 'truncate' | 'delete';

async function build(cfg: EngineConfig, root: string): Promise<Map<string, string>> {
  const s = await open({ ...cfg.options, dir: `${root}/data`, replica: new DirReplica(`${root}/replica`) } as OpenOptions);
  const model = new Map<string, string>();
  for (let i = 0; i < 1200; i++) {
    const k = `key-${(i * 37) % KEYS}`;
    if (i % 13 === 0) {
      s.delete(b(k));
      model.delete(k);
    } else {
      const v = pattern(1 + (i % 90), i + 5);
      s.set(b(k), v);
      model.set(k, hex(v));
    }
    if (i === 600) await s.snapshot(1);
  }
  await s.snapshot(2);
  await s.close();
  return model;
}

function damage(file: string, how: Damage, seed: number): void {
  if (how === 'delete') return fs.rmSync(file);
  const buf = fs.readFileSync(file);
  if (how === 'truncate') return fs.writeFileSync(file, buf.subarray(0, Math.floor(buf.length * (0.3 + (seed % 5) / 10))));
  const at = Math.floor(buf.length * ((seed % 7) + 1) / 9);
  buf[at]! ^= 0x5a;
  fs.writeFileSync(file, buf);
}

/** Reads every key: each must be right, or the read must throw CorruptionError. Returns #errors. */
function verify(get: (k: Uint8Array) => Uint8Array | undefined, model: Map<string, string>): number {
  let errors = 0;
  for (let i = 0; i < KEYS; i++) {
    const k = `key-${i}`;
    try {
      const v = get(b(k));
      expect(v === undefined ? undefined : hex(v), `${k} returned wrong data`).toBe(model.get(k));
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      errors++;
    }
  }
  return errors;
}

function expectNamed(e: unknown, file: string): void {
  const err = (e instanceof RestoreError && e.cause instanceof CorruptionError) ? e.cause : e;
  expect(err, `expected CorruptionError, got ${String(e)}`).toBeInstanceOf(CorruptionError);
  expect((err as CorruptionError).message).toContain(path.basename(file));
}

describe.each(ENGINE_CONFIGS.filter((c) => c.crash))('corruption: $label', (cfg) => {
  it('damaged local files: correct answers or CorruptionError naming the file', async () => {
    const base = tmpDir(`corrupt-local-${cfg.label}`);
    const proto = `${base}/proto`;
    const model = await build(cfg, proto);
    const files = fs.readdirSync(`${proto}/data`).filter((n) => n !== 'LOCK');
    expect(files.length).toBeGreaterThan(1);
    let seed = 0;
    for (const name of files) {
      for (const how of ['flip', 'truncate', 'delete'] as Damage[]) {
        const root = `${base}/case-${seed++}`;
        fs.cpSync(proto, root, { recursive: true });
        damage(`${root}/data/${name}`, how, seed);
        let s;
        try {
          s = await open({ ...cfg.options, dir: `${root}/data` } as OpenOptions);
        } catch (e) {
          expectNamed(e, name);
          continue;
        }
        try {
          try { verify((k) => s.get(k), model); } catch (e) { throw new Error(`${how} ${name}: ${(e as Error).message}`); }
        } finally {
          await s.close();
        }
        // Opening with the replica always recovers the exact snapshot state.
        const r = await open({ ...cfg.options, dir: `${root}/data`, replica: new DirReplica(`${root}/replica`) } as OpenOptions);
        expect(verify((k) => r.get(k), model), `${how} ${name}: replica restore left errors`).toBe(0);
        await r.close();
      }
    }
  }, 300_000);

  it('damaged replica objects and manifests: restore fails naming the object, local state untouched', async () => {
    const base = tmpDir(`corrupt-replica-${cfg.label}`);
    const proto = `${base}/proto`;
    const model = await build(cfg, proto);
    const objects = [
      ...fs.readdirSync(`${proto}/replica/data`).map((n) => `data/${n}`),
      ...fs.readdirSync(`${proto}/replica/manifests`).map((n) => `manifests/${n}`),
    ];
    let seed = 0;
    for (const obj of objects) {
      for (const how of ['flip', 'truncate'] as Damage[]) {
        const root = `${base}/case-${seed++}`;
        fs.cpSync(proto, root, { recursive: true });
        damage(`${root}/replica/${obj}`, how, seed);
        const replica = new DirReplica(`${root}/replica`);
        // Into an empty directory: everything must be downloaded and verified.
        try {
          const s = await open({ ...cfg.options, dir: `${root}/fresh`, replica } as OpenOptions);
          expect(verify((k) => s.get(k), model)).toBe(0);
          await s.close();
        } catch (e) {
          if (!(e instanceof SnapKVError)) throw e;
          expectNamed(e, obj);
        }
        // Into the original directory with the local state: a failed restore changes nothing.
        const s = await open({ ...cfg.options, dir: `${root}/data` } as OpenOptions);
        await s.close();
        const t = await open({ ...cfg.options, dir: `${root}/data`, replica } as OpenOptions).catch((e: unknown) => e);
        if (t instanceof Error) {
          expectNamed(t, obj);
          const l = await open({ ...cfg.options, dir: `${root}/data` } as OpenOptions);
          expect(verify((k) => l.get(k), model)).toBe(0);
          await l.close();
        } else {
          const st = t as Awaited<ReturnType<typeof open>>;
          expect(verify((k) => st.get(k), model)).toBe(0);
          await st.close();
        }
      }
    }
  }, 300_000);
});
