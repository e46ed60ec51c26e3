// The done-when test: three node agents, a three-member etcd, one
// `kura serve` holding the shared LU, a pathd per node. A group with the
// shared disk runs an application that appends numbered records to the disk.
// Rounds alternate kill -9 of the owner's agent (its application lives on and
// must be fenced at the array: RESERVATION CONFLICT) and a partition of the
// owner from etcd (a TCP proxy per node that stops forwarding: the agent must
// stop its group itself). Every round the group must come back on the next
// priority server; the records must have no gap and no write from a fenced
// writer after the next writer began; the scripts must see the right ARMS_*.
// KURA_CLUSTER_KILLS sets the rounds (default 4; scripts/soak.sh runs 30).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NbdClient } from '../../src/nbd/client.js';
import { clusterAdmin, clusterCli, startNode, waitFor } from '../helpers/cluster.js';
import type { TestNode } from '../helpers/cluster.js';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';
import { startPathd } from '../helpers/pathd.js';
import type { TestPathd } from '../helpers/pathd.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { decode } from './seq-app.js';

const ROUNDS = Number(process.env['KURA_CLUSTER_KILLS'] ?? 4);
const NODES = ['n1', 'n2', 'n3'];
const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'seq-app.js');

/** A TCP proxy in front of one etcd member; partition() stops every byte both ways, heal() lets new connections through. */
interface Link {
  url: string;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

async function link(target: string): Promise<Link> {
  const t = new URL(target);
  let cut = false;
  const socks = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const up = net.connect(Number(t.port), t.hostname);
    socks.add(client).add(up);
    client.pipe(up).pipe(client);
    const drop = () => {
      client.destroy();
      up.destroy();
      socks.delete(client);
      socks.delete(up);
    };
    client.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    partition: () => {
      cut = true;
      for (const s of socks) s.destroy();
      socks.clear();
    },
    heal: () => {
      cut = false;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

let dir: string;
let etcd: EtcdCluster;
let srv: TestServer;
const pathds = new Map<string, TestPathd>();
const links = new Map<string, Link>();
const nodes = new Map<string, TestNode>();
let admin: ReturnType<typeof clusterAdmin>;

async function startAgent(name: string): Promise<TestNode> {
  const n = await startNode(links.get(name)!.url, name, path.join(dir, name), ['--pathd', pathds.get(name)!.control]);
  nodes.set(name, n);
  return n;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fencing-'));
  etcd = await startEtcd(3);
  srv = await startServer();
  for (const [i, name] of NODES.entries()) {
    const p = await startPathd([
      ...srv.iscsiPorts.flatMap((port) => ['--portal', `127.0.0.1:${port}`]),
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--patrol-interval',
      '1',
      '--initiator',
      `iqn.2026-11.io.kura:cluster-${name}`,
      '--data',
      path.join(dir, `pathd-${name}`),
      '--no-syslog',
      '--queue-if-no-path',
      '5',
    ]);
    pathds.set(name, p);
    links.set(name, await link(etcd.members[i % etcd.members.length]!.clientUrl));
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'nbd.port'), String(p.nbdPort));
  }
  for (const name of NODES) await startAgent(name);
  admin = clusterAdmin(etcd.endpoints);
});

after(async () => {
  admin?.close();
  for (const n of nodes.values()) await n.kill9();
  killApps();
  for (const p of pathds.values()) await p.stop();
  for (const l of links.values()) await l.close();
  await srv.cleanup();
  await etcd.stop();
  if (!process.env['KURA_KEEP_TEST_DIR']) fs.rmSync(dir, { recursive: true, force: true });
});

