// Why: the thesis' naive baseline, kept deliberately naive so the benchmarks show what incremental
// snapshots save: all state in a JS Map, and every snapshot writes the whole state as one new
// dump file that the replica must receive in full. Nothing is durable between snapshots.

import path from 'node:path';
import type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from '../engine.js';
import { fileName } from '../file-names.js';
import { encodeRecord, rec, recordSize } from '../record.js';
import { scanRecords } from '../record-scan.js';
import { checkKnownParams } from '../validate.js';
import { keyBytes, keyString } from '../key-string.js';
import { writeSealedFileSync } from '../io.js';

/** MemOnly has no tuning parameters. */
export type MemOnlyParams = Record<never, never>;

/** The naive in-memory engine: a Map, dumped whole on every snapshot. */
export class MemOnlyEngine implements Engine {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  private dumps = 0;
  private lastDump: string | undefined;
  private dirty = true;

  constructor(private readonly ctx: EngineContext) {}

  /** Loads the dump of a previous snapshot. */
  load(state: FileSet | null): void {
    const dump = state?.files[0];
    if (!dump) return;
    scanRecords(path.join(this.ctx.dir, dump), (buf) => {
      const key = buf.toString('latin1', rec.keyStart, rec.keyStart + rec.keyLen);
      const value = Uint8Array.prototype.slice.call(buf, rec.valueStart, rec.valueStart + rec.valueLen);
      this.put(key, value);
    });
    this.lastDump = dump;
    this.dirty = false;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(keyString(key));
  }

  set(key: Uint8Array, value: Uint8Array): void {
    const k = keyString(key);
    this.dirty = true;
    if (value.length === 0) {
      const old = this.map.get(k);
      if (old) {
        this.bytes -= k.length + old.length;
        this.map.delete(k);
      }
      return;
    }
    this.put(k, value.slice());
  }

  private put(k: string, v: Uint8Array): void {
    const old = this.map.get(k);
    this.bytes += v.length - (old ? old.length : -k.length);
    this.map.set(k, v);
  }

  async checkpoint(): Promise<FileSet> {
    if (!this.dirty && this.lastDump) return { files: [this.lastDump], meta: {} };
    let size = 0;
    for (const [k, v] of this.map) size += recordSize(k.length, v.length);
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const [k, v] of this.map) pos = encodeRecord(buf, pos, keyBytes(k), v);
    const name = fileName('memonly', this.ctx.nextGeneration(), 'dump');
    writeSealedFileSync(path.join(this.ctx.dir, name), [buf]);
    this.lastDump = name;
    this.dirty = false;
    this.dumps++;
    const set = { files: [name], meta: {} };
    this.ctx.commit(set);
    return set;
  }

  keyCount(): number {
    return this.map.size;
  }

  memoryBytes(): number {
    // Map entry + string header + Uint8Array object: ~100 bytes of overhead per key in V8.
    return this.bytes + this.map.size * 100;
  }

  stats(): EngineStats {
    return { dataBytes: this.bytes, dumps: this.dumps };
  }

  async close(): Promise<void> {
    this.map.clear();
  }
}

/** Registration of the MemOnly engine. */
export const memonly: EngineDefinition<MemOnlyParams> = {
  name: 'memonly',
  params(raw) {
    checkKnownParams('memonly', raw, []);
    return {};
  },
  async open(ctx, _params, state) {
    const e = new MemOnlyEngine(ctx);
    e.load(state);
    return e;
  },
};

