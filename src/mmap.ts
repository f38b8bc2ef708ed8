// Why: one place loads the optional native addon (native/mmap.c) and says whether it is there.
// With it, the AppendLog appends into a shared file mapping (no syscall per set) and reads sealed
// files through read-only mappings; without it (not built, or SNAPKV_NO_MMAP=1), it uses
// write(2)/pread(2) as before. Mappings are never unmapped explicitly: the garbage collector does
// it when the last view is gone, so a view can never point at unmapped memory.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Addon {
  map(fd: number, length: number, writable: boolean): ArrayBuffer;
  reserve(fd: number, length: number): void;
}

function load(): Addon | null {
  if (process.env.SNAPKV_NO_MMAP === '1') return null;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const req = createRequire(import.meta.url);
  // src/ (tsx, tests) and dist/ (the build) both sit one level below the package root.
  try {
    return req(path.join(here, '..', 'build', 'Release', 'snapkv_mmap.node')) as Addon;
  } catch {
    return null;
  }
}

const addon = load();

/** Whether file mappings are available (the addon was built and SNAPKV_NO_MMAP is not 1). */
export const mmapAvailable: boolean = addon !== null;

/** A Buffer over a MAP_SHARED mapping of the first `length` bytes of `fd` (the fd may be closed after). */
export function mapFile(fd: number, length: number, writable: boolean): Buffer {
  if (addon === null) throw new Error('file mappings are not available (the native addon was not built)');
  return Buffer.from(addon.map(fd, length, writable));
}

/**
 * Allocates disk blocks for the first `length` bytes of `fd` (extending it with zeros), so that
 * stores into a mapping of them cannot fail for want of space: a full disk fails here, as an
 * ENOSPC error, instead of as SIGBUS on a later store.
 */
export function reserveFile(fd: number, length: number): void {
  if (addon === null) throw new Error('file mappings are not available (the native addon was not built)');
  addon.reserve(fd, length);
}
