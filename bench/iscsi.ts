// iSCSI benchmark: Kura beside the Debian `tgt` daemon (tgtd, file-backed LUN)
// in the same run, on the same kind of backing store (one sparse file on the
// same file system; Kura gets a one-PD RAID0 pool). Workloads:
//   - qemu-img bench through qemu's libiscsi driver: 4 KiB reads and writes at
//     queue depth 32, 1 MiB reads and writes at queue depth 8;
//   - iscsi-perf (libiscsi): 4 KiB random reads at 32 requests in flight;
//   - qemu-img convert of 1 GiB into the LUN and back out of it.
// Rounds are interleaved (Kura first in odd rounds, tgt first in even ones) and
// the report gives means and the Kura/tgt ratio.
//
//   npm run bench:iscsi          (KURA_BENCH_ROUNDS=2, KURA_BENCH_SECONDS=8, KURA_BENCH_DIR=/var/tmp/kura-bench)
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api, freePort, startKura, waitForPort } from './lib.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 2);
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 8);
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const INITIATOR = 'iqn.2026-11.io.kura:bench-initiator';

interface Target {
  name: 'kura' | 'tgt';
  url: string;
}

interface Job {
  name: string;
  unit: 'iops' | 'GB/s' | 's';
  /** Higher is better for rates, lower for times. */
  run(t: Target): number;
}

function sh(cmd: string, args: string[], timeoutMs = 600_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout + r.stderr;
}

/** qemu-img bench: the request count is sized so that a run takes about SECONDS. Returns requests per second. */
function qemuBench(url: string, size: number, depth: number, write: boolean, count: number): number {
  const args = ['bench', '-f', 'raw', '-t', 'none', '-n', '-c', String(count), '-d', String(depth), '-s', String(size), '-S', String(size)];
  if (write) args.push('-w', '--pattern=0x5a');
  const out = sh('qemu-img', [...args, url]);
  const m = /Run completed in ([0-9.]+) seconds/.exec(out);
  if (!m) throw new Error(`qemu-img bench printed no run time:\n${out}`);
  return count / Number(m[1]);
}

/**
 * iscsi-perf prints a progress line per second ("iops current N (… MB/s), iops
 * average …") and runs until interrupted; stop it after SECONDS and average the
 * per-second figures after the first (which includes the login).
 */
