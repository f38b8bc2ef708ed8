// Why: the one small mutable file of a data directory, CURRENT, says which immutable files make
// up the state, the next file generation, the last snapshot id and the hashes already computed.
// It is rewritten whole (temp + fsync + rename), so a crash leaves either the old or the new one.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from './errors.js';
import { writeFileAtomicSync } from './io.js';

/** Contents of CURRENT. */
export interface LocalStateData {
  format: 1;
  engine: string;
  params: Record<string, unknown>;
  files: string[];
  meta: Record<string, unknown>;
  nextGeneration: number;
  /** Id of the last snapshot taken or restored; the next snapshot id must exceed it. */
  lastSnapshotId: number | null;
  /** Cached size/xxh64 of immutable files, so they are hashed once. */
  digests: Record<string, [number, string]>;
}

/** File name of the local state. */
export const CURRENT = 'CURRENT';

/** Reads CURRENT, or returns undefined when the directory has none. */
export function readLocalState(dir: string): LocalStateData | undefined {
  const file = path.join(dir, CURRENT);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const d = JSON.parse(text) as LocalStateData;
    if (d.format !== 1 || !Array.isArray(d.files)) throw new Error('unknown format');
    d.digests ??= {};
    return d;
  } catch (e) {
    throw new CorruptionError(file, -1, `cannot parse local state: ${(e as Error).message}`);
  }
}

/** Writes CURRENT atomically and durably. */
export function writeLocalState(dir: string, data: LocalStateData): void {
  writeFileAtomicSync(path.join(dir, CURRENT), JSON.stringify(data));
}
