// Why: the conformance and model-based suites run every engine under the configurations listed
// here. Small thresholds force seals, flushes and merges within a few hundred operations, so the
// same behaviour tests cover the file-handling paths too. An engine joins by adding entries.

/** One engine configuration the shared suites run against. */
export interface EngineConfig {
  /** Label shown in test names. */
  label: string;
  /** Options passed to open() besides dir and replica. */
  options: Record<string, unknown> & { engine: string };
  /**
   * Whether sets made after the last snapshot survive close() + reopen from local files. When
   * false, a reopen returns the state of the last snapshot (or restore).
   */
  keepsUnsnapshottedOnClose: boolean;
  /** Whether every set that returned survives a SIGKILL (reopen from local files shows it). */
  durableSets?: boolean;
  /** Run the crash suite with this configuration (pick the small-threshold one per engine). */
  crash?: boolean;
  /** Tuning options open() must reject with InvalidArgumentError (for the bad-input table). */
  invalidParams?: Array<Record<string, unknown>>;
}

/** Every configuration the shared suites cover. */
export const ENGINE_CONFIGS: EngineConfig[] = [
  { label: 'memonly', options: { engine: 'memonly' }, keepsUnsnapshottedOnClose: false, crash: true, invalidParams: [{ thresholdBytes: 10 }, { wal: true }] },
  {
    label: 'lsm',
    options: { engine: 'lsm' },
    keepsUnsnapshottedOnClose: false,
    invalidParams: [{ thresholdBytes: 10 }, { maxRunsPerLevel: 1 }, { densityFactor: 0 }, { bloomFalsePositiveRate: 1 }, { bloomFalsePositiveRate: 0 }, { memtableBytesLimit: -5 }, { memtableBytesLimit: 1.5 }, { wal: 'yes' }],
  },
  // Tiny memtable and fan-in: flushes every few sets, cascading merges within a few hundred ops.
  { label: 'lsm-tiny', options: { engine: 'lsm', memtableBytesLimit: 256, maxRunsPerLevel: 2, densityFactor: 3 }, keepsUnsnapshottedOnClose: false },
  // Background merges (the default) with tiny thresholds and a stall limit right at the fan-in:
  // merges are in flight across sets, gets, snapshots, restores and reopens, and sets stall often.
  { label: 'lsm-bg-stall', options: { engine: 'lsm', merges: 'background', memtableBytesLimit: 200, maxRunsPerLevel: 2, maxRunsBeforeStall: 2, densityFactor: 2 }, keepsUnsnapshottedOnClose: false, crash: true, invalidParams: [{ merges: 'sometimes' }, { maxRunsBeforeStall: 1 }, { maxRunsPerLevel: 4, maxRunsBeforeStall: 3 }] },
  // The thesis' behaviour, kept as an option: the set that fills a level merges it.
  { label: 'lsm-fg', options: { engine: 'lsm', merges: 'foreground', memtableBytesLimit: 256, maxRunsPerLevel: 2, densityFactor: 3 }, keepsUnsnapshottedOnClose: false, crash: true },
  // The WAL makes every acknowledged set survive SIGKILL and close().
  { label: 'lsm-wal', options: { engine: 'lsm', wal: true, memtableBytesLimit: 1024, maxRunsPerLevel: 3, densityFactor: 4 }, keepsUnsnapshottedOnClose: true, durableSets: true, crash: true },
  {
    label: 'appendlog',
    options: { engine: 'appendlog' },
    keepsUnsnapshottedOnClose: true,
    durableSets: true,
    invalidParams: [{ memtableBytesLimit: 10 }, { maxRunsPerLevel: 1 }, { thresholdBytes: 63 }, { thresholdBytes: 1.5 }, { thresholdBytes: -1 }, { compaction: 'yes' }, { merges: 'later' }, { mmap: 'yes' }, { mmap: true, thresholdBytes: 2 ** 31 }, { maxRunsPerLevel: 3, maxRunsBeforeStall: 2 }],
  },
  // Tiny segments and fan-in: a seal every few sets, cascading merges within a few hundred ops;
  // background merges (the default) are in flight across sets, gets, snapshots, restores and
  // reopens, and with the stall limit at the fan-in sets wait for them often.
  { label: 'appendlog-tiny', options: { engine: 'appendlog', thresholdBytes: 256, maxRunsPerLevel: 2, maxRunsBeforeStall: 2 }, keepsUnsnapshottedOnClose: true, durableSets: true, crash: true },
  // The same with one write(2) per set and pread(2) reads (the path without the native addon,
  // or with mmap: false); the configurations above map their files wherever the addon is built.
  { label: 'appendlog-write-tiny', options: { engine: 'appendlog', mmap: false, thresholdBytes: 256, maxRunsPerLevel: 2, maxRunsBeforeStall: 2 }, keepsUnsnapshottedOnClose: true, durableSets: true, crash: true },
  // Thesis §3.3: each sealed segment is garbage-collected right away; merges in the foreground,
  // as in the thesis.
  { label: 'appendlog-compaction', options: { engine: 'appendlog', thresholdBytes: 512, maxRunsPerLevel: 3, compaction: true, merges: 'foreground' }, keepsUnsnapshottedOnClose: true, durableSets: true },
  {
    label: 'hybridlog',
    options: { engine: 'hybridlog', memSegmentBytes: 4 * 1024 * 1024 },
    keepsUnsnapshottedOnClose: true,
    invalidParams: [{ thresholdBytes: 10 }, { maxRunsPerLevel: 1 }, { memSegmentBytes: 100, roLagBytes: 60, flushIntervalBytes: 40 }, { roLagBytes: 0 }, { memSegmentBytes: -1 }, { memSegmentBytes: 2 ** 40 }, { flushIntervalBytes: 'big' }, { merges: true }, { maxRunsBeforeStall: 0 }],
  },
  // A ring of a few records: in-place updates, read-copy-update appends, flushes every few sets,
  // values larger than the ring (written straight to a file) and cascading merges.
  // Background merges in flight, sets stalling on them at the fan-in (as appendlog-tiny).
  { label: 'hybridlog-tiny', options: { engine: 'hybridlog', memSegmentBytes: 600, roLagBytes: 200, flushIntervalBytes: 150, maxRunsPerLevel: 2, maxRunsBeforeStall: 2 }, keepsUnsnapshottedOnClose: true, crash: true },
  // The same geometry with the set that fills a level merging it.
  { label: 'hybridlog-fg', options: { engine: 'hybridlog', memSegmentBytes: 600, roLagBytes: 200, flushIntervalBytes: 150, maxRunsPerLevel: 2, merges: 'foreground' }, keepsUnsnapshottedOnClose: true },
];

/**
 * One configuration per engine (its small-threshold crash config when it has one), for suites that
 * exercise the replica side: every engine must pass, but each needs only one configuration.
 */
export const ONE_PER_ENGINE: EngineConfig[] = [...new Set(ENGINE_CONFIGS.map((c) => c.options.engine))].map(
  (e) => ENGINE_CONFIGS.find((c) => c.options.engine === e && c.crash) ?? ENGINE_CONFIGS.find((c) => c.options.engine === e)!,
);
