// Why: the AppendLog's promise is that every set reaches the operating system before set()
// returns, so it survives a process crash (SIGKILL) — one positional write per set, no fsync
// (that would cost ~1 ms). The segment's bytes are also kept in a memory buffer: the key compare
// the hash index needs on every update of a recently written key is then a memory compare, not a
// disk read, and sealing builds the hint from memory. If a write fails, or a reopen finds a torn
// last record, the file may hold bytes past the last whole record; such a segment is "broken"
// and is never appended to again — it is sealed as a fresh copy of its whole records instead.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from '../errors.js';
import { fsyncDir, fsyncSync, openSync, writeAllSync, writeSealedFileSync } from '../io.js';
import { Parse, encodeRecord, parseRecord, rec, recordSize } from '../record.js';

/** The segment being appended to. */
export class ActiveSegment {
  /** Bytes of whole records (the next record's offset). */
  size = 0;
  /** The file may hold bytes past `size` (a failed write): seal by copy, never append again. */
  broken = false;

  private constructor(
    /** File name (relative to the data directory). */
    readonly name: string,
    /** Location slot (sealed-files.ts) of this file; kept when it is sealed. */
    readonly slot: number,
    private fd: number,
    /** Memory copy of the file's records, [0, size). */
    public buf: Buffer,
  ) {}

  /** Creates an empty segment file and makes its name durable (the caller commits it next). */
  static create(dir: string, name: string, slot: number, buf: Buffer): ActiveSegment {
    const fd = openSync(path.join(dir, name), 'w');
    try {
      fsyncDir(dir);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new ActiveSegment(name, slot, fd, buf);
  }

  /**
   * Reopens the committed active segment `name`: reads it into memory and calls `visit(offset)`
   * per whole record (with `rec` filled, positions in `seg.buf`). A torn last record is tolerated
   * and marks the segment broken; a record failing its checksum before the end is corruption.
   */
  static reopen(dir: string, name: string, slot: number, minBuf: number, maxLen: number, visit: (seg: ActiveSegment, offset: number) => void): ActiveSegment {
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = openSync(file, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptionError(file, -1, 'active segment is missing');
      throw e;
    }
    try {
      const fileSize = fs.fstatSync(fd).size;
      const buf = Buffer.allocUnsafe(Math.max(minBuf, fileSize));
      let got = 0;
      while (got < fileSize) {
        const n = fs.readSync(fd, buf, got, fileSize - got, got);
        if (n === 0) break;
        got += n;
      }
      const seg = new ActiveSegment(name, slot, fd, buf);
      let pos = 0;
      while (pos < got) {
        const st = parseRecord(buf, pos, got, maxLen);
        if (st === Parse.Bad) throw new CorruptionError(file, pos, 'record checksum or length mismatch');
        if (st === Parse.Short) break; // torn tail of a crash mid-append
        const end = rec.end;
        visit(seg, pos);
        pos = end;
      }
      seg.size = pos;
      seg.broken = pos !== fileSize;
      return seg;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Room left in the memory buffer. */
  get free(): number {
    return this.buf.length - this.size;
  }

  /**
   * Appends one record (empty value = tombstone) with one positional write; returns its offset.
   * On a write error the segment becomes broken and the error is rethrown (nothing was indexed).
   */
  append(key: Uint8Array, value: Uint8Array): number {
    const n = recordSize(key.length, value.length);
    if (n > this.free) {
      const bigger = Buffer.allocUnsafe(this.size + n);
      this.buf.copy(bigger, 0, 0, this.size);
      this.buf = bigger;
    }
    const off = this.size;
    encodeRecord(this.buf, off, key, value);
    try {
      writeAllSync(this.fd, this.buf, off, n, off);
    } catch (e) {
      this.broken = true;
      throw e;
    }
    this.size = off + n;
    return off;
  }

  /** Forgets the records from `off` on; the file still holds them, so the segment becomes broken. */
  truncateTo(off: number): void {
    this.size = off;
    this.broken = true;
  }

  /**
   * Makes the segment immutable (and durable, with `sync`); returns the sealed file's name: the
   * same file (after an fsync), or — if broken — `copyName`, a fresh file holding exactly the
   * whole records (always fsynced).
   */
  seal(dir: string, copyName: string, sync = true): string {
    if (this.broken) {
      writeSealedFileSync(path.join(dir, copyName), [this.buf.subarray(0, this.size)]);
      return copyName;
    }
    if (sync) fsyncSync(this.fd);
    return this.name;
  }

  /** Writes the whole records to `copyName` and makes that the file appended to (after a torn reopen). */
  replaceWithCopy(dir: string, copyName: string): ActiveSegment {
    writeSealedFileSync(path.join(dir, copyName), [this.buf.subarray(0, this.size)]);
    const fd = openSync(path.join(dir, copyName), 'r+');
    const seg = new ActiveSegment(copyName, this.slot, fd, this.buf);
    seg.size = this.size;
    this.close();
    return seg;
  }

  /** Closes the descriptor (the file stays until no committed set names it). */
  close(): void {
    if (this.fd < 0) return;
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    this.fd = -1;
  }
}
