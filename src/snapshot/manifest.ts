// Why: a snapshot exists exactly when its manifest does, so the manifest is the one place that
// says what a version is: which immutable files, with which content hashes, under which engine
// parameters, descended from which version. It carries its own checksum so a damaged manifest is
// reported as corruption instead of being restored as a wrong state. Format: docs/FORMAT.md.

import { CorruptionError } from '../errors.js';
import { hashBytes } from './file-hash.js';

/** One immutable file of a version. */
export interface ManifestFile {
  /** File name, the same locally and under the replica's data/. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** xxh64 of the content, 16 hex digits. */
  hash: string;
}

/** What one snapshot version consists of. */
export interface Manifest {
  format: 1;
  /** The snapshot id. */
  version: number;
  /** The version this one was taken on top of (after a restore, the restored one), or null. */
  parent: number | null;
  /** Engine that wrote the files. */
  engine: string;
  /** Engine parameters in force when the snapshot was taken. */
  params: Record<string, unknown>;
  /** Every file needed to rebuild the state. */
  files: ManifestFile[];
  /** Engine-specific metadata needed to open the files (e.g. level assignment). */
  meta: Record<string, unknown>;
  /** Highest file generation any file of this store had used when the snapshot was taken. */
  maxGeneration: number;
  /** Wall-clock time of the snapshot, ISO 8601. */
  createdAt: string;
}

const TRAILER = '\n#xxh64:';

/** Serializes a manifest with a trailing checksum line. */
export async function encodeManifest(m: Manifest): Promise<Uint8Array> {
  const body = Buffer.from(JSON.stringify(m, null, 1));
  const sum = await hashBytes(body);
  return Buffer.concat([body, Buffer.from(`${TRAILER}${sum}\n`)]);
}

/** Parses and verifies a manifest; `name` is used in the error when it is damaged. */
export async function decodeManifest(bytes: Uint8Array, name: string): Promise<Manifest> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const at = text.lastIndexOf(TRAILER);
  if (at < 0) throw new CorruptionError(name, -1, 'manifest has no checksum trailer (truncated?)');
  const body = Buffer.from(text.slice(0, at));
  const sum = text.slice(at + TRAILER.length).trim();
  if (sum !== (await hashBytes(body))) throw new CorruptionError(name, -1, 'manifest checksum mismatch');
  let m: Manifest;
  try {
    m = JSON.parse(body.toString('utf8')) as Manifest;
  } catch (e) {
    throw new CorruptionError(name, -1, `manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (m.format !== 1 || !Array.isArray(m.files) || typeof m.version !== 'number') {
    throw new CorruptionError(name, -1, 'manifest has an unknown format');
  }
  return m;
}
