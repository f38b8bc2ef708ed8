// Why: a worker must tell "my input was wrong" from "the disk is corrupt" from "another process
// owns this directory" without parsing messages, so every failure snapkv raises is one of these
// classes, each with a stable `code`.

/** Base class of every error snapkv throws on purpose. */
export class SnapKVError extends Error {
  /** Stable machine-readable code, e.g. 'ERR_INVALID_ARGUMENT'. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value of the wrong type, size or order; nothing was changed. */
export class InvalidArgumentError extends SnapKVError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** The store was used after `close()` (or while it is closing). */
export class StoreClosedError extends SnapKVError {
  constructor(message = 'store is closed; open it again with open()') {
    super('ERR_STORE_CLOSED', message);
  }
}

/** The data directory is already open in this or another live process. */
export class LockedError extends SnapKVError {
  constructor(message: string) {
    super('ERR_LOCKED', message);
  }
}

/** Stored bytes failed a checksum or structural check; names the file and offset when known. */
export class CorruptionError extends SnapKVError {
  /** File that holds the bad bytes (local path or replica object name). */
  readonly file: string;
  /** Byte offset of the bad record or block, -1 when the whole file is bad. */
  readonly offset: number;
  constructor(file: string, offset: number, detail: string) {
    super('ERR_CORRUPTION', `corruption in ${file}${offset >= 0 ? ` at offset ${offset}` : ''}: ${detail}`);
    this.file = file;
    this.offset = offset;
  }
}

/** A snapshot could not be completed; earlier snapshots are untouched and the id may be retried. */
export class SnapshotError extends SnapKVError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SNAPSHOT', message, options);
  }
}

/** A restore could not be completed; the store still holds the state it had before the call. */
export class RestoreError extends SnapKVError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_RESTORE', message, options);
  }
}

/** The replica holds no manifest for the requested version. */
export class UnknownVersionError extends SnapKVError {
  /** The version that was asked for. */
  readonly version: number;
  constructor(version: number, available: readonly number[]) {
    const shown = available.length > 10 ? `${available.slice(-10).join(', ')} (last 10 of ${available.length})` : available.join(', ');
    super('ERR_UNKNOWN_VERSION', `version ${version} does not exist in the replica; available: ${shown || 'none'}`);
    this.version = version;
  }
}

/** The call conflicts with a snapshot or restore that is still running; retry after it settles. */
export class BusyError extends SnapKVError {
  constructor(message: string) {
    super('ERR_BUSY', message);
  }
}
