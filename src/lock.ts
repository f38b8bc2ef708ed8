// Why: two writers on one directory would interleave appends and corrupt it. Node has no flock,
// so the lock is a file created exclusively and holding the owner's pid; a lock whose pid is no
// longer alive is a crashed owner's and is taken over. Opens within one process are tracked in
// memory too, because the pid check cannot tell them apart.

import fs from 'node:fs';
import path from 'node:path';
import { LockedError } from './errors.js';

const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** An acquired directory lock. */
export interface DirLock {
  release(): void;
}

/** Locks `dir` (which must exist) for this process, or throws LockedError. */
export function lockDir(dir: string): DirLock {
  const key = fs.realpathSync(dir);
  if (heldHere.has(key)) throw new LockedError(`directory ${dir} is already open in this process; close the other store first`);
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      heldHere.add(key);
      return {
        release() {
          heldHere.delete(key);
          try {
            if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
          } catch { /* already gone */ }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    } catch { /* vanished between the two calls: retry */ }
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new LockedError(`directory ${dir} is locked by running process ${owner}; stop it or use another directory`);
    }
    // The owner is gone (or it is our own pid from a previous life): take the lock over.
    try { fs.unlinkSync(file); } catch { /* raced with another taker */ }
  }
  throw new LockedError(`could not acquire the lock on ${dir}; another process keeps taking it`);
}
