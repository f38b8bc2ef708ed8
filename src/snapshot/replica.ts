// Why: a replica is only a place that holds immutable named files and small manifests. Keeping
// the interface this narrow lets a directory, an S3 bucket or a wrapper (encryption, fault
// injection in tests) stand behind it, while what a snapshot *means* lives in snapshotter.ts.

/** Storage for snapshot data files and manifests (a directory, a bucket prefix, …). */
export interface Replica {
  /** Where the replica is, for error messages (a path or an s3:// URL). */
  readonly location: string;
  /** Names of every data file the replica holds. */
  listData(): Promise<string[]>;
  /** Uploads the local file `localPath` as data file `name`; `name` becomes visible only once complete. */
  putData(name: string, localPath: string): Promise<void>;
  /** Downloads data file `name` to `localPath`; throws if it does not exist. The caller verifies it. */
  getData(name: string, localPath: string): Promise<void>;
  /** Deletes data file `name`; a missing file is not an error. */
  deleteData(name: string): Promise<void>;
  /** Versions that have a manifest, ascending. */
  listManifests(): Promise<number[]>;
  /** The manifest bytes of `version`, or undefined if there is none. */
  readManifest(version: number): Promise<Uint8Array | undefined>;
  /** Writes (or replaces) the manifest of `version` atomically. */
  writeManifest(version: number, bytes: Uint8Array): Promise<void>;
  /** Deletes the manifest of `version`; a missing one is not an error. */
  deleteManifest(version: number): Promise<void>;
}
