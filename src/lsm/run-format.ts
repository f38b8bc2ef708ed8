// Why: the writer and the reader of run files must agree on every offset; the layout is computed
// here once (docs/FORMAT.md, "LSM" is the prose version). A run is
//   records (sorted, unique keys) | index block | footer (48 bytes)
// and the index block is laid out so that one read into a fresh ArrayBuffer yields aligned typed
// array views — fence offsets, fence key ends, fence keys, Bloom words — without any parsing.

import os from 'node:os';

if (os.endianness() !== 'LE') throw new Error('snapkv LSM run files are read as little-endian typed arrays; big-endian hosts are not supported');

/** "SKVL" read as a little-endian u32. */
export const RUN_MAGIC = 0x4c564b53;
/** Version of the run file format. */
export const RUN_FORMAT = 1;
/** Bytes of the footer at the end of every run file. */
export const FOOTER_BYTES = 48;

/** Where each part of an index block starts, relative to the block's first byte. */
export interface IndexLayout {
  /** f64le offsets of the fenceCount blocks plus the end of the data (fenceCount + 1 entries). */
  offsetsAt: number;
  /** u32le end of each fence key inside the fence key bytes (fenceCount entries). */
  keyEndsAt: number;
  /** The fence keys, concatenated. */
  keysAt: number;
  /** u32le Bloom filter words (ceil(bloomBits / 32) entries), 4-aligned. */
  bloomAt: number;
  /** Total bytes of the index block. */
  length: number;
}

/** Computes the index block layout from its counts. */
export function indexLayout(fenceCount: number, fenceKeyBytes: number, bloomBits: number): IndexLayout {
  const offsetsAt = 0;
  const keyEndsAt = offsetsAt + 8 * (fenceCount + 1);
  const keysAt = keyEndsAt + 4 * fenceCount;
  const bloomAt = (keysAt + fenceKeyBytes + 3) & ~3;
  const length = bloomAt + 4 * Math.ceil(bloomBits / 32);
  return { offsetsAt, keyEndsAt, keysAt, bloomAt, length };
}

/** The fields of a run footer. */
export interface Footer {
  /** Offset where the records end and the index block begins. */
  dataEnd: number;
  /** Records in the run (tombstones included). */
  records: number;
  /** Fence pointers (blocks). */
  fenceCount: number;
  /** Bytes of concatenated fence keys. */
  fenceKeyBytes: number;
  /** Bloom filter bits. */
  bloomBits: number;
  /** Bloom filter probes per key. */
  bloomHashes: number;
  /** xxh32 (seed 0) of the index block. */
  indexChecksum: number;
}
