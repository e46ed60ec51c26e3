// The floating-IP resource in network namespaces the test creates: a "lan"
// namespace with a bridge (the client side) and one namespace per node, each
// joined to the bridge by a veth pair. The group's address is on the node that
// runs the group and nowhere else; the client reaches it before and after a
// move and after a node loss. Needs root (ip netns); removes what it made.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { clusterAdmin, clusterCli, startNode, waitFor } from '../helpers/cluster.js';
import type { TestNode } from '../helpers/cluster.js';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';

const tag = `k${process.pid % 100000}`;
const LAN = `${tag}-lan`;
const NS = { n1: `${tag}-n1`, n2: `${tag}-n2` } as const;
const FIP = '10.231.0.100';

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Which node answers on the floating IP (each node's namespace runs a server that says its name), or undefined. */
function answerer(flush = true): string | undefined {
  // A fresh neighbour entry, as a client whose ARP entry timed out (unless the test checks the gratuitous ARP's update).
  if (flush) spawnSync('ip', ['-n', LAN, 'neigh', 'flush', 'dev', 'br0'], { timeout: 10_000 });
  const client = `const s=require('net').connect(7000,'${FIP}');s.setTimeout(2000,()=>process.exit(1));s.on('data',d=>{process.stdout.write(d);process.exit(0)});s.on('error',()=>process.exit(1));`;
  const r = spawnSync('ip', ['netns', 'exec', LAN, process.execPath, '-e', client], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** The MAC the client side (LAN) has for the floating IP, or undefined. */
function lanMacOfFip(): string | undefined {
  const entries = JSON.parse(ip('-n', LAN, '-j', 'neigh', 'show', FIP, 'dev', 'br0') || '[]') as Array<{ lladdr?: string }>;
  return entries[0]?.lladdr;
}

function macOf(ns: string): string {
  return (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'eth0')) as Array<{ address: string }>)[0]!.address;
}

function hasFip(ns: string): boolean {
  return ip('-n', ns, '-4', 'addr', 'show', 'dev', 'eth0').includes(`inet ${FIP}/24`);
}

let dir: string;
let etcd: EtcdCluster;
const nodes: TestNode[] = [];
const servers: ChildProcess[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fip-'));
  ip('netns', 'add', LAN);
  ip('-n', LAN, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', LAN, 'addr', 'add', '10.231.0.1/24', 'dev', 'br0');
  ip('-n', LAN, 'link', 'set', 'br0', 'up');
  ip('-n', LAN, 'link', 'set', 'lo', 'up');
  for (const [i, ns] of Object.values(NS).entries()) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', LAN);
    ip('-n', ns, 'addr', 'add', `10.231.0.${11 + i}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', LAN, 'link', 'set', `p${i}`, 'master', 'br0');
    ip('-n', LAN, 'link', 'set', `p${i}`, 'up');
    const name = Object.keys(NS)[i]!;
    const server = `require('net').createServer(c=>c.end('${name}')).listen(7000,'0.0.0.0',()=>console.log('up'))`;
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(p);
    await new Promise((r) => p.stdout!.once('data', r));
  }
  etcd = await startEtcd(1);
  for (const [name, ns] of Object.entries(NS))
    nodes.push(await startNode(etcd.endpoints, name, path.join(dir, name), ['--netns', ns, '--heartbeat-timeout', '2']));
});

after(async () => {
  for (const n of nodes) await n.kill9();
  for (const p of servers) p.kill('SIGKILL');
  await etcd?.stop();
  for (const ns of [...Object.values(NS), LAN]) spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the floating IP is on the node running the group and only there; clients reach it after a move and after a node loss', async () => {
  const cli = clusterCli(etcd.endpoints);
  const { admin, close } = clusterAdmin(etcd.endpoints);
  try {
    const onlineOn = (node: string) =>
      waitFor(`group on ${node}`, async () => {
        const g = await admin.show('web');
        return g.state === 'online' && g.server === node;
      });
    cli.ok('cluster', 'group', 'create', 'web', '--servers', 'n1,n2', '--resource', `ip:${FIP}/24@eth0`);
    assert.equal(answerer(), undefined, 'nobody has the address before the group starts');
    cli.ok('cluster', 'group', 'start', 'web');
    await onlineOn('n1');
    assert.deepEqual([hasFip(NS.n1), hasFip(NS.n2)], [true, false]);
    assert.equal(answerer(), 'n1', 'the client reaches the floating IP on n1');

    assert.equal(lanMacOfFip(), macOf(NS.n1));

    cli.ok('cluster', 'group', 'move', 'web', '--to', 'n2');
    await onlineOn('n2');
    assert.deepEqual([hasFip(NS.n1), hasFip(NS.n2)], [false, true]);
    // The gratuitous ARP n2 sent after adding the address updated the client's entry, without waiting for it to expire.
    await waitFor("the client's ARP entry for the floating IP names n2's MAC", () => lanMacOfFip() === macOf(NS.n2));
    assert.equal(answerer(false), 'n2', 'the client reaches the floating IP on n2 through its existing neighbour entry');

    // n2 dies without removing its address; taking the group over, n1 adds it. The address on the dead
    // node's namespace is the test's to remove (a dead machine's interfaces go down with it).
    await nodes[1]!.kill9();
    ip('-n', NS.n2, 'link', 'set', 'eth0', 'down');
    await onlineOn('n1');
    assert.ok(hasFip(NS.n1));
    assert.equal(answerer(), 'n1', 'the client reaches the floating IP on n1 again');
    cli.ok('cluster', 'group', 'stop', 'web');
    await waitFor('web offline', async () => (await admin.show('web')).state === 'offline');
    assert.equal(hasFip(NS.n1), false, 'a stopped group leaves no address behind');
  } finally {
    close();
  }
});
