// The "Must show" list of issue 6 (snapshots), every engine against MemOnly on the same streams,
// on a DirReplica and on s3rver (started here on 127.0.0.1), side by side in one run.
// Writes bench/results/snapshots.md.
//
//   npx tsx bench/snapshot-claims.ts --scale 0.1      (quick: a few minutes on 2 cores)
//   npx tsx bench/snapshot-claims.ts                   (WORKLOADS.md sizes: 1M keys)
//   options: --scale S (key counts × S; rounds stay 100), --rounds N, --engines a,b, --replicas dir,s3,
//            --rollback-cache N (open option rollbackCacheVersions, default 6: current + 5 back)
//
//   1. W6 and W7 per-snapshot bytes/seconds and cumulative curves for every engine
//   2. W7: median bytes pushed per snapshot of each log-structured engine <= 1% of MemOnly's,
//      cumulative snapshot time >= 10x lower than MemOnly's
//   3. W8: restore into an empty directory for every engine (keys verified)
//   4. a rollback of 5 versions with the local files present downloads <= 10% of the full state
//   5. W9: restore(50) equals the state at snapshot 50

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirReplica, S3Replica, engineNames, type Replica } from '../src/index.js';
import { startS3Server, type S3TestServer } from '../test/helpers/s3-server.js';
import {
  type EngineOpenOptions,
  type ReplicaFactory,
  type RollbackResult,
  type RecoverResult,
  type SnapshotRecord,
  type W6Result,
  type W7Result,
  runW6,
  runW7,
  runW8,
  runW9,
} from './snapshot-workloads.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const scale = Number(opt('scale') ?? 1);
const rounds = Number(opt('rounds') ?? 100);
if (!(scale > 0) || !Number.isInteger(rounds) || rounds < 10) throw new Error('--scale must be > 0 and --rounds an integer >= 10');
const engines = (opt('engines')?.split(',') ?? engineNames()).filter((e) => engineNames().includes(e));
if (!engines.includes('memonly')) engines.unshift('memonly');
const kinds = opt('replicas')?.split(',') ?? ['dir', 's3'];
const rollbackCache = Number(opt('rollback-cache') ?? 6);
const W6_KEYS = Math.max(1, Math.round(10_000 * scale));
const W7_LOAD = Math.max(100, Math.round(1_000_000 * scale));
const W7_UPD = Math.max(1, Math.round(1_000 * scale));
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-snap-bench-'));

const fmtB = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtS = (s: number): string => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

interface Claim { what: string; measured: string; target: string; pass: boolean }
interface EngineRun { engine: string; kind: string; w6: W6Result; w7: W7Result; w8: RecoverResult; back5: RollbackResult; w9: RollbackResult }

async function replicaFactory(kind: string, srv: S3TestServer | undefined): Promise<ReplicaFactory> {
  if (kind === 'dir') return (name) => new DirReplica(path.join(tmpRoot, 'replicas', name));
  const bucket = 'snapkv-bench';
  await srv!.createBucket(bucket);
  return (name): Replica => new S3Replica({ bucket, prefix: name, ...srv!.clientConfig() });
}

