// kura pathd against a real `kura serve` with two controllers: the show
// contract, fio with crc32c verification through pathd's NBD export while
// controllers and ports go down and up (no I/O error, verify passes, failover
// and failback logged, time to resumed I/O printed), a reservation taken
// through pathd surviving the loss of its path while a second host's pathd is
// fenced, log collection, and the path states pathd reports to the manager
// (GET /api/v1/path-states and kura_path_state on /metrics) through a port
// failure and its recovery.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { kuraCli } from '../helpers/cli.js';
import type { KuraCli } from '../helpers/cli.js';
import { startPathd } from '../helpers/pathd.js';
import type { TestPathd } from '../helpers/pathd.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

interface Pathd extends TestPathd {
  logDir: string;
}

let srv: TestServer;
let a: Pathd;
/** The CLI against the array and pathd a (KURA_PATHD_URL). */
let aCli: KuraCli;
const started: TestPathd[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-serve-'));

/** pathd on both controllers' portals, logging to its own directory under tmp. */
async function pathd(name: string, initiator: string, extra: string[] = []): Promise<Pathd> {
  const logDir = path.join(tmp, name);
  const p = await startPathd([
    ...srv.iscsiPorts.flatMap((port) => ['--portal', `127.0.0.1:${port}`]),
    '--nbd',
    '127.0.0.1:0',
    '--control',
    '127.0.0.1:0',
    '--patrol-interval',
    '1',
    '--initiator',
    initiator,
    '--log-dir',
    logDir,
    '--no-syslog',
    '--queue-if-no-path',
    '20',
    ...extra,
  ]);
  started.push(p);
  return { ...p, logDir };
}

interface DeviceJson {
  id: string;
  export: string;
  policy: string;
  paths: Array<{ number: string; portal: string; state: string; priority: number; alua: string }>;
}

async function stats(p: Pathd): Promise<{ done: number; paths: Array<{ portal: string; state: string }> }> {
  const r = (await (await fetch(`${p.control}/api/v1/stats`)).json()) as Array<{
    paths: Array<{ portal: string; state: string; reads: number; writes: number }>;
  }>;
  const paths = r[0]!.paths;
  return { done: paths.reduce((n, x) => n + x.reads + x.writes, 0), paths };
}

async function faultApi(action: string, target: string): Promise<void> {
  const r = await fetch(`${srv.url}/api/v1/faults`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json', 'x-kura-owner': 'pathd-test' },
    body: JSON.stringify({ action, target }),
  });
  assert.equal(r.status, 200, `fault ${action} ${target}: ${await r.text()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  srv = await startServer();
  a = await pathd('a', 'iqn.2026-11.io.kura:pathd-test-a', [
    '--unix',
    path.join(tmp, 'a.sock'),
    '--manager',
    srv.url,
    '--manager-token',
    srv.token,
    '--report-interval',
    '1',
  ]);
  aCli = kuraCli({ env: { ...srv.env, KURA_PATHD_URL: a.control } });
});

after(async () => {
  for (const p of started) await p.stop();
  await srv.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('kura path show --json: one device per LU with its id, export, policy and both paths', () => {
  const devs = JSON.parse(aCli.ok('path', 'show', '--json')) as DeviceJson[];
  assert.equal(devs.length, 1, 'the demo LD');
  const d = devs[0]!;
  assert.match(d.id, /^naa\.[0-9a-f]+$/);
  assert.equal(d.export, 'mpatha');
  assert.equal(d.policy, 'failover');
  assert.deepEqual(d.paths.map((p) => p.portal).sort(), srv.iscsiPorts.map((p) => `127.0.0.1:${p}`).sort());
  assert.deepEqual(d.paths.map((p) => p.state).sort(), ['in-use', 'standby'], "the seed's initial settings: the first path in use, the next standby");
  assert.ok(d.paths.some((p) => p.alua === 'active/optimized'));
  const human = aCli.ok('path', 'show');
  assert.match(human, /^\*\*\* LogicalUnit #0 \*\*\* mpatha naa\.[0-9a-f]+$/m);
  assert.match(human, /^> 0: Priority=1, PathNumber=\d:0:0:0, Portal=127\.0\.0\.1:\d+, ALUA=active\/optimized, State=in-use$/m);
  assert.match(aCli.ok('path', 'watcher', 'show'), /Request interval : 1 sec/);
});

test('kura path watcher/mode/policy/set/stats: seed-style settings and output', () => {
  assert.match(
    aCli.ok('path', 'watcher', 'set', '2:3::'),
    /Health check {5}: Disable\nRecovery check {3}: Enable\nRequest interval : 3 sec\nThreshold {8}: 1 sec\nTimeout duration : 5 sec/,
  );
  aCli.ok('path', 'watcher', 'set', '3:1::');
  assert.match(aCli.ok('path', 'mode', 'set', '--failback', 'standby'), /Failback {6}: Standby \(manual\)/);
  assert.match(aCli.ok('path', 'mode', 'set', '--failback', 'auto'), /Failback {6}: Active \(auto\)/);
  assert.match(aCli.ok('path', 'policy', 'mpatha', 'least-queue-depth'), /^\+\+\+ LogicalUnit #0 \+\+\+ \[least queue depth\] mpatha naa\.[0-9a-f]+$/m);
  aCli.ok('path', 'policy', 'mpatha', 'failover');
  const d = (JSON.parse(aCli.ok('path', 'show', '--json')) as DeviceJson[])[0]!;
  const idle = d.paths.find((p) => p.state !== 'in-use')!;
  const used = d.paths.find((p) => p.state === 'in-use')!;
  // Enabled, the idle path (priority 2) takes the I/O from priority 1; disabled again, it gives it back.
  assert.match(aCli.ok('path', 'set', idle.number, 'available'), new RegExp(`^> \\d: Priority=2, PathNumber=${idle.number}, .*State=in-use`, 'm'));
  assert.match(aCli.ok('path', 'set', idle.number, 'standby'), new RegExp(`^@ \\d: Priority=2, PathNumber=${idle.number}, .*State=standby`, 'm'));
  assert.match(aCli.ok('path', 'show'), new RegExp(`^> \\d: Priority=1, PathNumber=${used.number}, .*State=in-use`, 'm'));
  assert.match(aCli.ok('path', 'stats'), /^DEVICE\s+PATH\s+PORTAL\s+STATE\s+READS\s+WRITES/m);
  const r = aCli.run('path', 'policy', 'mpatha', 'random');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /KURA-E7024: unknown policy random/);
});

test('the multipath device is also served on the --unix socket', async () => {
  const c = await NbdClient.connect({ path: path.join(tmp, 'a.sock'), exportName: 'mpatha' });
  try {
    const data = Buffer.alloc(4096, 0xa5);
    await c.write(1 << 20, data);
    assert.deepEqual(await c.read(1 << 20, 4096), data);
  } finally {
    await c.disconnect();
  }
});

test(
  'fio --verify=crc32c through pathd while controllers and ports go down and up: no I/O error, failover and failback logged',
  { timeout: 90_000 },
  async () => {
    const fioOut = path.join(tmp, 'fio.out');
    const fio = spawn(
      'fio',
      [
        '--name=mpath',
        '--ioengine=nbd',
        `--uri=nbd://127.0.0.1:${a.nbdPort}/mpatha`,
        '--rw=randwrite',
        '--bs=4k',
        '--size=32M',
        '--iodepth=8',
        '--verify=crc32c',
        '--verify_backlog=64',
        '--verify_fatal=1',
        '--runtime=24',
        '--time_based',
        '--output-format=terse',
        `--output=${fioOut}`,
        '--verify_state_save=0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 80_000, cwd: tmp },
    );
    let fioErr = '';
    fio.stderr!.on('data', (c: Buffer) => (fioErr += c.toString()));
    const fioDone = new Promise<number | null>((r) => fio.once('exit', (code) => r(code)));
    const ports = srv.iscsiPorts.map((p) => `127.0.0.1:${p}`);
    const faults: Array<[string[], string[], string]> = [
      [['controller-down', '0'], ['controller-up', '0'], ports[0]!],
      [['port-down', ports[1]!], ['port-up', ports[1]!], ports[1]!],
      [['controller-down', '1'], ['controller-up', '1'], ports[1]!],
      [['port-down', ports[0]!], ['port-up', ports[0]!], ports[0]!],
    ];
    const resumed: string[] = [];
    const times: number[] = [];
    await sleep(1500);
    for (const [down, up, portal] of faults) {
      const before = (await stats(a)).done;
      // The REST call (not the CLI, whose start-up takes a second) so the fault time is known closely.
      const t0 = Date.now();
      await faultApi(down[0]!, down[1]!);
      const tFault = Date.now();
      // I/O counts as resumed once 8 more commands completed after the fault took effect.
      let base = -1;
      let ms = -1;
      for (let i = 0; i < 1000; i++) {
        const s = await stats(a);
        if (base < 0) base = Math.max(before, s.done);
        if (s.done >= base + 8) {
          ms = Date.now() - t0;
          break;
        }
        await sleep(10);
      }
      assert.ok(ms >= 0, `I/O did not resume within 10 s after fault ${down.join(' ')}`);
      resumed.push(`${down.join(' ')}: I/O resumed ${ms} ms after the fault request (the request took ${tFault - t0} ms)`);
      times.push(ms);
      await sleep(1000);
      await faultApi(up[0]!, up[1]!);
      // The recovery check (1 s) brings the path back.
      for (let i = 0; i < 100; i++) {
        const s = await stats(a);
        if (s.paths.find((p) => p.portal === portal)!.state !== 'failed') break;
        await sleep(100);
      }
      assert.notEqual((await stats(a)).paths.find((p) => p.portal === portal)!.state, 'failed', `path ${portal} came back after ${up.join(' ')}`);
      await sleep(1000);
    }
    const code = await fioDone;
    process.stdout.write(`# pathd failover (patrol interval 1 s):\n${resumed.map((l) => `#   ${l}`).join('\n')}\n#   worst ${Math.max(...times)} ms\n`);
    const terse = fs.readFileSync(fioOut, 'utf8').trim().split('\n').pop()!.split(';');
    assert.equal(code, 0, `fio failed: ${fioErr}\n${terse.join(';').slice(0, 500)}`);
    assert.equal(terse[4], '0', 'fio saw no I/O error');
    assert.ok(Number(terse[5]) > 0, 'fio read data back to verify it');
    const log = fs.readFileSync(path.join(a.logDir, 'pathd.log'), 'utf8');
    assert.match(log, /KURA-W7006 mpatha: path \d:0:0:0 \(127\.0\.0\.1:\d+\) failed/);
    assert.match(log, /KURA-W7007 mpatha: failover from/);
    assert.match(log, /KURA-I7016 mpatha: failback of path/);
    const devs = JSON.parse(aCli.ok('path', 'show', '--json')) as DeviceJson[];
    assert.deepEqual(devs[0]!.paths.map((p) => p.state).sort(), ['active', 'in-use']);
    // The array manager's event list has them too (--manager).
    const events = JSON.parse(srv.cli.ok('events', '--json', '--limit', '1000')) as Array<{ id: string; source: string; text: string }>;
    assert.ok(
      events.some((e) => e.id === 'KURA-W7007' && e.source.startsWith('host:') && /failover from/.test(e.text)),
      'failover event in the manager',
    );
    assert.ok(
      events.some((e) => e.id === 'KURA-I7016' && e.source.startsWith('host:')),
      'failback event in the manager',
    );
  },
);

