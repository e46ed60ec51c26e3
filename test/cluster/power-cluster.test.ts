// Power orchestration on real node agents, with the clock scaled down (10 ms
// per second of the seed's timeline): power events arrive as upsmon delivers
// them to its NOTIFYCMD (NOTIFYTYPE, UPSNAME), one node on battery is detached
// and its group fails over with ARMS_FACTOR=SERVERSHUTDOWN, every UPS on
// battery shuts the cluster down and runs the OS-shutdown and UPS-off hooks in
// order, and power back brings disks, nodes and the cluster back (RECOVER).
// The second test drives the same path from a real NUT: upsd with one dummy-ups
// driver per UPS on a 127.0.0.1 port and upsmon whose NOTIFYCMD is the shipped
// contrib/nut/kura-upsmon-notify; the test changes the UPS status files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { clusterAdmin, clusterCli, startNode, waitFor } from '../helpers/cluster.js';
import type { TestNode } from '../helpers/cluster.js';
import { KURA, kuraCli } from '../helpers/cli.js';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';

let dir: string;
let etcd: EtcdCluster;
const nodes: TestNode[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-power-'));
  etcd = await startEtcd(1);
  for (const n of ['n1', 'n2']) nodes.push(await startNode(etcd.endpoints, n, path.join(dir, n), ['--heartbeat-timeout', '2']));
});

after(async () => {
  for (const n of nodes) await n.kill9();
  await etcd.stop();
  if (!process.env['KURA_KEEP_TEST_DIR']) fs.rmSync(dir, { recursive: true, force: true });
});

function lines(f: string): string[] {
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
}