/** Application processes left by a killed agent (a restarted agent ends them too). */
function killApps(): void {
  for (const name of NODES) {
    const pid = path.join(dir, name, 'groups', 'app', 'seq.pid');
    if (!fs.existsSync(pid)) continue;
    try {
      process.kill(-Number(fs.readFileSync(pid, 'utf8')), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function startLines(): string[] {
  const f = path.join(dir, 'scripts.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : [];
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

test(
  `shared-disk group: ${ROUNDS} rounds of kill -9 / partition; the next priority server takes over, the fenced writer is refused at the array, the sequence has no gap`,
  { timeout: 600_000 + ROUNDS * 60_000 },
  async () => {
    const cli = clusterCli(etcd.endpoints);
    const start = `#!/bin/sh
[ -z "$ARMS_EVENT" ] && exit 0
echo "start node=$KURA_NODE event=$ARMS_EVENT server=$ARMS_SERVER group=$ARMS_GROUPNAME disk=\${ARMS_DISK-}" >> ${dir}/scripts.log
if [ "$ARMS_DISK" = FAILURE ]; then exit 1; fi
armload seq --fov -- "${process.execPath}" "${APP}" "$(cat nbd.port)" mpatha "$KURA_NODE-$$" "${dir}/app-$KURA_NODE.log" || exit 1
`;
    const stop = `#!/bin/sh
echo "stop node=$KURA_NODE event=$ARMS_EVENT factor=\${ARMS_FACTOR-}" >> ${dir}/scripts.log
armkill seq
`;
    fs.writeFileSync(path.join(dir, 'start.sh'), start, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'stop.sh'), stop, { mode: 0o755 });
    cli.ok(
      'cluster',
      'group',
      'create',
      'app',
      '--servers',
      NODES.join(','),
      '--resource',
      'disk:mpatha',
      '--start-script',
      path.join(dir, 'start.sh'),
      '--stop-script',
      path.join(dir, 'stop.sh'),
    );
    // Every node up in etcd before the start, so "first available priority server" means n1.
    await waitFor('every node online', async () => (await admin.admin.nodes()).filter((n) => n.state === 'online').length === NODES.length, 60_000);
    cli.ok('cluster', 'group', 'start', 'app');
    const onlineOn = async (what: string) =>
      waitFor(
        what,
        async () => {
          const g = await admin.admin.show('app');
          return g.state === 'online' && g.server ? g.server : undefined;
        },
        60_000,
      );
    let owner: string = await onlineOn('app online');
    const why = () =>
      `scripts.log:\n${startLines().join('\n')}\n` +
      [...nodes.entries()].map(([n, t]) => `--- ${n}:\n${t.output().split('\n').slice(-15).join('\n')}`).join('\n');
    assert.equal(owner, 'n1', `the group starts on its first priority server\n${why()}`);
    assert.match(startLines()[0]!, /^start node=n1 event=START server=HOME group=app disk=$/);
    const failoverMs: number[] = [];
    let refusedRounds = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const mode = round % 2 === 0 ? 'kill' : 'partition';
      // Let the application write a little first.
      await new Promise((r) => setTimeout(r, 500));
      const victim: string = owner;
      const appLog = path.join(dir, `app-${victim}.log`);
      const before = fs.existsSync(appLog) ? fs.readFileSync(appLog, 'utf8').length : 0;
      const expected: string = NODES.filter((n) => n !== victim)[0]!; // every other node is alive: the highest priority of them
      const linesBefore = startLines().length;
      const t0 = Date.now();
      if (mode === 'kill') await nodes.get(victim)!.kill9();
      else links.get(victim)!.partition();
      owner = await waitFor(
        `round ${round}: app online on another node`,
        async () => {
          const g = await admin.admin.show('app');
          return g.state === 'online' && g.server && g.server !== victim ? g.server : undefined;
        },
        60_000,
      );
      failoverMs.push(Date.now() - t0);
      assert.equal(owner, expected, `round ${round} (${mode}): the next priority server took the group`);
      const last = startLines().at(-1)!;
      assert.equal(
        last,
        `start node=${owner} event=FAILOVER server=${owner === 'n1' ? 'HOME' : 'OTHER'} group=app disk=`,
        `round ${round}: the start script's environment`,
      );
      if (mode === 'kill') {
        // The dead agent's application still runs: the array must refuse its writes.
        await waitFor(
          `round ${round}: the fenced writer on ${victim} is refused`,
          () => fs.readFileSync(appLog, 'utf8').slice(before).includes('refused'),
          30_000,
        );
        refusedRounds++;
        await startAgent(victim); // ends the leftover application
      } else {
        // Cut off, the agent stopped its group itself (the stop script ran there) before its lease expired.
        assert.ok(
          startLines()
            .slice(linesBefore)
            .some((l) => l.startsWith(`stop node=${victim} `)),
          `round ${round}: ${victim} stopped its group`,
        );
        links.get(victim)!.heal();
        await waitFor(`round ${round}: ${victim} back`, async () => (await admin.admin.nodes()).some((n) => n.name === victim), 60_000);
      }
    }

    // Stop cleanly and read the records back through a pathd.
    cli.ok('cluster', 'group', 'stop', 'app');
    await waitFor('app offline', async () => (await admin.admin.show('app')).state === 'offline', 60_000);
    killApps();
    const c = await NbdClient.connect({ host: '127.0.0.1', port: pathds.get('n1')!.nbdPort, exportName: 'mpatha' });
    try {
      const head = decode(await c.read(0, 4096))!;
      assert.ok(head.seq > ROUNDS, `records were written (${head.seq})`);
      const gens: string[] = [];
      for (let i = 1; i <= head.seq; i++) {
        const r = decode(await c.read(i * 4096, 4096));
        assert.ok(r && r.seq === i, `record ${i} is there and is record ${i} (no gap, no duplicate)`);
        if (gens.at(-1) !== r.gen) {
          assert.ok(!gens.includes(r.gen), `record ${i}: writer ${r.gen} wrote again after another writer began (a fenced write got through)`);
          gens.push(r.gen);
        }
      }
      assert.ok(gens.length >= ROUNDS, `each round's new owner wrote (${gens.length} writers)`);
    } finally {
      await c.disconnect();
    }
    assert.equal(refusedRounds, Math.ceil(ROUNDS / 2));
    process.stdout.write(
      `# failover (node loss to application running): ${failoverMs.length} rounds, p50 ${quantile(failoverMs, 0.5)} ms, p99 ${quantile(failoverMs, 0.99)} ms, max ${Math.max(...failoverMs)} ms\n`,
    );
  },
);
