// Why: the store shell (store.ts) owns everything engines have in common — argument checks, the
// lock, the local CURRENT file, file generations, snapshots and restores — so an engine is only
// its data structure: get/set, sealing its state into immutable files, and opening from a file
// set. This file is that contract, and the registry behind open({ engine }).

import type { CorruptionError } from './errors.js';

/** The files (names relative to the data directory) and metadata that fully describe a state. */
export interface FileSet {
  /** File names; every one is immutable when returned by `checkpoint()`. */
  files: string[];
  /** Engine-specific JSON-serializable metadata needed to open the files. */
  meta: Record<string, unknown>;
  /**
   * Local accelerator files (e.g. hint files): kept by the sweep while committed, but never pushed
   * to a replica nor checked at open — the engine must work (slower) when one is missing or bad.
   */
  optional?: string[];
}

/** What the shell gives an engine to work with. */
export interface EngineContext {
  /** Absolute path of the data directory. */
  readonly dir: string;
  /** Largest value the store accepts (already enforced by the shell). */
  readonly maxValueBytes: number;
  /** A file generation never handed out before in this directory or its replica. */
  nextGeneration(): number;
  /**
   * Durably records the engine's live local file set (all files it needs to reopen, including
   * ones still being appended to). Files in no committed set are deleted by the shell, so an engine
   * never unlinks its own data files: it commits a set without them.
   */
  commit(state: FileSet): void;
  /** Reports a corruption found outside a call (e.g. in a background step); optional to act on. */
  onCorruption?(err: CorruptionError): void;
}

/** Numbers an engine reports in `stats().engine`. */
export type EngineStats = Record<string, number | number[] | string>;

/** A running engine instance. Arguments are validated by the shell before they arrive. */
export interface Engine {
  /** The value of `key`, or undefined. Must not allocate more than the returned value. */
  get(key: Uint8Array): Uint8Array | undefined;
  /** Sets `key`; an empty value deletes it. The engine must copy the bytes it keeps. */
  set(key: Uint8Array, value: Uint8Array): void;
  /** Seals all state into immutable files and returns the set that reproduces it exactly. */
  checkpoint(): Promise<FileSet>;
  /** Live key count, or -1 if the engine cannot know it without a scan. */
  keyCount(): number;
  /** Bytes of memory the engine holds for its state (estimate). */
  memoryBytes(): number;
  /** Engine-specific counters. */
  stats(): EngineStats;
  /** Releases file handles and timers; persists whatever the engine promises to keep locally. */
  close(): Promise<void>;
}

/** How an engine is created; registered under its name. */
export interface EngineDefinition<P extends object = Record<string, unknown>> {
  /** The `engine` option that selects it. */
  readonly name: string;
  /** Checks raw tuning options and fills defaults; throws InvalidArgumentError. */
  params(raw: Record<string, unknown>): P;
  /**
   * Opens the engine in `ctx.dir`. `state` is the committed local file set (after a crash or a
   * clean close), a restored snapshot's file set, or null for an empty store.
   */
  open(ctx: EngineContext, params: P, state: FileSet | null): Promise<Engine>;
}

const registry = new Map<string, EngineDefinition<object>>();

/** Makes an engine available to open({ engine: def.name }). */
export function registerEngine<P extends object>(def: EngineDefinition<P>): void {
  registry.set(def.name, def as unknown as EngineDefinition<object>);
}

/** The engine registered under `name`, or undefined. */
export function findEngine(name: string): EngineDefinition<object> | undefined {
  return registry.get(name);
}

/** Names of all registered engines. */
export function engineNames(): string[] {
  return [...registry.keys()];
}
