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
  { label: 'lsm-tiny', options: { engine: 'lsm', memtableBytesLimit: 256, maxRunsPerLevel: 2, densityFactor: 3 }, keepsUnsnapshottedOnClose: false, crash: true },
  // The WAL makes every acknowledged set survive SIGKILL and close().
  { label: 'lsm-wal', options: { engine: 'lsm', wal: true, memtableBytesLimit: 1024, maxRunsPerLevel: 3, densityFactor: 4 }, keepsUnsnapshottedOnClose: true, durableSets: true, crash: true },
];
