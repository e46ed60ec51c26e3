// CPU profiles of `kura serve` per job (issue 16 item 1): NBD (fio's nbd engine)
// and iSCSI (qemu-img bench over libiscsi), 4 KiB random and 1 MiB sequential,
// read and write, on a RAID0 pool of one PD and a RAID1 pool of two. Writes
// OUT/<frontend>-<raid>-<size>-<op>.cpuprofile (open in Chrome DevTools or
// speedscope) and OUT/summary.md (idle, GC and the top self-time frames per job).
//
//   node dist/bench/profile.js [OUT]     (default docs/perf/profiles; KURA_BENCH_SECONDS=4)
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, api, fio, startKura } from './lib.js';
import type { KuraServer } from './lib.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 4);
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs', 'perf', 'profiles'));
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Profiles one job; returns what the client measured. */
async function profiled(k: KuraServer, name: string, run: () => string): Promise<string> {
  fs.writeFileSync(path.join(OUT, 'next'), `${name}.cpuprofile`);
  fs.rmSync(path.join(OUT, 'done'), { force: true });
  k.proc.kill('SIGUSR1');
  await sleep(200);
  const result = run();
  k.proc.kill('SIGUSR2');
  while (!fs.existsSync(path.join(OUT, 'done'))) await sleep(100);
  console.log(`${name.padEnd(22)} ${result}`);
  return result;
}

/** qemu-img bench over libiscsi: `count` requests; returns IOPS or GB/s. */
function qemuBench(url: string, size: number, depth: number, write: boolean, count: number): string {
  const args = ['bench', '-f', 'raw', '-t', 'none', '-n', '-c', String(count), '-d', String(depth), '-s', String(size), '-S', String(size)];
  if (write) args.push('-w', '--pattern=0x5a');
  const r = spawnSync('qemu-img', [...args, url], { encoding: 'utf8' });
  const m = /Run completed in ([0-9.]+) seconds/.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`qemu-img bench failed: ${r.stdout}${r.stderr}`);
  const perSecond = count / Number(m[1]);
  return size >= MiB ? `${((perSecond * size) / 1e9).toFixed(2)} GB/s` : `${(perSecond / 1000).toFixed(1)}k IOPS`;
}

interface Frame {
  callFrame: { functionName: string; url: string; lineNumber: number };
  id: number;
}

/** Idle and GC shares and the top self-time frames of one profile, as markdown. */
function summarise(file: string, result: string): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Frame[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const d = p.timeDeltas[i] ?? 0;
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(/.*\/dist\//, '');
    const key = `${f.functionName || '(anonymous)'}${url ? ` ${url}:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + d);
    total += d;
  });
  const pct = (k: string) => ((100 * (self.get(k) ?? 0)) / total).toFixed(0);
  const rows = [...self]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `| ${((100 * v) / total).toFixed(1)} | \`${k}\` |`);
  return [
    `### ${path.basename(file, '.cpuprofile')}: ${result}`,
    '',
    `idle ${pct('(idle)')}%, GC ${pct('(garbage collector)')}% of ${(total / 1e6).toFixed(1)} s`,
    '',
    '| self % | frame |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n');
}

fs.mkdirSync(OUT, { recursive: true });
const shim = path.join(ROOT, 'dist', 'bench', 'prof-shim.js');
process.env.KURA_REAL_BIN = path.join(ROOT, 'bin', 'kura.js');
process.env.KURA_PROF_DIR = OUT;
const summary: string[] = [`# CPU profiles of kura serve (${new Date().toISOString().slice(0, 10)}, ${SECONDS} s per NBD job)`, ''];
for (const raid of ['RAID0', 'RAID1']) {
  const dir = path.join(WORK, `profile-${raid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const k = await startKura(dir, shim);
  try {
    await api(k, 'POST', '/pools', { name: 'bench', size: 3 * GiB, raid, pds: raid === 'RAID0' ? 1 : 2 });
    const ld = (await api(k, 'POST', '/lds', { name: 'bench0', pool: 'bench', size: GiB })) as { number: number };
    const uri = `nbd://127.0.0.1:${k.nbdPort}/bench0`;
    fio(uri, ['--rw=write', '--bs=1m', '--iodepth=8', '--size=1g']);
    const r = raid.toLowerCase();
    const fioJob = (args: string[], small: boolean) => () => {
      const x = fio(uri, [...args, '--size=1g', '--time_based', `--runtime=${SECONDS}`, '--norandommap', '--randrepeat=0']);
      return small ? `${(x.iops / 1000).toFixed(1)}k IOPS` : `${(x.bw / 1e9).toFixed(2)} GB/s`;
    };
    const url = `iscsi://127.0.0.1:${k.iscsiPorts[0]}/${k.iqn}/${ld.number}`;
    const jobs: Array<[string, () => string]> = [
      [`nbd-${r}-4k-read`, fioJob(['--rw=randread', '--bs=4k', '--iodepth=32'], true)],
      [`nbd-${r}-4k-write`, fioJob(['--rw=randwrite', '--bs=4k', '--iodepth=32'], true)],
      [`nbd-${r}-1m-read`, fioJob(['--rw=read', '--bs=1m', '--iodepth=8'], false)],
      [`nbd-${r}-1m-write`, fioJob(['--rw=write', '--bs=1m', '--iodepth=8'], false)],
      [`iscsi-${r}-4k-read`, () => qemuBench(url, 4096, 32, false, 60_000)],
      [`iscsi-${r}-4k-write`, () => qemuBench(url, 4096, 32, true, 40_000)],
      [`iscsi-${r}-1m-read`, () => qemuBench(url, MiB, 8, false, 2000)],
      [`iscsi-${r}-1m-write`, () => qemuBench(url, MiB, 8, true, 1200)],
    ];
    for (const [name, run] of jobs) {
      const result = await profiled(k, name, run);
      summary.push(summarise(path.join(OUT, `${name}.cpuprofile`), result));
    }
  } finally {
    await k.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
fs.rmSync(path.join(OUT, 'next'), { force: true });
fs.rmSync(path.join(OUT, 'done'), { force: true });
fs.writeFileSync(path.join(OUT, 'summary.md'), summary.join('\n'));
console.log(`profiles and summary.md in ${OUT}`);
