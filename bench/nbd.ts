// NBD benchmark: Kura beside `nbdkit file` in the same run, on the same kind of
// backing file (a sparse file on the same file system), with fio's nbd engine.
// Then the memory cost of thin metadata on a 1 TiB LD.
//
//   npm run bench:nbd            (KURA_BENCH_SECONDS=10, KURA_BENCH_ROUNDS=2, KURA_BENCH_MEM_GIB=16)
//   KURA_BENCH_JOBS='1M seq read' runs only the jobs whose names contain one of the comma-separated words.
//
// KURA_BENCH_BASELINE=DIR puts another built Kura checkout (DIR/bin/kura.js) in the
// peer's place: the two builds take turns on the same jobs, so a change is measured
// against its parent under the same machine load, started in both orders
// (KURA_BENCH_PASSES, 2 by default against a build).
import fs from 'node:fs';
import path from 'node:path';
import { api, fio, rssOf, startKura, startNbdkit } from './lib.js';
import type { FioResult, KuraServer } from './lib.js';

const GiB = 2 ** 30;
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 2);
const MEM_GIB = Number(process.env.KURA_BENCH_MEM_GIB ?? 16);
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const BASELINE = process.env.KURA_BENCH_BASELINE;
/** The build measured as "kura": another checkout's DIR (KURA_BENCH_KURA=DIR), this one by default. */
const KURA_BIN = process.env.KURA_BENCH_KURA === undefined ? undefined : path.resolve(process.env.KURA_BENCH_KURA, 'bin', 'kura.js');
/** Only the jobs whose names contain one of these comma-separated words (all when unset). */
const ONLY = process.env.KURA_BENCH_JOBS?.split(',').filter((w) => w !== '');

type Job = { name: string; args: string[]; metric: 'iops' | 'bw' };
const ALL_JOBS: Job[] = [
  { name: '4k randread qd32', args: ['--rw=randread', '--bs=4k', '--iodepth=32'], metric: 'iops' },
  { name: '4k randwrite qd32', args: ['--rw=randwrite', '--bs=4k', '--iodepth=32'], metric: 'iops' },
  { name: '1M seq read qd8', args: ['--rw=read', '--bs=1m', '--iodepth=8'], metric: 'bw' },
  { name: '1M seq write qd8', args: ['--rw=write', '--bs=1m', '--iodepth=8'], metric: 'bw' },
];
const JOBS = ALL_JOBS.filter((j) => ONLY === undefined || ONLY.some((w) => j.name.includes(w)));

function fmt(r: FioResult, metric: 'iops' | 'bw'): string {
  return metric === 'iops' ? `${(r.iops / 1000).toFixed(1)}k IOPS` : `${(r.bw / 1e9).toFixed(2)} GB/s`;
}

/** The peer: nbdkit's file plugin on the same kind of file, or another Kura build. */
async function startPeer(dir: string): Promise<{ name: string; uri: string; stop(): Promise<void> }> {
  if (BASELINE !== undefined) {
    const base = await startKura(path.join(dir, 'base'), path.resolve(BASELINE, 'bin', 'kura.js'));
    await makeBenchLd(base);
    return { name: 'base', uri: `nbd://127.0.0.1:${base.nbdPort}/bench0`, stop: () => base.stop() };
  }
  const peerFile = path.join(dir, 'nbdkit.img');
  fs.writeFileSync(peerFile, '');
  fs.truncateSync(peerFile, GiB);
  const peer = await startNbdkit(peerFile);
  return { name: 'nbdkit', uri: `nbd://127.0.0.1:${peer.port}/`, stop: async () => peer.stop() };
}

/** One PD, no mirroring: the same single sparse file nbdkit gets. */
async function makeBenchLd(k: KuraServer): Promise<void> {
  await api(k, 'POST', '/pools', { name: 'bench', size: 2 * GiB, raid: 'RAID0', pds: 1 });
  await api(k, 'POST', '/lds', { name: 'bench0', pool: 'bench', size: GiB });
}

/**
 * One pass: both servers started (in the order given), filled, then the jobs in
 * interleaved rounds. Returns the sum over rounds per job and target.
 */
