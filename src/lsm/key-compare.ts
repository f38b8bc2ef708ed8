// Why: the LSM orders keys as unsigned bytes (what Buffer.compare does), but calling
// Buffer.compare needs Buffer views, i.e. an allocation per comparison. Gets and merges compare
// keys in place, inside larger buffers, millions of times; this loop does it without allocating.

/** Compares a[aStart, aEnd) with b[bStart, bEnd) as unsigned bytes: <0, 0 or >0. */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}
