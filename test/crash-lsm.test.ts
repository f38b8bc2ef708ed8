// Why: the SIGKILL crash suite (test/helpers/crash-suite.ts) for the LSM configurations; the
// other engines are in crash-hash.test.ts, so the two files run in parallel.
import { crashSuite } from './helpers/crash-suite.js';

crashSuite((c) => c.options.engine === 'lsm');
