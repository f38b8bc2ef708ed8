// Why: the LSM tuning options are read and checked in one place, so a typo or an out-of-range
// value fails open() with InvalidArgumentError before any file is touched, and the defaults are
// written down once (they are documented in the README and in docs/FORMAT.md, "LSM").

import { type MergeMode, STALL_FACTOR, mergeParams } from '../merge-params.js';
import { bool, checkKnownParams, numberIn, positiveInt } from '../validate.js';

/** Where merges run: in a worker thread next to the sets, or inside the set that triggers them. */
export type LsmMergeMode = MergeMode;

/** The checked tuning parameters of the LSM engine. */
export interface LsmParams {
  /** Runs a level may hold; when a level reaches it, all its runs merge into one of the next level. */
  maxRunsPerLevel: number;
  /** Encoded bytes (records as they will be on disk) the memtable may hold before it is flushed. */
  memtableBytesLimit: number;
  /** Records between two fence pointers (the most records one get reads from a run). */
  densityFactor: number;
  /** Target false-positive rate of each run's Bloom filter. */
  bloomFalsePositiveRate: number;
  /** Append every set to a write-ahead log before it returns, so sets survive a process crash. */
  wal: boolean;
  /**
   * 'background' (default): merges run in a worker thread while sets and gets go on against the
   * inputs; 'foreground': the set (or snapshot) that fills a level merges it before returning.
   */
  merges: LsmMergeMode;
  /**
   * Background mode's back-pressure: a level may hold up to this many runs while its merge waits
   * or runs; a set that would flush into a fuller tree first waits for merges to catch up.
   * Default 4 × maxRunsPerLevel; at least maxRunsPerLevel.
   */
  maxRunsBeforeStall: number;
}

/** Names accepted by the LSM engine (keep in sync with EngineParamsByName['lsm'] in types.ts). */
export const LSM_PARAM_NAMES = ['maxRunsPerLevel', 'memtableBytesLimit', 'densityFactor', 'bloomFalsePositiveRate', 'wal', 'merges', 'maxRunsBeforeStall'] as const;

/**
 * Defaults: 4 MiB memtable, 3 runs per level (the thesis' value), a fence every 10 records, 1% FP,
 * no WAL, background merges (bench/results/merge-latency.md); maxRunsBeforeStall is derived.
 */
export const LSM_DEFAULTS: Readonly<Omit<LsmParams, 'maxRunsBeforeStall'>> = {
  maxRunsPerLevel: 3,
  memtableBytesLimit: 4 * 1024 * 1024,
  densityFactor: 10,
  bloomFalsePositiveRate: 0.01,
  wal: false,
  merges: 'background',
};

/** Checks raw options and fills defaults; throws InvalidArgumentError. */
export function lsmParams(raw: Record<string, unknown>): LsmParams {
  checkKnownParams('lsm', raw, LSM_PARAM_NAMES);
  // 1 would make every flush cascade without end: a level of one run would always be "full".
  const maxRunsPerLevel = positiveInt(raw, 'maxRunsPerLevel', LSM_DEFAULTS.maxRunsPerLevel, 2);
  return {
    maxRunsPerLevel,
    memtableBytesLimit: positiveInt(raw, 'memtableBytesLimit', LSM_DEFAULTS.memtableBytesLimit, 1),
    densityFactor: positiveInt(raw, 'densityFactor', LSM_DEFAULTS.densityFactor, 1),
    bloomFalsePositiveRate: numberIn(raw, 'bloomFalsePositiveRate', LSM_DEFAULTS.bloomFalsePositiveRate, 0, 0.5),
    wal: bool(raw, 'wal', LSM_DEFAULTS.wal),
    ...mergeParams(raw, maxRunsPerLevel, STALL_FACTOR.lsm),
  };
}
