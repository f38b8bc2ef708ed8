// Why: the AppendLog tuning options are read and checked in one place, so a typo or an
// out-of-range value fails open() with InvalidArgumentError before any file is touched, and the
// defaults are written down once (docs/FORMAT.md, "AppendLog").

import { type MergeParams, STALL_FACTOR, mergeParams } from '../merge-params.js';
import { BLOCK_BYTES } from '../block-cache.js';
import { InvalidArgumentError } from '../errors.js';
import { mmapAvailable } from '../mmap.js';
import { bool, checkKnownParams, positiveInt } from '../validate.js';

/** The checked tuning parameters of the AppendLog engine. */
export interface AppendLogParams extends MergeParams {
  /** Sealed files a level may hold; when a level reaches it, they merge into one of the next level. */
  maxRunsPerLevel: number;
  /** Bytes of records per segment; a segment that would pass it is sealed and a new one started. */
  thresholdBytes: number;
  /** Garbage-collect each segment right after it is sealed (thesis §3.3); off by default. */
  compaction: boolean;
  /**
   * Append by storing into a shared mapping of the segment file and read sealed files through
   * read-only mappings (src/mmap.ts), instead of one write(2) per set and pread(2) per read.
   */
  mmap: boolean;
  /** Bytes of the cache of 512-byte blocks of sealed files (src/block-cache.ts); 0 = no cache. Only without mmap. */
  blockCacheBytes: number;
}

/** Names accepted by the AppendLog engine (keep in sync with EngineParamsByName['appendlog']). */
export const APPENDLOG_PARAM_NAMES = ['maxRunsPerLevel', 'thresholdBytes', 'compaction', 'merges', 'maxRunsBeforeStall', 'blockCacheBytes', 'mmap'] as const;

/**
 * Defaults, measured on W1 (1M uniform sets over 100K keys, 46-byte records; bench/appendlog-claims.ts
 * and a sweep of thresholdBytes 1-8 MiB × maxRunsPerLevel 3-4). thresholdBytes = 4 MiB: the engine
 * keeps the active and the last sealed segment in memory (2 × 4 MiB), so ~70% of update key
 * compares need no disk read, while disk after W1 stays at ~2.8× the live data (8 MiB: 5.5×, as
 * the active segment alone is then ~1.7× this live set). maxRunsPerLevel = 3 (the thesis' value).
 */
export const APPENDLOG_DEFAULTS: Readonly<Omit<AppendLogParams, 'maxRunsBeforeStall'>> = {
  maxRunsPerLevel: 3,
  thresholdBytes: 4 * 1024 * 1024,
  compaction: false,
  merges: 'background',
  // On wherever the native addon is built: W1 sets ran at ~2× and W4 gets at ~1.5× the write(2)/
  // pread(2) paths (bench/results/appendlog.md runs both).
  mmap: mmapAvailable,
  // Without mmap. 16 MiB: holds all sealed files of W1's 100K keys (the key compares of updates then read no
  // disk) and ~40% of W4's 1M keys; allocated on the first read of a sealed file.
  blockCacheBytes: 16 * 1024 * 1024,
};

/** Largest thresholdBytes with mmap: each active segment is reserved on disk and mapped at this size. */
const MAX_MAPPED_SEGMENT = 2 ** 30;

/** Checks raw options and fills defaults; throws InvalidArgumentError. */
export function appendLogParams(raw: Record<string, unknown>): AppendLogParams {
  checkKnownParams('appendlog', raw, APPENDLOG_PARAM_NAMES);
  // 1 would make every seal cascade without end: a level of one file would always be "full".
  const maxRunsPerLevel = positiveInt(raw, 'maxRunsPerLevel', APPENDLOG_DEFAULTS.maxRunsPerLevel, 2);
  const mmap = bool(raw, 'mmap', APPENDLOG_DEFAULTS.mmap);
  if (mmap && !mmapAvailable) {
    throw new InvalidArgumentError('mmap: true needs the native addon (build/Release/snapkv_mmap.node), which is not built here or is disabled by SNAPKV_NO_MMAP=1; see README "Native addon"');
  }
  // Below 64 bytes almost every record would seal a segment of its own.
  const thresholdBytes = positiveInt(raw, 'thresholdBytes', APPENDLOG_DEFAULTS.thresholdBytes, 64);
  if (mmap && thresholdBytes > MAX_MAPPED_SEGMENT) {
    throw new InvalidArgumentError(`thresholdBytes above ${MAX_MAPPED_SEGMENT} (1 GiB) needs mmap: false (a mapped segment is reserved at its full size), got ${thresholdBytes}`);
  }
  return {
    maxRunsPerLevel,
    thresholdBytes,
    compaction: bool(raw, 'compaction', APPENDLOG_DEFAULTS.compaction),
    mmap,
    blockCacheBytes: blockCacheBytes(raw, mmap),
    ...mergeParams(raw, maxRunsPerLevel, STALL_FACTOR.hash),
  };
}

/** 0 (no cache) or at least one 512-byte block; rounded down to whole blocks by the cache. */
function blockCacheBytes(raw: Record<string, unknown>, mmap: boolean): number {
  const v = positiveInt(raw, 'blockCacheBytes', mmap ? 0 : APPENDLOG_DEFAULTS.blockCacheBytes, 0);
  // Mapped sealed files are read in place: a cache of copies of their blocks would only cost memory.
  if (v !== 0 && mmap) throw new InvalidArgumentError(`blockCacheBytes applies to pread(2) reads; with mmap the sealed files are read in place (pass mmap: false to use a block cache), got ${v}`);
  if (v !== 0 && v < BLOCK_BYTES) throw new InvalidArgumentError(`blockCacheBytes must be 0 (no cache) or >= ${BLOCK_BYTES}, got ${v}`);
  return v;
}
