// Why: a get (or the key compare of an update) whose record lies in a sealed file costs one
// positional read, ~0.75 µs here — more than everything else a get does. Sealed files are
// immutable, so their bytes can be kept in memory without any coherence protocol: this cache keeps
// 512-byte blocks of them in one fixed Buffer arena, with typed-array tags and no allocation per
// operation. Blocks are small because a fill reads the whole block: a 512-byte pread costs ~5% more
// than a 46-byte one, a 4 KiB one ~65% more (measured), while for uniform access the hit rate
// depends on the bytes cached, not on the block size.
//
// Direct-mapped: block b of the file with id `id` may only sit in line (b + id · K) mod lines, so a
// lookup is one tag compare and a fill evicts whatever held that line. Consecutive blocks of one
// file land on consecutive lines, so a file smaller than the cache never evicts itself.
//
// The cache only holds bytes; the caller (sealed-files.ts) parses every record it takes from a
// block and verifies its checksum on every use, so a hit detects a flipped bit in the cached bytes
// just as a read would (and drops the line, so the next read goes to disk). Records that cross a
// block's end are not taken from the cache: the caller reads them directly (`bypasses`).
//
// Files are named by a small integer id handed out by fileId(slot, file): a slot whose file object
// changed (the file was closed and the slot reused) gets a fresh id, so lines cached for the slot's
// previous file never match again; its lines are emptied at that moment (one pass over the tags,
// ~20 µs per 16 MiB of cache, once per file change).

/** Bytes per cached block (and per line of the arena). */
export const BLOCK_BYTES = 512;
const BLOCK_SHIFT = 9;
/** Spreads the files over the lines: an odd multiplier (the golden-ratio constant). */
const SPREAD = 0x9e3779b1;
/** Every ADMIT-th miss fills its block even over a line in use (see wantsFill). */
const ADMIT = 8;

/** Figures for stats(). */
export interface BlockCacheStats {
  /** Arena bytes allocated so far (the arena is allocated on the first fill). */
  bytes: number;
  /** Configured capacity in bytes (a whole number of blocks). */
  capacity: number;
  hits: number;
  misses: number;
  /** Records found in a cached block that cross its end: read directly instead. */
  bypasses: number;
}

/** A fixed-size, direct-mapped cache of 512-byte blocks of immutable files. */
export class BlockCache {
  /** Lines in the arena (capacity / BLOCK_BYTES). */
  readonly lines: number;
  /** The block bytes: line i at [i · BLOCK_BYTES, i · BLOCK_BYTES + lineLen(i)). Allocated on the first fill. */
  arena: Buffer = Buffer.alloc(0);
  /**
   * Per line, 4 words side by side (one cache miss per lookup, not four): file id (-1 = empty),
   * block number (offset >> 9 < 2^28 for files below 2^37 bytes), valid bytes (less than a block
   * only for a file's last block), slot of the file.
   */
  private readonly tags: Int32Array;
  /** Per slot: the file object whose id is slotId[slot]. */
  private readonly slotFile: Array<object | undefined> = [];
  private slotId = new Int32Array(64);
  private nextId = 0;
  hits = 0;
  misses = 0;
  bypasses = 0;

  /** `bytes` is rounded down to whole blocks; at least one block. */
  constructor(bytes: number) {
    this.lines = Math.max(1, Math.floor(bytes / BLOCK_BYTES));
    this.tags = new Int32Array(this.lines * 4);
    this.clear();
  }

  /** The id of `file`, which sits in `slot`: the same while that object holds the slot, fresh after. */
  fileId(slot: number, file: object): number {
    if (this.slotFile[slot] === file) return this.slotId[slot]!;
    if (slot >= this.slotId.length) {
      const grown = new Int32Array(Math.max(slot + 1, this.slotId.length * 2));
      grown.set(this.slotId);
      this.slotId = grown;
    }
    // The slot's previous file is gone: empty its lines, so that misses may fill them at once.
    if (this.slotFile[slot] !== undefined) this.dropFile(this.slotId[slot]!);
    this.slotFile[slot] = file;
    // Ids wrap after 2^31 file openings; by then every line of the earlier holder of an id has
    // been emptied by dropFile (when its slot changed hands) or refilled.
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0x7fffffff;
    this.slotId[slot] = id;
    return id;
  }

