// Why: both hash engines (AppendLog, HybridLog) end up with the same thing on disk — immutable
// files of records in the common record format, arranged in levels and merged by tiering — and
// the same index of key → location. This module is the ONE implementation of that: opening the
// files for positional reads, encoding locations, hint files for fast reopen, and merges that
// keep a record only if the index still points at it (the thesis' liveness rule: no key set).
//
// API (shared by both hash engines; keep stable):
//   loc(slot, offset), slotOf(loc), offsetOf(loc)   location = slot * 2^37 + offset
//   MEMORY_SLOT (= 0)          never given to a file: an engine may mark in-memory addresses with it
//   new SealedFiles({ dir, ext, maxRunsPerLevel, maxLen, nextGeneration })
//   allocSlot() / freeSlot(s)  a slot for a file the caller is writing (its offsets are final, so
//                              index entries pointing into it stay valid once it is sealed)
//   add(name, level, slot, content?)  adopt a file the caller has just sealed (fsynced, final
//                              name); writes its hint from `content` (the file's bytes) or a scan
//   load(files, index)         reopen: open + index `files` oldest first, from hints (or scans);
//                              rewrites missing/bad hints
//   keyEquals(loc, key)        for the engine's KeyMatcher (one positional read, checksum checked)
//   valueAt(loc) → Uint8Array  a fresh copy of the record's value (reuses the keyEquals read)
//   mergeDue(index) → boolean  merges every level holding maxRunsPerLevel files into the next,
//                              cascading; re-points the index with replaceIf; then the engine
//                              commits `meta()`/`names()`/`hintNames()` through ctx.commit
//   compact(name, index)       rewrites one file's live records into a new file of its level
//   meta(), names(), hintNames(), stats(), close()
// Age order: a higher level is older; within a level a lower generation is older. Output of a
// merge gets a fresh (highest) generation, so it is the newest file of its level.
// Files are never unlinked here: the engine commits the new set and the shell sweeps the rest.

import fs from 'node:fs';
import path from 'node:path';
import { CorruptionError } from './errors.js';
import { fileName, generationOf } from './file-names.js';
import { type HashIndex, hashKey } from './hash-index.js';
import { HintBuilder, forEachHintEntry, hintName, readHint, writeHint } from './hint-file.js';
import { fsyncDir, fsyncSync, openSync, renameSync, writeAllSync } from './io.js';
import { Parse, parseRecord, rec, varintSize } from './record.js';
import { scanRecords } from './record-scan.js';

/** Locations are slot * SLOT_SPAN + offset: 2^37 = 128 GiB per file, 2^16 slots below 2^53. */
export const SLOT_SPAN = 2 ** 37;
/** Slots available (slot 0 is MEMORY_SLOT). */
export const MAX_SLOTS = 2 ** 16;
/** A slot never given to a file; an engine may use it for in-memory addresses. */
export const MEMORY_SLOT = 0;

/** The location of `offset` in the file of `slot`. */
export function loc(slot: number, offset: number): number {
  return slot * SLOT_SPAN + offset;
}

/** The slot of a location. */
export function slotOf(l: number): number {
  return Math.floor(l / SLOT_SPAN);
}

/** The offset of a location within its file (or memory region). */
export function offsetOf(l: number): number {
  return l % SLOT_SPAN;
}

/** One sealed file in committed metadata. */
export interface LevelFileMeta {
  /** File name (relative to the data directory). */
  name: string;
  /** Level: 0 = freshest. */
  level: number;
}

/** An open sealed file. */
export interface SealedFile {
  readonly name: string;
  readonly level: number;
  /** Generation from the name; within a level, higher is newer. */
  readonly gen: number;
  readonly slot: number;
  readonly size: number;
  readonly fd: number;
  /** Whether its hint file exists (written or loaded). */
  hint: boolean;
}

/** Construction options. */
export interface SealedFilesOptions {
  /** Absolute data directory. */
  dir: string;
  /** Extension of data files written by merges, e.g. 'data'. */
  ext: string;
  /** Files a level may hold before it is merged into the next (>= 2). */
  maxRunsPerLevel: number;
  /** Largest key or value length a record may claim (corrupt lengths beyond are reported). */
  maxLen: number;
  /** Fresh file generations (ctx.nextGeneration). */
  nextGeneration: () => number;
}

