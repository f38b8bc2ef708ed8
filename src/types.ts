// Why: the public surface in one place — what open() takes and what a store offers — so that the
// README, the engines and the tests agree on one contract (../shared/DESIGN.md, "The interface").

import type { EngineStats } from './engine.js';
import type { EncryptionOptions } from './snapshot/encryption.js';
import type { Replica } from './snapshot/replica.js';
import type { RetentionPolicy, RetentionResult } from './snapshot/retention.js';

/** Options every engine accepts. */
export interface CommonOptions {
  /** Local data directory; created if missing. */
  dir: string;
  /** Where snapshots go; opening with a replica restores its latest version. */
  replica?: Replica;
  /** Largest value accepted by set(), in bytes (default 16 MiB). */
  maxValueBytes?: number;
  /** Uploads/downloads in flight at once during snapshot and restore (default 4). */
  transferParallelism?: number;
  /** Encrypt every data file and manifest sent to the replica with AES-256-GCM under `key`. */
  encryption?: EncryptionOptions;
  /** Apply this retention policy after every successful snapshot (see Store.retain). */
  retain?: RetentionPolicy;
  /**
   * Keep the local files of the last N versions snapshotted or restored (default 0), so a rollback
   * to one of them downloads only what changed; costs the disk space of files merged away since.
   */
  rollbackCacheVersions?: number;
}

/** Tuning parameters of every engine, keyed by engine name. */
export interface EngineParamsByName {
  memonly: Record<never, never>;
  appendlog: { maxRunsPerLevel?: number; thresholdBytes?: number; compaction?: boolean; blockCacheBytes?: number; mmap?: boolean } & MergeOptions;
  hybridlog: { maxRunsPerLevel?: number; memSegmentBytes?: number; roLagBytes?: number; flushIntervalBytes?: number } & MergeOptions;
  lsm: {
    maxRunsPerLevel?: number;
    memtableBytesLimit?: number;
    densityFactor?: number;
    bloomFalsePositiveRate?: number;
    wal?: boolean;
  } & MergeOptions;
}

/** Merge options of the log-structured engines (LSM, AppendLog, HybridLog). */
export interface MergeOptions {
  /** 'background' (default): merges run in a worker thread; 'foreground': inside the set that fills a level. */
  merges?: 'background' | 'foreground';
  /** Files (runs) a level may reach while merges catch up before a set waits for them (default 4 × maxRunsPerLevel for the LSM, 8 × for the hash engines). */
  maxRunsBeforeStall?: number;
}

/** Name of a built-in engine. */
export type EngineName = keyof EngineParamsByName;

/** Options of open(): the engine, the common options and that engine's tuning parameters. */
export type OpenOptions = { [E in EngineName]: CommonOptions & { engine: E } & EngineParamsByName[E] }[EngineName];

/** What a snapshot did. */
export interface SnapshotInfo {
  /** The snapshot id (= version). */
  id: number;
  /** Version this one descends from, or null. */
  parent: number | null;
  /** Files the version consists of. */
  files: number;
  /** Total bytes of those files. */
  totalBytes: number;
  /** Files uploaded by this snapshot (the ones the replica lacked). */
  filesPushed: number;
  /** Bytes uploaded by this snapshot. */
  bytesPushed: number;
  /** Wall-clock seconds the snapshot took. */
  seconds: number;
  /** What the `retain` open option deleted after this snapshot, if set. */
  retention?: RetentionResult;
  /** Why that retention failed (the snapshot itself succeeded; retention runs again next time). */
  retentionError?: string;
}

/** Memory, disk and counters of a store. */
export interface StoreStats {
  /** Engine name. */
  engine: string;
  /** Live keys, or -1 where the engine cannot know without a scan (LSM). */
  keys: number;
  /** Bytes the engine holds in memory for its state (estimate). */
  memoryBytes: number;
  /** Bytes of files in the data directory. */
  diskBytes: number;
  /** get() calls. */
  gets: number;
  /** set() calls (deletes included). */
  sets: number;
  /** Snapshots taken by this instance. */
  snapshots: number;
  /** Last snapshot id taken or restored, or null. */
  lastSnapshotId: number | null;
  /** Bytes uploaded to the replica by this instance. */
  bytesPushed: number;
  /** Bytes downloaded from the replica by this instance. */
  bytesPulled: number;
  /** Engine-specific figures. */
  engineStats: EngineStats;
}

/** A key-value state store (see ../shared/DESIGN.md). */
export interface Store {
  /** Engine name. */
  readonly engine: string;
  /** Absolute data directory. */
  readonly dir: string;
  /** The value of `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Sets `key` to `value`; an empty value deletes the key. */
  set(key: Uint8Array, value: Uint8Array): void;
  /** Deletes `key` (same as set(key, empty)). */
  delete(key: Uint8Array): void;
  /** Seals state and pushes it to the replica as version `id` (ids strictly ascending). */
  snapshot(id: number): Promise<SnapshotInfo>;
  /** Makes the state exactly that of snapshot `version` (default: the latest). */
  restore(version?: number): Promise<void>;
  /** Versions the replica can restore, ascending. */
  versions(): Promise<number[]>;
  /** Deletes replica versions outside `policy` and the data files only they used. */
  retain(policy: RetentionPolicy): Promise<RetentionResult>;
  /** Memory, disk and counters. */
  stats(): StoreStats;
  /** Closes the store; further calls throw StoreClosedError. */
  close(): Promise<void>;
}

export type { Replica, EncryptionOptions, RetentionPolicy, RetentionResult };
