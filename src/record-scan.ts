// Why: recovery, merges and hint rebuilds all walk a log file record by record. Reading it in
// fixed chunks keeps memory flat for large merged files, and the one loop decides, in one place,
// what is a torn tail (tolerated at the end of a file that was still being appended to) and what
// is corruption (reported with the file name and offset).

import fs from 'node:fs';
import { CorruptionError } from './errors.js';
import { Parse, parseRecord, rec } from './record.js';

const CHUNK = 1 << 20;

/** Called per record: `buf` holds it at `rec`-relative positions; `offset` is its file offset. */
export type RecordVisitor = (buf: Buffer, offset: number) => void;

/** How a scan ended. */
export interface ScanResult {
  /** Offset just past the last whole, valid record. */
  validEnd: number;
  /** File size; larger than validEnd when a torn tail was tolerated. */
  size: number;
}

/**
 * Visits every record of `file` from `start` to `end` (default: file size). With `tornTailOk`, an
 * incomplete last record ends the scan quietly (the caller truncates it); otherwise it is
 * corruption. A record that fails its checksum is always corruption.
 */
export function scanRecords(
  file: string,
  visit: RecordVisitor,
  opts: { tornTailOk?: boolean; start?: number; end?: number; maxLen?: number } = {},
): ScanResult {
  const fd = fs.openSync(file, 'r');
  try {
    const size = opts.end ?? fs.fstatSync(fd).size;
    let buf = Buffer.allocUnsafe(CHUNK);
    let bufStart = opts.start ?? 0; // file offset of buf[0]
    let have = 0;
    let pos = 0;
    for (;;) {
      const status = pos < have ? parseRecord(buf, pos, have, opts.maxLen) : Parse.Short;
      if (status === Parse.Ok) {
        visit(buf, bufStart + pos);
        pos = rec.end;
        continue;
      }
      if (status === Parse.Bad) throw new CorruptionError(file, bufStart + pos, 'record checksum or length mismatch');
      // Short: shift what is left to the front and read more.
      const fileOff = bufStart + have;
      if (fileOff >= size) {
        if (bufStart + pos === size) return { validEnd: size, size };
        if (opts.tornTailOk) return { validEnd: bufStart + pos, size };
        throw new CorruptionError(file, bufStart + pos, `truncated record (file ends at ${size})`);
      }
      const left = have - pos;
      const need = Math.max(CHUNK, left + 1, pos < have && rec.end > 0 ? rec.end - pos : 0);
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafe(need);
        buf.copy(bigger, 0, pos, have);
        buf = bigger;
      } else {
        buf.copyWithin(0, pos, have);
      }
      bufStart += pos;
      have = left;
      pos = 0;
      const n = fs.readSync(fd, buf, have, Math.min(buf.length - have, size - fileOff), fileOff);
      have += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}