test(
  'one node on battery detaches it; all on battery: cluster shutdown, OS shutdown, UPS off; power back: disk, nodes, cluster',
  { timeout: 300_000 },
  async () => {
    const cli = clusterCli(etcd.endpoints);
    const { admin, close } = clusterAdmin(etcd.endpoints);
    const notify = (ups: string, type: string) =>
      kuraCli({ env: { ...process.env, KURA_ETCD: etcd.endpoints, UPSNAME: `${ups}@localhost`, NOTIFYTYPE: type } }).ok('cluster', 'power-event');
    try {
      const scripts = path.join(dir, 'scripts.log');
      const hooks = path.join(dir, 'hooks.log');
      fs.writeFileSync(path.join(dir, 'start.sh'), `#!/bin/sh\necho "start $KURA_NODE $ARMS_EVENT" >> ${scripts}\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'stop.sh'), `#!/bin/sh\necho "stop $KURA_NODE $ARMS_EVENT \${ARMS_FACTOR-}" >> ${scripts}\n`, { mode: 0o755 });
      cli.ok(
        'cluster',
        'group',
        'create',
        'db',
        '--servers',
        'n1,n2',
        '--start-script',
        path.join(dir, 'start.sh'),
        '--stop-script',
        path.join(dir, 'stop.sh'),
      );
      cli.ok('cluster', 'group', 'start', 'db');
      const onlineOn = (n: string) =>
        waitFor(`db online on ${n}`, async () => {
          const g = await admin.show('db');
          return g.state === 'online' && g.server === n;
        });
      await onlineOn('n1');

      const ups = ['--ups', 'ups1:server:n1', '--ups', 'ups2:server:n2', '--ups', 'array:disk:30:1'];
      const tooShort = cli.run('cluster', 'power', 'config', ...ups, '--linked', '60', '--confirmation', '200');
      assert.equal(tooShort.status, 2);
      assert.match(tooShort.stderr, /^KURA-E8420: the control terminal's power-failure confirmation of 200 s is shorter than the 254 s/);
      cli.ok(
        'cluster',
        'power',
        'config',
        ...ups,
        '--linked',
        '60',
        '--ms-per-second',
        '10',
        '--os-shutdown-cmd',
        `echo "os-shutdown $KURA_POWER_NODES forced=$KURA_POWER_FORCED" >> ${hooks}`,
        '--ups-off-cmd',
        `echo "ups-off $KURA_POWER_UPS" >> ${hooks}`,
        '--power-on-cmd',
        `echo "power-on $KURA_POWER_TARGET \${KURA_POWER_UPS-}\${KURA_POWER_NODES-}" >> ${hooks}`,
      );

      // One node on battery: after the confirmation time only n1 is detached; its group fails over.
      notify('ups1', 'ONBATT');
      await onlineOn('n2');
      assert.deepEqual(lines(scripts).slice(1), ['stop n1 START SERVERSHUTDOWN', 'start n2 FAILOVER']);
      assert.deepEqual(await admin.nodes(), [
        { name: 'n1', state: 'detached' },
        { name: 'n2', state: 'online' },
      ]);
      notify('ups1', 'ONLINE');
      await waitFor('n1 back', async () => (await admin.nodes()).every((n) => n.state === 'online'));
      assert.equal((await admin.show('db')).server, 'n2', 'manual failback: the group stays');

      // Every UPS on battery (timeline A): cluster shutdown, then OS shutdown, then UPS off.
      for (const u of ['ups1', 'ups2', 'array']) notify(u, 'ONBATT');
      await waitFor('UPS off sent', () => lines(hooks).some((l) => l.startsWith('ups-off')), 60_000);
      assert.equal((await admin.show('db')).state, 'offline');
      assert.deepEqual(lines(hooks), ['power-on node n1', 'os-shutdown n1,n2 forced=0', 'ups-off ups1,ups2,array']);
      const steps = ((await admin.power()).log as Array<{ step: string; detail?: string }>).map((s) => s.step).filter((s) => !s.startsWith('event'));
      assert.deepEqual(steps.slice(-4), ['cluster-shutdown-ordered', 'cluster-shutdown-done', 'os-shutdown-ordered', 'ups-off-sent']);

      // Power back: the disk first, then the nodes, then the cluster (the group comes back with RECOVER).
      for (const u of ['ups1', 'ups2', 'array']) notify(u, 'ONLINE');
      await waitFor('db online again', async () => (await admin.show('db')).state === 'online', 60_000);
      assert.deepEqual(lines(hooks).slice(3), ['power-on disk array', 'power-on node n1', 'power-on node n2']);
      // n1 may still be detached when the cluster starts (its UPS was confirmed before the others' events came): either server.
      assert.match(lines(scripts).at(-1)!, /^start n[12] RECOVER$/);
    } finally {
      close();
    }
  },
);

/** NUT's daemons run from /lib/nut (Debian's /usr/sbin/upsd is a wrapper that reads /etc/nut/nut.conf). */
function nutBin(name: string): string {
  return ['/lib/nut', '/usr/lib/nut'].map((d) => path.join(d, name)).find((f) => fs.existsSync(f)) ?? name;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

test(
  'a real NUT (upsd, dummy-ups, upsmon NOTIFYCMD): OB on one UPS detaches its node; OB+LB on the last: cluster shutdown, OS shutdown, UPS off; OL: back',
  { timeout: 300_000 },
  async () => {
    const cli = clusterCli(etcd.endpoints);
    const { admin, close } = clusterAdmin(etcd.endpoints);
    const conf = path.join(dir, 'nut');
    const procs: ChildProcess[] = [];
    let nutOutOf = () => '';
    try {
      fs.mkdirSync(path.join(conf, 'state'), { recursive: true, mode: 0o700 });
      const port = await freePort();
      const status = (ups: string, s: string) => fs.writeFileSync(path.join(conf, `${ups}.dev`), `ups.status: ${s}\n`);
      for (const u of ['ups1', 'ups2']) status(u, 'OL');
      const w = (f: string, text: string) => fs.writeFileSync(path.join(conf, f), text, { mode: 0o600 });
      w('ups.conf', ['ups1', 'ups2'].map((u) => `[${u}]\n  driver = dummy-ups\n  port = ${u}.dev\n  pollinterval = 1\n`).join(''));
      w('upsd.conf', `LISTEN 127.0.0.1 ${port}\n`);
      w('upsd.users', '[mon]\n  password = pw\n  upsmon primary\n');
      // A kura on PATH for the shipped NOTIFYCMD.
      const bin = path.join(conf, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'kura'), `#!/bin/sh\nexec "${process.execPath}" "${KURA}" "$@"\n`, { mode: 0o755 });
      const notifyCmd = path.resolve('contrib/nut/kura-upsmon-notify');
      // Power value 0: upsmon only notifies, it never shuts this machine down; the cluster decides.
      w(
        'upsmon.conf',
        [
          `MONITOR ups1@127.0.0.1:${port} 0 mon pw primary`,
          `MONITOR ups2@127.0.0.1:${port} 0 mon pw primary`,
          'MINSUPPLIES 0',
          `SHUTDOWNCMD "/bin/true"`,
          `NOTIFYCMD ${notifyCmd}`,
          ...['ONBATT', 'ONLINE', 'LOWBATT', 'FSD'].map((t) => `NOTIFYFLAG ${t} EXEC`),
          'POLLFREQ 1',
          'POLLFREQALERT 1',
          `POWERDOWNFLAG ${path.join(conf, 'killpower')}`,
          '',
        ].join('\n'),
      );
      const env = {
        ...process.env,
        NUT_CONFPATH: conf,
        NUT_STATEPATH: path.join(conf, 'state'),
        NUT_ALTPIDPATH: path.join(conf, 'state'),
        KURA_ETCD: etcd.endpoints,
        PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      };
      let nutOut = '';
      nutOutOf = () => nutOut;
      const run = (file: string, args: string[]) => {
        // A process group of its own: upsmon forks a helper that a kill of its pid alone would leave behind.
        const p = spawn(file, [...args, '-u', 'root', '-F'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        p.stdout!.on('data', (c: Buffer) => (nutOut += c.toString()));
        p.stderr!.on('data', (c: Buffer) => (nutOut += c.toString()));
        procs.push(p);
      };
      for (const u of ['ups1', 'ups2']) run(nutBin('dummy-ups'), ['-a', u]);
      await waitFor('dummy-ups sockets', () => fs.readdirSync(path.join(conf, 'state')).filter((f) => f.startsWith('dummy-ups-')).length === 2);
      run(nutBin('upsd'), []);
      await waitFor(`upsd listening on ${port}`, () => /listening on 127\.0\.0\.1 port/.test(nutOut));
      run(nutBin('upsmon'), []);
      // upsmon's pid file is /run/nut/upsmon.pid whatever the config dir: a live upsmon elsewhere stops this one.
      await waitFor(
        'upsmon logged in to both UPSs',
        () => (nutOut.match(/User mon@127\.0\.0\.1 logged into UPS/g) ?? []).length === 2 || /Fatal error/.test(nutOut),
      );
      assert.doesNotMatch(nutOut, /Fatal error/, `upsmon did not start:\n${nutOut}`);

      const scripts = path.join(dir, 'nut-scripts.log');
      const hooks = path.join(dir, 'nut-hooks.log');
      fs.writeFileSync(path.join(dir, 'nut-start.sh'), `#!/bin/sh\necho "start $KURA_NODE $ARMS_EVENT" >> ${scripts}\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'nut-stop.sh'), `#!/bin/sh\necho "stop $KURA_NODE $ARMS_EVENT \${ARMS_FACTOR-}" >> ${scripts}\n`, { mode: 0o755 });
      cli.ok(
        'cluster',
        'group',
        'create',
        'ndb',
        '--servers',
        'n1,n2',
        '--start-script',
        path.join(dir, 'nut-start.sh'),
        '--stop-script',
        path.join(dir, 'nut-stop.sh'),
      );
      cli.ok(
        'cluster',
        'power',
        'config',
        '--ups',
        'ups1:server:n1',
        '--ups',
        'ups2:server:n2',
        '--ms-per-second',
        '10',
        '--os-shutdown-cmd',
        `echo "os-shutdown $KURA_POWER_NODES forced=$KURA_POWER_FORCED" >> ${hooks}`,
        '--ups-off-cmd',
        `echo "ups-off $KURA_POWER_UPS" >> ${hooks}`,
        '--power-on-cmd',
        `echo "power-on $KURA_POWER_TARGET \${KURA_POWER_UPS-}\${KURA_POWER_NODES-}" >> ${hooks}`,
      );
      const onlineOn = (n: string) =>
        waitFor(`ndb online on ${n}`, async () => {
          const g = await admin.show('ndb');
          return g.state === 'online' && g.server === n;
        });
      cli.ok('cluster', 'group', 'start', 'ndb');
      await onlineOn('n1');
      const before = lines(scripts).length;

      // ups1 on battery (OB): upsmon's ONBATT reaches the cluster, n1 is detached, ndb fails over to n2.
      status('ups1', 'OB');
      await onlineOn('n2');
      assert.deepEqual(lines(scripts).slice(before), ['stop n1 START SERVERSHUTDOWN', 'start n2 FAILOVER']);
      assert.deepEqual(await admin.nodes(), [
        { name: 'n1', state: 'detached' },
        { name: 'n2', state: 'online' },
      ]);
      status('ups1', 'OL');
      await waitFor('n1 back after ONLINE', async () => (await admin.nodes()).every((n) => n.state === 'online'));

      // ups1 on battery again and ups2 on battery with low battery (LOWBATT needs no confirmation): every node fails.
      status('ups1', 'OB');
      status('ups2', 'OB LB');
      await waitFor('UPS off sent', () => lines(hooks).some((l) => l.startsWith('ups-off')), 60_000);
      assert.equal((await admin.show('ndb')).state, 'offline');
      assert.deepEqual(
        lines(hooks).filter((l) => !l.startsWith('power-on')),
        ['os-shutdown n1,n2 forced=0', 'ups-off ups1,ups2'],
      );
      const log = (await admin.power()).log as Array<{ step: string; detail?: string }>;
      const steps = log.map((s) => s.step).filter((s) => !s.startsWith('event'));
      assert.deepEqual(steps.slice(-4), ['cluster-shutdown-ordered', 'cluster-shutdown-done', 'os-shutdown-ordered', 'ups-off-sent']);
      assert.ok(
        log.some((s) => s.step.startsWith('event') && /ups2/.test(JSON.stringify(s)) && /LOWBATT/.test(JSON.stringify(s))),
        `upsmon's LOWBATT for ups2 is in the power log: ${JSON.stringify(log)}`,
      );

      // Power back (OL on both): nodes, then the cluster; ndb comes back with RECOVER.
      status('ups1', 'OL');
      status('ups2', 'OL');
      await waitFor('ndb online again', async () => (await admin.show('ndb')).state === 'online', 60_000);
      assert.match(lines(scripts).at(-1)!, /^start n[12] RECOVER$/);
    } finally {
      close();
      if (process.env['KURA_NUT_DEBUG']) console.error(nutOutOf());
      // Reaped before the test ends: upsmon refuses to start while its pid file names a live (or unreaped) process.
      await Promise.all(
        procs.map((p) => {
          const gone = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));
          try {
            process.kill(-p.pid!, 'SIGKILL');
          } catch {
            // gone
          }
          return gone;
        }),
      );
    }
  },
);
