// Why: a bucket is often shared, backed up or readable by more people than the worker's state
// should be. This wraps any replica so that every data file and manifest leaves the machine
// encrypted and authenticated with AES-256-GCM (node:crypto). Manifests keep the xxh64 of the
// *plaintext* files, so a restore still recognises a good local copy without downloading it,
// and every decrypted download is checked against that hash as well as the GCM tag. The object
// name is bound in as associated data, so an object moved to another name does not decrypt.
// A wrong key or a damaged object fails the GCM check: a CorruptionError, never garbage.
//
// Object format:  "SKVE" | u8 format (1) | 12-byte random nonce | ciphertext | 16-byte GCM tag

import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import type { Replica } from './replica.js';

const MAGIC = Buffer.from('SKVE');
const FORMAT = 1;
const NONCE = 12;
const TAG = 16;
const HEADER = MAGIC.length + 1 + NONCE;
/** Bytes an encrypted object has on top of its plaintext. */
export const ENCRYPTION_OVERHEAD = HEADER + TAG;

/** The `encryption` option of open(). */
export interface EncryptionOptions {
  /** 32-byte AES-256 key. Keep it outside the replica; without it nothing can be restored. */
  key: Uint8Array;
}

/** Checks an `encryption` option and returns a private copy of its key. */
export function checkEncryptionOptions(o: unknown): Buffer {
  const key = (o as { key?: unknown } | null)?.key;
  if (typeof o !== 'object' || o === null || !(key instanceof Uint8Array) || key.length !== 32) {
    throw new InvalidArgumentError('encryption must be { key } with a 32-byte Uint8Array/Buffer key (AES-256-GCM), e.g. crypto.randomBytes(32)');
  }
  return Buffer.from(key);
}

/** A replica whose data files and manifests are stored AES-256-GCM encrypted in `inner`. */
export class EncryptedReplica implements Replica {
  readonly location: string;
  private readonly key: Buffer;

  constructor(
    /** The replica that stores the encrypted objects. */
    readonly inner: Replica,
    options: EncryptionOptions,
  ) {
    this.key = checkEncryptionOptions(options);
    this.location = inner.location;
  }

  listData(): Promise<string[]> {
    return this.inner.listData();
  }

  async putData(name: string, localPath: string): Promise<void> {
    // Encrypted next to the source (same file system, cleaned by the store's temp sweep if we die).
    const tmp = `${localPath}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.enc.tmp`;
    try {
      const nonce = crypto.randomBytes(NONCE);
      const cipher = crypto.createCipheriv('aes-256-gcm', this.key, nonce).setAAD(aad(`data/${name}`));
      async function* encrypted(): AsyncGenerator<Buffer> {
        yield header(nonce);
        for await (const chunk of fs.createReadStream(localPath, { highWaterMark: 1 << 20 })) yield cipher.update(chunk as Buffer);
        yield cipher.final();
        yield cipher.getAuthTag();
      }
      await pipeline(encrypted, fs.createWriteStream(tmp));
      await this.inner.putData(name, tmp);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  async getData(name: string, localPath: string): Promise<void> {
    const tmp = `${localPath}.enc.tmp`;
    const object = `${this.location}/data/${name}`;
    try {
      await this.inner.getData(name, tmp);
      const size = (await fsp.stat(tmp)).size;
      if (size < ENCRYPTION_OVERHEAD) throw badObject(object, `only ${size} bytes, shorter than the encryption header and tag`);
      const head = Buffer.alloc(HEADER);
      const tag = Buffer.alloc(TAG);
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.read(head, 0, HEADER, 0);
        await fh.read(tag, 0, TAG, size - TAG);
      } finally {
        await fh.close();
      }
      const nonce = parseHeader(head, object);
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, nonce).setAAD(aad(`data/${name}`)).setAuthTag(tag);
      const end = size - TAG;
      async function* plaintext(): AsyncGenerator<Buffer> {
        if (end > HEADER) {
          for await (const chunk of fs.createReadStream(tmp, { start: HEADER, end: end - 1, highWaterMark: 1 << 20 })) yield decipher.update(chunk as Buffer);
        }
        yield decipher.final();
      }
      try {
        await pipeline(plaintext, fs.createWriteStream(localPath));
      } catch (e) {
        await fsp.rm(localPath, { force: true });
        if (isAuthFailure(e)) throw badObject(object, 'decryption failed: wrong encryption key, or the object is damaged');
        throw e;
      }
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  deleteData(name: string): Promise<void> {
    return this.inner.deleteData(name);
  }

  listManifests(): Promise<number[]> {
    return this.inner.listManifests();
  }

  async readManifest(version: number): Promise<Uint8Array | undefined> {
    const bytes = await this.inner.readManifest(version);
    if (bytes === undefined) return undefined;
    const object = `${this.location}/manifests/${version}.manifest`;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < ENCRYPTION_OVERHEAD) throw badObject(object, `only ${buf.length} bytes, shorter than the encryption header and tag`);
    const nonce = parseHeader(buf.subarray(0, HEADER), object);
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, nonce).setAAD(aad(`manifests/${version}`)).setAuthTag(buf.subarray(buf.length - TAG));
    try {
      return Buffer.concat([d.update(buf.subarray(HEADER, buf.length - TAG)), d.final()]);
    } catch (e) {
      if (isAuthFailure(e)) throw badObject(object, 'decryption failed: wrong encryption key, or the manifest is damaged');
      throw e;
    }
  }

  async writeManifest(version: number, bytes: Uint8Array): Promise<void> {
    const nonce = crypto.randomBytes(NONCE);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, nonce).setAAD(aad(`manifests/${version}`));
    const body = Buffer.concat([header(nonce), c.update(bytes), c.final()]);
    await this.inner.writeManifest(version, Buffer.concat([body, c.getAuthTag()]));
  }

  deleteManifest(version: number): Promise<void> {
    return this.inner.deleteManifest(version);
  }
}

function header(nonce: Buffer): Buffer {
  return Buffer.concat([MAGIC, Buffer.of(FORMAT), nonce]);
}

function parseHeader(head: Buffer, object: string): Buffer {
  if (!head.subarray(0, MAGIC.length).equals(MAGIC)) throw badObject(object, 'not an encrypted snapkv object (was it written without encryption?)');
  if (head[MAGIC.length] !== FORMAT) throw badObject(object, `unknown encryption format ${head[MAGIC.length]}`);
  return Buffer.from(head.subarray(MAGIC.length + 1, HEADER));
}

function aad(objectName: string): Buffer {
  return Buffer.from(`snapkv:${objectName}`);
}

function badObject(object: string, detail: string): CorruptionError {
  return new CorruptionError(object, -1, detail);
}

function isAuthFailure(e: unknown): boolean {
  const msg = (e as Error)?.message ?? '';
  return /unable to authenticate|auth/i.test(msg) || (e as { code?: string })?.code === 'ERR_CRYPTO_INVALID_TAG';
}
