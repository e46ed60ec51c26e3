// Scale benchmark: what grows with the size of the array. Each figure is printed
// against its size, several sizes per axis, so that growth shows:
//   lds      N LDs created through the REST API (time per create), then start-up
//            time (spawn to "ready") and RSS, `kura ld list --json` and GET /api/v1/lds;
//   gens     one LD with 256 snapshot generations and a chain of 64 clone layers
//            (the limits, src/array/snapshots/rules.ts): start-up, RSS, and 4k
//            random-read latency p50/p99 on the newest and the oldest generation;
//   clients  4k random-read IOPS with 1, 8, 64 NBD clients (fio nbd engine, one
//            connection per job) and 1, 8, 16 iSCSI sessions (iscsi-perf, one per session);
//   thin     the largest thin LD the engine allows (MAX_LD_CAPACITY, 256 TiB; the issue
//            asks 1 PiB) written with 1 MiB at random: metadata memory per GiB written.
//
//   npm run bench:scale                  (all of them, full sizes)
//   node dist/bench/scale.js lds gens    (some of them)
//   KURA_SCALE_LDS=100,1000,10000  KURA_SCALE_GENS=16,64,256  KURA_SCALE_LAYERS=64
//   KURA_SCALE_NBD=1,8,64  KURA_SCALE_ISCSI=1,8,16  KURA_SCALE_THIN_GIB=1,4,16
//   KURA_BENCH_SECONDS=5  KURA_BENCH_DIR=/var/tmp/kura-bench
//   Quick run: KURA_SCALE_LDS=10,100 KURA_SCALE_GENS=4,16 KURA_SCALE_LAYERS=8 KURA_SCALE_NBD=1,8 KURA_SCALE_ISCSI=1,2 KURA_SCALE_THIN_GIB=1 KURA_BENCH_SECONDS=2
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NbdClient } from '../src/nbd/client.js';
import { startServer } from '../test/helpers/server.js';
import type { TestServer } from '../test/helpers/server.js';
import { rssOf } from './lib.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const list = (v: string | undefined, d: string) =>
  (v ?? d)
    .split(',')
    .filter((s) => s !== '')
    .map(Number);
const LD_COUNTS = list(process.env.KURA_SCALE_LDS, '100,1000,10000');
const GEN_COUNTS = list(process.env.KURA_SCALE_GENS, '16,64,256');
const LAYERS = Number(process.env.KURA_SCALE_LAYERS ?? 64);
/** 4 KiB writes between generations: each may copy a 1 MiB chunk, so 256 generations keep up to 256 x this many MiB. */
const GEN_WRITES = Number(process.env.KURA_SCALE_GEN_WRITES ?? 16);
const NBD_CLIENTS = list(process.env.KURA_SCALE_NBD, '1,8,64');
const ISCSI_SESSIONS = list(process.env.KURA_SCALE_ISCSI, '1,8,16');
const THIN_GIB = list(process.env.KURA_SCALE_THIN_GIB, '1,4,16');
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 5);
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
/** Concurrent REST creates: the config queue runs them one at a time anyway; this hides the HTTP round trip. */
const CREATE_CONCURRENCY = 4;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

