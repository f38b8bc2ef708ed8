// Why: the package entry — open() with every built-in engine registered, the engine classes, the
// replicas, the typed layer and the error classes.

import { registerEngine } from './engine.js';
import { memonly } from './memonly/memonly.js';
import { lsm } from './lsm/lsm.js';
import { hybridlogEngine } from './hybridlog/hybridlog.js';
import { appendlog } from './appendlog/appendlog.js';

registerEngine(memonly);
registerEngine(lsm);
registerEngine(hybridlogEngine);
registerEngine(appendlog);

export { open, SnapStore } from './store.js';
export { registerEngine, engineNames } from './engine.js';
export type { Engine, EngineContext, EngineDefinition, EngineStats, FileSet } from './engine.js';
export { MemOnlyEngine } from './memonly/memonly.js';
export { LsmEngine } from './lsm/lsm.js';
export { HybridLogEngine } from './hybridlog/hybridlog.js';
export { AppendLogEngine } from './appendlog/appendlog.js';
export { DirReplica } from './snapshot/dir-replica.js';
export type { DirReplicaOptions } from './snapshot/dir-replica.js';
export type { Replica } from './snapshot/replica.js';
export { S3Replica } from './snapshot/s3-replica.js';
export type { S3ReplicaOptions } from './snapshot/s3-replica.js';
export { EncryptedReplica } from './snapshot/encryption.js';
export type { EncryptionOptions } from './snapshot/encryption.js';
export type { RetentionPolicy, RetentionResult } from './snapshot/retention.js';
export type { Manifest, ManifestFile } from './snapshot/manifest.js';
export { TypedState } from './typed.js';
export type { KeyCodecName } from './typed.js';
export * from './errors.js';
export type { OpenOptions, CommonOptions, EngineName, EngineParamsByName, SnapshotInfo, Store, StoreStats } from './types.js';
