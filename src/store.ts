// Why: everything engines have in common lives here once — argument checks, the directory lock,
// the local CURRENT file, file generations, sweeping unreferenced files, and the snapshot and
// restore protocols — so each engine folder holds only its data structure.

import fs from 'node:fs';
import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, FileSet } from './engine.js';
import { engineNames, findEngine } from './engine.js';
import {
  BusyError,
  CorruptionError,
  InvalidArgumentError,
  RestoreError,
  SnapKVError,
  SnapshotError,
  StoreClosedError,
} from './errors.js';
import { generationOf } from './file-names.js';
import { isTempName, unlinkIfExists, unlinkInBackground } from './io.js';
import { type LocalStateData, readLocalState, writeLocalState } from './local-state.js';
import { type DirLock, lockDir } from './lock.js';
import { EncryptedReplica } from './snapshot/encryption.js';
import { hashFile } from './snapshot/file-hash.js';
import { type RetentionPolicy, type RetentionResult, checkRetentionPolicy } from './snapshot/retention.js';
import { Snapshotter } from './snapshot/snapshotter.js';
import { type KeyCodecName, TypedState } from './typed.js';
import type { OpenOptions, SnapshotInfo, Store, StoreStats } from './types.js';
import { DEFAULT_MAX_VALUE_BYTES, checkKey, checkValue, checkVersionId, positiveInt } from './validate.js';
import { loadWasmHash } from './xxh32.js';

const COMMON = ['engine', 'dir', 'replica', 'maxValueBytes', 'transferParallelism', 'encryption', 'retain', 'rollbackCacheVersions'] as const;
const EMPTY = new Uint8Array(0);

