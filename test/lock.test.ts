// Why: two writers on one directory would corrupt it. The lock must refuse a second open in this
// process and in another live process, and must be taken over from a process that died holding it.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { LockedError, open } from '../src/index.js';
import { b } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';


it('a second open in the same process fails with LockedError; after close it succeeds', async () => {
  const dir = tmpDir('lock');
  const s = await open({ engine: 'memonly', dir });
  await expect(open({ engine: 'memonly', dir })).rejects.toThrow(LockedError);
  s.set(b('k'), b('v'));
  expect(s.get(b('k'))).toEqual(b('v'));
  await s.close();
  const t = await open({ engine: 'memonly', dir });
  await t.close();
});

it('an open held by another live process fails with LockedError', async () => {
  const dir = tmpDir('lock-xproc');
  const script = `import { open } from ${JSON.stringify(path.resolve('src/index.ts'))};
const s = await open({ engine: 'memonly', dir: ${JSON.stringify(dir)} });
process.stdout.write('ready\\n');
setTimeout(() => {}, 60_000);`;
  const file = path.join(dir, '..', `${path.basename(dir)}-holder.mts`);
  fs.writeFileSync(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (c) => reject(new Error(`holder exited with ${c}`)));
    });
    await expect(open({ engine: 'memonly', dir })).rejects.toThrow(/locked by running process/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(file, { force: true });
  }
  // The holder was killed, so its lock is stale and is taken over.
  const s = await open({ engine: 'memonly', dir });
  await s.close();
});

it('a lock file naming a dead process is taken over', async () => {
  const dir = tmpDir('lock-stale');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(dir, 'LOCK'), dead);
  const s = await open({ engine: 'memonly', dir });
  expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
  await s.close();
  expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
});