test("a reservation taken through pathd survives the loss of its path and fences a second host's pathd", { timeout: 60_000 }, async () => {
  aCli.ok('path', 'persist', 'register', 'mpatha', '--key', '0x5eed');
  aCli.ok('path', 'persist', 'reserve', 'mpatha', '--key', '0x5eed');
  assert.match(aCli.ok('path', 'persist', 'read-keys', 'mpatha'), /2 registered reservation key\(s\)\n {4}0x5eed\n {4}0x5eed/);
  const b = await pathd('b', 'iqn.2026-11.io.kura:pathd-test-b');
  const nb = await NbdClient.connect({ host: '127.0.0.1', port: b.nbdPort, exportName: 'mpatha' });
  const na = await NbdClient.connect({ host: '127.0.0.1', port: a.nbdPort, exportName: 'mpatha' });
  try {
    const t0 = Date.now();
    await assert.rejects(nb.write(0, Buffer.alloc(4096, 1)), 'the second host is fenced: its write fails');
    const fencedMs = Date.now() - t0;
    assert.match(fs.readFileSync(path.join(b.logDir, 'pathd.log'), 'utf8') + b.output(), /KURA-E7011|RESERVATION CONFLICT/);
    // Take down the port of the path the reservation was taken on (the in-use one).
    const holder = (JSON.parse(aCli.ok('path', 'show', '--json')) as DeviceJson[])[0]!.paths.find((p) => p.state === 'in-use')!;
    srv.cli.ok('fault', 'port-down', holder.portal);
    try {
      const data = Buffer.alloc(4096, 0x5e);
      await na.write(8192, data);
      assert.deepEqual(await na.read(8192, 4096), data, 'the reservation holder keeps writing through its other path');
      assert.match(aCli.ok('path', 'persist', 'read-reservation', 'mpatha'), /reservation key=0x5eed, type=write-exclusive-registrants-only/);
      await assert.rejects(nb.write(0, Buffer.alloc(4096, 2)), 'still fenced after the failover');
    } finally {
      srv.cli.ok('fault', 'port-up', holder.portal);
    }
    process.stdout.write(`# fenced write failed after ${fencedMs} ms\n`);
    // The returning path is registered again before it carries I/O.
    for (let i = 0; i < 100; i++) {
      const d = (JSON.parse(aCli.ok('path', 'show', '--json')) as DeviceJson[])[0]!;
      if (d.paths.find((p) => p.portal === holder.portal)!.state !== 'failed') break;
      await sleep(100);
    }
    assert.match(
      fs.readFileSync(path.join(a.logDir, 'pathd.log'), 'utf8'),
      new RegExp(`KURA-I7029 mpatha: reservation key 0x5eed registered on path ${holder.number.replace(/\./g, '\\.')}`),
    );
    aCli.ok('path', 'persist', 'clear', 'mpatha', '--key', '0x5eed');
    await nb.write(0, Buffer.alloc(4096, 3));
  } finally {
    await nb.disconnect().catch(() => undefined);
    await na.disconnect().catch(() => undefined);
    await b.stop();
  }
});