function freshDir(name: string): string {
  const d = path.join(WORK, 'scale', name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Starts `kura serve` (no demo LD) and says how long spawn to "ready" took. */
async function start(dataDir: string): Promise<{ s: TestServer; startMs: number }> {
  const t0 = process.hrtime.bigint();
  const s = await startServer({ dataDir, args: ['--no-demo'], readyTimeoutMs: 600_000 });
  return { s, startMs: ms(t0) };
}

/** Runs `fn` over 0..n-1, `width` at a time. */
async function pooled(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

/** Wall time of a command, median of `runs`. */
function timedCli(s: TestServer, runs: number, ...args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    s.cli.ok(...args);
    times.push(ms(t0));
  }
  return median(times);
}

async function timedApi(s: TestServer, runs: number, route: string): Promise<{ ms: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${s.url}/api/v1${route}`, { headers: { authorization: `Bearer ${s.token}` } });
    bytes = (await res.text()).length;
    times.push(ms(t0));
  }
  return { ms: median(times), bytes };
}

async function lds(): Promise<void> {
  console.log(`\nLDs: created through POST /api/v1/lds (${CREATE_CONCURRENCY} requests in flight), 1 GiB thin each, one pool`);
  console.log('      N   create total  per create (last 10%)   start-up    RSS   ld list --json   GET /lds (size)   iSCSI 4k read IOPS (LUN 0, 1 session x 8)');
  const dir = freshDir('lds');
  let { s } = await start(dir);
  try {
    await s.api('POST', '/pools', { name: 'p', size: 4 * GiB, raid: 'RAID0', pds: 1 });
    let have = 0;
    for (const n of LD_COUNTS) {
      const t0 = process.hrtime.bigint();
      const tail: number[] = [];
      const tailFrom = n - Math.max(1, Math.floor((n - have) / 10));
      await pooled(n - have, CREATE_CONCURRENCY, async (i) => {
        const t = process.hrtime.bigint();
        await s.api('POST', '/lds', { name: `ld${have + i}`, pool: 'p', size: GiB });
        if (have + i >= tailFrom) tail.push(ms(t));
      });
      const createMs = ms(t0);
      const created = n - have;
      have = n;
      await s.stop();
      const r = await start(dir);
      s = r.s;
      // Ready means listening; give the first request a moment so RSS is the settled figure.
      await s.api('GET', '/array');
      const rss = rssOf(s.proc.pid!);
      const cli = timedCli(s, 3, 'ld', 'list', '--json');
      const get = await timedApi(s, 5, '/lds');
      // Every iSCSI command resolves its LUN: its cost must not grow with the LDs.
      // A session that printed nothing in the window (a slow login on a loaded machine) gives no figure, not a failed run.
      const iscsi = await iscsiSessions(s.iscsiUrl(0), 1).catch(() => NaN);
      console.log(
        `  ${String(n).padStart(6)}  ${(createMs / 1000).toFixed(1).padStart(8)} s (${created})  ${median(tail).toFixed(1).padStart(8)} ms` +
          `  ${r.startMs.toFixed(0).padStart(10)} ms  ${mib(rss).padStart(8)}  ${cli.toFixed(0).padStart(10)} ms  ${get.ms.toFixed(0).padStart(8)} ms (${(get.bytes / MiB).toFixed(1)} MiB)  ${Number.isNaN(iscsi) ? '  none' : `${(iscsi / 1000).toFixed(1).padStart(6)}k`}`,
      );
    }
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Latency {
  p50: number;
  p99: number;
  iops: number;
}

/** fio 4k random reads at queue depth 1 over NBD: completion latency percentiles in microseconds. */
function readLatency(uri: string, sizeArg: string): Latency {
  const r = spawnSync(
    'fio',
    [
      '--name=lat',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--output-format=json',
      '--rw=randread',
      '--bs=4k',
      '--iodepth=1',
      sizeArg,
      '--time_based',
      `--runtime=${SECONDS}`,
      '--norandommap',
      '--randrepeat=0',
      '--percentile_list=50:99',
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`fio failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
    jobs: Array<{ read: { iops: number; clat_ns: { percentile: Record<string, number> } } }>;
  };
  const read = j.jobs[0]!.read;
  const pct = read.clat_ns.percentile;
  return { p50: pct['50.000000']! / 1000, p99: pct['99.000000']! / 1000, iops: read.iops };
}

/** fio over NBD with `jobs` clients (each job its own connection): total IOPS. */
function nbdIops(uri: string, jobs: number, depth: number): number {
  const r = spawnSync(
    'fio',
    [
      '--name=clients',
      '--ioengine=nbd',
      `--uri=${uri}`,
      '--output-format=json',
      '--group_reporting',
      '--rw=randread',
      '--bs=4k',
      `--iodepth=${depth}`,
      `--numjobs=${jobs}`,
      '--size=1g',
      '--time_based',
      `--runtime=${SECONDS}`,
      '--norandommap',
      '--randrepeat=0',
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`fio failed (${r.status}): ${r.stderr}\n${r.stdout}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: Array<{ read: { iops: number } }> };
  return j.jobs[0]!.read.iops;
}

function fill(uri: string, size: string): void {
  const r = spawnSync('fio', ['--name=fill', '--ioengine=nbd', `--uri=${uri}`, '--rw=write', '--bs=1m', '--iodepth=8', `--size=${size}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fio fill failed: ${r.stderr}`);
}

/** Overwrites `count` random 4 KiB blocks of the first `span` bytes, so that the next generation differs from the last. */
async function scribble(nbd: NbdClient, count: number, span: number): Promise<void> {
  const block = crypto.randomBytes(4096);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < count; i++) writes.push(nbd.write(crypto.randomInt(span / 4096) * 4096, block));
  await Promise.all(writes);
  await nbd.flush();
}

async function gens(): Promise<void> {
  const dir = freshDir('gens');
  let { s } = await start(dir);
  const nbd = (name: string) => `nbd://127.0.0.1:${s.nbdPort}/${encodeURIComponent(name)}`;
  try {
    await s.api('POST', '/licenses/DynamicSnapVolume/unlock');
    await s.api('POST', '/licenses/VolumeClone/unlock');
    await s.api('POST', '/pools', { name: 'p', size: 24 * GiB, raid: 'RAID0', pds: 1 });
    await s.api('POST', '/lds', { name: 'ssv', pool: 'p', attr: 'ssv' });
    await s.api('POST', '/lds', { name: 'base', pool: 'p', size: 256 * MiB });
    fill(nbd('base'), '256m');
    const writer = await NbdClient.connect({ host: '127.0.0.1', port: s.nbdPort, exportName: 'base' });
    console.log(
      `\nsnapshot generations: one 256 MiB LD, ${GEN_WRITES} random 4 KiB writes between generations (each copies a 1 MiB chunk on write); reads are 4k random, queue depth 1, ${SECONDS}s`,
    );
    console.log('   gens  create (last)   newest p50/p99 us    oldest p50/p99 us    base p50/p99 us      GET snapshots');
    let have = 0;
    const row = (l: Latency) => `${l.p50.toFixed(0).padStart(6)} / ${l.p99.toFixed(0).padEnd(6)}`.padEnd(21);
    for (const n of GEN_COUNTS) {
      let last = 0;
      for (; have < n; have++) {
        await scribble(writer, GEN_WRITES, 256 * MiB);
        const t0 = process.hrtime.bigint();
        await s.api('POST', '/lds/base/snapshots');
        last = ms(t0);
      }
      const newest = readLatency(nbd(`base@gen${n}`), '--size=256m');
      const oldest = readLatency(nbd('base@gen1'), '--size=256m');
      const base = readLatency(nbd('base'), '--size=256m');
      const t1 = process.hrtime.bigint();
      await s.api('GET', '/lds/base/snapshots');
      const listMs = ms(t1);
      console.log(
        `  ${String(n).padStart(5)}  ${last.toFixed(0).padStart(8)} ms   ${row(newest)}${row(oldest)}${row(base)}  ${listMs.toFixed(0).padStart(6)} ms`,
      );
    }
    await writer.disconnect();
    // A chain of clones: base -> c1 -> c2 ... each a layer above the last (the limit counts base as layer 0).
    const t0 = process.hrtime.bigint();
    let src = 'base';
    let layers = 0;
    for (; layers < LAYERS; layers++) {
      try {
        await s.api('POST', `/lds/${src}/clones`, { name: `c${layers + 1}` });
      } catch (e) {
        console.log(`  clone layer ${layers + 1} refused: ${(e as Error).message.slice(0, 200)}`);
        break;
      }
      src = `c${layers + 1}`;
    }
    const cloneMs = ms(t0);
    const deepest = readLatency(nbd(src), '--size=256m');
    console.log(
      `  ${layers} clone layers in ${(cloneMs / 1000).toFixed(1)} s; 4k read on the deepest clone (${src}) p50/p99 ${deepest.p50.toFixed(0)} / ${deepest.p99.toFixed(0)} us`,
    );
    await s.stop();
    const r = await start(dir);
    s = r.s;
    await s.api('GET', '/array');
    const count = ((await s.api('GET', '/lds')) as unknown[]).length;
    console.log(`  start-up with ${count} LDs (base, ${have} generations, ${layers} clones, SSV): ${r.startMs.toFixed(0)} ms, RSS ${mib(rssOf(s.proc.pid!))}`);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** iscsi-perf sessions side by side for SECONDS: the sum of their steady per-second IOPS. */
async function iscsiSessions(url: string, n: number): Promise<number> {
  const outs: string[] = Array.from({ length: n }, () => '');
  const procs = outs.map((_, i) => {
    // A distinct initiator name per session: one name with one ISID would reinstate (end) the other sessions.
    const p = spawn('iscsi-perf', ['-i', `iqn.2026-12.io.kura:scale-${i}`, '-m', '8', '-b', '8', '-r', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d: Buffer) => (outs[i] += d.toString()));
    p.stderr.on('data', (d: Buffer) => (outs[i] += d.toString()));
    return p;
  });
  await new Promise((r) => setTimeout(r, (SECONDS + 1) * 1000));
  await Promise.all(
    procs.map((p) => {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      return exited;
    }),
  );
  let total = 0;
  for (const out of outs) {
    const figures = [...out.matchAll(/iops current (\d+)/g)].map((m) => Number(m[1]));
    if (figures.length === 0) throw new Error(`iscsi-perf printed no IOPS:\n${out}`);
    // The first second includes the login.
    const steady = figures.length > 2 ? figures.slice(1) : figures;
    total += steady.reduce((a, b) => a + b, 0) / steady.length;
  }
  return total;
}

async function clients(): Promise<void> {
  const dir = freshDir('clients');
  const { s } = await start(dir);
  try {
    await s.api('POST', '/pools', { name: 'p', size: 2 * GiB, raid: 'RAID0', pds: 1 });
    const ld = await s.api<{ number: number }>('POST', '/lds', { name: 'c', pool: 'p', size: GiB });
    const uri = `nbd://127.0.0.1:${s.nbdPort}/c`;
    fill(uri, '1g');
    console.log(`\nconcurrent clients: 4k random reads of a written 1 GiB LD, ${SECONDS}s per run`);
    for (const n of NBD_CLIENTS) {
      const iops = nbdIops(uri, n, 8);
      console.log(`  NBD   ${String(n).padStart(3)} clients x qd8   ${(iops / 1000).toFixed(1).padStart(7)}k IOPS  RSS ${mib(rssOf(s.proc.pid!))}`);
    }
    const url = s.iscsiUrl(ld.number);
    for (const n of ISCSI_SESSIONS) {
      const iops = await iscsiSessions(url, n);
      console.log(`  iSCSI ${String(n).padStart(3)} sessions x 8   ${(iops / 1000).toFixed(1).padStart(7)}k IOPS  RSS ${mib(rssOf(s.proc.pid!))}`);
    }
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function thin(): Promise<void> {
  const dir = freshDir('thin');
  const { s } = await start(dir);
  const maxGib = Math.max(...THIN_GIB);
  try {
    await s.api('POST', '/pools', { name: 'p', size: (maxGib + 2) * GiB, raid: 'RAID0', pds: 1 });
    // 1 PiB is refused (MAX_LD_CAPACITY): say so, and take the largest allowed.
    let size = 1024 * 1024 * GiB;
    try {
      await s.api('POST', '/lds', { name: 'big', pool: 'p', size });
    } catch (e) {
      const m = /"message": "([^"]*)"/.exec((e as Error).message);
      console.log(`\nthin: 1 PiB refused (${m?.[1] ?? (e as Error).message}): the largest thin LD is 256 TiB (MAX_LD_CAPACITY)`);
      size = 256 * 1024 * GiB;
      await s.api('POST', '/lds', { name: 'big', pool: 'p', size });
    }
    const uri = `nbd://127.0.0.1:${s.nbdPort}/big`;
    const mem = async () => {
      // After a long fio run the API's idle timeout may have closed the pooled connection: ask again.
      const a = await s.api<{ memory: { metadataBytes: number } }>('GET', '/array').catch(() => s.api<{ memory: { metadataBytes: number } }>('GET', '/array'));
      return { meta: a.memory.metadataBytes, rss: rssOf(s.proc.pid!) };
    };
    const base = await mem();
    console.log(`thin: ${size / (1024 * GiB)} TiB thin LD, 1 MiB writes at random 1 MiB-aligned offsets`);
    console.log(`  written     metadata        per GiB written      RSS`);
    console.log(`  ${'0'.padStart(4)} GiB  ${mib(base.meta).padStart(9)}                       ${mib(base.rss).padStart(8)}`);
    let written = 0;
    for (const g of THIN_GIB) {
      const r = spawnSync(
        'fio',
        [
          '--name=t',
          '--ioengine=nbd',
          `--uri=${uri}`,
          '--rw=randwrite',
          '--bs=1m',
          '--iodepth=8',
          `--size=${size}`,
          `--io_size=${g - written}g`,
          '--norandommap',
          '--randrepeat=0',
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`fio failed: ${r.stderr}`);
      written = g;
      const m = await mem();
      console.log(
        `  ${String(g).padStart(4)} GiB  ${mib(m.meta).padStart(9)}  ${((m.meta - base.meta) / MiB / g).toFixed(2).padStart(10)} MiB/GiB  ${mib(m.rss).padStart(12)}`,
      );
    }
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const all: Record<string, () => Promise<void>> = { lds, gens, clients, thin };
const chosen = process.argv.slice(2);
console.log('Kura scale benchmark (shared machine: figures are noisy)');
for (const [name, fn] of Object.entries(all)) if (chosen.length === 0 || chosen.includes(name)) await fn();
