// Why: the AppendLog's promise is that every set reaches the operating system before set()
// returns, so it survives a process crash (SIGKILL) — no fsync per set (that would cost ~1 ms).
// Two ways to keep it, chosen at open (`mmap`):
//  - mapped (the default when the native addon is built, src/mmap.ts): the segment file is
//    allocated at its full capacity up front and mapped MAP_SHARED; a set encodes its record
//    straight into the mapping. Those pages are the kernel's page cache, so the record has reached
//    the OS when the store completes — with no syscall per set. The file holds zeros past the last
//    record until the seal truncates it (docs/FORMAT.md, "Active segment").
//  - written: one positional write(2) per set, with a memory copy of the segment's bytes beside it.
// Either way the segment's bytes are in memory: the key compare the hash index needs on every
// update of a recently written key is a memory compare, and sealing builds the hint from memory.
// If a write fails, or a reopen finds a torn last record, the file may hold bytes past the last
// whole record; such a segment is "broken" and is never appended to again — it is sealed as a
// fresh copy of its whole records instead.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from '../errors.js';
import { checkWrite, fsyncDir, fsyncSync, ftruncateSync, openSync, writeAllSync, writeSealedFileSync } from '../io.js';
import { mapFile, reserveFile } from '../mmap.js';
import { Parse, claimedRecordEnd, encodeRecord, parseRecord, rec, recordSize } from '../record.js';

/**
 * Reserves `capacity` bytes of the file of `fd` (extending it with zeros; already reserved blocks
 * stay as they are) and maps them writable, for appends by store.
 */
function mapForAppend(fd: number, capacity: number): Buffer {
  reserveFile(fd, capacity);
  return mapFile(fd, capacity, true);
}

/** Whether `b[from, to)` is all zero bytes. */
function zeros(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

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
    /** The file's records, [0, size): a memory copy, or (mapped) the file's own pages. */
    public buf: Buffer,
    /** `buf` is a shared mapping of the file, of fixed capacity: appends are stores into it. */
    readonly mapped: boolean,
  ) {}

  /**
   * Creates an empty segment file and makes its name durable (the caller commits it next). With
   * `mem` null the file is allocated at `capacity` bytes and mapped; else `mem` is the memory copy.
   */
  static create(dir: string, name: string, slot: number, mem: Buffer | null, capacity: number): ActiveSegment {
    const fd = openSync(path.join(dir, name), mem === null ? 'w+' : 'w');
    try {
      const buf = mem ?? mapForAppend(fd, capacity);
      fsyncDir(dir);
      return new ActiveSegment(name, slot, fd, buf, mem === null);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * Reopens the committed active segment `name`: reads it into memory (or maps it, at `minBuf`
   * bytes or more, with `mapped`) and calls `visit(offset)` per whole record (with `rec` filled,
   * positions in `seg.buf`). Where the records end, the rest of the file must be zeros (a mapped
   * segment's unused capacity), or a torn last record: a record cut short by a crash (the file
   * ends inside it, or its unwritten bytes are still zeros with nothing written after it). That
   * marks the segment broken. Anything else after the last whole record is corruption.
   */
  static reopen(dir: string, name: string, slot: number, minBuf: number, maxLen: number, mapped: boolean, visit: (seg: ActiveSegment, offset: number) => void): ActiveSegment {
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = openSync(file, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptionError(file, -1, 'active segment is missing');
      throw e;
    }
    // Once the segment exists, the engine may hold it (visit): it is closed through it, so that a
    // later close() of the engine does not close the same descriptor number a second time.
    let seg: ActiveSegment | null = null;
    try {
      const fileSize = fs.fstatSync(fd).size;
      const cap = Math.max(minBuf, fileSize);
      let buf: Buffer;
      let got = 0;
      if (mapped) {
        buf = mapForAppend(fd, cap);
        got = fileSize;
      } else {
        buf = Buffer.allocUnsafe(cap);
        while (got < fileSize) {
          const n = fs.readSync(fd, buf, got, fileSize - got, got);
          if (n === 0) break;
          got += n;
        }
      }
      seg = new ActiveSegment(name, slot, fd, buf, mapped);
      let pos = 0;
      let st = Parse.Ok;
      while (pos < got) {
        st = parseRecord(buf, pos, got, maxLen);
        if (st !== Parse.Ok) break;
        const end = rec.end;
        visit(seg, pos);
        pos = end;
      }
      seg.size = pos;
      if (pos < got && !zeros(buf, pos, got)) {
        // A torn record: a write cut short (the file ends inside it), or a store into the
        // mapping cut short (its unwritten bytes still zeros, and nothing written past it).
        const claimed = st === Parse.Short ? got : claimedRecordEnd(buf, pos, got, maxLen);
        if (claimed < 0 || (claimed < got && !zeros(buf, claimed, got))) throw new CorruptionError(file, pos, 'record checksum or length mismatch');
        seg.broken = true;
      } else {
        // Zeros past the records: a mapped segment's unused capacity, appended to in place; a
        // written segment would append after them, so it continues in a clean copy instead.
        seg.broken = !mapped && pos !== got;
      }
      return seg;
    } catch (e) {
      if (seg !== null) seg.close();
      else fs.closeSync(fd);
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
    const off = this.size;
    if (this.mapped) {
      // The engine starts a segment with room for the record (segmentFor): a mapping cannot grow.
      if (n > this.free) throw new Error(`record of ${n} bytes does not fit the mapped segment (${this.free} bytes free)`);
      checkWrite(this.fd);
      encodeRecord(this.buf, off, key, value);
      this.size = off + n;
      return off;
    }
    if (n > this.free) {
      const bigger = Buffer.allocUnsafe(this.size + n);
      this.buf.copy(bigger, 0, 0, this.size);
      this.buf = bigger;
    }
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
    if (this.mapped) {
      // Cut the unused capacity off. Past the new end the mapping must not be touched (SIGBUS):
      // if the seal fails from here on, the segment is broken, so nothing appends to it again.
      try {
        ftruncateSync(this.fd, this.size);
        if (sync) fsyncSync(this.fd);
      } catch (e) {
        this.broken = true;
        throw e;
      }
      return this.name;
    }
    if (sync) fsyncSync(this.fd);
    return this.name;
  }

  /** Writes the whole records to `copyName` and makes that the file appended to (after a torn reopen). */
  replaceWithCopy(dir: string, copyName: string): ActiveSegment {
    writeSealedFileSync(path.join(dir, copyName), [this.buf.subarray(0, this.size)]);
    const fd = openSync(path.join(dir, copyName), 'r+');
    let buf = this.buf;
    try {
      if (this.mapped) buf = mapForAppend(fd, this.buf.length);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    const seg = new ActiveSegment(copyName, this.slot, fd, buf, this.mapped);
    seg.size = this.size;
    this.close();
    return seg;
  }

  /**
   * Gives a mapped segment's unused capacity back (a reopen reserves it again) before a clean
   * close; best effort, since a reopen reads a zero tail the same way. Never on an error path: a
   * segment whose reopen failed midway does not know its size, and must keep its bytes.
   */
  trimCapacity(): void {
    if (!this.mapped || this.broken || this.fd < 0) return;
    this.broken = true; // past the new end the mapping must not be touched: no more appends
    try { fs.ftruncateSync(this.fd, this.size); } catch { /* the zero tail stays */ }
  }

  /** Closes the descriptor (the file stays until no committed set names it). */
  close(): void {
    if (this.fd < 0) return;
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    this.fd = -1;
  }
}
