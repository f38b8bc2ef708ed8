// Why: the HybridLog tuning options are read and checked in one place, so an impossible geometry
// (a ring buffer too small for its own regions) fails open() with InvalidArgumentError before any
// file is touched, and the defaults are written down once (README, docs/FORMAT.md "HybridLog").

import { InvalidArgumentError } from '../errors.js';
import { type MergeParams, STALL_FACTOR, mergeParams } from '../merge-params.js';
import { checkKnownParams, positiveInt } from '../validate.js';

/** The checked tuning parameters of the HybridLog engine. */
export interface HybridLogParams extends MergeParams {
  /** Sealed files a level may hold; when a level reaches it, they merge into one of the next level. */
  maxRunsPerLevel: number;
  /** Bytes of the in-memory ring buffer (mutable + read-only regions). */
  memSegmentBytes: number;
  /** Size of the mutable region: the read-only offset trails the tail by this many bytes. */
  roLagBytes: number;
  /** The read-only region is flushed to a sealed file once it holds this many bytes. */
  flushIntervalBytes: number;
}

/** Names accepted by the HybridLog engine (keep in sync with EngineParamsByName['hybridlog']). */
export const HYBRIDLOG_PARAM_NAMES = ['maxRunsPerLevel', 'memSegmentBytes', 'roLagBytes', 'flushIntervalBytes', 'merges', 'maxRunsBeforeStall'] as const;

/**
 * Defaults: a 64 MiB ring (W3's million 48-byte records spill; W1's hundred thousand fit), half of
 * it mutable so a key updated at least once per 32 MiB of appends is always updated in place, and
 * 16 MiB flushed per file (few, large sealed files; the rest of the ring is slack so a flush never
 * has to wait for room). 3 files per level, the thesis' value.
 */
export const HYBRIDLOG_DEFAULTS: Readonly<Omit<HybridLogParams, 'maxRunsBeforeStall'>> = {
  maxRunsPerLevel: 3,
  memSegmentBytes: 64 * 1024 * 1024,
  roLagBytes: 32 * 1024 * 1024,
  flushIntervalBytes: 16 * 1024 * 1024,
  merges: 'background',
};

/** Checks raw options and fills defaults; throws InvalidArgumentError. */
export function hybridLogParams(raw: Record<string, unknown>): HybridLogParams {
  checkKnownParams('hybridlog', raw, HYBRIDLOG_PARAM_NAMES);
  const maxRunsPerLevel = positiveInt(raw, 'maxRunsPerLevel', HYBRIDLOG_DEFAULTS.maxRunsPerLevel, 2);
  const p: HybridLogParams = {
    maxRunsPerLevel,
    memSegmentBytes: positiveInt(raw, 'memSegmentBytes', HYBRIDLOG_DEFAULTS.memSegmentBytes, 1),
    roLagBytes: positiveInt(raw, 'roLagBytes', HYBRIDLOG_DEFAULTS.roLagBytes, 1),
    flushIntervalBytes: positiveInt(raw, 'flushIntervalBytes', HYBRIDLOG_DEFAULTS.flushIntervalBytes, 1),
    ...mergeParams(raw, maxRunsPerLevel, STALL_FACTOR.hash),
  };
  // Defaults of the two regions shrink with a small explicit ring, so { memSegmentBytes: 1 MiB }
  // alone is valid; explicit values that do not fit are the caller's mistake and are reported.
  if (raw.memSegmentBytes !== undefined) {
    if (raw.roLagBytes === undefined) p.roLagBytes = Math.max(1, Math.floor(p.memSegmentBytes / 2));
    if (raw.flushIntervalBytes === undefined) p.flushIntervalBytes = Math.max(1, Math.floor(p.memSegmentBytes / 4));
  }
  if (p.memSegmentBytes > 2 ** 36) {
    throw new InvalidArgumentError(`hybridlog: memSegmentBytes must be at most ${2 ** 36} (64 GiB), got ${p.memSegmentBytes}`);
  }
  if (p.memSegmentBytes <= p.roLagBytes + p.flushIntervalBytes) {
    throw new InvalidArgumentError(
      `hybridlog: memSegmentBytes (${p.memSegmentBytes}) must exceed roLagBytes + flushIntervalBytes (${p.roLagBytes} + ${p.flushIntervalBytes}), or the ring cannot hold the mutable region and a read-only region due for flushing`,
    );
  }
  return p;
}
