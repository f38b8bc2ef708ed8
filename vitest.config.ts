import fs from 'node:fs';
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

/**
 * Where the tests put their files. The suites kill processes (SIGKILL), never the machine, so the
 * page cache survives every crash they cause and fsync adds nothing they can observe; on a disk it
 * only adds waiting (the crash children fsync at every seal and snapshot: 12-18 min in all on a
 * busy shared disk, against under 5 min on tmpfs). So the default is /dev/shm when it is a
 * writable directory; SNAPKV_TEST_TMPDIR=/some/disk/dir runs the same tests against a real disk.
 * Children spawned by the tests inherit TMPDIR, so their files land there too.
 */
function testTmpDir(): string {
  const chosen = process.env.SNAPKV_TEST_TMPDIR;
  if (chosen) return chosen;
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    const st = fs.statfsSync('/dev/shm');
    // A container's default 64 MiB /dev/shm would fill up (the suites keep their crash dirs until
    // each file ends): tmpfs only with room to spare.
    if (fs.statSync('/dev/shm').isDirectory() && st.bavail * st.bsize >= 4 * 2 ** 30) return '/dev/shm';
  } catch {
    // no tmpfs here: the OS temp dir
  }
  return os.tmpdir();
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
    env: { TMPDIR: testTmpDir() },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    sequence: { sequencer: LongestFirst },
  },
});