/** Figures for stats(). */
export interface SealedFilesStats {
  filesPerLevel: number[];
  diskBytes: number;
  merges: number;
  /** Bytes read from merge inputs. */
  bytesMergedIn: number;
  /** Bytes written by merges (and compactions). */
  bytesMergedOut: number;
  compactions: number;
  /** At the last load: files indexed from their hint, and by scanning the data. */
  hintsLoaded: number;
  filesScanned: number;
}

const READ_CHUNK = 512;
const WRITE_CHUNK = 1 << 20;

/** Orders files oldest first: level descending, then generation ascending. */
function ageOrder(a: SealedFile, b: SealedFile): number {
  return b.level - a.level || a.gen - b.gen;
}

/** The sealed files of one engine, with their levels, reads, hints and merges. */
export class SealedFiles {
  /** Open files, oldest first. */
  private files: SealedFile[] = [];
  private readonly bySlot: Array<SealedFile | undefined> = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = MEMORY_SLOT + 1;
  private buf = Buffer.allocUnsafe(4096);
  /** Location whose record `buf` holds (at `rec`-relative positions), or -1. */
  private cachedLoc = -1;
  private cachedStart = 0;
  private cachedLen = 0;
  private cachedValStart = 0;
  private cachedValLen = 0;
  private counters = { merges: 0, bytesMergedIn: 0, bytesMergedOut: 0, compactions: 0, hintsLoaded: 0, filesScanned: 0 };

  constructor(private readonly o: SealedFilesOptions) {}

