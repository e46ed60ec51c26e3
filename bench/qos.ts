// I/O control measured over NBD with fio: an upper limit holds, and under
// contention an LD with a lower limit gets at least that rate.
//
//   node dist/bench/qos.js     (KURA_BENCH_SECONDS=6)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api, fio, startKura } from './lib.js';

const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 6);
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const MiB = 2 ** 20;

function fioAsync(uri: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('fio', ['--name=job', '--ioengine=nbd', `--uri=${uri}`, '--output-format=json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`fio exited ${code}`));
      const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: Array<{ read: { iops: number } }> };
      resolve(j.jobs[0]!.read.iops);
    });
  });
}

const dir = path.join(WORK, 'qos');
fs.rmSync(dir, { recursive: true, force: true });
const k = await startKura(dir);
try {
  await api(k, 'POST', '/licenses/IOLoadManager/unlock');
  await api(k, 'POST', '/pools', { name: 'q', size: 1024 * MiB, raid: 'RAID0', pds: 1 });
  for (const n of ['a', 'b']) {
    await api(k, 'POST', '/lds', { name: n, pool: 'q', size: 256 * MiB });
    fio(`nbd://127.0.0.1:${k.nbdPort}/${n}`, ['--rw=write', '--bs=1m', '--size=256m']);
  }
  const job = ['--rw=randread', '--bs=4k', '--iodepth=16', '--size=256m', '--time_based', `--runtime=${SECONDS}`, '--norandommap'];
  const uri = (n: string) => `nbd://127.0.0.1:${k.nbdPort}/${n}`;
  console.log(`I/O control over NBD, fio 4k randread qd16, ${SECONDS}s per run`);
  for (const upper of [500, 2000, 10000]) {
    await api(k, 'POST', '/lds/a/qos', { upper, lower: 0 });
    const got = fio(uri('a'), job).iops;
    console.log(`  upper ${String(upper).padStart(6)}: measured ${got.toFixed(0).padStart(7)} IOPS (${((got / upper - 1) * 100).toFixed(1)}%)`);
  }
  await api(k, 'POST', '/lds/a/qos', { upper: 0, lower: 0 });
  const [fa, fb] = await Promise.all([fioAsync(uri('a'), job), fioAsync(uri('b'), job)]);
  console.log(`  contention, no limits:   a ${fa.toFixed(0)} IOPS, b ${fb.toFixed(0)} IOPS`);
  const lower = Math.round(((fa + fb) * 0.6) / 10) * 10;
  await api(k, 'POST', '/lds/b/qos', { lower });
  const [ga, gb] = await Promise.all([fioAsync(uri('a'), job), fioAsync(uri('b'), job)]);
  console.log(`  contention, b lower ${lower}: a ${ga.toFixed(0)} IOPS, b ${gb.toFixed(0)} IOPS (${gb >= lower ? 'guarantee met' : 'guarantee MISSED'})`);
} finally {
  await k.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
