// Why: a HybridLog flush and a hash-engine merge (foreground or in the worker) copy live records
// to a new file and must then re-point the index entries that still point at the old places
// (HashIndex.replaceIf, so a newer set is never undone) — but only once the new file is durable.
// The moves wait here until then: three typed arrays that double, no object per record.

import type { HashIndex } from './hash-index.js';

/** (hash, old location, new location) triples, in the order they were recorded. */
export class IndexMoves {
  hashes: Uint32Array = new Uint32Array(1024);
  from: Float64Array = new Float64Array(1024);
  to: Float64Array = new Float64Array(1024);
  length = 0;

  /** Moves received as three arrays of equal length (from a merge worker's result). */
  static wrap(hashes: Uint32Array, from: Float64Array, to: Float64Array): IndexMoves {
    const m = new IndexMoves();
    m.hashes = hashes;
    m.from = from;
    m.to = to;
    m.length = hashes.length;
    return m;
  }

  /** The recorded moves as three arrays of their own (trimmed copies, e.g. to transfer). */
  trimmed(): { hashes: Uint32Array; from: Float64Array; to: Float64Array } {
    const n = this.length;
    return { hashes: this.hashes.slice(0, n), from: this.from.slice(0, n), to: this.to.slice(0, n) };
  }

  /** Records that the entry of hash `h` at `from` is to point at `to`. */
  push(h: number, from: number, to: number): void {
    const n = this.length;
    if (n === this.hashes.length) {
      this.hashes = doubled(this.hashes, new Uint32Array(n * 2));
      this.from = doubled(this.from, new Float64Array(n * 2));
      this.to = doubled(this.to, new Float64Array(n * 2));
    }
    this.hashes[n] = h;
    this.from[n] = from;
    this.to[n] = to;
    this.length = n + 1;
  }

  /** Forgets every move (keeps the arrays for the next flush). */
  clear(): void {
    this.length = 0;
  }

  /** Applies moves [start, end) to `index`, each new location offset by `base`. */
  apply(index: HashIndex, start = 0, end = this.length, base = 0): void {
    const { hashes, from, to } = this;
    for (let i = start; i < end; i++) index.replaceIf(hashes[i]!, from[i]!, base + to[i]!);
  }
}

function doubled<T extends Uint32Array | Float64Array>(a: T, b: T): T {
  b.set(a);
  return b;
}
