// Why: small byte helpers shared by the test suites.

/** utf8 bytes of `s`. */
export const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** `n` bytes of a deterministic pattern seeded by `seed`. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Hex of a byte array, for map keys and messages. */
export const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');
