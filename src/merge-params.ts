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

/** Reads `merges` and `maxRunsBeforeStall` (default 4 x maxRunsPerLevel); throws InvalidArgumentError. */
export function mergeParams(raw: Record<string, unknown>, maxRunsPerLevel: number): MergeParams {
  const merges = raw.merges ?? 'background';
  if (merges !== 'background' && merges !== 'foreground') {
    throw new InvalidArgumentError(`merges must be 'background' or 'foreground', got ${JSON.stringify(merges)}`);
  }
  // Below maxRunsPerLevel a set would stall before a merge is even due.
  return { merges, maxRunsBeforeStall: positiveInt(raw, 'maxRunsBeforeStall', 4 * maxRunsPerLevel, maxRunsPerLevel) };
}
