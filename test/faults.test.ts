// Why: disks fill up and fail. With ENOSPC/EIO injected at the file layer (src/io.ts), the call
// that hits the fault must throw, the store must stay consistent (a failed set changes nothing
// visible), and the same calls must succeed once the fault is gone — for every engine.

import { afterEach, describe, expect, it } from 'vitest';
import { DirReplica, RestoreError, SnapKVError, SnapshotError, open, type OpenOptions, type SnapStore } from '../src/index.js';
import { injectFault } from '../src/io.js';
import { ENGINE_CONFIGS } from './engine-configs.js';
import { b, hex, pattern } from './helpers/bytes.js';
import { tmpDir } from './helpers/tmp.js';

afterEach(() => injectFault(null));

function check(s: SnapStore, model: Map<string, Uint8Array>, keys: number): void {
  for (let i = 0; i < keys; i++) {
    const got = s.get(b(`k${i}`));
    const want = model.get(`k${i}`);
    expect(got === undefined ? undefined : hex(got), `k${i}`).toBe(want === undefined ? undefined : hex(want));
  }
}

describe.each(ENGINE_CONFIGS.filter((c) => c.crash))('I/O faults: $label', (cfg) => {
  for (const code of ['ENOSPC', 'EIO']) {
    it(`${code} on writes: failing calls throw, state stays consistent, later calls succeed`, async () => {
      const root = tmpDir(`faults-${cfg.label}`);
      const replica = new DirReplica(`${root}/replica`);
      const dir = `${root}/data`;
      let s = await open({ ...cfg.options, dir, replica } as OpenOptions);
      const model = new Map<string, Uint8Array>();
      const KEYS = 120;
      let id = 0;
      for (let i = 0; i < 400; i++) {
        const v = pattern(1 + (i % 50), i + 1);
        s.set(b(`k${i % KEYS}`), v);
        model.set(`k${i % KEYS}`, v);
      }
      await s.snapshot(++id);
      const atSnap = new Map(model);
      let failures = 0;
      for (let round = 0; round < 6; round++) {
        injectFault({ op: round % 2 === 0 ? 'any' : 'write', code, times: 1 + (round % 3) });
        for (let i = 0; i < 300; i++) {
          const k = `k${(i * 7 + round) % KEYS}`;
          const v = pattern(1 + ((i + round) % 70), i * 31 + round + 7);
          try {
            s.set(b(k), v);
            model.set(k, v);
          } catch (e) {
            failures++;
            expect((e as NodeJS.ErrnoException).code ?? (e as SnapKVError).code).toBeTruthy();
          }
        }
        try {
          await s.snapshot(++id);
          atSnap.clear();
          for (const [k, v] of model) atSnap.set(k, v);
        } catch (e) {
          failures++;
          expect(e).toBeInstanceOf(SnapshotError);
        }
        injectFault(null);
        check(s, model, KEYS);
        // With the fault gone, a snapshot under a new id succeeds.
        await s.snapshot(++id);
        atSnap.clear();
        for (const [k, v] of model) atSnap.set(k, v);
      }
      expect(failures).toBeGreaterThan(0);
      // A restore that hits a fault fails with RestoreError and leaves the state as it was.
      const lastGood = id;
      s.set(b('k0'), b('after-last-snapshot'));
      model.set('k0', b('after-last-snapshot'));
      injectFault({ op: 'any', code });
      let restoreFailed = false;
      try {
        await s.restore(1);
      } catch (e) {
        restoreFailed = true;
        expect(e).toBeInstanceOf(RestoreError);
      }
      injectFault(null);
      if (restoreFailed) {
        // Either the previous state is intact, or the store closed itself saying so.
        try {
          check(s, model, KEYS);
        } catch (e) {
          if (!(e instanceof SnapKVError && e.code === 'ERR_STORE_CLOSED')) throw e;
          s = await open({ ...cfg.options, dir, replica } as OpenOptions);
        }
      }
      await s.restore(lastGood);
      check(s, atSnap, KEYS);
      await s.close();
      // Reopen from the replica into a new directory: the last good snapshot.
      const t = await open({ ...cfg.options, dir: `${root}/fresh`, replica } as OpenOptions);
      check(t, atSnap, KEYS);
      await t.close();
    });
  }
});
