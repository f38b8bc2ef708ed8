// Why: FASTER's hybrid log keeps the newest part of an ever-growing logical address space in a
// fixed block of memory. This file is only that mapping: logical addresses (which never repeat)
// onto positions of one Buffer, the three offsets that split it into regions, and where the next
// record goes. Records never wrap around the end of the buffer — a record that does not fit in
// the bytes left before the end starts at position 0, and the skipped bytes begin with a 0x00
// byte (a key length of 0, which no real record has), so a scan knows to jump to the boundary.
// Contiguous records can be parsed, copied and written to a file as plain Buffer views.
//
//   addresses:  ... on disk ... | head ... read-only ... | readOnly ... mutable ... | tail
//
// Only records at or above `readOnly` may be updated in place; `readOnly` trails `tail` by the
// mutable-region size and only ever moves forward.

/** Marks the start of skipped bytes at the end of the buffer. */
export const PAD_BYTE = 0x00;

/** The in-memory part of the hybrid log. */
export class RingBuffer {
  /** The memory; a record at logical address `a` sits at `buf[a % size]`. */
  readonly buf: Buffer;
  /** Oldest logical address still in memory. */
  head = 0;
  /** Records below this address are immutable (read-only region). */
  readOnly = 0;
  /** Address the next record gets. */
  tail = 0;

  constructor(readonly size: number) {
    this.buf = Buffer.alloc(size);
  }

  /** Bytes between head and tail (records plus any padding). */
  get used(): number {
    return this.tail - this.head;
  }

  /** Buffer position of logical address `addr`. */
  pos(addr: number): number {
    return addr % this.size;
  }

  /**
   * The logical address of buffer position `pos`, for a position inside [head, tail). Positions
   * are what the index stores: the address is recovered from them because head..tail spans less
   * than one buffer length.
   */
  addrOf(pos: number): number {
    const hp = this.head % this.size;
    return this.head + (pos >= hp ? pos - hp : pos + this.size - hp);
  }

  /** Padding that an append of `len` bytes would need first (0 if it fits before the end). */
  private padFor(len: number): number {
    const p = this.tail % this.size;
    return p + len <= this.size ? 0 : this.size - p;
  }

  /** Whether `len` more bytes (plus padding) fit without moving head. */
  fits(len: number): boolean {
    if (len > this.size) return false;
    // An empty ring skips to the next boundary for free (nothing lives in the skipped bytes).
    return this.used === 0 || this.used + this.padFor(len) + len <= this.size;
  }

  /**
   * Reserves `len` contiguous bytes at the tail (check `fits` first) and returns their buffer
   * position; the caller writes the record there. Moves `readOnly` to trail by `lag`.
   */
  append(len: number, lag: number): number {
    const pad = this.padFor(len);
    if (pad > 0) {
      if (this.used === 0) {
        this.tail += pad;
        this.head = this.tail;
        if (this.readOnly < this.head) this.readOnly = this.head;
      } else {
        this.buf[this.tail % this.size] = PAD_BYTE;
        this.tail += pad;
      }
    }
    const at = this.tail % this.size;
    this.tail += len;
    if (this.tail - lag > this.readOnly) this.readOnly = this.tail - lag;
    return at;
  }

  /** Makes everything up to the tail read-only (before a full flush). */
  sealAll(): void {
    this.readOnly = this.tail;
  }

  /**
   * If a record starts at `addr` (below tail), returns `addr`; if padding starts there, returns
   * the address of the next buffer boundary, where the next record starts.
   */
  skipPad(addr: number): number {
    const p = addr % this.size;
    return this.buf[p] === PAD_BYTE ? addr + (this.size - p) : addr;
  }

  /** Drops everything below `addr` (after it was flushed). */
  advanceHead(addr: number): void {
    this.head = addr;
    if (this.readOnly < addr) this.readOnly = addr;
  }

  /** Forgets every record: an empty ring starting at `addr`. */
  reset(addr = 0): void {
    this.head = this.readOnly = this.tail = addr;
  }
}