async function iscsiPerf(url: string): Promise<number> {
  const proc = spawn('iscsi-perf', ['-i', INITIATOR, '-m', '32', '-b', '8', '-r', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  proc.kill('SIGINT');
  await new Promise((r) => proc.once('exit', r));
  const figures = [...out.matchAll(/iops current (\d+)/g)].map((m) => Number(m[1]));
  if (figures.length === 0) throw new Error(`iscsi-perf printed no IOPS:\n${out}`);
  // The first second includes login; average the rest.
  const steady = figures.length > 2 ? figures.slice(1) : figures;
  return steady.reduce((a, b) => a + b, 0) / steady.length;
}

function timed(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function startTgt(dir: string): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const control = 5000 + (process.pid % 4000);
  const file = path.join(dir, 'tgt.img');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, GiB);
  const proc = spawn('tgtd', ['-f', '-C', String(control), '--iscsi', `portal=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitForPort(port);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`tgtd did not start: ${(e as Error).message}\n${err}`, { cause: e });
  }
  const iqn = 'iqn.2026-11.io.kura:bench-tgt';
  const adm = (...a: string[]) => sh('tgtadm', ['-C', String(control), '--lld', 'iscsi', ...a]);
  adm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', iqn);
  adm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', file);
  adm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  return {
    url: `iscsi://127.0.0.1:${port}/${iqn}/1`,
    proc,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      // tgtd in the foreground ignores SIGTERM while it has targets: ask it to stop, then insist.
      spawnSync('tgtadm', ['-C', String(control), '--op', 'delete', '--mode', 'system'], { timeout: 5000 });
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function main(): Promise<void> {
  const dir = path.join(WORK, 'iscsi');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const kura = await startKura(path.join(dir, 'kura'));
  const tgt = await startTgt(dir);
  try {
    await api(kura, 'POST', '/pools', { name: 'bench', size: 2 * GiB, raid: 'RAID0', pds: 1 });
    const ld = (await api(kura, 'POST', '/lds', { name: 'bench0', pool: 'bench', size: GiB })) as { number: number };
    const targets: Target[] = [
      { name: 'kura', url: `iscsi://127.0.0.1:${kura.iscsiPorts[0]}/${kura.iqn}/${ld.number}` },
      { name: 'tgt', url: tgt.url },
    ];
    const src = path.join(dir, 'src.raw');
    const back = path.join(dir, 'back.raw');
    sh('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', `count=${GiB / MiB}`, 'status=none']);
    // Fill both LUNs so that reads return written data.
    for (const t of targets) sh('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, t.url]);

    // Calibrate request counts on tgt so each run lasts about SECONDS.
    const calib = (size: number, depth: number, write: boolean) => {
      const probe = Math.max(1000, Math.floor((size >= MiB ? 200 : 20000) / 1));
      const rate = qemuBench(targets[1]!.url, size, depth, write, probe);
      return Math.max(probe, Math.floor(rate * SECONDS));
    };
    const n4kr = calib(4096, 32, false);
    const n4kw = calib(4096, 32, true);
    const n1mr = Math.min(calib(MiB, 8, false), (GiB / MiB) * 8);
    const n1mw = Math.min(calib(MiB, 8, true), (GiB / MiB) * 8);
    const jobs: Job[] = [
      { name: '4k read qd32 (qemu-img bench)', unit: 'iops', run: (t) => qemuBench(t.url, 4096, 32, false, n4kr) },
      { name: '4k write qd32 (qemu-img bench)', unit: 'iops', run: (t) => qemuBench(t.url, 4096, 32, true, n4kw) },
      { name: '1M read qd8 (qemu-img bench)', unit: 'GB/s', run: (t) => (qemuBench(t.url, MiB, 8, false, n1mr) * MiB) / 1e9 },
      { name: '1M write qd8 (qemu-img bench)', unit: 'GB/s', run: (t) => (qemuBench(t.url, MiB, 8, true, n1mw) * MiB) / 1e9 },
      { name: 'convert 1 GiB into the LUN', unit: 's', run: (t) => timed(() => sh('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', src, t.url])) },
      {
        name: 'convert 1 GiB out of the LUN',
        unit: 's',
        run: (t) =>
          timed(() => {
            fs.rmSync(back, { force: true });
            sh('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', t.url, back]);
          }),
      },
    ];
    const sums = new Map<string, { kura: number[]; tgt: number[] }>();
    const record = (job: string, who: 'kura' | 'tgt', v: number) => {
      const s = sums.get(job) ?? { kura: [], tgt: [] };
      s[who].push(v);
      sums.set(job, s);
    };
    const show = (v: number, unit: Job['unit']) =>
      unit === 'iops' ? `${(v / 1000).toFixed(1)}k IOPS` : unit === 'GB/s' ? `${v.toFixed(2)} GB/s` : `${v.toFixed(2)} s`;
    console.log(`iSCSI: Kura vs tgt ${sh('tgtd', ['-V']).trim()}, 1 GiB LUN each, ${ROUNDS} interleaved rounds, ~${SECONDS}s per rate run`);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const job of jobs) {
        for (const t of order) {
          const v = job.run(t);
          record(job.name, t.name, v);
          console.log(`  round ${round + 1} ${job.name.padEnd(32)} ${t.name.padEnd(5)} ${show(v, job.unit)}`);
        }
      }
      for (const t of order) {
        const v = await iscsiPerf(t.url);
        record('4k random read, 32 in flight (iscsi-perf)', t.name, v);
        console.log(`  round ${round + 1} ${'4k random read (iscsi-perf)'.padEnd(32)} ${t.name.padEnd(5)} ${show(v, 'iops')}`);
      }
    }
    console.log('\nresult (mean of rounds)                         kura            tgt             kura/tgt (>1: Kura better)');
    const units = new Map<string, Job['unit']>(jobs.map((j) => [j.name, j.unit]));
    units.set('4k random read, 32 in flight (iscsi-perf)', 'iops');
    for (const [name, s] of sums) {
      const unit = units.get(name)!;
      const k = s.kura.reduce((a, b) => a + b, 0) / s.kura.length;
      const g = s.tgt.reduce((a, b) => a + b, 0) / s.tgt.length;
      const ratio = unit === 's' ? g / k : k / g;
      console.log(`  ${name.padEnd(46)} ${show(k, unit).padEnd(15)} ${show(g, unit).padEnd(15)} ${ratio.toFixed(2)}x`);
    }
  } finally {
    await tgt.stop();
    await kura.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
