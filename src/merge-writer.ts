// Why: a hash-engine merge (on the main thread in foreground mode, in a worker in background
// mode) streams whole records into a new file; buffering them into 1 MiB writes keeps the syscall
// count low, and writing under a temp name means a crash mid-merge leaves only a temp file, which
// the next open sweeps.

import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncSync, openSync, renameSync, writeAllSync } from './io.js';

const WRITE_CHUNK = 1 << 20;

/** Streams a merge output into a temp file; finish() makes it durable under its final name. */
export class MergeWriter {
  private fd = -1;
  /** The temp file written until finish(). */
  readonly tmp: string;
  private buf = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;
  /** Bytes appended so far (the next record's offset). */
  size = 0;

  private unsynced = 0;

  /**
   * `syncEveryBytes` > 0: fdatasync after each that many bytes. A background merge uses it so its
   * dirty pages never pile up: on ext4 (data=ordered) the main thread's next fsync of CURRENT
   * would otherwise wait for all of them to reach the disk.
   */
  constructor(private readonly file: string, private readonly syncEveryBytes = 0) {
    this.tmp = `${file}.${process.pid}.tmp`;
  }

  /** Appends `src[start, end)` (whole encoded records). */
  append(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.used + n > this.buf.length) this.flush();
    if (n > this.buf.length) {
      this.ensureOpen();
      writeAllSync(this.fd, src, start, n);
    } else {
      this.buf.set(src.subarray(start, end), this.used);
      this.used += n;
    }
    this.size += n;
  }

  /**
   * fsync + rename + directory fsync; with no records, no file is created. With `keepTempName`
   * the durable file stays under `tmp` (the caller renames it when it installs the output).
   */
  finish(keepTempName = false): void {
    if (this.size === 0) return;
    this.flush();
    fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    if (keepTempName) return;
    renameSync(this.tmp, this.file);
    fsyncDir(path.dirname(this.file));
  }

  /** Removes the temp file after a failure. */
  abort(): void {
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* already closed */ }
      this.fd = -1;
    }
    try { fs.unlinkSync(this.tmp); } catch { /* never created */ }
  }

  private ensureOpen(): void {
    if (this.fd < 0) this.fd = openSync(this.tmp, 'w');
  }

  private flush(): void {
    if (this.used === 0) return;
    this.ensureOpen();
    writeAllSync(this.fd, this.buf, 0, this.used);
    this.unsynced += this.used;
    this.used = 0;
    if (this.syncEveryBytes > 0 && this.unsynced >= this.syncEveryBytes) {
      fs.fdatasyncSync(this.fd);
      this.unsynced = 0;
    }
  }
}