async function pass(dir: string, peerFirst: boolean, sums: Map<string, Map<string, number>>): Promise<string> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    let kura: KuraServer;
    let peer: Awaited<ReturnType<typeof startPeer>>;
    if (peerFirst) {
      started.push((peer = await startPeer(dir)));
      started.push((kura = await startKura(path.join(dir, 'kura'), KURA_BIN)));
    } else {
      started.push((kura = await startKura(path.join(dir, 'kura'), KURA_BIN)));
      started.push((peer = await startPeer(dir)));
    }
    await makeBenchLd(kura);
    const kuraTarget = { name: 'kura', uri: `nbd://127.0.0.1:${kura.nbdPort}/bench0` };
    const targets = peerFirst ? [peer, kuraTarget] : [kuraTarget, peer];
    // Fill both so reads hit written (mapped) data.
    for (const t of targets) fio(t.uri, ['--rw=write', '--bs=1m', '--iodepth=8', '--size=1g']);
    for (let round = 0; round < ROUNDS; round++) {
      for (const job of JOBS) {
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const r = fio(t.uri, [...job.args, '--size=1g', '--time_based', `--runtime=${SECONDS}`, '--norandommap', '--randrepeat=0']);
          const s = sums.get(job.name) ?? new Map<string, number>();
          s.set(t.name, (s.get(t.name) ?? 0) + (job.metric === 'iops' ? r.iops : r.bw));
          sums.set(job.name, s);
          console.log(
            `  ${peerFirst ? `${peer.name} first` : 'kura first'} round ${round + 1} ${job.name.padEnd(18)} ${t.name.padEnd(7)} ${fmt(r, job.metric)}`,
          );
        }
      }
    }
    return peer.name;
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

/**
 * Against another Kura build the servers are started in both orders (two passes):
 * the one started and filled second measured up to 20% faster on 1M sequential
 * reads even when both were the same build, so one order alone biases the ratio.
 */
const PASSES = Number(process.env.KURA_BENCH_PASSES ?? (BASELINE !== undefined ? 2 : 1));

async function throughput(): Promise<void> {
  const dir = path.join(WORK, 'throughput');
  const sums = new Map<string, Map<string, number>>();
  console.log(`fio nbd engine, ${SECONDS}s per run, ${ROUNDS} interleaved rounds x ${PASSES} start order(s), 1 GiB LD/file`);
  let peerName = '';
  for (let p = 0; p < PASSES; p++) peerName = await pass(dir, p % 2 === 1, sums);
  const runs = ROUNDS * PASSES;
  console.log(`\nresult (mean of runs)              kura          ${peerName.padEnd(13)} ratio`);
  for (const job of JOBS) {
    const s = sums.get(job.name)!;
    const k = s.get('kura')! / runs;
    const p = s.get(peerName)! / runs;
    const fmtMean = (v: number) => fmt({ iops: v, bw: v }, job.metric);
    console.log(`  ${job.name.padEnd(32)} ${fmtMean(k).padEnd(13)} ${fmtMean(p).padEnd(13)} ${(k / p).toFixed(2)}x`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function memoryInfo(k: KuraServer): Promise<{ metadataBytes: number; rss: number }> {
  const info = (await api(k, 'GET', '/array')) as { memory: { metadataBytes: number; rss: number } };
  return { metadataBytes: info.memory.metadataBytes, rss: rssOf(k.proc.pid!) };
}

async function memory(): Promise<void> {
  const dir = path.join(WORK, 'memory');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const kura = await startKura(path.join(dir, 'kura'));
  const MiB = 2 ** 20;
  try {
    await api(kura, 'POST', '/pools', { name: 'mem', size: (MEM_GIB + 2) * GiB, raid: 'RAID0', pds: 1 });
    await api(kura, 'POST', '/lds', { name: 'big', pool: 'mem', size: 1024 * GiB });
    const uri = `nbd://127.0.0.1:${kura.nbdPort}/big`;
    const base = await memoryInfo(kura);
    const row = (label: string, m: { metadataBytes: number; rss: number }, gib: number) =>
      console.log(
        `  ${label.padEnd(34)} metadata ${(m.metadataBytes / MiB).toFixed(2).padStart(7)} MiB (+${((m.metadataBytes - base.metadataBytes) / MiB / Math.max(gib, 1)).toFixed(3)} MiB/GiB)   RSS ${(m.rss / MiB).toFixed(0).padStart(5)} MiB (+${((m.rss - base.rss) / MiB).toFixed(0)})`,
      );
    console.log(`\nmemory: 1 TiB thin LD, 1 MiB writes at random 1 MiB-aligned offsets`);
    row('start', base, 0);
    fio(uri, ['--rw=randwrite', '--bs=1m', '--iodepth=8', '--size=1024g', '--io_size=1g', '--norandommap', '--randrepeat=0']);
    const one = await memoryInfo(kura);
    row('after 1 GiB written', one, 1);
    fio(uri, ['--rw=randwrite', '--bs=1m', '--iodepth=8', '--size=1024g', `--io_size=${MEM_GIB - 1}g`, '--norandommap', '--randrepeat=0']);
    const many = await memoryInfo(kura);
    row(`after ${MEM_GIB} GiB written`, many, MEM_GIB);
    fio(uri, ['--rw=randread', '--bs=1m', '--iodepth=8', '--size=1024g', '--io_size=4g', '--norandommap', '--randrepeat=0']);
    const reads = await memoryInfo(kura);
    console.log(
      `  after 4 GiB of reads (mostly holes) metadata +${((reads.metadataBytes - many.metadataBytes) / MiB).toFixed(3)} MiB, RSS +${((reads.rss - many.rss) / MiB).toFixed(0)} MiB`,
    );
  } finally {
    await kura.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'throughput') await throughput();
if (which === 'all' || which === 'memory') await memory();
