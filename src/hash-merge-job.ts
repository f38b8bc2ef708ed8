// Why: the worker-thread half of a background merge of a hash engine's sealed files, and of a
// seal (the main thread's half of both is SealedFiles.mergeStep). Reading the inputs, copying the live records
// (liveness comes as bitmaps the main thread drew from its index), building the hint and the
// fsync all happen here, on the other core; the main thread only re-points its index, a bounded
// slice per set, and renames two files.

import fs from 'node:fs';
import path from 'node:path';
import { hashKey } from './hash-index.js';
import { HintBuilder, hintName } from './hint-file.js';
import { IndexMoves } from './index-moves.js';
import { MergeWriter } from './merge-writer.js';
import { rec, varintSize } from './record.js';
import { scanRecords } from './record-scan.js';
import { SLOT_SPAN } from './sealed-files.js';
import { type HashMergeJobSpec, type HashSealJobSpec, type JobOutcome, JobStopped } from './worker-protocol.js';

/** fdatasync the output every this many bytes (see MergeWriter). */
const SYNC_EVERY = 4 << 20;

/** Records between two looks at the stop flag. */
const STOP_CHECK = 4096;

/** Merges `s.inputs` into `<outName>.tmp` (+ hint); throws on failure, JobStopped if asked to stop. */
export function runHashMerge(s: HashMergeJobSpec, stop: () => boolean): JobOutcome {
  const t0 = performance.now();
  const w = new MergeWriter(path.join(s.dir, s.outName), SYNC_EVERY);
  const hb = new HintBuilder();
  const moves = new IndexMoves();
  const tombs = new Set<string>();
  let bytesIn = 0;
  let n = 0;
  try {
    const bitmaps = liveBitmaps(s);
    for (const input of s.inputs) {
      bytesIn += input.size;
      const live = bitmaps.get(input.slot)!;
      const base = input.slot * SLOT_SPAN;
      scanRecords(path.join(s.dir, input.name), (b, off) => {
        if (++n % STOP_CHECK === 0 && stop()) throw new JobStopped();
        const keyStart = rec.keyStart;
        const keyLen = rec.keyLen;
        const start = keyStart - varintSize(keyLen);
        const end = rec.end;
        if (rec.valueLen === 0) {
          // A deletion must outlive the merge only if older files may still hold the key: one per
          // key is enough. (If the key was set again later, that newer record follows it in the
          // output, or lives in a newer file; a reopen applies files and records oldest first.)
          if (!s.keepTombstones) return;
          const ks = b.toString('latin1', keyStart, keyStart + keyLen);
          if (tombs.has(ks)) return;
          tombs.add(ks);
          hb.add(b, keyStart, keyLen, w.size, true);
          w.append(b, start, end);
          return;
        }
        if ((live[Math.floor(off / 8)]! & (1 << (off % 8))) === 0) return;
        const h = hashKey(b.subarray(keyStart, keyStart + keyLen));
        moves.push(h, base + off, w.size);
        hb.add(b, keyStart, keyLen, w.size, false, h);
        w.append(b, start, end);
      }, { maxLen: s.maxLen });
    }
    if (stop()) throw new JobStopped();
    w.finish(true);
  } catch (e) {
    w.abort();
    throw e;
  }
  let hintTmp: string | null = null;
  if (w.size > 0) {
    hintTmp = `${path.join(s.dir, hintName(s.outName))}.tmp`;
    try {
      fs.writeFileSync(hintTmp, hb.finish(w.size));
    } catch {
      try { fs.unlinkSync(hintTmp); } catch { /* never created */ }
      hintTmp = null; // optional: the next load scans the data file instead
    }
  }
  const { hashes, from, to } = moves.trimmed();
  return {
    result: {
      ok: true,
      run: null,
      records: moves.length,
      ms: performance.now() - t0,
      hash: { tmp: w.size > 0 ? w.tmp : null, hintTmp, size: w.size, hashes, from, to, bytesIn },
    },
    transfer: [hashes.buffer as ArrayBuffer, from.buffer as ArrayBuffer, to.buffer as ArrayBuffer],
  };
}

/** fsyncs a just-sealed file if asked, and writes its hint to `<hint name>.tmp` (null if that failed). */
export function runHashSeal(s: HashSealJobSpec): JobOutcome {
  const t0 = performance.now();
  const file = path.join(s.dir, s.name);
  if (s.sync) {
    const fd = fs.openSync(file, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  const hb = new HintBuilder();
  const { size } = scanRecords(file, (b, off) => hb.add(b, rec.keyStart, rec.keyLen, off, rec.valueLen === 0), { maxLen: s.maxLen });
  let hintTmp: string | null = `${path.join(s.dir, hintName(s.name))}.tmp`;
  try {
    fs.writeFileSync(hintTmp, hb.finish(size));
  } catch {
    try { fs.unlinkSync(hintTmp); } catch { /* never created */ }
    hintTmp = null; // optional: the next load scans the data file instead
  }
  return { result: { ok: true, run: null, records: 0, ms: performance.now() - t0, hintTmp }, transfer: [] };
}

/** One bitmap per input: bit `offset` set if the record at that offset is live. */
function liveBitmaps(s: HashMergeJobSpec): Map<number, Uint8Array> {
  const maps = new Map<number, Uint8Array>();
  for (const i of s.inputs) maps.set(i.slot, new Uint8Array(Math.floor(i.size / 8) + 1));
  for (const l of s.live) {
    const slot = Math.floor(l / SLOT_SPAN);
    const off = l - slot * SLOT_SPAN;
    const bm = maps.get(slot);
    // The list covers the inputs' slot range, which may hold other files' slots too.
    if (bm !== undefined) bm[Math.floor(off / 8)]! |= 1 << (off % 8);
  }
  return maps;
}
