// Why: the SIGKILL crash suite (test/helpers/crash-suite.ts) for MemOnly and the hash engines
// (AppendLog, HybridLog); the LSM configurations are in crash-lsm.test.ts.
import { crashSuite } from './helpers/crash-suite.js';

crashSuite((c) => c.options.engine !== 'lsm');
