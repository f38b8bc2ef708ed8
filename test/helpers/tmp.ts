// Why: tests need fresh directories they clean up themselves, whatever the outcome.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

/** A fresh empty directory under the OS temp dir, removed after the test file finishes. */
export function tmpDir(label = 'snapkv'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `${label.replace(/[^\w-]/g, '_')}-`));
  made.push(d);
  return d;
}

afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
