// Why: without a log, sets since the last flush live only in the memtable and die with the
// process. With `wal: true` each set is appended as one record (the common record format, so a
// torn tail is recognised by its checksum) with a positional write before set() returns — it
// reaches the OS page cache, so it survives a process crash (SIGKILL), not a power loss (no
// fsync per set: that would cost ~1 ms each). Every flush starts a new log under a new
// generation; the old one is dropped from the committed file set and swept by the shell.

import path from 'node:path';
import fs from 'node:fs';
import { fsyncDir, fsyncSync, openSync, writeAllSync } from '../io.js';
import { encodeRecord, recordSize } from '../record.js';
import { scanRecords } from '../record-scan.js';

/** An open write-ahead log being appended to. */
export class Wal {
  private buf = Buffer.allocUnsafe(4096);
  /** Bytes of whole records in the file (the next append's position). */
  size = 0;

  private constructor(
    /** File name (relative to the data directory). */
    readonly name: string,
    private fd: number,
  ) {}

  /** Creates an empty log file and makes its name durable (it is committed right after). */
  static create(dir: string, name: string): Wal {
    const fd = openSync(path.join(dir, name), 'w');
    try {
      fsyncSync(fd);
      fsyncDir(dir);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new Wal(name, fd);
  }

  /**
   * Replays the log `name` in `dir`: calls `visit` per whole record, in order. A torn last record
   * (a crash mid-append) ends the replay quietly; a record that fails its checksum before the end
   * throws CorruptionError. Returns whether a torn tail was found.
   */
  static replay(dir: string, name: string, maxLen: number, visit: (buf: Buffer) => void): { torn: boolean; records: number } {
    let records = 0;
    const r = scanRecords(path.join(dir, name), (buf) => {
      records++;
      visit(buf);
    }, { tornTailOk: true, maxLen });
    return { torn: r.validEnd !== r.size, records };
  }

  /** Appends one set (empty value = deletion). Throws on an I/O error; the log then must be replaced. */
  append(key: Uint8Array, value: Uint8Array): void {
    const n = recordSize(key.length, value.length);
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    encodeRecord(this.buf, 0, key, value);
    writeAllSync(this.fd, this.buf, 0, n, this.size);
    this.size += n;
  }

  /** Closes the descriptor (the file stays until no committed set names it). */
  close(): void {
    if (this.fd < 0) return;
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    this.fd = -1;
  }
}
