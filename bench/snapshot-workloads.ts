// Why: the snapshot workloads of ../shared/WORKLOADS.md (W6 grow, W7 update, W8 recover, W9
// rollback) as plain functions, so the claims bench (snapshot-claims.ts) and the sweeps run the
// identical operation streams on any engine and any replica. Each takes engine open-options and a
// replica factory (the same name always means the same replica location, so W8/W9 can come back
// to what W7 wrote, as another machine would) and returns per-snapshot records.
//
// Streams: 8-byte big-endian keys, 32-byte values from the seeded generator in workloads.ts.
// Key number i is scattered by a multiplicative bijection so inserts are not in key order.

import fs from 'node:fs';
import path from 'node:path';
import { open, type OpenOptions, type Replica, type SnapStore } from '../src/index.js';
import { rng, uniformKeys, values, writeKey } from './workloads.js';

/** open() options without dir and replica, e.g. { engine: 'lsm', memtableBytesLimit: 1 << 20 }. */
export type EngineOpenOptions = Record<string, unknown> & { engine: string };

/** Returns the replica called `name`; calling it again with the same name reaches the same data. */
export type ReplicaFactory = (name: string) => Replica | Promise<Replica>;

/** One snapshot of a workload. */
export interface SnapshotRecord {
  /** Round number (0 = the W7 load snapshot). */
  round: number;
  /** Snapshot id. */
  id: number;
  /** Seconds snapshot() took. */
  seconds: number;
  /** Bytes uploaded by this snapshot. */
  bytesPushed: number;
  /** Files uploaded by this snapshot. */
  filesPushed: number;
  /** Bytes of the whole version (all its files). */
  totalBytes: number;
  /** Seconds of all snapshots of this run up to and including this one. */
  cumulativeSeconds: number;
  /** Bytes pushed by all snapshots of this run up to and including this one. */
  cumulativeBytes: number;
}

/** Where a workload runs. */
export interface RunPlace {
  /** Directory for this run's local data (created; one subdirectory per run). */
  workDir: string;
  /** Replica name (default: the workload name and the engine). */
  name?: string;
}

/** W6 sizes (defaults: WORKLOADS.md). */
export interface W6Options extends RunPlace {
  rounds?: number;
  keysPerRound?: number;
  valueBytes?: number;
}

/** W7 sizes (defaults: WORKLOADS.md). */
export interface W7Options extends RunPlace {
  loadKeys?: number;
  rounds?: number;
  updatesPerRound?: number;
  valueBytes?: number;
}

/** Result of W6. */
export interface W6Result {
  name: string;
  dir: string;
  records: SnapshotRecord[];
}

/** Result of W7: enough to recreate the expected state at any version (for W8/W9). */
export interface W7Result {
  name: string;
  dir: string;
  /** The load snapshot (id 0). */
  load: SnapshotRecord;
  /** One record per update round (ids 1..rounds); cumulative figures exclude the load. */
  records: SnapshotRecord[];
  spec: Required<Omit<W7Options, keyof RunPlace>>;
}

/** Result of W8. */
export interface RecoverResult {
  /** Seconds from open() on an empty directory until the first get() answered. */
  secondsToFirstGet: number;
  /** Bytes downloaded. */
  bytesPulled: number;
  /** Keys checked against the expected final state, and how many were wrong. */
  checked: number;
  mismatches: number;
}

/** Result of W9. */
export interface RollbackResult {
  /** Version restored. */
  version: number;
  /** Seconds restore(version) took. */
  seconds: number;
  /** Bytes downloaded by that restore. */
  bytesPulled: number;
  /** Bytes of the whole restored version. */
  fullStateBytes: number;
  checked: number;
  mismatches: number;
}

const VALUES = 4096;
const SCATTER = 0x9e3779b1;

/** Key number `i` scattered over the 32-bit space (a bijection, so keys stay distinct). */
export const scatter = (i: number): number => Math.imul(i, SCATTER) >>> 0;

function record(round: number, id: number, info: { seconds: number; bytesPushed: number; filesPushed: number; totalBytes: number }, prev?: SnapshotRecord): SnapshotRecord {
  return {
    round,
    id,
    seconds: info.seconds,
    bytesPushed: info.bytesPushed,
    filesPushed: info.filesPushed,
    totalBytes: info.totalBytes,
    cumulativeSeconds: (prev?.cumulativeSeconds ?? 0) + info.seconds,
    cumulativeBytes: (prev?.cumulativeBytes ?? 0) + info.bytesPushed,
  };
}

async function openStore(options: EngineOpenOptions, dir: string, replica: Replica): Promise<SnapStore> {
  return open({ ...options, dir, replica } as OpenOptions);
}

