// Why: incremental snapshots keep every file any version ever had, so a replica grows without
// bound unless old versions are dropped. Dropping is only safe in this order: decide what to keep,
// read every kept manifest (if one cannot be read, stop: we cannot know what it needs), delete the
// other manifests, and only then delete data files no kept manifest names. A crash at any point
// leaves at worst unreferenced data files (removed by the next run), never a manifest that points
// at a deleted file. The store runs this only while no snapshot of its own is uploading.

import { InvalidArgumentError } from '../errors.js';
import { mapLimit } from './parallel.js';
import type { Replica } from './replica.js';
import type { Manifest } from './manifest.js';

/** Which versions retain() keeps. */
export interface RetentionPolicy {
  /** Keep the `keepLast` highest version ids (≥ 1). */
  keepLast: number;
  /** Also keep these versions (ids that do not exist are ignored). */
  pinned?: readonly number[];
}

/** What retain() did. */
export interface RetentionResult {
  /** Versions kept, ascending. */
  kept: number[];
  /** Manifests deleted, ascending. */
  deletedVersions: number[];
  /** Data files deleted. */
  deletedFiles: string[];
}

/** Validates a retention policy (throws InvalidArgumentError) and returns a normalized copy. */
export function checkRetentionPolicy(p: unknown, what = 'retention policy'): RetentionPolicy {
  if (typeof p !== 'object' || p === null) throw new InvalidArgumentError(`${what} must be an object { keepLast, pinned? }`);
  const { keepLast, pinned } = p as { keepLast?: unknown; pinned?: unknown };
  if (!Number.isSafeInteger(keepLast) || (keepLast as number) < 1) {
    throw new InvalidArgumentError(`${what}: keepLast must be an integer >= 1, got ${String(keepLast)}`);
  }
  if (pinned !== undefined && (!Array.isArray(pinned) || !pinned.every((v) => Number.isSafeInteger(v) && v >= 0))) {
    throw new InvalidArgumentError(`${what}: pinned must be an array of version ids (non-negative integers)`);
  }
  return { keepLast: keepLast as number, pinned: pinned ? [...(pinned as number[])] : [] };
}

/** The versions a policy keeps out of `versions` (ascending), plus `alsoKeep` where they exist. */
export function selectKept(versions: readonly number[], policy: RetentionPolicy, alsoKeep: readonly number[] = []): Set<number> {
  const exists = new Set(versions);
  const kept = new Set(versions.slice(-policy.keepLast));
  for (const v of [...(policy.pinned ?? []), ...alsoKeep]) if (exists.has(v)) kept.add(v);
  return kept;
}

/**
 * Applies `policy` to `replica`. `readManifest` must verify the manifest (checksum, decryption):
 * any failure aborts before anything is deleted. `alsoKeep` protects e.g. the store's current version.
 */
export async function applyRetention(
  replica: Replica,
  policy: RetentionPolicy,
  readManifest: (v: number) => Promise<Manifest>,
  alsoKeep: readonly number[],
  parallelism: number,
): Promise<RetentionResult> {
  const versions = await replica.listManifests();
  const kept = selectKept(versions, policy, alsoKeep);
  const referenced = new Set<string>();
  for (const m of await mapLimit([...kept], parallelism, readManifest)) for (const f of m.files) referenced.add(f.name);
  const deletedVersions = versions.filter((v) => !kept.has(v));
  // Manifests first: from here on no version refers to a file we are about to delete.
  await mapLimit(deletedVersions, parallelism, (v) => replica.deleteManifest(v));
  const deletedFiles = (await replica.listData()).filter((n) => !referenced.has(n)).sort();
  await mapLimit(deletedFiles, parallelism, (n) => replica.deleteData(n));
  return { kept: [...kept].sort((a, b) => a - b), deletedVersions, deletedFiles };
}
