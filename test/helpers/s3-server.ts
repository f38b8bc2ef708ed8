// Why: the S3 tests must run against a real S3-compatible HTTP server that nobody installs by
// hand: this starts `s3rver` on 127.0.0.1 with an ephemeral port and a temp directory, and can
// kill and restart it on the same port and files (the "server goes away mid-snapshot" tests).
// It runs in a child process with `--openssl-legacy-provider`, because s3rver encrypts list
// continuation tokens with DES, which OpenSSL 3 only offers there; a separate process also makes
// "the server went away" a real dead socket rather than a paused handler.

import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** A running (or stopped) s3rver with its endpoint and a client config that works with it. */
export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Client options for this server (path style, dummy credentials, checksums only when required). */
  clientConfig(extra?: S3ClientConfig): S3ClientConfig;
  /** Creates a bucket (name ≥ 3 characters). */
  createBucket(name: string): Promise<void>;
  /** Where s3rver keeps object `key` of `bucket` on disk (to damage it in tests). */
  objectFile(bucket: string, key: string): string;
  /** Kills the server process, so requests fail as if the host went away. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same stored objects. */
  restart(): Promise<void>;
  /** Stops it and deletes its files. */
  dispose(): Promise<void>;
}

const S3RVER_MAIN = createRequire(import.meta.url).resolve('s3rver');

// Runs in the child: start s3rver, print the port, die when the parent's stdin pipe closes.
const CHILD = `
const S3rver = require(${JSON.stringify(S3RVER_MAIN)});
const [port, directory] = [Number(process.argv[1]), process.argv[2]];
new S3rver({ address: '127.0.0.1', port, directory, silent: true }).run().then(
  (a) => process.stdout.write(JSON.stringify({ port: a.port }) + '\\n'),
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** Starts s3rver on 127.0.0.1:<ephemeral port> storing objects in a fresh temp directory. */
export async function startS3Server(): Promise<S3TestServer> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-s3rver-'));
  let port = 0;
  let child: ChildProcess | undefined;
  const boot = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const c = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, String(port), directory], { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        port = await new Promise<number>((resolve, reject) => {
          let out = '';
          let err = '';
          c.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const nl = out.indexOf('\n');
            if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
          });
          c.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
          c.on('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${err}`)));
        });
        child = c;
        return;
      } catch (e) {
        // The port of a killed server can take a moment to become free again.
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await boot();
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig = (extra: S3ClientConfig = {}): S3ClientConfig => ({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // s3rver mangles streamed uploads sent with the SDK's default (aws-chunked) checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...extra,
  });
  return {
    endpoint,
    clientConfig,
    async createBucket(name) {
      const c = new S3Client(clientConfig());
      try {
        await c.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        c.destroy();
      }
    },
    objectFile: (bucket, key) => path.join(directory, bucket, `${key}._S3rver_object`),
    stop,
    restart: boot,
    async dispose() {
      await stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Starts s3rver with `bucket` before the file's tests and stops it after them. The returned object
 * forwards to the running server (using it before beforeAll has run throws).
 */
export function useS3Server(bucket: string): S3TestServer {
  let srv: S3TestServer | undefined;
  beforeAll(async () => {
    srv = await startS3Server();
    await srv.createBucket(bucket);
  });
  afterAll(async () => {
    await srv?.dispose();
  });
  return new Proxy({} as S3TestServer, {
    get(_target, prop) {
      if (!srv) throw new Error('s3rver is not running yet (use the server inside tests or hooks)');
      const v: unknown = Reflect.get(srv, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(srv) : v;
    },
  });
}