/** Opens (creating if needed) a store; see OpenOptions. */
export async function open(options: OpenOptions): Promise<SnapStore> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('open() needs an options object');
  const raw = options as unknown as Record<string, unknown>;
  const name = raw.engine;
  const def = typeof name === 'string' ? findEngine(name) : undefined;
  if (!def) throw new InvalidArgumentError(`unknown engine ${JSON.stringify(name)}; registered: ${engineNames().join(', ')}`);
  if (typeof raw.dir !== 'string' || raw.dir.length === 0) throw new InvalidArgumentError('dir must be a non-empty path string');
  const replica = raw.replica as OpenOptions['replica'];
  if (replica !== undefined && (typeof replica !== 'object' || replica === null || typeof replica.listManifests !== 'function')) {
    throw new InvalidArgumentError('replica must be a Replica (e.g. new DirReplica(path))');
  }
  const maxValueBytes = positiveInt(raw, 'maxValueBytes', DEFAULT_MAX_VALUE_BYTES, 0);
  const parallelism = positiveInt(raw, 'transferParallelism', 4);
  const rollbackCache = positiveInt(raw, 'rollbackCacheVersions', 0, 0);
  if (raw.encryption !== undefined && !replica) throw new InvalidArgumentError('encryption applies to what is sent to a replica; open with { replica } too');
  if (raw.retain !== undefined && !replica) throw new InvalidArgumentError('retain applies to a replica; open with { replica } too');
  // The wrapper checks the key; encryption sits under the snapshotter, so manifests keep plaintext hashes.
  const target = replica && raw.encryption !== undefined ? new EncryptedReplica(replica, raw.encryption as { key: Uint8Array }) : replica;
  const retention = raw.retain === undefined ? undefined : checkRetentionPolicy(raw.retain, 'retain option');
  const tuning: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!(COMMON as readonly string[]).includes(k)) tuning[k] = v;
  const params = def.params(tuning) as Record<string, unknown>;

  const dir = path.resolve(raw.dir);
  fs.mkdirSync(dir, { recursive: true });
  const lock = lockDir(dir);
  try {
    const store = new SnapStore(def, dir, params, maxValueBytes, target ? new Snapshotter(target, dir, parallelism) : undefined, lock, retention, rollbackCache);
    await store.init();
    return store;
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** The store returned by open(): validates calls and runs snapshots and restores around an engine. */
/**
 * Files at least this big are unlinked on libuv's thread pool by a sweep during operation:
 * freeing the blocks of a merged-away file of tens of MiB took 25-70 ms of the set that installed
 * the merge. Smaller files go at once, so the directory matches CURRENT right after most commits.
 */
const BACKGROUND_UNLINK_BYTES = 1 << 20;

/** Size of `file`, or 0 if it cannot be read (the unlink then reports the problem, if any). */
function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export class SnapStore implements Store {
  readonly engine: string;
  private eng!: Engine;
  private local!: LocalStateData;
  private closed = false;
  private restoring = false;
  /** The running snapshot or restore, which close() waits for. */
  private inflight: Promise<unknown> | null = null;
  /** Set when a failed restore closed the store itself: engine and lock are already gone. */
  private lockReleased = false;
  private snapshotting = false;
  private retaining = false;
  /** Files an in-flight snapshot is still uploading; never swept. */
  private readonly pinned = new Set<string>();
  /** Files the sweep is unlinking in the background (name → settles when done). */
  private readonly unlinking = new Map<string, Promise<void>>();
  private gen = 0;
  private counters = { gets: 0, sets: 0, snapshots: 0, bytesPushed: 0, bytesPulled: 0 };
  private readonly ctx: EngineContext;

  /** @internal use open() */
  constructor(
    private readonly def: EngineDefinition<object>,
    readonly dir: string,
    private readonly params: Record<string, unknown>,
    private readonly maxValueBytes: number,
    private readonly snap: Snapshotter | undefined,
    private readonly lock: DirLock,
    private readonly retention?: RetentionPolicy,
    private readonly rollbackCache = 0,
  ) {
    this.engine = def.name;
    this.ctx = {
      dir,
      maxValueBytes,
      nextGeneration: () => this.gen++,
      commit: (s) => this.commitLocal(s),
    };
  }

  /** @internal */
  async init(): Promise<void> {
    const existing = readLocalState(this.dir);
    if (existing && existing.engine !== this.def.name) {
      throw new InvalidArgumentError(`directory ${this.dir} holds a '${existing.engine}' store, not '${this.def.name}'; open it with engine: '${existing.engine}'`);
    }
    this.local = existing ?? {
      format: 1,
      engine: this.def.name,
      params: this.params,
      files: [],
      meta: {},
      nextGeneration: 0,
      lastSnapshotId: null,
      digests: {},
    };
    this.gen = Math.max(this.local.nextGeneration, this.maxLocalGeneration() + 1);
    const latest = this.snap ? (await this.snap.versions()).at(-1) : undefined;
    if (latest !== undefined) {
      // Replica wins over local files: start from its latest version.
      this.sweep(true);
      this.eng = undefined as unknown as Engine;
      await this.switchTo(latest, null);
      return;
    }
    if (!existing) {
      if (this.maxLocalGeneration() >= 0) {
        throw new CorruptionError(path.join(this.dir, 'CURRENT'), -1, 'missing, but the directory holds data files; restore from a replica or move the files away');
      }
      // CURRENT exists from the first moment on, so data files without it always mean damage.
      this.writeLocal();
    }
    this.sweep(true);
    if (existing) this.checkFilesPresent(existing);
    await loadWasmHash(); // hint files are checked with it (xxh32Long)
    this.eng = await this.def.open(this.ctx, this.params, existing ? { files: existing.files, meta: existing.meta, optional: existing.optional ?? [] } : null);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new StoreClosedError();
    if (this.restoring) throw new BusyError('get() during restore(); await the restore first');
    checkKey(key);
    this.counters.gets++;
    return this.eng.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (this.closed) throw new StoreClosedError();
    if (this.restoring) throw new BusyError('set() during restore(); await the restore first');
    checkKey(key);
    checkValue(value, this.maxValueBytes);
    this.counters.sets++;
    this.eng.set(key, value);
  }

  delete(key: Uint8Array): void {
    this.set(key, EMPTY);
  }

  /** A typed view for keyed operator state: keys via `keys` codec, values via msgpackr. */
  typed<K extends string | number | Uint8Array = string, V = unknown>(keys: KeyCodecName = 'utf8'): TypedState<K, V> {
    if (this.closed) throw new StoreClosedError();
    return new TypedState<K, V>(this, keys);
  }

  async snapshot(id: number): Promise<SnapshotInfo> {
    if (this.closed) throw new StoreClosedError();
    checkVersionId(id, 'snapshot id');
    const last = this.local.lastSnapshotId;
    if (last !== null && id <= last) {
      throw new InvalidArgumentError(`snapshot id ${id} must be greater than the last snapshot id ${last}`);
    }
    if (this.snapshotting || this.restoring || this.retaining) throw new BusyError(`snapshot(${id}) while another snapshot, restore or retain is running; await it first`);
    return this.track(this.runSnapshot(id, last));
  }

  private async runSnapshot(id: number, last: number | null): Promise<SnapshotInfo> {
    this.snapshotting = true;
    const t0 = performance.now();
    try {
      const set = await this.eng.checkpoint();
      for (const f of set.files) this.pinned.add(f);
      let filesPushed = 0;
      let bytesPushed = 0;
      let totalBytes = 0;
      if (this.snap) {
        const r = await this.snap.push(set.files, this.local.digests, {
          version: id,
          parent: last,
          engine: this.def.name,
          params: this.params,
          meta: set.meta,
          maxGeneration: this.gen - 1,
        });
        filesPushed = r.filesPushed;
        bytesPushed = r.bytesPushed;
        totalBytes = r.manifest.files.reduce((s, f) => s + f.size, 0);
      } else {
        // Without a replica the digests are still recorded: open() checks sealed files' sizes.
        for (const f of set.files) {
          let d = this.local.digests[f];
          if (!d) {
            const h = await hashFile(path.join(this.dir, f));
            d = this.local.digests[f] = [h.size, h.hash];
          }
          totalBytes += d[0];
        }
      }
      this.local.lastSnapshotId = id;
      this.remember(id, set.files);
      this.writeLocal();
      this.counters.snapshots++;
      this.counters.bytesPushed += bytesPushed;
      const info: SnapshotInfo = { id, parent: last, files: set.files.length, totalBytes, filesPushed, bytesPushed, seconds: 0 };
      if (this.snap && this.retention) {
        // The snapshot is complete: a retention failure must not turn it into a SnapshotError.
        try {
          info.retention = await this.snap.retain(this.retention, [id]);
        } catch (e) {
          info.retentionError = (e as Error).message;
        }
      }
      info.seconds = (performance.now() - t0) / 1000;
      return info;
    } catch (e) {
      if (e instanceof SnapshotError || e instanceof CorruptionError) throw e;
      throw new SnapshotError(`snapshot ${id} failed: ${(e as Error).message}; earlier snapshots are intact, retry with the same id`, { cause: e });
    } finally {
      this.pinned.clear();
      this.snapshotting = false;
      if (!this.closed) this.sweep();
    }
  }

  async restore(version?: number): Promise<void> {
    if (this.closed) throw new StoreClosedError();
    if (version !== undefined) checkVersionId(version, 'version');
    if (!this.snap) throw new RestoreError('restore() needs a replica; open the store with { replica }');
    if (this.snapshotting || this.restoring || this.retaining) throw new BusyError('restore() while a snapshot, restore or retain is running; await it first');
    const v = version ?? (await this.snap.versions()).at(-1);
    if (v === undefined) throw new RestoreError(`the replica ${this.snap.replica.location} holds no snapshot yet`);
    await this.track(this.switchTo(v, this.eng));
  }

  /**
   * Deletes the replica's versions outside `policy` (the version this store last snapshotted or
   * restored is always kept), then every data file no kept version references. Manifests go
   * first, so a crash never leaves a version whose files are gone. Refused while a snapshot or
   * restore of this store runs; the replica must not be written by another store meanwhile.
   */
  async retain(policy: RetentionPolicy): Promise<RetentionResult> {
    if (this.closed) throw new StoreClosedError();
    const p = checkRetentionPolicy(policy);
    if (!this.snap) throw new InvalidArgumentError('retain() needs a replica; open the store with { replica }');
    if (this.snapshotting || this.restoring || this.retaining) throw new BusyError('retain() while a snapshot, restore or retain is running; await it first');
    this.retaining = true;
    const current = this.local.lastSnapshotId;
    const run = this.snap.retain(p, current === null ? [] : [current]).finally(() => {
      this.retaining = false;
    });
    return this.track(run);
  }

  async versions(): Promise<number[]> {
    if (this.closed) throw new StoreClosedError();
    return this.snap ? this.snap.versions() : [];
  }

  stats(): StoreStats {
    if (this.closed) throw new StoreClosedError();
    let diskBytes = 0;
    for (const f of this.local.files) {
      try {
        diskBytes += fs.statSync(path.join(this.dir, f)).size;
      } catch { /* being replaced */ }
    }
    return {
      engine: this.def.name,
      keys: this.eng.keyCount(),
      memoryBytes: this.eng.memoryBytes(),
      diskBytes,
      gets: this.counters.gets,
      sets: this.counters.sets,
      snapshots: this.counters.snapshots,
      lastSnapshotId: this.local.lastSnapshotId,
      bytesPushed: this.counters.bytesPushed,
      bytesPulled: this.counters.bytesPulled,
      engineStats: this.eng.stats(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A snapshot or restore in flight finishes (or fails) before the engine and lock go away.
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.lockReleased) return;
    this.lockReleased = true;
    try {
      await this.eng.close();
    } finally {
      await this.settleUnlinks();
      this.lock.release();
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight = p;
    const clear = (): void => {
      if (this.inflight === p) this.inflight = null;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * Replaces the engine's state with version `v` from the replica. Files are fetched and verified
   * before anything local changes; CURRENT is switched in one atomic write; if the engine cannot
   * open the new state, the old CURRENT is put back and the old state reopened.
   */
  private async switchTo(v: number, old: Engine | null): Promise<void> {
    const snap = this.snap!;
    this.restoring = old !== null;
    try {
      const m = await snap.manifest(v);
      if (m.engine !== this.def.name) {
        throw new RestoreError(`version ${v} was written by engine '${m.engine}', but this store is '${this.def.name}'; open with engine: '${m.engine}'`);
      }
      // Pulled files belong to no committed set until CURRENT switches: keep the sweep (which an
      // engine's commit during old.close() may run) away from them.
      for (const f of m.files) this.pinned.add(f.name);
      await this.settleUnlinks();
      const pulled = await snap.pull(m, this.local.digests);
      this.counters.bytesPulled += pulled.bytesPulled;
      this.gen = Math.max(this.gen, m.maxGeneration + 1, (await snap.maxGeneration()) + 1);
      if (old) {
        try {
          await old.close();
        } catch (e) {
          // The old engine may have persisted part of its state before failing: reopen what is
          // committed now, so the store keeps serving the pre-restore state.
          await this.reopenAfterFailedSwitch({ ...this.local, files: [...this.local.files] });
          throw e;
        }
      }
      const before = { ...this.local, files: [...this.local.files] };
      try {
        this.local.files = m.files.map((f) => f.name);
        this.local.meta = m.meta;
        this.local.lastSnapshotId = v;
        this.remember(v, this.local.files);
        this.writeLocal();
        this.eng = await this.def.open(this.ctx, this.params, { files: this.local.files, meta: m.meta, optional: this.local.optional ?? [] });
      } catch (e) {
        this.local = before;
        if (old) await this.reopenAfterFailedSwitch(before);
        throw e;
      }
      this.sweep();
    } catch (e) {
      if (e instanceof SnapKVError && e.code !== 'ERR_INVALID_ARGUMENT') throw e;
      throw new RestoreError(`restore of version ${v} failed: ${(e as Error).message}; the previous state is unchanged`, { cause: e });
    } finally {
      this.pinned.clear();
      this.restoring = false;
    }
  }

  /**
   * Puts the pre-restore state back after a failed switch. If even that fails (the disk keeps
   * failing), the store closes itself: serving from an engine in an unknown state is worse.
   */
  private async reopenAfterFailedSwitch(before: LocalStateData): Promise<void> {
    try {
      this.writeLocal();
      this.eng = await this.def.open(this.ctx, this.params, { files: before.files, meta: before.meta, optional: before.optional ?? [] });
    } catch (e) {
      this.closed = true;
      this.lockReleased = true;
      this.lock.release();
      throw new RestoreError(`restore failed and the previous state could not be reopened (${(e as Error).message}); the store is closed — open it again`, { cause: e });
    }
  }

  /**
   * With `rollbackCacheVersions: n`, the files of the last n versions snapshotted or restored stay
   * in the directory (recorded in CURRENT), so rolling back to one of them downloads only files
   * merged away since — at the price of keeping those files on disk.
   */
  private remember(v: number, files: readonly string[]): void {
    const st = this.local;
    if (this.rollbackCache === 0) {
      delete st.recent;
      return;
    }
    st.recent = [...(st.recent ?? []).filter((r) => r.v !== v), { v, files: [...files] }].slice(-this.rollbackCache);
  }

  private commitLocal(s: FileSet): void {
    this.local.files = [...s.files];
    this.local.optional = s.optional?.length ? [...s.optional] : undefined;
    this.local.meta = s.meta;
    this.writeLocal();
    this.sweep();
  }

  private writeLocal(): void {
    this.local.nextGeneration = this.gen;
    const keep: Record<string, [number, string]> = {};
    for (const f of this.local.files) {
      const d = this.local.digests[f];
      if (d) keep[f] = d;
    }
    this.local.digests = keep;
    writeLocalState(this.dir, this.local);
  }

  /**
   * Deletes snapkv files that no committed state and no in-flight snapshot references; temp files
   * only when asked (at open, when no transfer can be running).
   */
  private sweep(includeTemp = false): void {
    // While a snapshot runs, an engine may commit (a set that flushes or installs a merge) between
    // checkpoint() and the pinning of its files: sweeping then could delete files the snapshot
    // lists. The snapshot sweeps when it ends.
    if (this.snapshotting) return;
    const live = new Set(this.local.files);
    for (const r of this.local.recent ?? []) for (const f of r.files) live.add(f);
    for (const f of this.local.optional ?? []) live.add(f);
    for (const name of fs.readdirSync(this.dir)) {
      if (live.has(name) || this.pinned.has(name) || this.unlinking.has(name)) continue;
      if ((includeTemp && isTempName(name)) || (!isTempName(name) && generationOf(name) >= 0)) {
        const file = path.join(this.dir, name);
        if (includeTemp || sizeOf(file) < BACKGROUND_UNLINK_BYTES) {
          // At open (nothing is served yet, and the directory must be clean before it is), or a
          // small file (microseconds to unlink): at once.
          try {
            unlinkIfExists(file);
          } catch { /* retried on the next sweep */ }
        } else {
          // A big file mid-run (a merge's inputs, in the set that installs it): off the thread.
          // Failures are retried by the next sweep.
          const done = unlinkInBackground(file).catch(() => undefined).finally(() => this.unlinking.delete(name));
          this.unlinking.set(name, done);
        }
      }
    }
  }

  /**
   * Waits for the sweep's background unlinks: before a restore decides which files it has locally
   * (a file about to vanish would count as present), and before close() lets the lock go.
   */
  private async settleUnlinks(): Promise<void> {
    while (this.unlinking.size > 0) await Promise.all([...this.unlinking.values()]);
  }

  /** Every file CURRENT lists must exist, and sealed files with a recorded digest must have its size. */
  private checkFilesPresent(state: LocalStateData): void {
    for (const f of state.files) {
      const file = path.join(this.dir, f);
      let size: number;
      try {
        size = fs.statSync(file).size;
      } catch {
        throw new CorruptionError(file, -1, 'file listed in CURRENT is missing; restore from the replica');
      }
      const d = state.digests[f];
      if (d && d[0] !== size) throw new CorruptionError(file, Math.min(size, d[0]), `size ${size} differs from the recorded ${d[0]} (truncated or overwritten); restore from the replica`);
    }
  }

  private maxLocalGeneration(): number {
    let max = -1;
    for (const name of fs.readdirSync(this.dir)) max = Math.max(max, generationOf(name));
    return max;
  }
}