  /** A slot for a file being written; pass it to add() when sealed, or freeSlot() if abandoned. */
  allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= MAX_SLOTS) throw new Error(`more than ${MAX_SLOTS - 1} open data files`);
    return this.nextSlot++;
  }

  /** Returns a slot no file uses. */
  freeSlot(slot: number): void {
    this.bySlot[slot] = undefined;
    this.freeSlots.push(slot);
  }

  /** The open file of `slot`, if any. */
  fileAt(slot: number): SealedFile | undefined {
    return this.bySlot[slot];
  }

  /** Open files, oldest first (do not modify). */
  list(): readonly SealedFile[] {
    return this.files;
  }

  /**
   * Adopts `name` (sealed: fsynced, immutable, under its final name) at `level` in `slot` and
   * writes its hint, from `content` (the file's bytes, e.g. the engine's write buffer) or by
   * reading the file. A failed hint write is not an error (hints are optional).
   */
  add(name: string, level: number, slot: number, content?: Uint8Array): SealedFile {
    const f = this.openFile(name, level, slot);
    if (content !== undefined && content.length !== f.size) {
      this.closeFile(f);
      throw new Error(`add(${name}): content of ${content.length} bytes, file of ${f.size}`);
    }
    const hb = new HintBuilder();
    try {
      if (content !== undefined) hintFromBytes(content, hb, this.o.maxLen);
      else scanRecords(this.path(name), (b, off) => hb.add(b, rec.keyStart, rec.keyLen, off, rec.valueLen === 0), { maxLen: this.o.maxLen });
    } catch (e) {
      this.closeFile(f);
      throw e;
    }
    f.hint = this.tryWriteHint(name, hb.finish(f.size));
    this.insert(f);
    return f;
  }

  /**
   * Opens `files` (committed metadata) and applies their records to `index` oldest first: a
   * value points its key at the record, a tombstone removes the key. Each file is indexed from
   * its hint if the hint checks out, else by scanning the data (and the hint is rewritten).
   * Throws CorruptionError naming a data file that is missing, of the wrong size or unreadable.
   */
  load(files: readonly LevelFileMeta[], index: HashIndex): void {
    const opened: SealedFile[] = [];
    try {
      for (const m of files) opened.push(this.openFile(m.name, m.level, this.allocSlot()));
    } catch (e) {
      for (const f of opened) this.closeFile(f);
      throw e;
    }
    opened.sort(ageOrder);
    for (const f of opened) this.insert(f);
    const hints = opened.map((f) => readHint(this.path(hintName(f.name))));
    // Size the table once for the largest file (files may share keys, so not for their sum).
    index.reserve(Math.max(index.size, ...hints.map((h) => h?.entries ?? 0)));
    for (let fi = 0; fi < opened.length; fi++) {
      const f = opened[fi]!;
      const hint = hints[fi] ?? null;
      if (hint && hint.dataSize !== f.size) {
        throw new CorruptionError(this.path(f.name), Math.min(f.size, hint.dataSize), `size ${f.size} differs from the ${hint.dataSize} its hint records (truncated or overwritten)`);
      }
      if (hint) {
        const base = loc(f.slot, 0);
        // The checksum passed, so the entries parse unless the writer was wrong: applied in one pass.
        const ok = forEachHintEntry(hint, (b, ks, kl, off, tomb, h) => {
          if (tomb) index.deleteFrom(b, ks, kl, h);
          else index.setFrom(b, ks, kl, base + off, h);
        });
        if (!ok) throw new CorruptionError(this.path(hintName(f.name)), -1, 'hint entries do not match its header (checksum valid); delete the hint to rebuild it');
        f.hint = true;
        this.counters.hintsLoaded++;
        continue;
      }
      const hb = new HintBuilder();
      scanRecords(this.path(f.name), (b, off) => {
        const key = b.subarray(rec.keyStart, rec.keyStart + rec.keyLen);
        const tomb = rec.valueLen === 0;
        hb.add(b, rec.keyStart, rec.keyLen, off, tomb);
        applyEntry(index, key, loc(f.slot, off), tomb);
      }, { maxLen: this.o.maxLen });
      this.counters.filesScanned++;
      f.hint = this.tryWriteHint(f.name, hb.finish(f.size));
    }
  }

  /** Whether the record at `l` (in a sealed file) has key `key`. Throws CorruptionError. */
  keyEquals(l: number, key: Uint8Array): boolean {
    this.read(l);
    const b = this.buf;
    const s = this.cachedStart;
    if (this.cachedLen !== key.length) return false;
    for (let i = 0; i < key.length; i++) if (b[s + i] !== key[i]) return false;
    return true;
  }

  /** A fresh copy of the value of the record at `l` (empty for a tombstone). Throws CorruptionError. */
  valueAt(l: number): Uint8Array {
    this.read(l);
    return copyOut(this.buf, this.cachedValStart, this.cachedValLen);
  }

  /**
   * Reads the record at `l` into `buf` unless it is already there; checks its checksum. Leaves the
   * shared `rec` view as it found it: callers run inside scanRecords visitors, which read `rec`
   * after the visitor returns.
   */
  private read(l: number): void {
    if (l === this.cachedLoc) return;
    const ks = rec.keyStart;
    const kl = rec.keyLen;
    const vs = rec.valueStart;
    const vl = rec.valueLen;
    const end = rec.end;
    try {
      this.readUncached(l);
    } finally {
      rec.keyStart = ks;
      rec.keyLen = kl;
      rec.valueStart = vs;
      rec.valueLen = vl;
      rec.end = end;
    }
  }

  private readUncached(l: number): void {
    const slot = slotOf(l);
    const off = offsetOf(l);
    const f = this.bySlot[slot];
    if (f === undefined) throw new Error(`no sealed file in slot ${slot} (location ${l})`);
    const avail = f.size - off;
    if (avail <= 0) throw new CorruptionError(this.path(f.name), off, `record offset beyond the end of the file (${f.size} bytes)`);
    // One read for records up to READ_CHUNK; a longer one is read again at its full length (a
    // long key may hide even the value length: then read past the longest key first).
    let want = READ_CHUNK;
    let st: Parse;
    for (;;) {
      want = Math.min(want, avail);
      if (want > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(want, this.buf.length * 2));
      const n = fs.readSync(f.fd, this.buf, 0, want, off);
      st = parseRecord(this.buf, 0, n, this.o.maxLen);
      if (st !== Parse.Short || n >= avail) break;
      want = rec.end > n ? rec.end : Math.max(n * 2, 65_535 + 16);
    }
    if (st !== Parse.Ok) {
      this.cachedLoc = -1;
      throw new CorruptionError(this.path(f.name), off, st === Parse.Short ? 'record runs past the end of the file' : 'record checksum or length mismatch');
    }
    this.cachedLoc = l;
    this.cachedStart = rec.keyStart;
    this.cachedLen = rec.keyLen;
    this.cachedValStart = rec.valueStart;
    this.cachedValLen = rec.valueLen;
  }

  /**
   * Merges every level that holds maxRunsPerLevel files into one file of the next level,
   * cascading. Returns whether the file set changed (the caller then commits it).
   */
  mergeDue(index: HashIndex): boolean {
    let changed = false;
    for (let level = 0; ; level++) {
      let deepest = -1;
      let count = 0;
      for (const f of this.files) {
        if (f.level > deepest) deepest = f.level;
        if (f.level === level) count++;
      }
      if (level > deepest) return changed;
      if (count >= this.o.maxRunsPerLevel) {
        this.mergeLevel(level, index);
        changed = true;
      }
    }
  }

  /** Merges all files of `level` into one file of level + 1 (see mergeFiles). */
  mergeLevel(level: number, index: HashIndex): void {
    const inputs = this.files.filter((f) => f.level === level);
    if (inputs.length === 0) return;
    const olderExist = this.files.some((f) => f.level > level);
    this.mergeFiles(inputs, level + 1, index, olderExist);
    this.counters.merges++;
  }

  /** Rewrites file `name`'s live records into a new file of the same level (thesis §3.3 compaction). */
  compact(name: string, index: HashIndex): void {
    const f = this.files.find((x) => x.name === name);
    if (!f) throw new Error(`compact: ${name} is not an open sealed file`);
    const olderExist = this.files.some((x) => x.level > f.level || (x.level === f.level && x.gen < f.gen));
    this.mergeFiles([f], f.level, index, olderExist);
    this.counters.compactions++;
  }

  /**
   * Writes the live records of `inputs` (a record is live iff the index points at it) into one new
   * file at `outLevel`, keeping a tombstone only if `keepTombstones` (files older than the output
   * exist) and its key is not live; makes it durable (temp, fsync, rename) with its hint; then
   * re-points the index and replaces the inputs in the set. On failure nothing changes.
   */
  private mergeFiles(inputs: SealedFile[], outLevel: number, index: HashIndex, keepTombstones: boolean): void {
    inputs.sort(ageOrder);
    const gen = this.o.nextGeneration();
    const outName = fileName(`L${outLevel}`, gen, this.o.ext);
    const outSlot = this.allocSlot();
    const w = new MergeWriter(this.path(outName));
    const hb = new HintBuilder();
    let moved = 0;
    let hashes: Uint32Array = new Uint32Array(1024);
    let from: Float64Array = new Float64Array(1024);
    let to: Float64Array = new Float64Array(1024);
    const tombs = new Set<string>();
    let bytesIn = 0;
    try {
      for (const f of inputs) {
        bytesIn += f.size;
        scanRecords(this.path(f.name), (b, off) => {
          // Copy the view first: index.get may read another record and refill `rec`.
          const keyStart = rec.keyStart;
          const keyLen = rec.keyLen;
          const start = keyStart - varintSize(keyLen);
          const end = rec.end;
          const key = b.subarray(keyStart, keyStart + keyLen);
          const h = hashKey(key);
          const oldLoc = loc(f.slot, off);
          if (rec.valueLen === 0) {
            if (!keepTombstones) return;
            // A deletion matters only if no newer value of the key is live, and once per merge.
            const ks = key.toString('latin1');
            if (tombs.has(ks) || index.get(key, h) >= 0) return;
            tombs.add(ks);
            hb.add(b, keyStart, keyLen, w.size, true, h);
            w.append(b, start, end);
            return;
          }
          if (!index.hasLoc(h, oldLoc)) return;
          const newOff = w.size;
          hb.add(b, keyStart, keyLen, newOff, false, h);
          w.append(b, start, end);
          if (moved === hashes.length) {
            hashes = grow32(hashes);
            from = grow64(from);
            to = grow64(to);
          }
          hashes[moved] = h;
          from[moved] = oldLoc;
          to[moved] = loc(outSlot, newOff);
          moved++;
        }, { maxLen: this.o.maxLen });
      }
      w.finish();
    } catch (e) {
      w.abort();
      this.freeSlots.push(outSlot);
      throw e;
    }
    let out: SealedFile | null = null;
    if (w.size > 0) {
      try {
        out = this.openFile(outName, outLevel, outSlot);
      } catch (e) {
        this.freeSlots.push(outSlot);
        throw e;
      }
      out.hint = this.tryWriteHint(outName, hb.finish(w.size));
    } else {
      this.freeSlots.push(outSlot);
    }
    // The output is durable: from here on nothing can fail.
    for (let i = 0; i < moved; i++) index.replaceIf(hashes[i]!, from[i]!, to[i]!);
    const gone = new Set(inputs);
    this.files = this.files.filter((f) => !gone.has(f));
    for (const f of inputs) {
      this.closeFile(f);
      this.freeSlot(f.slot);
    }
    if (out) this.insert(out);
    this.counters.bytesMergedIn += bytesIn;
    this.counters.bytesMergedOut += w.size;
  }

  /** The open files as committed metadata, oldest first. */
  meta(): LevelFileMeta[] {
    return this.files.map((f) => ({ name: f.name, level: f.level }));
  }

  /** Data file names, oldest first. */
  names(): string[] {
    return this.files.map((f) => f.name);
  }

  /** Names of the hint files that exist (for FileSet.optional). */
  hintNames(): string[] {
    return this.files.filter((f) => f.hint).map((f) => hintName(f.name));
  }

  /** Files per level, disk bytes and merge counters. */
  stats(): SealedFilesStats {
    const filesPerLevel: number[] = [];
    let diskBytes = 0;
    for (const f of this.files) {
      while (filesPerLevel.length <= f.level) filesPerLevel.push(0);
      filesPerLevel[f.level]!++;
      diskBytes += f.size;
    }
    return { filesPerLevel, diskBytes, ...this.counters };
  }

  /** Closes every file descriptor. */
  close(): void {
    for (const f of this.files) this.closeFile(f);
    this.files = [];
    this.cachedLoc = -1;
  }

  private path(name: string): string {
    return path.join(this.o.dir, name);
  }

  private insert(f: SealedFile): void {
    this.files.push(f);
    this.files.sort(ageOrder);
    this.bySlot[f.slot] = f;
    this.cachedLoc = -1;
  }

  private openFile(name: string, level: number, slot: number): SealedFile {
    const file = this.path(name);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptionError(file, -1, 'data file is missing');
      throw e;
    }
    const size = fs.fstatSync(fd).size;
    if (size >= SLOT_SPAN) {
      fs.closeSync(fd);
      throw new CorruptionError(file, -1, `data file of ${size} bytes exceeds the 2^37-byte location range`);
    }
    return { name, level, gen: generationOf(name), slot, size, fd, hint: false };
  }

  private closeFile(f: SealedFile): void {
    try { fs.closeSync(f.fd); } catch { /* already closed */ }
    if (this.bySlot[f.slot] === f) this.bySlot[f.slot] = undefined;
    this.cachedLoc = -1;
  }

  private tryWriteHint(dataName: string, bytes: Uint8Array): boolean {
    try {
      writeHint(this.path(hintName(dataName)), bytes);
      return true;
    } catch {
      return false; // optional: the next load scans the data file instead
    }
  }
}

