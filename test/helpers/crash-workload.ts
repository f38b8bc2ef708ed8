// Why: the crash child and the checking parent must agree on every operation without talking,
// so the workload is a pure function of a seed, and the parent replays it into a Map model.

import { hex, pattern } from './bytes.js';

/** One operation of the crash workload. */
export type CrashOp =
  | { t: 'set'; key: Uint8Array; value: Uint8Array }
  | { t: 'del'; key: Uint8Array }
  | { t: 'snap'; id: number }
  | { t: 'restore'; id: number };

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The `n` operations of workload `seed`: sets, deletes, snapshots and restores of earlier snapshots. */
export function crashOps(seed: number, n: number): CrashOp[] {
  const r = prng(seed);
  const ops: CrashOp[] = [];
  const snaps: number[] = [];
  let nextId = 1;
  for (let i = 0; i < n; i++) {
    const x = r();
    const key = Uint8Array.of(1 + Math.floor(r() * 150), Math.floor(r() * 4));
    if (x < 0.72) {
      const len = r() < 0.05 ? 200 + Math.floor(r() * 400) : 1 + Math.floor(r() * 60);
      ops.push({ t: 'set', key, value: pattern(len, Math.floor(r() * 1e9) + 1) });
    } else if (x < 0.86) {
      ops.push({ t: 'del', key });
    } else if (x < 0.97 || snaps.length === 0) {
      const id = nextId;
      nextId += 1 + Math.floor(r() * 2);
      snaps.push(id);
      ops.push({ t: 'snap', id });
    } else {
      const id = snaps[Math.floor(r() * snaps.length)]!;
      // After restore(id) the next snapshot id only has to exceed id; keep counting upward anyway.
      ops.push({ t: 'restore', id });
    }
  }
  return ops;
}

/** Replays ops into a model; returns the state after every prefix and the state at each snapshot. */
export function replay(ops: CrashOp[]): { prefixes: Array<Map<string, string>>; snaps: Map<number, Map<string, string>> } {
  let m = new Map<string, string>();
  const snaps = new Map<number, Map<string, string>>();
  const prefixes = [new Map(m)];
  for (const op of ops) {
    if (op.t === 'set') m.set(hex(op.key), hex(op.value));
    else if (op.t === 'del') m.delete(hex(op.key));
    else if (op.t === 'snap') snaps.set(op.id, new Map(m));
    else m = new Map(snaps.get(op.id)!);
    prefixes.push(new Map(m));
  }
  return { prefixes, snaps };
}

/** Every key the workload can touch. */
export function allKeys(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let a = 1; a <= 150; a++) for (let b = 0; b < 4; b++) out.push(Uint8Array.of(a, b));
  return out;
}