function freshDir(place: RunPlace, name: string): string {
  const dir = path.join(place.workDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

/** Releases an S3 replica's sockets (other replicas have nothing to release). */
export function releaseReplica(r: Replica): void {
  (r as { destroy?: () => void }).destroy?.();
}

/** W6-snap-grow: `rounds` × (insert `keysPerRound` new keys, then snapshot(round)). */
export async function runW6(options: EngineOpenOptions, replicas: ReplicaFactory, o: W6Options): Promise<W6Result> {
  const rounds = o.rounds ?? 100;
  const per = o.keysPerRound ?? 10_000;
  const vals = values(VALUES, o.valueBytes ?? 32);
  const name = o.name ?? `w6-${options.engine}`;
  const dir = freshDir(o, name);
  const replica = await replicas(name);
  const s = await openStore(options, dir, replica);
  const k = new Uint8Array(8);
  const records: SnapshotRecord[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      for (let i = (r - 1) * per; i < r * per; i++) s.set(writeKey(k, scatter(i)), vals[i % VALUES]!);
      records.push(record(r, r, await s.snapshot(r), records.at(-1)));
    }
  } finally {
    await s.close();
    releaseReplica(replica);
  }
  return { name, dir, records };
}

/** The W7 update stream: key numbers of every round's updates, concatenated. */
function w7Updates(spec: W7Result['spec']): Uint32Array {
  return uniformKeys(spec.rounds * spec.updatesPerRound, spec.loadKeys, 42);
}

/** W7-snap-update: load `loadKeys`, snapshot(0); then `rounds` × (`updatesPerRound` uniform updates, snapshot(round)). */
export async function runW7(options: EngineOpenOptions, replicas: ReplicaFactory, o: W7Options): Promise<W7Result> {
  const spec = { loadKeys: o.loadKeys ?? 1_000_000, rounds: o.rounds ?? 100, updatesPerRound: o.updatesPerRound ?? 1_000, valueBytes: o.valueBytes ?? 32 };
  const vals = values(VALUES, spec.valueBytes);
  const upd = w7Updates(spec);
  const name = o.name ?? `w7-${options.engine}`;
  const dir = freshDir(o, name);
  const replica = await replicas(name);
  const s = await openStore(options, dir, replica);
  const k = new Uint8Array(8);
  const records: SnapshotRecord[] = [];
  let load: SnapshotRecord;
  try {
    for (let i = 0; i < spec.loadKeys; i++) s.set(writeKey(k, scatter(i)), vals[i % VALUES]!);
    load = record(0, 0, await s.snapshot(0));
    for (let r = 1; r <= spec.rounds; r++) {
      const base = (r - 1) * spec.updatesPerRound;
      for (let j = base; j < base + spec.updatesPerRound; j++) {
        s.set(writeKey(k, scatter(upd[j]!)), vals[(spec.loadKeys + j) % VALUES]!);
      }
      records.push(record(r, r, await s.snapshot(r), records.at(-1)));
    }
  } finally {
    await s.close();
    releaseReplica(replica);
  }
  return { name, dir, load, records, spec };
}

/** Value index of every key at W7 version `version` (0 = after the load). */
function w7State(w7: W7Result, version: number): Uint32Array {
  const { loadKeys, updatesPerRound } = w7.spec;
  const idx = new Uint32Array(loadKeys);
  for (let i = 0; i < loadKeys; i++) idx[i] = i % VALUES;
  const upd = w7Updates(w7.spec);
  for (let j = 0; j < version * updatesPerRound; j++) idx[upd[j]!] = (loadKeys + j) % VALUES;
  return idx;
}

/** Checks `count` random keys plus every key the last rounds updated; returns mismatches. */
function verify(s: SnapStore, w7: W7Result, version: number, count: number): { checked: number; mismatches: number } {
  const state = w7State(w7, version);
  const vals = values(VALUES, w7.spec.valueBytes);
  const r = rng(99);
  const k = new Uint8Array(8);
  const sample = new Set<number>();
  while (sample.size < Math.min(count, w7.spec.loadKeys)) sample.add(Math.floor(r() * w7.spec.loadKeys));
  // The keys of the round at `version` and of the round after it: the ones a wrong version gets wrong.
  const upd = w7Updates(w7.spec);
  for (let j = Math.max(0, (version - 1) * w7.spec.updatesPerRound); j < Math.min(upd.length, (version + 1) * w7.spec.updatesPerRound); j++) sample.add(upd[j]!);
  let mismatches = 0;
  for (const i of sample) {
    const got = s.get(writeKey(k, scatter(i)));
    if (!got || Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(vals[state[i]!]!)) !== 0) mismatches++;
  }
  return { checked: sample.size, mismatches };
}

/** W8-recover: a fresh instance on an empty directory restores W7's latest version from the replica. */
export async function runW8(options: EngineOpenOptions, replicas: ReplicaFactory, w7: W7Result, o: RunPlace & { verifyKeys?: number }): Promise<RecoverResult> {
  const dir = freshDir(o, o.name ?? `w8-${options.engine}`);
  const replica = await replicas(w7.name);
  const t0 = performance.now();
  const s = await openStore(options, dir, replica);
  s.get(writeKey(new Uint8Array(8), scatter(0)));
  const secondsToFirstGet = (performance.now() - t0) / 1000;
  try {
    return { secondsToFirstGet, bytesPulled: s.stats().bytesPulled, ...verify(s, w7, w7.spec.rounds, o.verifyKeys ?? 1000) };
  } finally {
    await s.close();
    releaseReplica(replica);
  }
}

/**
 * W9-rollback: in W7's own directory (its local files present), restore(version) and verify the
 * state equals the state at that snapshot. Default version: 50 (WORKLOADS.md), or rounds/2.
 */
export async function runW9(options: EngineOpenOptions, replicas: ReplicaFactory, w7: W7Result, o: { version?: number; verifyKeys?: number } = {}): Promise<RollbackResult> {
  const version = o.version ?? Math.min(50, Math.floor(w7.spec.rounds / 2));
  const replica = await replicas(w7.name);
  // Opening with the replica restores its latest version, which the local files already hold.
  const s = await openStore(options, w7.dir, replica);
  try {
    const before = s.stats().bytesPulled;
    const t0 = performance.now();
    await s.restore(version);
    const seconds = (performance.now() - t0) / 1000;
    const bytesPulled = s.stats().bytesPulled - before;
    const fullStateBytes = version === 0 ? w7.load.totalBytes : w7.records[version - 1]!.totalBytes;
    const v = verify(s, w7, version, o.verifyKeys ?? 1000);
    // Back to the latest, so the next rollback starts from the same local files.
    await s.restore(w7.spec.rounds);
    return { version, seconds, bytesPulled, fullStateBytes, ...v };
  } finally {
    await s.close();
    releaseReplica(replica);
  }
}
