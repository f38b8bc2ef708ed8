// Why: a crash test needs a real process that dies by SIGKILL in the middle of real file I/O.
// This child runs the seeded crash workload (mode "ops") or restores versions in a loop (mode
// "restores") and prints the index of every operation after it returned, synchronously (stdout
// is a pipe, which Node writes synchronously on Linux), so the parent knows what was acknowledged.

import fs from 'node:fs';
import { DirReplica, open, type OpenOptions } from '../../src/index.js';
import { crashOps } from './crash-workload.js';

const [mode, optionsJson, dir, replicaDir, seedS, countS] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as Record<string, unknown> & { engine: string };
const store = await open({ ...options, dir: dir!, replica: new DirReplica(replicaDir!) } as OpenOptions);
const out = (s: string): void => {
  fs.writeSync(1, `${s}\n`);
};
out('open');
if (mode === 'ops') {
  const ops = crashOps(Number(seedS), Number(countS));
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.t === 'set') store.set(op.key, op.value);
    else if (op.t === 'del') store.delete(op.key);
    else if (op.t === 'snap') await store.snapshot(op.id);
    else await store.restore(op.id);
    out(String(i));
  }
} else {
  const versions = await store.versions();
  for (let i = 0; ; i++) {
    const v = versions[(i * 7919) % versions.length]!;
    await store.restore(v);
    out(`restored ${v}`);
  }
}
out('done');
await store.close();
