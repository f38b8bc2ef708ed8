// Why: one list of every sweep, in the order `npm run sweep -- all` runs them and `list` prints them.

import { compaction, threshold } from './appendlog.js';
import type { Sweep } from './common.js';
import { density } from './density.js';
import { flushInterval, roLag } from './hybridlog.js';
import { latencyThroughput } from './latency-throughput.js';
import { maxRuns } from './max-runs.js';
import { memory } from './memory.js';
import { memtable } from './memtable.js';
import { readLatency } from './read-latency.js';
import { recovery } from './recovery.js';
import { snapshots } from './snapshots.js';

/** Every sweep. */
export const SWEEPS: Sweep[] = [snapshots, maxRuns, density, memtable, roLag, flushInterval, threshold, compaction, latencyThroughput, readLatency, recovery, memory];
