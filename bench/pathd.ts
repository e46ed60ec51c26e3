// pathd benchmark: sequential throughput through a multipath device with
// round-robin over two healthy paths (one per controller, multibus grouping)
// against the same device with one path set unavailable. fio runs over
// pathd's NBD export; rounds alternate which setup goes first.
//   npm run bench:pathd   (KURA_BENCH_SECONDS, KURA_BENCH_ROUNDS, KURA_BENCH_DIR)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fio, startKura } from './lib.js';
import { KURA } from '../test/helpers/server.js';

const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 2);

async function main(): Promise<void> {
  const dir = path.join(WORK, 'pathd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const kura = await startKura(path.join(dir, 'data'));
  const pathd = spawn(process.execPath, [KURA, 'pathd', ...kura.iscsiPorts.flatMap((p) => ['--portal', `127.0.0.1:${p}`]), '--nbd', '127.0.0.1:0', '--control', '127.0.0.1:0', '--policy', 'round-robin', '--path-grouping', 'multibus', '--log-dir', path.join(dir, 'log'), '--no-syslog'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  pathd.stdout.on('data', (c: Buffer) => (out += c.toString()));
  pathd.stderr.on('data', () => undefined);
  try {
    const m = await new Promise<RegExpExecArray>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`pathd not ready:\n${out}`)), 30_000);
      pathd.stdout.on('data', () => {
        const r = /ready nbd=(\S+) control=(\S+)/.exec(out);
        if (r) {
          clearTimeout(t);
          resolve(r);
        }
      });
    });
    const uri = `nbd://${m[1]}/mpatha`;
    const env = { ...process.env, KURA_PATHD_URL: m[2] };
    const kpath = (...a: string[]) => {
      const r = spawnSync(process.execPath, [KURA, 'path', ...a], { env, encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(`kura path ${a.join(' ')}: ${r.stderr}`);
    };
    // Fill the LU so reads hit allocated blocks.
    fio(uri, ['--rw=write', '--bs=1M', '--size=512M', '--iodepth=8']);
    const jobs: Array<[string, string[]]> = [
      ['seq read 1M qd8', ['--rw=read', '--bs=1M', '--size=512M', '--iodepth=8', '--time_based', `--runtime=${SECONDS}`]],
      ['seq write 1M qd8', ['--rw=write', '--bs=1M', '--size=512M', '--iodepth=8', '--time_based', `--runtime=${SECONDS}`]],
    ];
    const res = new Map<string, { two: number[]; one: number[] }>();
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<'two' | 'one'> = round % 2 === 0 ? ['two', 'one'] : ['one', 'two'];
      for (const setup of order) {
        kpath('set', '1:0:0:0', setup === 'one' ? 'unavailable' : 'available');
        for (const [name, args] of jobs) {
          const r = fio(uri, args);
          const e = res.get(name) ?? { two: [], one: [] };
          e[setup].push(r.bw / 1048576);
          res.set(name, e);
          console.log(`round ${round + 1} ${setup === 'two' ? 'round-robin, 2 paths' : '1 path             '} ${name}: ${(r.bw / 1048576).toFixed(1)} MiB/s`);
        }
      }
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    console.log(`\npathd sequential throughput, mean of ${ROUNDS} rounds, ~${SECONDS}s each (kura serve on this machine, pathd over both controllers)`);
    console.log('job                 2 paths (RR)    1 path          ratio');
    for (const [name, e] of res) {
      console.log(`${name.padEnd(20)}${`${mean(e.two).toFixed(1)} MiB/s`.padEnd(16)}${`${mean(e.one).toFixed(1)} MiB/s`.padEnd(16)}${(mean(e.two) / mean(e.one)).toFixed(2)}`);
    }
  } finally {
    pathd.kill('SIGTERM');
    const t = setTimeout(() => pathd.kill('SIGKILL'), 5000);
    await new Promise((r) => pathd.once('exit', r));
    clearTimeout(t);
    await kura.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