test('kura path logs collect bundles the log and the state into one archive; bad input gets an id', () => {
  const file = path.join(tmp, 'logs.tar.gz');
  assert.match(aCli.ok('path', 'logs', 'collect', '--output', file), /Wrote .*logs\.tar\.gz/);
  const list = spawnSync('tar', ['-tzf', file], { encoding: 'utf8', timeout: 10_000 }).stdout;
  assert.match(list, /pathd-logs\/pathd\.log/);
  assert.match(list, /pathd-logs\/state\.json/);
  const r = aCli.run('path', 'priority', '0:0:0:0', '300');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /KURA-E7020: priority 300 is not an integer from 1 to 254/);
});

interface HostPathsJson {
  host: string;
  stale: boolean;
  intervalSeconds: number;
  paths: Array<{ device: string; deviceId: string; path: string; portal: string; controller: number | null; alua: string; state: string; since: string }>;
}

async function managerGet(p: string): Promise<Response> {
  return fetch(`${srv.url}${p}`, { headers: { authorization: `Bearer ${srv.token}` }, signal: AbortSignal.timeout(10_000) });
}

/** What the manager says of pathd a's path on `portal`: the API's entry and the kura_path_state sample. */
async function reported(portal: string): Promise<{ state: string | undefined; stale: boolean; metric: number | undefined }> {
  const hosts = (await (await managerGet('/api/v1/path-states')).json()) as HostPathsJson[];
  const h = hosts.find((x) => x.host.endsWith('/iqn.2026-11.io.kura:pathd-test-a'));
  const text = await (await managerGet('/metrics')).text();
  const m = new RegExp(
    `^kura_path_state\\{host="[^"]*/iqn\\.2026-11\\.io\\.kura:pathd-test-a",device="mpatha",path="${portal.replace(/\./g, '\\.')}"\\} (\\d+)$`,
    'm',
  ).exec(text);
  return { state: h?.paths.find((p) => p.portal === portal)?.state, stale: h?.stale ?? true, metric: m ? Number(m[1]) : undefined };
}

