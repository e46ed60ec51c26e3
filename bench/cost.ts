// CPU cost per GiB of `kura serve` builds racing each other on fio's nbd engine:
// the server's user+system time per GiB moved and its major GCs per GiB. On a
// machine shared with other work, throughput swings by 2x between runs while
// CPU per GiB moves far less, so this is the comparison to make there.
//
//   node dist/bench/cost.js DIR [DIR...]      each DIR a built Kura checkout (DIR/bin/kura.js)
//   KURA_BENCH_ROUNDS=3 KURA_BENCH_JOBS=read,write KURA_BENCH_GIB=2 KURA_BENCH_BS=1m KURA_BENCH_QD=8 KURA_BENCH_RAID=RAID0
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, api, fio, startKura } from './lib.js';
import type { KuraServer } from './lib.js';

const GiB = 2 ** 30;
const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 3);
const JOBS = (process.env.KURA_BENCH_JOBS ?? 'read,write').split(',');
const SIZE_GIB = Number(process.env.KURA_BENCH_GIB ?? 2);
const BS = process.env.KURA_BENCH_BS ?? '1m';
const QD = process.env.KURA_BENCH_QD ?? '8';
const RAID = process.env.KURA_BENCH_RAID ?? 'RAID0';
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Build {
  name: string;
  k: KuraServer;
  uri: string;
  out: string;
  sums: Map<string, { cpuMs: number; majors: number; bw: number; runs: number }>;
}

/** User+system CPU of a process so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);
  return (f[11]! + f[12]!) * 10;
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: node dist/bench/cost.js DIR [DIR...]');
const builds: Build[] = [];
try {
  for (const [i, d] of dirs.entries()) {
    const data = path.join(WORK, `cost${i}`);
    fs.rmSync(data, { recursive: true, force: true });
    process.env.KURA_REAL_BIN = path.resolve(d, 'bin', 'kura.js');
    const out = path.join(WORK, `cost${i}.json`);
    process.env.KURA_GC_OUT = out;
    const k = await startKura(data, path.join(ROOT, 'dist', 'bench', 'gc-shim.js'));
    await api(k, 'POST', '/pools', { name: 'bench', size: 3 * GiB, raid: RAID, pds: RAID === 'RAID0' ? 1 : 2 });
    await api(k, 'POST', '/lds', { name: 'bench0', pool: 'bench', size: GiB });
    const uri = `nbd://127.0.0.1:${k.nbdPort}/bench0`;
    fio(uri, ['--rw=write', '--bs=1m', '--iodepth=8', '--size=1g']);
    builds.push({ name: `${i}:${path.basename(path.resolve(d))}`, k, uri, out, sums: new Map() });
  }
  console.log(`fio nbd ${BS} qd${QD}, ${SIZE_GIB} GiB per run, ${ROUNDS} rounds, ${RAID}; server CPU and major GCs per GiB`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const job of JOBS) {
      for (const b of round % 2 === 0 ? builds : [...builds].reverse()) {
        b.k.proc.kill('SIGUSR1');
        await sleep(100);
        const c0 = cpuMs(b.k.proc.pid!);
        const r = fio(b.uri, [`--rw=${job}`, `--bs=${BS}`, `--iodepth=${QD}`, '--size=1g', `--io_size=${SIZE_GIB}g`]);
        const cpu = (cpuMs(b.k.proc.pid!) - c0) / SIZE_GIB;
        b.k.proc.kill('SIGUSR2');
        await sleep(300);
        const g = JSON.parse(fs.readFileSync(b.out, 'utf8')) as { gc: Record<string, { n: number }>; heapUsedMB: number };
        const majors = (g.gc.major?.n ?? 0) / SIZE_GIB;
        const s = b.sums.get(job) ?? { cpuMs: 0, majors: 0, bw: 0, runs: 0 };
        b.sums.set(job, { cpuMs: s.cpuMs + cpu, majors: s.majors + majors, bw: s.bw + r.bw, runs: s.runs + 1 });
        console.log(
          `  round ${round + 1} ${job.padEnd(6)} ${b.name.padEnd(18)} ${(r.bw / 1e9).toFixed(2)} GB/s  cpu ${cpu.toFixed(0)} ms/GiB  major GCs ${majors.toFixed(0)}/GiB  heap ${g.heapUsedMB.toFixed(1)} MB`,
        );
      }
    }
  }
  console.log('\nmean                       GB/s   cpu ms/GiB   major GCs/GiB');
  for (const job of JOBS) {
    for (const b of builds) {
      const s = b.sums.get(job)!;
      console.log(
        `  ${job.padEnd(6)} ${b.name.padEnd(18)} ${(s.bw / s.runs / 1e9).toFixed(2)}   ${(s.cpuMs / s.runs).toFixed(0).padStart(8)}   ${(s.majors / s.runs).toFixed(0).padStart(8)}`,
      );
    }
  }
} finally {
  for (const b of builds) await b.k.stop();
}