async function main(): Promise<void> {
  log(`scale ${scale}: W6 ${rounds} x ${W6_KEYS} keys; W7 load ${W7_LOAD}, ${rounds} x ${W7_UPD} updates; engines ${engines.join(', ')}; replicas ${kinds.join(', ')}`);
  const srv = kinds.includes('s3') ? await startS3Server() : undefined;
  const runs: EngineRun[] = [];
  try {
    for (const kind of kinds) {
      const replicas = await replicaFactory(kind, srv);
      for (const engine of engines) {
        const options: EngineOpenOptions = { engine, rollbackCacheVersions: rollbackCache };
        const workDir = path.join(tmpRoot, kind);
        const t0 = performance.now();
        const w6 = await runW6(options, replicas, { workDir, rounds, keysPerRound: W6_KEYS, name: `${kind}-w6-${engine}` });
        const w7 = await runW7(options, replicas, { workDir, rounds, loadKeys: W7_LOAD, updatesPerRound: W7_UPD, name: `${kind}-w7-${engine}` });
        const w8 = await runW8(options, replicas, w7, { workDir, name: `${kind}-w8-${engine}` });
        const back5 = await runW9(options, replicas, w7, { version: rounds - 5 });
        const w9 = await runW9(options, replicas, w7, { version: Math.min(50, rounds >> 1) });
        runs.push({ engine, kind, w6, w7, w8, back5, w9 });
        log(`${kind}/${engine}: W6 ${fmtS(w6.records.at(-1)!.cumulativeSeconds)} ${fmtB(w6.records.at(-1)!.cumulativeBytes)}; W7 ${fmtS(w7.records.at(-1)!.cumulativeSeconds)} ${fmtB(w7.records.at(-1)!.cumulativeBytes)}; ` +
          `W8 ${fmtS(w8.secondsToFirstGet)} (${w8.mismatches} wrong); back 5: ${fmtB(back5.bytesPulled)} of ${fmtB(back5.fullStateBytes)}; wall ${fmtS((performance.now() - t0) / 1000)}`);
        fs.rmSync(path.join(workDir), { recursive: true, force: true });
      }
    }
  } finally {
    await srv?.dispose();
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
  write(runs);
}

function curve(recs: SnapshotRecord[]): string {
  const pick = recs.filter((r, i) => i === 0 || r.round % Math.max(1, Math.round(rounds / 10)) === 0 || i === recs.length - 1);
  return pick.map((r) => `${r.round}: ${fmtS(r.cumulativeSeconds)} / ${fmtB(r.cumulativeBytes)}`).join('; ');
}

function write(runs: EngineRun[]): void {
  const claims: Claim[] = [];
  const lines: string[] = [
    '# Snapshots: W6–W9 on every engine, DirReplica and s3rver',
    '',
    `Generated by \`npx tsx bench/snapshot-claims.ts${args.length ? ` ${args.join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus().length} cores, Node ${process.version}).`,
    `Scale ${scale}: W6 = ${rounds} rounds × ${W6_KEYS.toLocaleString('en-US')} new keys; W7 = load ${W7_LOAD.toLocaleString('en-US')} keys, then ${rounds} rounds × ${W7_UPD.toLocaleString('en-US')} uniform updates; 8-byte keys, 32-byte values, seed 42.`,
    `Engines run with their default parameters plus \`rollbackCacheVersions: ${rollbackCache}\` (the files of the last ${rollbackCache} versions stay in the local directory, so a rollback within them downloads only what is missing). s3rver runs on 127.0.0.1 in a child process (no network latency: S3 figures measure request overhead, not bandwidth).`,
    'Seconds are `SnapshotInfo.seconds` (seal + hash + upload + manifest); bytes are bytes uploaded.',
    '',
  ];
  const ref = (kind: string): EngineRun => runs.find((r) => r.kind === kind && r.engine === 'memonly')!;

  for (const [w, pickRecs] of [['W6-snap-grow', (r: EngineRun) => r.w6.records], ['W7-snap-update', (r: EngineRun) => r.w7.records]] as const) {
    lines.push(`## ${w}`, '', '| replica | engine | snapshots | median bytes / snapshot | median seconds / snapshot | last snapshot bytes | cumulative bytes | cumulative seconds | vs MemOnly (cumulative s) |', '|---|---|---|---|---|---|---|---|---|');
    for (const r of runs) {
      const recs = pickRecs(r);
      const m = pickRecs(ref(r.kind));
      const last = recs.at(-1)!;
      lines.push(`| ${r.kind} | ${r.engine} | ${recs.length} | ${fmtB(median(recs.map((x) => x.bytesPushed)))} | ${fmtS(median(recs.map((x) => x.seconds)))} | ${fmtB(last.bytesPushed)} | ${fmtB(last.cumulativeBytes)} | ${fmtS(last.cumulativeSeconds)} | ${(m.at(-1)!.cumulativeSeconds / last.cumulativeSeconds).toFixed(1)}× lower |`);
    }
    lines.push('', 'Cumulative curves (round: seconds / bytes pushed):', '');
    for (const r of runs) lines.push(`- ${r.kind} ${r.engine}: ${curve(pickRecs(r))}`);
    lines.push('');
  }
  lines.push('W7 load snapshots (round 0, not in the W7 figures above):', '');
  for (const r of runs) lines.push(`- ${r.kind} ${r.engine}: ${fmtB(r.w7.load.bytesPushed)} in ${fmtS(r.w7.load.seconds)}`);
  lines.push('');

  lines.push('## W8-recover and rollbacks', '', '| replica | engine | W8 seconds to first get | W8 bytes pulled | W8 keys checked / wrong | back 5 versions: bytes pulled / full state | W9 restore(' + runs[0]!.w9.version + ') seconds | W9 bytes pulled / full state | W9 checked / wrong |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of runs) {
    lines.push(`| ${r.kind} | ${r.engine} | ${fmtS(r.w8.secondsToFirstGet)} | ${fmtB(r.w8.bytesPulled)} | ${r.w8.checked} / ${r.w8.mismatches} | ${fmtB(r.back5.bytesPulled)} / ${fmtB(r.back5.fullStateBytes)} = ${(100 * r.back5.bytesPulled / r.back5.fullStateBytes).toFixed(1)}% | ${fmtS(r.w9.seconds)} | ${fmtB(r.w9.bytesPulled)} / ${fmtB(r.w9.fullStateBytes)} | ${r.w9.checked} / ${r.w9.mismatches} |`);
  }
  lines.push('');

  for (const r of runs) {
    const m = ref(r.kind);
    if (r.engine !== 'memonly') {
      const mb = median(r.w7.records.map((x) => x.bytesPushed));
      const mm = median(m.w7.records.map((x) => x.bytesPushed));
      claims.push({ what: `W7 median bytes / snapshot, ${r.engine} vs MemOnly (${r.kind})`, measured: `${fmtB(mb)} vs ${fmtB(mm)} = ${(100 * mb / mm).toFixed(2)}%`, target: '<= 1%', pass: mb <= 0.01 * mm });
      const cs = r.w7.records.at(-1)!.cumulativeSeconds;
      const cm = m.w7.records.at(-1)!.cumulativeSeconds;
      claims.push({ what: `W7 cumulative snapshot time, ${r.engine} vs MemOnly (${r.kind})`, measured: `${fmtS(cs)} vs ${fmtS(cm)} = ${(cm / cs).toFixed(1)}× lower`, target: '>= 10× lower', pass: cm >= 10 * cs });
      claims.push({ what: `rollback of 5 versions with local files, ${r.engine} (${r.kind})`, measured: `${fmtB(r.back5.bytesPulled)} of ${fmtB(r.back5.fullStateBytes)} = ${(100 * r.back5.bytesPulled / r.back5.fullStateBytes).toFixed(1)}%`, target: '<= 10% of full state', pass: r.back5.bytesPulled <= 0.1 * r.back5.fullStateBytes && r.back5.mismatches === 0 });
    }
    claims.push({ what: `W8 restore into an empty directory, ${r.engine} (${r.kind})`, measured: `${fmtS(r.w8.secondsToFirstGet)}, ${r.w8.checked} keys checked, ${r.w8.mismatches} wrong`, target: 'all keys right', pass: r.w8.mismatches === 0 && r.w8.checked > 0 });
    claims.push({ what: `W9 restore(${r.w9.version}) state, ${r.engine} (${r.kind})`, measured: `${r.w9.checked} keys checked, ${r.w9.mismatches} wrong`, target: 'all keys right', pass: r.w9.mismatches === 0 });
  }
  lines.push('## Claims', '', '| claim | measured | target | |', '|---|---|---|---|');
  for (const c of claims) lines.push(`| ${c.what} | ${c.measured} | ${c.target} | ${c.pass ? 'PASS' : 'FAIL'} |`);
  lines.push(
    '',
    `"Back 5 versions" restores version ${rounds - 5} in W7's own directory; with \`rollbackCacheVersions: ${rollbackCache}\` its files are still local, so nothing is downloaded — for MemOnly too, at the price of keeping ${rollbackCache} full dumps on disk. ` +
      `W9's restore(${runs[0]?.w9.version}) lies outside that cache and shows the plain delta restore: only files missing locally are downloaded (MemOnly: one whole dump; log-structured engines: the runs merged away since).`,
    '',
  );
  const text = lines.join('\n');
  fs.mkdirSync(path.join('bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join('bench', 'results', 'snapshots.md'), text);
  console.log(text);
  const failed = claims.filter((c) => !c.pass).length;
  log(failed ? `${failed} claim(s) FAILED` : `all ${claims.length} claims PASS`);
}

await main();