/** Applies one record to the index: a value points the key at it, a tombstone removes the key. */
function applyEntry(index: HashIndex, key: Uint8Array, l: number, tombstone: boolean, h = hashKey(key)): void {
  if (tombstone) index.delete(key, h);
  else index.set(key, l, h);
}

/** A fresh copy of `buf[start, start + len)` (Buffer#slice would return a view of a reused buffer). */
export function copyOut(buf: Uint8Array, start: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  if (len <= 64) {
    for (let i = 0; i < len; i++) out[i] = buf[start + i]!;
  } else {
    out.set(buf.subarray(start, start + len));
  }
  return out;
}

/**
 * Builds hint entries by walking records already in memory. The caller wrote these bytes itself,
 * so only the structure is walked (no checksum pass); a malformed length still throws.
 */
export function hintFromBytes(content: Uint8Array, hb: HintBuilder, maxLen: number): void {
  let pos = 0;
  const n = content.length;
  while (pos < n) {
    const start = pos;
    let x = content[pos++]!;
    let keyLen = x & 0x7f;
    for (let shift = 7; x >= 0x80 && pos < n; shift += 7) {
      x = content[pos++]!;
      keyLen += (x & 0x7f) * 2 ** shift;
    }
    const keyStart = pos;
    pos += keyLen;
    let valueLen = 0;
    for (let shift = 0; pos < n; shift += 7) {
      x = content[pos++]!;
      valueLen += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) break;
    }
    pos += valueLen + 4;
    if (keyLen === 0 || keyLen > maxLen || valueLen > maxLen || pos > n) throw new Error(`hintFromBytes: no whole record at offset ${start}`);
    hb.add(content, keyStart, keyLen, start, valueLen === 0);
  }
}

function grow32(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

function grow64(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** Streams a merge output into a temp file; finish() makes it durable under its final name. */
class MergeWriter {
  private fd = -1;
  private readonly tmp: string;
  private buf = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;
  /** Bytes appended so far (the next record's offset). */
  size = 0;

  constructor(private readonly file: string) {
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

  /** fsync + rename + directory fsync; with no records, no file is created. */
  finish(): void {
    if (this.size === 0) return;
    this.flush();
    fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
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
    this.used = 0;
  }
}
