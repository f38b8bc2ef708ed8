// Why: the three log-structured engines take the same two merge options with the same checks
// and defaults; reading them in one place keeps the messages and the derived stall limit equal.

import { InvalidArgumentError } from './errors.js';
import { positiveInt } from './validate.js';

/** Where merges run: in a worker thread next to the sets, or inside the set that fills a level. */
export type MergeMode = 'background' | 'foreground';

/** The checked merge options. */
export interface MergeParams {
  /** 'background' (default): merges run in a worker thread; 'foreground': inside the set that fills a level. */
  merges: MergeMode;
  /** Files (runs) a level may reach while merges catch up before a set waits for them. */
  maxRunsBeforeStall: number;
}

/**
 * Default maxRunsBeforeStall per maxRunsPerLevel. The LSM's gets probe every run of a level, so
 * it stalls early (4x). The hash engines' gets go straight to one file through the index, so a
 * fuller level costs only disk (superseded records waiting for the merge), and they take 8x: with
 * mapped appends the AppendLog fills level 0 at ~25 MB/s while a 36 MiB deeper merge takes ~2 s,
 * and at 4x (12 files) W3 + W1 stalled one set for 0.9 s (bench/results/merge-latency.md).
 */
export const STALL_FACTOR = { lsm: 4, hash: 8 } as const;

/** Reads `merges` and `maxRunsBeforeStall` (default stallFactor x maxRunsPerLevel); throws InvalidArgumentError. */
export function mergeParams(raw: Record<string, unknown>, maxRunsPerLevel: number, stallFactor: number): MergeParams {
  const merges = raw.merges ?? 'background';
  if (merges !== 'background' && merges !== 'foreground') {
    throw new InvalidArgumentError(`merges must be 'background' or 'foreground', got ${JSON.stringify(merges)}`);
  }
  // Below maxRunsPerLevel a set would stall before a merge is even due.
  return { merges, maxRunsBeforeStall: positiveInt(raw, 'maxRunsBeforeStall', stallFactor * maxRunsPerLevel, maxRunsPerLevel) };
}
