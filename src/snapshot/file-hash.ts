// Why: manifests name every file with its xxh64 content hash, so a restore can tell a good local
// copy from a bad one and verify every download before it is used. Files can be large, so they
// are hashed streaming, never read whole.

import fs from 'node:fs';
import { loadWasmHash } from '../xxh32.js';

/** Size and xxh64 (16 hex digits) of a file's content. */
export interface FileDigest {
  size: number;
  hash: string;
}

/** Streams `file` through xxh64. */
export async function hashFile(file: string): Promise<FileDigest> {
  const h = (await loadWasmHash()).create64();
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, hash: h.digest().toString(16).padStart(16, '0') };
}

/** xxh64 (16 hex digits) of bytes in memory. */
export async function hashBytes(bytes: Uint8Array): Promise<string> {
  return (await loadWasmHash()).h64Raw(bytes).toString(16).padStart(16, '0');
}
