// Why: a state backend is trusted only if a crash at any moment loses nothing it promised and
// never shows a state that never existed. A real child process runs the seeded workload against a
// DirReplica and is SIGKILLed at a random point (mid-set, mid-seal, mid-merge, mid-snapshot push,
// mid-restore); the parent then checks, from real files:
//   1. every acknowledged snapshot restores to exactly the model state at that snapshot;
//   2. a plain reopen shows every acknowledged set for engines that promise local durability,
//      and for the others a state equal to some prefix of the operations — never a mix;
//   3. no temp file or lock is left that breaks the next open.
// SNAPKV_CRASH_KILLS sets the number of kills per configuration (default 20). The suite is split
// over two test files (crash-lsm, crash-hash) so vitest's two workers run them side by side.
// The files live under TMPDIR, which vitest.config.ts points at tmpfs when there is one: a
// SIGKILL keeps the page cache, so what the checks see does not depend on the medium.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirReplica, open, type OpenOptions, type SnapStore } from '../../src/index.js';
import { ENGINE_CONFIGS, type EngineConfig } from '../engine-configs.js';
import { hex } from './bytes.js';
import { allKeys, crashOps, replay } from './crash-workload.js';
import { tmpDir } from './tmp.js';

const KILLS = Number(process.env.SNAPKV_CRASH_KILLS ?? 20);
const OPS = 1500;
const CHILD = path.resolve('test/helpers/crash-child.ts');

interface ChildRun { acked: number; lines: string[]; signal: string | null; code: number | null }

/** Runs the child until it has printed `killAfter` lines (+ a random few ms), then SIGKILLs it. */
function runAndKill(args: string[], killAfter: number, delayMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    let killing = false;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (!killing && lines.length >= killAfter) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`crash child failed (code ${code}): ${err}`));
      const acked = lines.filter((l) => /^\d+$/.test(l)).length;
      resolve({ acked, lines, signal, code });
    });
  });
}

function readAll(s: SnapStore): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of allKeys()) {
    const v = s.get(k);
    if (v !== undefined) m.set(hex(k), hex(v));
  }
  return m;
}

const same = (a: Map<string, string>, b: Map<string, string>): boolean => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

function expectClean(dir: string): void {
  const stray = fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
  expect(stray, `temp files left in ${dir}`).toEqual([]);
}

/** Registers the crash tests for every crash-enabled configuration that `pick` selects. */
export function crashSuite(pick: (c: EngineConfig) => boolean): void {
describe.each(ENGINE_CONFIGS.filter((c) => c.crash && pick(c)))('crash: $label', (cfg) => {
  it(`survives ${KILLS} SIGKILLs at random points of a workload`, async () => {
    const root = tmpDir(`crash-${cfg.label}`);
    let seed = 1000;
    for (let kill = 0; kill < KILLS; kill++) {
      seed++;
      const dir = path.join(root, `k${kill}`, 'data');
      const rdir = path.join(root, `k${kill}`, 'replica');
      const ops = crashOps(seed, OPS);
      const model = replay(ops);
      const killAfter = 1 + ((seed * 7919) % (OPS + 1)); // the 'open' line counts as one
      const run = await runAndKill(['ops', JSON.stringify(cfg.options), dir, rdir, String(seed), String(OPS)], killAfter, seed % 4);
      const acked = run.acked;
      const ackedSnaps = ops.slice(0, acked).filter((o) => o.t === 'snap').map((o) => (o as { id: number }).id);

      // 2 + 3: plain reopen from local files.
      const local = await open({ ...cfg.options, dir } as OpenOptions);
      expectClean(dir);
      const state = readAll(local);
      await local.close();
      const upTo = Math.min(acked + 1, ops.length);
      if (cfg.durableSets) {
        const ok = same(state, model.prefixes[acked]!) || same(state, model.prefixes[upTo]!);
        expect(ok, `seed ${seed}: reopened state is not the state after op ${acked} (or the one in flight)`).toBe(true);
      } else {
        let found = -1;
        for (let p = upTo; p >= 0 && found < 0; p--) if (same(state, model.prefixes[p]!)) found = p;
        expect(found, `seed ${seed}: reopened state equals no prefix of the operations (acked ${acked})`).toBeGreaterThanOrEqual(0);
      }

      // 1: every acknowledged snapshot restores exactly (sampled: the last five and the first).
      const check = [...new Set([...ackedSnaps.slice(0, 1), ...ackedSnaps.slice(-5)])];
      if (check.length > 0) {
        const s = await open({ ...cfg.options, dir, replica: new DirReplica(rdir) } as OpenOptions);
        for (const id of check) {
          await s.restore(id);
          expect(same(readAll(s), model.snaps.get(id)!), `seed ${seed}: snapshot ${id} restored wrong`).toBe(true);
        }
        await s.close();
        expectClean(dir);
      }
    }
  }, 900_000);

  it('survives SIGKILL during restores', async () => {
    const root = tmpDir(`crash-restore-${cfg.label}`);
    const dir = path.join(root, 'data');
    const rdir = path.join(root, 'replica');
    const seed = 77;
    const ops = crashOps(seed, 600);
    const model = replay(ops);
    const full = await runAndKill(['ops', JSON.stringify(cfg.options), dir, rdir, String(seed), '600'], Number.MAX_SAFE_INTEGER, 0);
    expect(full.code).toBe(0);
    const snapStates = [...model.snaps.values()];
    for (let kill = 0; kill < Math.max(3, Math.floor(KILLS / 4)); kill++) {
      await runAndKill(['restores', JSON.stringify(cfg.options), dir, rdir, '0', '0'], 2 + (kill % 5), kill % 3);
      // Reopening with the replica restores the latest version, whatever the killed restore did.
      const s = await open({ ...cfg.options, dir, replica: new DirReplica(rdir) } as OpenOptions);
      expectClean(dir);
      const latest = Math.max(...model.snaps.keys());
      expect(same(readAll(s), model.snaps.get(latest)!)).toBe(true);
      await s.close();
      // A plain local reopen shows one of the snapshot states, never a mix.
      const l = await open({ ...cfg.options, dir } as OpenOptions);
      const st = readAll(l);
      expect(snapStates.some((m) => same(st, m)), 'local state after a killed restore is no snapshot state').toBe(true);
      await l.close();
    }
  }, 900_000);
});
}
