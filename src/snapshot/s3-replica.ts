// Why: workers run on machines that come and go, so the durable copy of their state belongs in
// an object store. This maps the narrow Replica interface onto S3 (or any S3-compatible server):
// `<prefix>/data/<file>` and `<prefix>/manifests/<version>.manifest`. S3 makes an object visible
// only once its upload completed, which gives the "never half a file under its final name" rule
// for free; large files go up as multipart uploads (@aws-sdk/lib-storage) streamed from disk.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InvalidArgumentError } from '../errors.js';
import type { Replica } from './replica.js';

const MANIFEST_RE = /^(\d+)\.manifest$/;
const MiB = 1024 * 1024;

/** Options of an S3Replica; any other property is passed to `new S3Client(...)`. */
export interface S3ReplicaOptions extends S3ClientConfig {
  /** Bucket name. */
  bucket: string;
  /** Key prefix of this store inside the bucket (one prefix per store); '' for the bucket root. */
  prefix?: string;
  /** A ready client (its configuration wins; the replica does not destroy it). */
  client?: S3Client;
  /** Client configuration, merged over the top-level S3ClientConfig properties. */
  clientConfig?: S3ClientConfig;
  /** Files at least this large are uploaded as multipart uploads (default 16 MiB, min 5 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 8 MiB, min 5 MiB, the S3 minimum). */
  partSizeBytes?: number;
  /** Parts of one multipart upload in flight at once (default 4). */
  partParallelism?: number;
  /** Keys per list page (default 1000, the S3 maximum); lists follow continuation tokens. */
  listPageSize?: number;
}

/** A replica under `s3://bucket/prefix/`: `data/<file>` and `manifests/<version>.manifest`. */
export class S3Replica implements Replica {
  readonly location: string;
  /** The client in use. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Normalized prefix, '' or ending in '/'. */
  readonly prefix: string;
  private readonly ownsClient: boolean;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partParallelism: number;
  private readonly pageSize: number;

  constructor(opts: S3ReplicaOptions) {
    if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('S3Replica needs an options object { bucket, prefix, ... }');
    const { bucket, prefix = '', client, clientConfig, multipartThresholdBytes, partSizeBytes, partParallelism, listPageSize, ...rest } = opts;
    if (typeof bucket !== 'string' || bucket.length < 3) throw new InvalidArgumentError(`S3Replica bucket must be a bucket name of at least 3 characters, got ${JSON.stringify(bucket)}`);
    if (typeof prefix !== 'string') throw new InvalidArgumentError('S3Replica prefix must be a string');
    this.bucket = bucket;
    const p = prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = p ? `${p}/` : '';
    this.location = `s3://${bucket}/${p}`;
    this.partSize = sizeOption('partSizeBytes', partSizeBytes, 8 * MiB, 5 * MiB);
    this.multipartThreshold = sizeOption('multipartThresholdBytes', multipartThresholdBytes, 16 * MiB, 5 * MiB);
    this.partParallelism = sizeOption('partParallelism', partParallelism, 4, 1);
    this.pageSize = sizeOption('listPageSize', listPageSize, 1000, 1);
    if (this.pageSize > 1000) throw new InvalidArgumentError('listPageSize must be at most 1000');
    if (client !== undefined && !(client instanceof S3Client)) throw new InvalidArgumentError('S3Replica client must be an S3Client');
    this.ownsClient = client === undefined;
    this.client = client ?? new S3Client({ ...rest, ...clientConfig });
  }

  async listData(): Promise<string[]> {
    return this.list(`${this.prefix}data/`);
  }

  async putData(name: string, localPath: string): Promise<void> {
    const Key = this.dataKey(name);
    const size = (await fsp.stat(localPath)).size;
    if (size < this.multipartThreshold) {
      // Small files in one buffered PUT: one round trip, and a known length for every server.
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: await fsp.readFile(localPath), ContentLength: size }));
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: fs.createReadStream(localPath, { highWaterMark: MiB }) },
      partSize: this.partSize,
      queueSize: this.partParallelism,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async getData(name: string, localPath: string): Promise<void> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.dataKey(name) }));
    if (!r.Body) throw new Error(`${this.location}/data/${name}: empty response body`);
    await pipeline(r.Body as Readable, fs.createWriteStream(localPath));
  }

  async deleteData(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.dataKey(name) }));
  }

  async listManifests(): Promise<number[]> {
    const out: number[] = [];
    for (const n of await this.list(`${this.prefix}manifests/`)) {
      const m = MANIFEST_RE.exec(n);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  async readManifest(version: number): Promise<Uint8Array | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.manifestKey(version) }));
      if (!r.Body) return new Uint8Array(0);
      return await r.Body.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async writeManifest(version: number, bytes: Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.manifestKey(version), Body: bytes, ContentLength: bytes.length }));
  }

  async deleteManifest(version: number): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.manifestKey(version) }));
  }

  /** Releases the client's sockets if this replica created it. */
  destroy(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private dataKey(name: string): string {
    return `${this.prefix}data/${name}`;
  }

  private manifestKey(version: number): string {
    return `${this.prefix}manifests/${version}.manifest`;
  }

  /** Names (relative to `keyPrefix`) of every object under it, following continuation tokens. */
  private async list(keyPrefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: keyPrefix, ContinuationToken: token, MaxKeys: this.pageSize }));
      for (const o of r.Contents ?? []) {
        const rel = o.Key?.slice(keyPrefix.length);
        // Only direct children: a store's prefix never lists another store's nested objects.
        if (rel && !rel.includes('/')) out.push(rel);
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

function sizeOption(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (err?.name === 'NoSuchBucket') return false;
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}
