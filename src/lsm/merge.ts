// Why: tiered compaction. When a level holds `maxRunsPerLevel` runs they are k-way merged into one
// run of the next level. Each input is read sequentially in 1 MiB chunks (memory stays flat for
// any run size); for equal keys the newest input wins; deletions are dropped only when nothing
// older lies below the output (the last level), because there a tombstone hides nothing. Records
// are copied verbatim — checksum included — so merging re-verifies but never re-encodes them.
// k is small (maxRunsPerLevel), so picking the minimum by a linear pass beats a heap.

import { CorruptionError } from '../errors.js';
import { Parse, parseRecord, rec } from '../record.js';
import { compareBytes } from './key-compare.js';
import { RunWriter, type WrittenRun } from './run-writer.js';
import fs from 'node:fs';
import { JobStopped } from '../worker-protocol.js';

const CHUNK = 1 << 20;
/** Records between two calls of a merge's shouldStop (a stop request, or a pause for a flush). */
const STOP_CHECK_EVERY = 1024;

/** What a cursor reads: a run's descriptor, path (for errors) and where its data section ends. */
export interface RunSource {
  readonly fd: number;
  readonly file: string;
  readonly footer: { readonly dataEnd: number };
}


/** Sequential reader over a run's records (its data section), one record at a time. */
export class RunCursor {
  buf = Buffer.allocUnsafe(CHUNK);
  private bufStart = 0; // file offset of buf[0]
  private have = 0;
  private pos = 0;
  /** Current record: start/end in buf, key position and value length. */
  recStart = 0;
  recEnd = 0;
  keyStart = 0;
  keyEnd = 0;
  valueLen = 0;
  /** False once the data section is exhausted. */
  valid = false;

  constructor(private readonly run: RunSource, private readonly maxLen: number) {}

  /** Moves to the next record; returns false at the end of the data. */
  next(): boolean {
    const end = this.run.footer.dataEnd;
    for (;;) {
      if (this.pos < this.have) {
        const st = parseRecord(this.buf, this.pos, this.have, this.maxLen);
        if (st === Parse.Ok) {
          this.recStart = this.pos;
          this.recEnd = rec.end;
          this.keyStart = rec.keyStart;
          this.keyEnd = rec.keyStart + rec.keyLen;
          this.valueLen = rec.valueLen;
          this.pos = rec.end;
          return (this.valid = true);
        }
        if (st === Parse.Bad) throw new CorruptionError(this.run.file, this.bufStart + this.pos, 'record checksum or length mismatch');
      }
      // Short (or empty): refill.
      const fileOff = this.bufStart + this.have;
      if (fileOff >= end) {
        if (this.pos < this.have) throw new CorruptionError(this.run.file, this.bufStart + this.pos, 'truncated record in run data');
        return (this.valid = false);
      }
      const left = this.have - this.pos;
      const need = Math.max(CHUNK, left + 1, this.pos < this.have && rec.end > 0 ? rec.end - this.pos : 0);
      if (need > this.buf.length) {
        const bigger = Buffer.allocUnsafe(need);
        this.buf.copy(bigger, 0, this.pos, this.have);
        this.buf = bigger;
      } else {
        this.buf.copyWithin(0, this.pos, this.have);
      }
      this.bufStart += this.pos;
      this.have = left;
      this.pos = 0;
      const n = fs.readSync(this.run.fd, this.buf, this.have, Math.min(this.buf.length - this.have, end - fileOff), fileOff);
      if (n === 0) throw new CorruptionError(this.run.file, fileOff, 'run data ends early');
      this.have += n;
    }
  }
}

/** Options of one merge. */
export interface MergeOptions {
  /** Data directory. */
  dir: string;
  /** Name of the output run. */
  outName: string;
  /** Fence spacing of the output. */
  densityFactor: number;
  /** Bloom false-positive rate of the output. */
  falsePositiveRate: number;
  /** Drop deletions (only when no older run lies below the output). */
  dropTombstones: boolean;
  /** Largest key or value length a record may declare. */
  maxLen: number;
  /** Leave the sealed output under its temp name (`tmpPath` of the result); default false. */
  keepTempName?: boolean;
  /** Polled every few thousand records; true abandons the merge (throws JobStopped). */
  shouldStop?: () => boolean;
}

/** A merge's output: the run written, and where it is (its temp path when keepTempName). */
export interface MergedRun extends WrittenRun {
  /** Where the sealed file is now. */
  path: string;
}

/**
 * Merges `inputs` (ordered newest first) into one new run. Returns null when nothing survives
 * (every record was a dropped deletion), so no empty run is written.
 */
export function mergeRuns(inputs: readonly RunSource[], o: MergeOptions): MergedRun | null {
  const cursors = inputs.map((r) => new RunCursor(r, o.maxLen));
  const active: RunCursor[] = [];
  for (const c of cursors) if (c.next()) active.push(c); // keeps newest-first order
  const w = new RunWriter(o.dir, o.outName, o.densityFactor, o.falsePositiveRate);
  const stop = o.shouldStop;
  let untilCheck = STOP_CHECK_EVERY;
  try {
    while (active.length > 0) {
      if (stop !== undefined && --untilCheck === 0) {
        untilCheck = STOP_CHECK_EVERY;
        if (stop()) throw new JobStopped();
      }
      // The smallest key; on ties the earliest (newest) cursor wins.
      let best = active[0]!;
      for (let i = 1; i < active.length; i++) {
        const c = active[i]!;
        if (compareBytes(c.buf, c.keyStart, c.keyEnd, best.buf, best.keyStart, best.keyEnd) < 0) best = c;
      }
      if (!(o.dropTombstones && best.valueLen === 0)) {
        w.addRecord(best.buf, best.recStart, best.recEnd, best.keyStart, best.keyEnd - best.keyStart);
      }
      // Advance every cursor positioned on this key (older versions are shadowed). `best` last,
      // since the others compare against its bytes.
      for (let i = active.length - 1; i >= 0; i--) {
        const c = active[i]!;
        if (c === best) continue;
        if (compareBytes(c.buf, c.keyStart, c.keyEnd, best.buf, best.keyStart, best.keyEnd) === 0 && !c.next()) active.splice(i, 1);
      }
      if (!best.next()) active.splice(active.indexOf(best), 1);
    }
    if (w.records === 0) {
      w.abort();
      return null;
    }
    const keep = o.keepTempName === true;
    const written = w.finish(!keep);
    return { ...written, path: keep ? w.tmpPath : `${o.dir}/${o.outName}` };
  } catch (e) {
    w.abort();
    throw e;
  }
}