  /** Forgets the file of `slot`: its cached lines are emptied and never match again. */
  invalidateSlot(slot: number): void {
    if (this.slotFile[slot] === undefined) return;
    this.dropFile(this.slotId[slot]!);
    this.slotFile[slot] = undefined;
  }

  /** The line of `block` of file `id`. */
  lineOf(id: number, block: number): number {
    return ((block + Math.imul(id, SPREAD)) >>> 0) % this.lines;
  }

  /** The line holding block `block` of file `id`, or -1 (a miss). */
  lookup(id: number, block: number): number {
    const line = this.lineOf(id, block);
    const t = this.tags;
    if (t[line * 4] === id && t[line * 4 + 1] === block) {
      this.hits++;
      return line;
    }
    this.misses++;
    return -1;
  }

  /** Valid bytes of `line`. */
  lineLen(line: number): number {
    return this.tags[line * 4 + 2]!;
  }

  /**
   * Whether a block that just missed should be read whole and copied in. A block read costs more
   * than the 128-byte read of one record (cold page-cache lines; ~0.2 µs more for 640 bytes at
   * random offsets of a 40 MB file) and its copy stores into cold arena lines (a pread into a
   * random line of a 16 MiB arena measured ~0.3 µs more than into a small warm buffer), so only a
   * miss on a free line, or every ADMIT-th miss, fills; the others read just their record. For
   * uniform access the hit rate depends on the bytes cached, not on which blocks they are, so it
   * converges to the same value; blocks read often still get in, sooner the more often they are
   * read. A line is free if empty or if it holds a block of a file that is no longer open in its
   * slot (`files`: the caller's open file per slot) — merges replace files all the time.
   */
  wantsFill(id: number, block: number, files: ArrayLike<object | undefined>): boolean {
    const j = this.lineOf(id, block) * 4;
    const t = this.tags;
    const held = t[j]!;
    if (held === -1 || this.misses % ADMIT === 0) return true;
    const slot = t[j + 3]!;
    return this.slotId[slot] !== held || this.slotFile[slot] !== files[slot];
  }

  /** Copies block `block` of file `id` (open in `slot`) — `n` bytes of `src` from `start` — into its line. */
  fill(id: number, block: number, slot: number, src: Uint8Array, start: number, n: number): void {
    if (this.arena.length === 0) this.arena = Buffer.allocUnsafe(this.lines * BLOCK_BYTES);
    const line = this.lineOf(id, block);
    const t = this.tags;
    n = Math.min(n, BLOCK_BYTES);
    this.arena.set(src.subarray(start, start + n), line << BLOCK_SHIFT);
    t[line * 4] = id;
    t[line * 4 + 1] = block;
    t[line * 4 + 2] = n;
    t[line * 4 + 3] = slot;
  }

  /** Empties one line (its bytes failed a check: the next read goes to disk). */
  invalidateLine(line: number): void {
    this.tags[line * 4] = -1;
  }

  /** Empties every line. */
  clear(): void {
    const t = this.tags;
    for (let i = 0; i < t.length; i += 4) t[i] = -1;
  }

  /** Bytes held: the arena (once allocated) and the tags. */
  get memoryBytes(): number {
    return this.arena.length + this.tags.byteLength + this.slotId.byteLength;
  }

  stats(): BlockCacheStats {
    return { bytes: this.arena.length, capacity: this.lines * BLOCK_BYTES, hits: this.hits, misses: this.misses, bypasses: this.bypasses };
  }

  /** Empties the lines of file `id`. */
  private dropFile(id: number): void {
    const t = this.tags;
    for (let i = 0; i < t.length; i += 4) if (t[i] === id) t[i] = -1;
  }
}
