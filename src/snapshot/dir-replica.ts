// Why: the embedded default replica — a directory, e.g. a mounted network volume. Data files are
// copied under a temp name and renamed, manifests written temp + fsync + rename, so a reader
// never sees half a file under its final name.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { Replica } from './replica.js';

const MANIFEST_RE = /^(\d+)\.manifest$/;

/** Options of a DirReplica. */
export interface DirReplicaOptions {
  /** Root directory of the replica; created if missing. */
  root: string;
}

/** A replica in a local (or mounted) directory: `<root>/data/<file>`, `<root>/manifests/<v>.manifest`. */
export class DirReplica implements Replica {
  /** Root directory. */
  readonly root: string;
  readonly location: string;
  private readonly dataDir: string;
  private readonly manDir: string;

  constructor(opts: DirReplicaOptions | string) {
    const root = typeof opts === 'string' ? opts : opts?.root;
    if (typeof root !== 'string' || root.length === 0) {
      throw new InvalidArgumentError('DirReplica needs a root directory path');
    }
    this.root = path.resolve(root);
    this.location = this.root;
    this.dataDir = path.join(this.root, 'data');
    this.manDir = path.join(this.root, 'manifests');
    fs.mkdirSync(this.dataDir, { recursive: true });
    fs.mkdirSync(this.manDir, { recursive: true });
  }

  async listData(): Promise<string[]> {
    return (await fsp.readdir(this.dataDir)).filter((n) => !n.endsWith('.tmp'));
  }

  async putData(name: string, localPath: string): Promise<void> {
    await this.writeAtomic(path.join(this.dataDir, name), (tmp) => fsp.copyFile(localPath, tmp));
  }

  async getData(name: string, localPath: string): Promise<void> {
    await fsp.copyFile(path.join(this.dataDir, name), localPath);
  }

  async deleteData(name: string): Promise<void> {
    await fsp.rm(path.join(this.dataDir, name), { force: true });
  }

  async listManifests(): Promise<number[]> {
    const out: number[] = [];
    for (const n of await fsp.readdir(this.manDir)) {
      const m = MANIFEST_RE.exec(n);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  async readManifest(version: number): Promise<Uint8Array | undefined> {
    try {
      return await fsp.readFile(path.join(this.manDir, `${version}.manifest`));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async writeManifest(version: number, bytes: Uint8Array): Promise<void> {
    await this.writeAtomic(path.join(this.manDir, `${version}.manifest`), (tmp) => fsp.writeFile(tmp, bytes));
  }

  async deleteManifest(version: number): Promise<void> {
    await fsp.rm(path.join(this.manDir, `${version}.manifest`), { force: true });
  }

  private async writeAtomic(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await fill(tmp);
      const fh = await fsp.open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    const dfd = await fsp.open(path.dirname(target), 'r');
    try {
      await dfd.sync();
    } finally {
      await dfd.close();
    }
  }
}
