import os from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the two SIGKILL crash files first: they are the longest (minutes each), so running them
 * side by side on the two workers from the start, with every other file filling in behind the
 * shorter one, keeps `npm test` well under ten minutes on a 2-core machine.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isCrash = (f: TestSpecification): boolean => /[\\/]crash-[^\\/]*\.test\.ts$/.test(f.moduleId);
    return [...sorted.filter(isCrash), ...sorted.filter((f) => !isCrash(f))];
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest defaults to cores - 1 workers: one on a 2-core machine. The suites mostly wait on
    // files and child processes, so two workers there halve the wall time.
    maxWorkers: Math.max(2, os.availableParallelism()),
    minWorkers: 1,
    setupFiles: ['test/helpers/setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
