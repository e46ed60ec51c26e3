// pathd benchmark: sequential throughput through a multipath device with
// round-robin over two healthy paths (one per controller, multibus grouping)
// against the same device with one path set unavailable. fio runs over
// pathd's NBD export; rounds alternate which setup goes first.
//   npm run bench:pathd   (KURA_BENCH_SECONDS, KURA_BENCH_ROUNDS, KURA_BENCH_DIR)
//
// On loopback every path shares one host's CPUs and no link limits a path, so two
// paths cannot carry more than one. KURA_BENCH_LINK=1gbit (a tc rate; needs root)
// puts kura serve in a network namespace of its own with one veth link per
// controller port, each shaped to that rate both ways, as a SAN host's two ports
// would be: then round-robin over both links is what multipathing is for.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fio, startKura } from './lib.js';
import { KURA } from '../test/helpers/cli.js';

const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const SECONDS = Number(process.env.KURA_BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.KURA_BENCH_ROUNDS ?? 2);
const LINK = process.env.KURA_BENCH_LINK;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** The array behind two shaped links: a namespace with one veth pair per controller port. */
async function startLinkedKura(dataDir: string, rate: string): Promise<{ portals: string[]; stop(): Promise<void> }> {
  const ns = `kura-bench-${process.pid}`;
  const tag = String(process.pid % 10000);
  run('ip', ['netns', 'add', ns]);
  const inNs = (...a: string[]) => run('ip', ['netns', 'exec', ns, ...a]);
  try {
    inNs('ip', 'link', 'set', 'lo', 'up');
    for (const i of [0, 1]) {
      const host = `kb${i}h${tag}`;
      const peer = `kb${i}n${tag}`;
      run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      run('ip', ['link', 'set', peer, 'netns', ns]);
      run('ip', ['addr', 'add', `10.77.${i}.1/24`, 'dev', host]);
      run('ip', ['link', 'set', host, 'up']);
      inNs('ip', 'addr', 'add', `10.77.${i}.2/24`, 'dev', peer);
      inNs('ip', 'link', 'set', peer, 'up');
      // Both directions: writes leave the host side, reads leave the namespace side.
      run('tc', ['qdisc', 'add', 'dev', host, 'root', 'tbf', 'rate', rate, 'burst', '1mb', 'latency', '20ms']);
      inNs('tc', 'qdisc', 'add', 'dev', peer, 'root', 'tbf', 'rate', rate, 'burst', '1mb', 'latency', '20ms');
    }
  } catch (e) {
    spawnSync('ip', ['netns', 'del', ns]);
    throw e;
  }
  const proc = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      KURA,
      'serve',
      '--data',
      dataDir,
      '--http',
      '10.77.0.2:0',
      '--nbd',
      '10.77.0.2:0',
      '--iscsi',
      '10.77.0.2:3260,10.77.1.2:3260',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', () => undefined);
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    spawnSync('ip', ['netns', 'del', ns]);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`kura serve in ${ns} not ready:\n${out}`)), 60_000);
      proc.stdout.on('data', () => {
        if (/^ready$/m.test(out)) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.once('exit', (c) => reject(new Error(`kura serve in ${ns} exited (${c}):\n${out}`)));
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { portals: ['10.77.0.2:3260', '10.77.1.2:3260'], stop };
}

async function main(): Promise<void> {
  const dir = path.join(WORK, 'pathd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let kura: { portals: string[]; stop(): Promise<void> };
  if (LINK) {
    kura = await startLinkedKura(path.join(dir, 'data'), LINK);
  } else {
    const k = await startKura(path.join(dir, 'data'));
    kura = { portals: k.iscsiPorts.map((p) => `127.0.0.1:${p}`), stop: () => k.stop() };
  }
  const pathd = spawn(
    process.execPath,
    [
      KURA,
      'pathd',
      ...kura.portals.flatMap((p) => ['--portal', p]),
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--policy',
      'round-robin',
      '--path-grouping',
      'multibus',
      '--log-dir',
      path.join(dir, 'log'),
      '--no-syslog',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
    const where = LINK ? `kura serve behind one ${LINK} link per controller port` : 'kura serve on this machine over loopback';
    console.log(`\npathd sequential throughput, mean of ${ROUNDS} rounds, ~${SECONDS}s each (${where}, pathd over both controllers)`);
    console.log('job                 2 paths (RR)    1 path          ratio');
    for (const [name, e] of res) {
      console.log(
        `${name.padEnd(20)}${`${mean(e.two).toFixed(1)} MiB/s`.padEnd(16)}${`${mean(e.one).toFixed(1)} MiB/s`.padEnd(16)}${(mean(e.two) / mean(e.one)).toFixed(2)}`,
      );
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
