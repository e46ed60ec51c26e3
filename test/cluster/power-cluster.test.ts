// Power orchestration on real node agents, with the clock scaled down (10 ms
// per second of the seed's timeline): power events arrive as upsmon delivers
// them to its NOTIFYCMD (NOTIFYTYPE, UPSNAME), one node on battery is detached
// and its group fails over with ARMS_FACTOR=SERVERSHUTDOWN, every UPS on
// battery shuts the cluster down and runs the OS-shutdown and UPS-off hooks in
// order, and power back brings disks, nodes and the cluster back (RECOVER).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { clusterAdmin, clusterCli, startNode, waitFor } from '../helpers/cluster.js';
import type { TestNode } from '../helpers/cluster.js';
import { kuraCli } from '../helpers/cli.js';
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
