// Why: engines may hand back a Buffer or a plain Uint8Array (a Buffer is one); tests compare
// bytes, not classes.
import { expect } from 'vitest';

expect.addEqualityTesters([
  function bytesEqual(a: unknown, b: unknown): boolean | undefined {
    if (a instanceof Uint8Array && b instanceof Uint8Array) {
      return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
    }
    return undefined;
  },
]);
