// Why: operators think in user ids and counters, not bytes. This thin layer turns a store into
// keyed operator state: keys through a small codec (utf8 string, number, raw bytes), values
// through msgpackr, which round-trips plain objects, arrays, Maps, Dates and typed arrays.

import { Packr } from 'msgpackr';
import { InvalidArgumentError } from './errors.js';
import type { Store } from './types.js';

/** Built-in key codecs. */
export type KeyCodecName = 'utf8' | 'number' | 'bytes';

const packr = new Packr({ useRecords: false, moreTypes: true });
const numBuf = new DataView(new ArrayBuffer(8));

// Numbers become 8 bytes that sort like the numbers (sign bit flipped, negatives inverted), so an
// ordered engine keeps numeric order.
function encodeNumber(n: number): Uint8Array {
  if (typeof n !== 'number' || Number.isNaN(n)) throw new InvalidArgumentError(`number key must be a number (not NaN), got ${String(n)}`);
  numBuf.setFloat64(0, n === 0 ? 0 : n); // -0 and 0 are one key
  const out = new Uint8Array(numBuf.buffer.slice(0));
  if (out[0]! & 0x80) for (let i = 0; i < 8; i++) out[i] = ~out[i]! & 0xff;
  else out[0]! |= 0x80;
  return out;
}

function decodeNumber(b: Uint8Array): number {
  const c = new Uint8Array(b);
  if (c[0]! & 0x80) c[0]! &= 0x7f;
  else for (let i = 0; i < 8; i++) c[i] = ~c[i]! & 0xff;
  return new DataView(c.buffer).getFloat64(0);
}

function keyEncoder(codec: KeyCodecName): (k: unknown) => Uint8Array {
  switch (codec) {
    case 'utf8':
      return (k) => {
        if (typeof k !== 'string') throw new InvalidArgumentError(`utf8 key must be a string, got ${typeof k}`);
        return Buffer.from(k, 'utf8');
      };
    case 'number':
      return (k) => encodeNumber(k as number);
    case 'bytes':
      return (k) => k as Uint8Array; // the store validates it
    default:
      throw new InvalidArgumentError(`unknown key codec ${JSON.stringify(codec)}; use 'utf8', 'number' or 'bytes'`);
  }
}

/** Keyed operator state over a store: typed keys, msgpackr-encoded values. */
export class TypedState<K, V> {
  private readonly enc: (k: unknown) => Uint8Array;

  constructor(
    private readonly store: Store,
    private readonly codec: KeyCodecName,
  ) {
    this.enc = keyEncoder(codec);
  }

  /** The value stored under `key`, or undefined. */
  get(key: K): V | undefined {
    const b = this.store.get(this.enc(key));
    return b === undefined ? undefined : (packr.unpack(b) as V);
  }

  /** Stores `value` under `key` (undefined deletes). */
  set(key: K, value: V): void {
    if (value === undefined) {
      this.store.delete(this.enc(key));
      return;
    }
    this.store.set(this.enc(key), packr.pack(value));
  }

  /** Removes `key`. */
  delete(key: K): void {
    this.store.delete(this.enc(key));
  }

  /** Reads, transforms and writes back one key's value. */
  update(key: K, fn: (old: V | undefined) => V): V {
    const next = fn(this.get(key));
    this.set(key, next);
    return next;
  }

  /** Decodes a raw key of this state (e.g. from a scan) back to its typed form. */
  decodeKey(raw: Uint8Array): K {
    if (this.codec === 'utf8') return Buffer.from(raw).toString('utf8') as K;
    if (this.codec === 'number') return decodeNumber(raw) as K;
    return raw as K;
  }
}
