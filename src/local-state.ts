// Why: the one small mutable file of a data directory, CURRENT, says which immutable files make
// up the state, the next file generation, the last snapshot id and the hashes already computed.
// It is rewritten whole (temp + fsync + rename), so a crash leaves either the old or the new one.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from './errors.js';
import { writeFileAtomicSync } from './io.js';
import { xxh32 } from './xxh32.js';

/** Contents of CURRENT. */
export interface LocalStateData {
  format: 1;
  engine: string;
  params: Record<string, unknown>;
  files: string[];
  /** Local accelerator files (FileSet.optional): kept, not verified, not pushed. */
  optional?: string[];
  meta: Record<string, unknown>;
  nextGeneration: number;
  /** Id of the last snapshot taken or restored; the next snapshot id must exceed it. */
  lastSnapshotId: number | null;
  /** Files of the last versions snapshotted or restored, kept locally (rollbackCacheVersions). */
  recent?: Array<{ v: number; files: string[] }>;
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
  const at = text.lastIndexOf(TRAILER);
  if (at < 0) throw new CorruptionError(file, -1, 'local state has no checksum trailer (truncated?)');
  const body = text.slice(0, at);
  if (text.slice(at + TRAILER.length).trim() !== checksum(body)) throw new CorruptionError(file, -1, 'local state checksum mismatch');
  try {
    const d = JSON.parse(body) as LocalStateData;
    if (d.format !== 1 || !Array.isArray(d.files)) throw new Error('unknown format');
    d.digests ??= {};
    return d;
  } catch (e) {
    throw new CorruptionError(file, -1, `cannot parse local state: ${(e as Error).message}`);
  }
}

const TRAILER = '\n#xxh32:';

function checksum(body: string): string {
  return xxh32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0');
}

/** Writes CURRENT atomically and durably, with a checksum line so a damaged file is detected. */
export function writeLocalState(dir: string, data: LocalStateData): void {
  const body = JSON.stringify(data);
  writeFileAtomicSync(path.join(dir, CURRENT), `${body}${TRAILER}${checksum(body)}\n`);
}