async function waitReported(portal: string, ok: (r: Awaited<ReturnType<typeof reported>>) => boolean, what: string): Promise<void> {
  let last: Awaited<ReturnType<typeof reported>> | undefined;
  for (let i = 0; i < 150; i++) {
    last = await reported(portal);
    if (ok(last)) return;
    await sleep(200);
  }
  assert.fail(`${what}: the manager still reports ${JSON.stringify(last)}`);
}

test('pathd reports its path states to the manager: a port down shows failed in the API and kura_path_state, then recovered', { timeout: 60_000 }, async () => {
  const ports = srv.iscsiPorts.map((p) => `127.0.0.1:${p}`);
  await waitReported(ports[0]!, (r) => r.state !== undefined && r.metric !== undefined && !r.stale, 'the first report');
  const hosts = (await (await managerGet('/api/v1/path-states')).json()) as HostPathsJson[];
  const h = hosts.find((x) => x.host.endsWith('/iqn.2026-11.io.kura:pathd-test-a'))!;
  assert.equal(h.intervalSeconds, 1);
  assert.deepEqual(h.paths.map((p) => p.portal).sort(), [...ports].sort(), 'one entry per path of the demo LD');
  for (const p of h.paths) {
    assert.equal(p.device, 'mpatha');
    assert.match(p.deviceId, /^naa\.[0-9a-f]+$/);
    assert.ok(p.controller === 0 || p.controller === 1, `controller of ${p.portal}: ${p.controller}`);
    assert.ok(!Number.isNaN(Date.parse(p.since)));
  }
  assert.deepEqual(h.paths.map((p) => p.controller).sort(), [0, 1], 'one path to each controller');
  assert.ok(h.paths.some((p) => p.alua === 'active/optimized'));
  const portal = ports[1]!;
  const before = h.paths.find((p) => p.portal === portal)!;
  await faultApi('port-down', portal);
  try {
    // kura_path_state: 5 is failed (docs/operations.md).
    await waitReported(portal, (r) => r.state === 'failed' && r.metric === 5, `after port-down ${portal}`);
    // The same through the CLI: a row per path, the downed portal failed.
    const rows = srv.cli.ok('host', 'paths', '--host', 'pathd-test-a').split('\n');
    assert.match(rows[0]!, /^Host\s+Device\s+Path\s+Portal\s+Controller\s+ALUA\s+State\s+Since$/);
    const row = rows.find((l) => l.includes(` ${portal} `));
    assert.ok(row, `kura host paths lists ${portal}:\n${rows.join('\n')}`);
    assert.match(row, /\/iqn\.2026-11\.io\.kura:pathd-test-a\s+mpatha\s+\S+\s+\S+\s+0[01]\s+\S+\s+failed\s/);
    assert.equal(srv.cli.ok('host', 'paths', '--host', 'no-such-host').trim(), 'No path reports (start kura pathd with --manager on the hosts).');
  } finally {
    await faultApi('port-up', portal);
  }
  await waitReported(
    portal,
    (r) => r.state !== undefined && r.state !== 'failed' && r.metric !== undefined && r.metric >= 1 && r.metric <= 3,
    `after port-up ${portal}`,
  );
  const after = ((await (await managerGet('/api/v1/path-states')).json()) as HostPathsJson[])
    .find((x) => x.host === h.host)!
    .paths.find((p) => p.portal === portal)!;
  assert.ok(Date.parse(after.since) > Date.parse(before.since), 'the last change moved on');
  // A report that is not one: refused with its id, the stored one kept.
  const bad = await fetch(`${srv.url}/api/v1/path-states`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: h.host, intervalSeconds: 1, paths: [{ ...after, state: 'sleepy' }] }),
  });
  assert.equal(bad.status, 400);
  const err = ((await bad.json()) as { error: { id: string; message: string } }).error;
  assert.equal(err.id, 'KURA-E8330');
  assert.match(err.message, /path 0's state must be one of in-use, active, standby, failed, unavailable/);
  const noToken = await fetch(`${srv.url}/api/v1/path-states`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(noToken.status, 401, 'reports need the API token like every route');
});
