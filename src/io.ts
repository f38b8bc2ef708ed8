// Why: every write-side file operation goes through this one module so that tests can inject
// ENOSPC/EIO faults at the file layer (see `injectFault`) and so that "write to temp, fsync,
// rename, fsync the directory" is written once.

import fs from 'node:fs';
import path from 'node:path';

type WriteOp = 'write' | 'fsync' | 'rename' | 'open' | 'unlink';

let fault: { op: WriteOp | 'any'; code: string; remaining: number } | null = null;

/**
 * Test hook: the next `times` write-side operations of kind `op` fail with an error of `code`
 * (e.g. 'ENOSPC'). Pass null to clear.
 */
export function injectFault(spec: { op: WriteOp | 'any'; code: string; times?: number } | null): void {
  fault = spec ? { op: spec.op, code: spec.code, remaining: spec.times ?? Infinity } : null;
}

/** `what` names the file, or is a descriptor (its label is built only when a fault fires: no string per write). */
function check(op: WriteOp, what: string | number): void {
  if (fault === null || (fault.op !== 'any' && fault.op !== op)) return;
  if (fault.remaining-- <= 0) {
    fault = null;
    return;
  }
  const err = new Error(`${fault.code}: injected fault, ${op} '${typeof what === 'number' ? `fd ${what}` : what}'`) as NodeJS.ErrnoException;
  err.code = fault.code;
  throw err;
}

/** Opens a file (flags as in fs.openSync). */
export function openSync(file: string, flags: string): number {
  if (flags !== 'r') check('open', file);
  return fs.openSync(file, flags);
}

/** Writes all of `buf[off, off+len)` at `position` (or the current position when null). */
export function writeAllSync(fd: number, buf: Uint8Array, off = 0, len = buf.length - off, position: number | null = null): void {
  check('write', fd);
  while (len > 0) {
    const n = fs.writeSync(fd, buf, off, len, position);
    off += n;
    len -= n;
    if (position !== null) position += n;
  }
}

/**
 * The fault hook alone, for a write that is a store into a file mapping (src/mmap.ts): there is no
 * syscall to fail, but tests inject ENOSPC/EIO into it as into any write.
 */
export function checkWrite(fd: number): void {
  check('write', fd);
}

/** Truncates (or extends with zeros) the file of `fd` to `len` bytes. */
export function ftruncateSync(fd: number, len: number): void {
  check('write', fd);
  fs.ftruncateSync(fd, len);
}

/** fsync of a file descriptor. */
export function fsyncSync(fd: number): void {
  check('fsync', fd);
  fs.fsyncSync(fd);
}

/** fsync of a directory, so a rename or a new file name inside it is durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Renames atomically (same file system). */
export function renameSync(from: string, to: string): void {
  check('rename', to);
  fs.renameSync(from, to);
}

/** Removes a file; a missing file is not an error. */
export function unlinkIfExists(file: string): void {
  check('unlink', file);
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Unlinks `file` on libuv's thread pool; the promise settles when it is gone (ENOENT counts as
 * gone) or rejects with the error. Unlinking a merged-away file of tens of MiB took 25-70 ms of
 * the set that installed the merge; off the thread, that set pays only the call.
 */
export async function unlinkInBackground(file: string): Promise<void> {
  check('unlink', file);
  try {
    await fs.promises.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Closes `fd` on libuv's thread pool. For descriptors of files that are (or are about to be)
 * unlinked: the last close frees the file's blocks, 35-60 ms for a merged-away run of tens of MiB.
 */
export function closeInBackground(fd: number): void {
  fs.close(fd, () => undefined);
}

/** Writes a whole new file durably: temp file, fsync, rename over `file`, fsync the directory. */
export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  replaceFileSync(file, typeof data === 'string' ? Buffer.from(data) : data, true);
  fsyncDir(path.dirname(file));
}

/**
 * Writes `bytes` to a temp file and renames it over `file`, so readers see the old or the new
 * contents, never a mix; with `durable` the data is fsynced before the rename. On failure the
 * temp file is removed and `file` is untouched.
 */
export function replaceFileSync(file: string, bytes: Uint8Array, durable: boolean): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeAllSync(fd, bytes);
    if (durable) fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  fs.closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

/** Writes a new immutable file durably under its final name (via a temp name). */
export function writeSealedFileSync(file: string, chunks: readonly Uint8Array[]): number {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let size = 0;
  try {
    for (const c of chunks) {
      writeAllSync(fd, c);
      size += c.length;
    }
    fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  fs.closeSync(fd);
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
  return size;
}

/** Is `name` a temp file left by an interrupted atomic write? */
export function isTempName(name: string): boolean {
  return name.endsWith('.tmp');
}
