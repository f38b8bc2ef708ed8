// Why: the runner measures engines and baselines through one small interface, so every system
// sees the identical operation stream and the numbers are comparable within one run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyString } from '../src/key-string.js';
import { engineNames, open, type OpenOptions, type SnapStore } from '../src/index.js';

/** A system under test: a key-value map with synchronous point operations. */
export interface System {
  readonly name: string;
  set(key: Uint8Array, value: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  /** Bytes on disk, or 0 for in-memory systems. */
  diskBytes(): number;
  /** The engine's own memory figure, or 0 where there is none. */
  memoryBytes(): number;
  close(): Promise<void>;
}

/** Makes a fresh, empty system of one kind. */
export type SystemFactory = () => Promise<System>;

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

/** A snapkv engine in a fresh temp directory (removed on close). */
export function engineSystem(engine: string, params: Record<string, unknown> = {}, label = engine): SystemFactory {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `snapkv-bench-${engine}-`));
    const store: SnapStore = await open({ engine, dir, ...params } as OpenOptions);
    return {
      name: label,
      set: (k, v) => store.set(k, v),
      get: (k) => store.get(k),
      diskBytes: () => store.stats().diskBytes,
      memoryBytes: () => store.stats().memoryBytes,
      async close() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

/** Every registered engine at default parameters, plus the Map baseline. */
export function defaultSystems(only?: string[]): Array<[string, SystemFactory]> {
  const out: Array<[string, SystemFactory]> = [['Map', mapBaseline()]];
  for (const e of engineNames()) out.push([e, engineSystem(e)]);
  return only ? out.filter(([n]) => only.includes(n)) : out;
}
