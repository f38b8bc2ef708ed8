// Why: the meaning of a snapshot, independent of engine and replica. Push: upload the sealed files
// the replica lacks (a set difference of immutable names), then the manifest, last — a snapshot
// exists only once its manifest does. Pull: fetch only files missing or different locally, verify
// every hash into a temp name, and only then move them into place, so a failed restore leaves the
// local state as it was.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError, UnknownVersionError } from '../errors.js';
import { generationOf } from '../file-names.js';
import { type FileDigest, hashFile } from './file-hash.js';
import { type Manifest, type ManifestFile, decodeManifest, encodeManifest } from './manifest.js';
import { mapLimit } from './parallel.js';
import type { Replica } from './replica.js';
import { type RetentionPolicy, type RetentionResult, applyRetention } from './retention.js';

/** Cache of immutable files' digests, by name. */
export type DigestCache = Record<string, [number, string]>;

/** Result of a push. */
export interface PushResult {
  manifest: Manifest;
  filesPushed: number;
  bytesPushed: number;
}

/** Result of a pull. */
export interface PullResult {
  filesPulled: number;
  bytesPulled: number;
}

/** Pushes and pulls versions between a local data directory and a replica. */
export class Snapshotter {
  private known: Set<string> | undefined;

  constructor(
    readonly replica: Replica,
    private readonly dir: string,
    private readonly parallelism = 4,
  ) {}

  /** Digest of a local immutable file, from the cache or computed (and cached). */
  async digest(name: string, cache: DigestCache): Promise<FileDigest> {
    const c = cache[name];
    if (c) return { size: c[0], hash: c[1] };
    const d = await hashFile(path.join(this.dir, name));
    cache[name] = [d.size, d.hash];
    return d;
  }

  /** Uploads what the replica lacks of `files`, then writes the manifest. */
  async push(files: readonly string[], cache: DigestCache, base: Omit<Manifest, 'files' | 'format' | 'createdAt'>): Promise<PushResult> {
    const known = await this.knownNames();
    const entries: ManifestFile[] = await mapLimit(files, this.parallelism, async (name) => ({ name, ...(await this.digest(name, cache)) }));
    const missing = entries.filter((f) => !known.has(f.name));
    let bytesPushed = 0;
    try {
      await mapLimit(missing, this.parallelism, async (f) => {
        await this.replica.putData(f.name, path.join(this.dir, f.name));
        known.add(f.name);
        bytesPushed += f.size;
      });
    } catch (e) {
      this.known = undefined; // the replica's view may be off after a failure: list again next time
      throw e;
    }
    const manifest: Manifest = { format: 1, ...base, files: entries, createdAt: new Date().toISOString() };
    await this.replica.writeManifest(manifest.version, await encodeManifest(manifest));
    return { manifest, filesPushed: missing.length, bytesPushed };
  }

  /** Versions the replica can restore, ascending. */
  versions(): Promise<number[]> {
    return this.replica.listManifests();
  }

  /** The manifest of `version`; UnknownVersionError if there is none. */
  async manifest(version: number): Promise<Manifest> {
    const bytes = await this.replica.readManifest(version);
    if (!bytes) throw new UnknownVersionError(version, await this.replica.listManifests());
    const m = await decodeManifest(bytes, `${this.replica.location}/manifests/${version}.manifest`);
    if (m.version !== version) {
      throw new CorruptionError(`${this.replica.location}/manifests/${version}.manifest`, -1, `manifest says version ${m.version}`);
    }
    return m;
  }

  /** Highest file generation present in the replica (-1 if none). */
  async maxGeneration(): Promise<number> {
    let max = -1;
    for (const n of await this.knownNames(true)) max = Math.max(max, generationOf(n));
    return max;
  }

  /**
   * Makes every file of `m` present and verified in the local directory. Local files whose content
   * differs are replaced only after all downloads verified. `cache` receives the verified digests.
   */
  async pull(m: Manifest, cache: DigestCache): Promise<PullResult> {
    const need: ManifestFile[] = [];
    await mapLimit(m.files, this.parallelism, async (f) => {
      const local = path.join(this.dir, f.name);
      if (fs.existsSync(local)) {
        const d = await hashFile(local);
        if (d.size === f.size && d.hash === f.hash) {
          cache[f.name] = [d.size, d.hash];
          return;
        }
      }
      need.push(f);
    });
    const staged: Array<[string, string]> = [];
    let bytesPulled = 0;
    try {
      await mapLimit(need, this.parallelism, async (f) => {
        const tmp = path.join(this.dir, `${f.name}.${process.pid}.dl.tmp`);
        staged.push([tmp, path.join(this.dir, f.name)]);
        await this.replica.getData(f.name, tmp);
        const d = await hashFile(tmp);
        if (d.size !== f.size || d.hash !== f.hash) {
          throw new CorruptionError(
            `${this.replica.location}/data/${f.name}`,
            -1,
            `content does not match manifest ${m.version} (size ${d.size} vs ${f.size}, xxh64 ${d.hash} vs ${f.hash})`,
          );
        }
        bytesPulled += d.size;
      });
    } catch (e) {
      for (const [tmp] of staged) fs.rmSync(tmp, { force: true });
      throw e;
    }
    for (const [tmp, final] of staged) {
      const fd = fs.openSync(tmp, 'r');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, final);
    }
    for (const f of m.files) cache[f.name] = [f.size, f.hash];
    return { filesPulled: need.length, bytesPulled };
  }

  /**
   * Deletes versions outside `policy` (never those in `alsoKeep`), then every data file no kept
   * manifest references. The caller guarantees no push of this store runs meanwhile.
   */
  async retain(policy: RetentionPolicy, alsoKeep: readonly number[]): Promise<RetentionResult> {
    try {
      const r = await applyRetention(this.replica, policy, (v) => this.manifest(v), alsoKeep, this.parallelism);
      for (const n of r.deletedFiles) this.known?.delete(n);
      return r;
    } catch (e) {
      this.known = undefined; // some deletions may have happened: list again before the next push
      throw e;
    }
  }

  private async knownNames(refresh = false): Promise<Set<string>> {
    if (!this.known || refresh) this.known = new Set(await this.replica.listData());
    return this.known;
  }
}
