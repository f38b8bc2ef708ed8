// Why: the contract says bad input throws a typed error and changes nothing, so every public
// entry point checks its arguments here, before touching any state.

import { InvalidArgumentError } from './errors.js';

/** Largest key, in bytes. */
export const MAX_KEY_BYTES = 65_535;
/** Default largest value, in bytes (16 MiB); `maxValueBytes` changes it. */
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'string') return `a string (${JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}…` : x)})`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `${typeof x} ${String(x)}`;
}

/** Throws unless `key` is a Uint8Array of 1..65,535 bytes. */
export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new InvalidArgumentError(`key must be a Uint8Array or Buffer, got ${describe(key)}; use store.typed() for string or number keys`);
  }
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`key length must be 1..${MAX_KEY_BYTES} bytes, got ${key.length}`);
  }
}

/** Throws unless `value` is a Uint8Array of at most `max` bytes. */
export function checkValue(value: unknown, max: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`value must be a Uint8Array or Buffer, got ${describe(value)}; use store.typed() for structured values`);
  }
  if (value.length > max) {
    throw new InvalidArgumentError(`value length ${value.length} exceeds maxValueBytes (${max})`);
  }
}

/** Throws unless `id` is a non-negative safe integer. */
export function checkVersionId(id: unknown, what: string): asserts id is number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${describe(id)}`);
  }
}

/** Reads an optional positive integer parameter, or its default. */
export function positiveInt(params: Record<string, unknown>, name: string, dflt: number, min = 1): number {
  const v = params[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${describe(v)}`);
  }
  return v;
}

/** Reads an optional number parameter in the open interval (lo, hi), or its default. */
export function numberIn(params: Record<string, unknown>, name: string, dflt: number, lo: number, hi: number): number {
  const v = params[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= lo || v >= hi) {
    throw new InvalidArgumentError(`${name} must be a number strictly between ${lo} and ${hi}, got ${describe(v)}`);
  }
  return v;
}

/** Reads an optional boolean parameter, or its default. */
export function bool(params: Record<string, unknown>, name: string, dflt: boolean): boolean {
  const v = params[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** Throws if `params` has a key outside `known` (catches typos such as `memtableLimit`). */
export function checkKnownParams(engine: string, params: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(params)) {
    if (!known.includes(k)) {
      throw new InvalidArgumentError(`unknown option '${k}' for engine '${engine}'; known: ${known.join(', ') || 'none'}`);
    }
  }
}
