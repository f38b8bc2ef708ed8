// Why: the runner measures engines, baselines and peers through one small interface, so every
// system sees the identical operation stream and the numbers are comparable within one run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyString } from '../src/key-string.js';
import { DirReplica, engineNames, open, type OpenOptions, type SnapStore } from '../src/index.js';
import { levelSystem, lmdbSystem } from './peers.js';

/** What one snapshot of a system cost. */
export interface SnapshotFigures {
  seconds: number;
  /** Bytes copied to the replica (or the backup) by this snapshot. */
  bytes: number;
}

/** A system under test: a key-value map with synchronous point operations. */
export interface System {
  readonly name: string;
  set(key: Uint8Array, value: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  /** Waits until every write accepted so far is readable (systems that apply writes asynchronously). */
  settle?(): Promise<void>;
  /** Bytes on disk, or 0 for in-memory systems. */
  diskBytes(): number;
  /** The engine's own memory figure (stats().memoryBytes), or 0 where there is none. */
  memoryBytes(): number;
  /** Takes a snapshot (to a temp replica); absent for systems without one. */
  snapshot?(id: number): Promise<SnapshotFigures>;
  close(): Promise<void>;
}

/** Makes a fresh, empty system of one kind. */
export type SystemFactory = () => Promise<System>;

/** Total size of the files under `dir` (0 if it does not exist). */
export function dirBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else {
      try {
        total += fs.statSync(p).size;
      } catch { /* removed meanwhile */ }
    }
  }
  return total;
}

/** The in-memory limit: a Map keyed by strings of the key bytes (fastest conversion, see key-string.ts). */
export function mapBaseline(): SystemFactory {
  return async () => {
    const m = new Map<string, Uint8Array>();
    return {
      name: 'Map',
      set(k, v) {
        const s = keyString(k);
        if (v.length === 0) m.delete(s);
        else m.set(s, v);
      },
      get: (k) => m.get(keyString(k)),
      diskBytes: () => 0,
      memoryBytes: () => 0,
      close: async () => m.clear(),
    };
  };
}

/** A snapkv engine in a fresh temp directory with a temp DirReplica (both removed on close). */
export function engineSystem(engine: string, params: Record<string, unknown> = {}, label = engine): SystemFactory {
  return async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-bench-${engine}-`));
    const dir = path.join(root, 'data');
    const replica = new DirReplica(path.join(root, 'replica'));
    const store: SnapStore = await open({ engine, dir, replica, ...params } as OpenOptions);
    return {
      name: label,
      set: (k, v) => store.set(k, v),
      get: (k) => store.get(k),
      diskBytes: () => store.stats().diskBytes,
      memoryBytes: () => store.stats().memoryBytes,
      async snapshot(id) {
        const info = await store.snapshot(id);
        return { seconds: info.seconds, bytes: info.bytesPushed };
      },
      async close() {
        await store.close();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  };
}

/** Names of the baselines and peers that run next to the engines. */
export const BASELINES = ['Map', 'lmdb', 'classic-level'] as const;

/**
 * Every registered engine at default parameters (engines added to src/index.ts join
 * automatically), the Map baseline and the two peers; `only` filters by name.
 */
export function defaultSystems(only?: string[]): Array<[string, SystemFactory]> {
  const out: Array<[string, SystemFactory]> = [['Map', mapBaseline()]];
  for (const e of engineNames()) out.push([e, engineSystem(e)]);
  out.push(['lmdb', lmdbSystem()], ['classic-level', levelSystem()]);
  if (!only) return out;
  const unknown = only.filter((n) => !out.some(([m]) => m === n));
  if (unknown.length > 0) process.stderr.write(`note: ${unknown.join(', ')} not registered here, skipped (known: ${out.map(([n]) => n).join(', ')})\n`);
  return out.filter(([n]) => only.includes(n));
}
