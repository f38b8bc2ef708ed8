// Why: Map-based structures need a string per byte key. Buffer#toString('latin1') crosses into
// C++ and costs ~3x more than String.fromCharCode over short keys (measured: 2.9M vs 9.0M
// Map.set/s for 8-byte keys), so short keys take the JS path.

/** A string with one char per key byte (latin1), usable as a Map key; reversible. */
export function keyString(k: Uint8Array): string {
  if (k.length <= 64) return String.fromCharCode.apply(null, k as unknown as number[]);
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
}

/** The bytes of a string made by keyString. */
export function keyBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
