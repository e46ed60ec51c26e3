// Failover groups on three real node agents and a real etcd: placement by
// priority, manual move (stop on the source before start on the target), node
// loss (kill -9) and server shutdown, the scripts' ARMS_* environment and
// working directory, armload/armkill/armloadc, a failing start chain, editing
// a running group, cluster shutdown and RECOVER, synchronized keys.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';
import { clusterAdmin, clusterCli, startNode, waitFor } from '../helpers/cluster.js';
import type { TestNode } from '../helpers/cluster.js';
import type { KuraCli } from '../helpers/cli.js';

let etcd: EtcdCluster;
let dir: string;
let cli: KuraCli;
const nodes = new Map<string, TestNode>();
// Not shorter: on a loaded machine a 2 s lease gives false failovers (the seed warns of them too, L2168).
const HB = '4';

interface GroupJson {
  name: string;
  state: string;
  server: string | null;
  servers: string[];
}

/** One line per script run: phase, node and the environment the seed's scripts test. */
const SCRIPT = (log: string, phase: string) => `#!/bin/sh
echo "${phase} node=$KURA_NODE event=\${ARMS_EVENT-unset} kevent=\${KURA_EVENT-unset} server=\${ARMS_SERVER-} group=\${ARMS_GROUPNAME-} disk=\${ARMS_DISK-} factor=\${ARMS_FACTOR-} cwd=$(pwd)" >> ${log}
`;

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
}

let admin: ReturnType<typeof clusterAdmin>;

function show(g: string): Promise<GroupJson> {
  return admin.admin.show(g);
}

async function online(g: string, server: string): Promise<void> {
  await waitFor(`${g} online on ${server}`, async () => {
    const s = await show(g);
    return s.state === 'online' && s.server === server;
  });
}

async function node(name: string): Promise<TestNode> {
  const n = await startNode(etcd.endpoints, name, path.join(dir, name), ['--heartbeat-timeout', HB]);
  nodes.set(name, n);
  return n;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cluster-'));
  etcd = await startEtcd(1);
  cli = clusterCli(etcd.endpoints);
  admin = clusterAdmin(etcd.endpoints);
  for (const n of ['n1', 'n2', 'n3']) await node(n);
});

after(async () => {
  admin?.close();
  for (const n of nodes.values()) await n.kill9();
  // Processes the agents started for groups (armload) outlive a kill -9 by design.
  for (const n of nodes.values()) {
    const groups = path.join(n.dataDir, 'groups');
    if (!fs.existsSync(groups)) continue;
    for (const g of fs.readdirSync(groups))
      for (const f of fs.readdirSync(path.join(groups, g)).filter((x) => x.endsWith('.pid'))) {
        try {
          process.kill(-Number(fs.readFileSync(path.join(groups, g, f), 'utf8')), 'SIGKILL');
        } catch {
          // gone
        }
      }
  }
  await etcd.stop();
  if (!process.env['KURA_KEEP_TEST_DIR']) fs.rmSync(dir, { recursive: true, force: true });
});

test('nodes join with their leases; node list shows them', () => {
  const list = cli.json<Array<{ name: string; state: string }>>('cluster', 'node', 'list', '--json');
  assert.deepEqual(
    list.map((n) => [n.name, n.state]),
    [
      ['n1', 'online'],
      ['n2', 'online'],
      ['n3', 'online'],
    ],
  );
});

test('a group starts on its first priority server; move stops on the source before starting on the target; node loss and server shutdown fail over', async () => {
  const log = path.join(dir, 'g1.log');
  fs.writeFileSync(path.join(dir, 'g1-start.sh'), SCRIPT(log, 'start'), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'g1-stop.sh'), SCRIPT(log, 'stop'), { mode: 0o755 });
  const created = cli.json<GroupJson>(
    'cluster',
    'group',
    'create',
    'g1',
    '--servers',
    'n2,n1,n3',
    '--start-script',
    path.join(dir, 'g1-start.sh'),
    '--stop-script',
    path.join(dir, 'g1-stop.sh'),
    '--json',
  );
  assert.deepEqual(created, { ...created, name: 'g1', state: 'offline', server: null, servers: ['n2', 'n1', 'n3'] });
  cli.ok('cluster', 'group', 'start', 'g1');
  await online('g1', 'n2');
  const shown = cli.json<GroupJson>('cluster', 'group', 'show', 'g1', '--json');
  assert.deepEqual([shown.name, shown.state, shown.server, shown.servers], ['g1', 'online', 'n2', ['n2', 'n1', 'n3']]);
  assert.equal(lines(log)[0], `start node=n2 event=START kevent=START server=HOME group=g1 disk= factor= cwd=${path.join(dir, 'n2')}`);

  cli.ok('cluster', 'group', 'move', 'g1', '--to', 'n3');
  await online('g1', 'n3');
  assert.deepEqual(lines(log).slice(1), [
    `stop node=n2 event=START kevent=START server=HOME group=g1 disk= factor= cwd=${path.join(dir, 'n2')}`,
    `start node=n3 event=FAILOVER kevent=FAILOVER server=OTHER group=g1 disk= factor= cwd=${path.join(dir, 'n3')}`,
  ]);

  // Node loss: the agent dies with no stop script; the highest surviving priority (n2) takes over.
  await nodes.get('n3')!.kill9();
  await online('g1', 'n2');
  assert.equal(lines(log).at(-1), `start node=n2 event=FAILOVER kevent=FAILOVER server=HOME group=g1 disk= factor= cwd=${path.join(dir, 'n2')}`);
  assert.equal(lines(log).length, 4, 'no stop script ran on the node that died');
  await node('n3');

  // Server shutdown: the stop script sees ARMS_FACTOR=SERVERSHUTDOWN and the group fails over to n1.
  await nodes.get('n2')!.stop();
  await online('g1', 'n1');
  assert.deepEqual(lines(log).slice(4), [
    `stop node=n2 event=FAILOVER kevent=FAILOVER server=HOME group=g1 disk= factor=SERVERSHUTDOWN cwd=${path.join(dir, 'n2')}`,
    `start node=n1 event=FAILOVER kevent=FAILOVER server=OTHER group=g1 disk= factor= cwd=${path.join(dir, 'n1')}`,
  ]);
  await node('n2');
  // Manual failback (the default): the group stays on n1 although n2 is back.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await show('g1')).server, 'n1');

  // Editing a running group's settings stops it.
  cli.ok('cluster', 'group', 'set', 'g1', '--failback', 'auto');
  await waitFor('g1 offline after set', async () => (await show('g1')).state === 'offline');
  assert.match(lines(log).at(-1)!, /^stop node=n1 event=FAILOVER /);
  // Automatic failback: started again, it goes to n2 (HOME).
  cli.ok('cluster', 'group', 'start', 'g1');
  await online('g1', 'n2');

  // Cluster shutdown stops every group; cluster start brings it back with RECOVER (stop scripts see START for it).
  cli.ok('cluster', 'shutdown');
  await waitFor('g1 offline after cluster shutdown', async () => (await show('g1')).state === 'offline');
  cli.ok('cluster', 'start');
  await online('g1', 'n2');
  assert.match(lines(log).at(-1)!, /^start node=n2 event=RECOVER kevent=RECOVER server=HOME /);
  cli.ok('cluster', 'group', 'stop', 'g1');
  await waitFor('g1 offline', async () => (await show('g1')).state === 'offline');
  assert.match(lines(log).at(-1)!, /^stop node=n2 event=START /);
  cli.ok('cluster', 'group', 'delete', 'g1');
  assert.equal(cli.run('cluster', 'group', 'show', 'g1').status, 1);
});

test('armload: a failed start aborts the chain and the group goes to the next server; --fov exit fails over; armkill and armloadc --pause do not', async () => {
  const mark = path.join(dir, 'g2.marks');
  // On n1 the critical armload fails (ERRORLEVEL 1): the rest of the chain must not run.
  const start = `#!/bin/sh
if [ "$KURA_NODE" = n1 ]; then armload app --fov -- sh -c 'exit 3' || exit 1; fi
armload app --fov -- sleep 600 || exit 1
armload helper -- sleep 600 || exit 1
armsleep 0.2
armlog "chain end on $KURA_NODE"
echo "chain-end $KURA_NODE" >> ${mark}
`;
  fs.writeFileSync(path.join(dir, 'g2-start.sh'), start, { mode: 0o755 });
  cli.ok('cluster', 'group', 'create', 'g2', '--servers', 'n1,n2,n3', '--start-script', path.join(dir, 'g2-start.sh'));
  cli.ok('cluster', 'group', 'start', 'g2');
  await online('g2', 'n2');
  assert.deepEqual(lines(mark), ['chain-end n2'], 'the chain stopped on n1 and ran to its end on n2');
  assert.match(fs.readFileSync(path.join(dir, 'n2', 'cluster.log'), 'utf8'), /n2 group g2: chain end on n2$/m, 'armlog writes to the node log');

  const pidOf = (n: string, id: string) => Number(fs.readFileSync(path.join(dir, n, 'groups', 'g2', `${id}.pid`), 'utf8'));
  // armloadc --pause: an exit while paused changes nothing; armkill: stopped without recovery.
  const env = { ...process.env, KURA_CLUSTER_SOCKET: path.join(dir, 'n2', 'agent.sock'), ARMS_GROUPNAME: 'g2' };
  const { kuraCli } = await import('../helpers/cli.js');
  const scriptCli = kuraCli({ env });
  scriptCli.ok('cluster', 'armkill', 'helper');
  scriptCli.ok('cluster', 'armloadc', 'app', '--pause');
  process.kill(pidOf('n2', 'app'), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await show('g2')).server, 'n2', 'a paused watch does not fail the group over');
  assert.equal(scriptCli.run('cluster', 'armkill', 'nope').status, 1);

  // Restart the watched process by hand as a script would, then let it die: --fov moves the group on.
  scriptCli.ok('cluster', 'armload', 'app', '--fov', '--', 'sleep', '600');
  process.kill(pidOf('n2', 'app'), 'SIGKILL');
  await online('g2', 'n3');
  cli.ok('cluster', 'group', 'stop', 'g2');
  await waitFor('g2 offline', async () => (await show('g2')).state === 'offline');
});

test('synchronized keys follow the group; a bad resource or server list is refused with its id', async () => {
  cli.ok(
    'cluster',
    'group',
    'create',
    'g3',
    '--servers',
    'n1,n2',
    '--resource',
    'sync:app.conf',
    '--resource',
    'exec:echo started >> started.txt::echo stopped >> started.txt',
    '--resource',
    'exec:echo base-up >> order.txt::echo base-down >> order.txt',
    '--resource',
    'exec:echo app-up >> order.txt::echo app-down >> order.txt',
  );
  cli.ok('cluster', 'group', 'sync-set', 'g3', 'app.conf', 'v1');
  cli.ok('cluster', 'group', 'start', 'g3');
  await online('g3', 'n1');
  const onN1 = path.join(dir, 'n1', 'sync', 'g3', 'app.conf');
  assert.equal(fs.readFileSync(onN1, 'utf8'), 'v1');
  assert.equal(fs.readFileSync(path.join(dir, 'n1', 'started.txt'), 'utf8'), 'started\n');
  fs.writeFileSync(onN1, 'v2 changed on n1');
  cli.ok('cluster', 'group', 'move', 'g3');
  await online('g3', 'n2');
  assert.equal(fs.readFileSync(path.join(dir, 'n2', 'sync', 'g3', 'app.conf'), 'utf8'), 'v2 changed on n1');
  assert.equal(fs.readFileSync(path.join(dir, 'n1', 'started.txt'), 'utf8'), 'started\nstopped\n');
  assert.deepEqual(lines(path.join(dir, 'n1', 'order.txt')), ['base-up', 'app-up', 'app-down', 'base-down'], 'stopped in reverse of the start order');
  cli.ok('cluster', 'group', 'stop', 'g3');

  const bad = cli.run('cluster', 'group', 'create', 'g4', '--servers', 'n1,n1');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^KURA-E8406: server n1 appears twice/);
  const badRes = cli.run('cluster', 'group', 'create', 'g4', '--servers', 'n1', '--resource', 'ip:10.0.0.300/24@eth0');
  assert.equal(badRes.status, 2);
  assert.match(badRes.stderr, /^KURA-E8409: /);
  const dup = cli.run('cluster', 'group', 'create', 'g3', '--servers', 'n1');
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /^KURA-E8403: failover group g3 already exists/);
});

test('a shared disk that cannot be attached: the start script sees ARMS_DISK=FAILURE and the group fails on every server', async () => {
  const log = path.join(dir, 'g5.log');
  fs.writeFileSync(path.join(dir, 'g5-start.sh'), SCRIPT(log, 'start'), { mode: 0o755 });
  // These nodes have no pathd: the disk cannot be reserved anywhere.
  cli.ok('cluster', 'group', 'create', 'g5', '--servers', 'n3,n1', '--resource', 'disk:mpatha', '--start-script', path.join(dir, 'g5-start.sh'));
  cli.ok('cluster', 'group', 'start', 'g5');
  await waitFor('g5 tried on both servers', () => lines(log).length === 2);
  await waitFor('g5 failed', async () => (await show('g5')).state === 'failed');
  assert.deepEqual(lines(log), [
    `start node=n3 event=START kevent=START server=HOME group=g5 disk=FAILURE factor= cwd=${path.join(dir, 'n3')}`,
    `start node=n1 event=FAILOVER kevent=FAILOVER server=OTHER group=g5 disk=FAILURE factor= cwd=${path.join(dir, 'n1')}`,
  ]);
  assert.match(
    fs.readFileSync(path.join(dir, 'n3', 'cluster.log'), 'utf8'),
    /KURA-E8418 group g5: the shared disk mpatha could not be reserved[\s\S]*KURA-E8419 group g5 failed to start on n3: disk resource/,
  );
});

test("an armload --monitor process that exits shuts its node down (the seed's /M): the group fails over", async () => {
  fs.writeFileSync(path.join(dir, 'g6-start.sh'), `#!/bin/sh\narmload base --monitor -- sleep 600 || exit 1\n`, { mode: 0o755 });
  cli.ok('cluster', 'group', 'create', 'g6', '--servers', 'n3,n1', '--start-script', path.join(dir, 'g6-start.sh'));
  cli.ok('cluster', 'group', 'start', 'g6');
  await online('g6', 'n3');
  process.kill(Number(fs.readFileSync(path.join(dir, 'n3', 'groups', 'g6', 'base.pid'), 'utf8')), 'SIGKILL');
  await online('g6', 'n1');
  await waitFor('the n3 agent exits', () => nodes.get('n3')!.proc.exitCode !== null);
  assert.ok(!(await admin.admin.nodes()).some((n) => n.name === 'n3'), 'n3 left the cluster');
  cli.ok('cluster', 'group', 'stop', 'g6');
});

test('jobs cut off by a failover are marked 0xFFFFFFFF6 and, with --auto-restart, run again from the start on the next node', async () => {
  interface JobJson {
    id: string;
    state: string;
    runs: Array<{ node: string; result?: string }>;
  }
  const log = path.join(dir, 'g7-jobs.log');
  // Each job says where it begins and ends; on the node named in $1 it waits (to be cut off).
  const body = (holdOn: string) => [
    'sh',
    '-c',
    `echo "begin $KURA_JOB $KURA_NODE $ARMS_GROUPNAME" >> ${log}; [ "$KURA_NODE" = ${holdOn} ] && sleep 600; echo "end $KURA_JOB $KURA_NODE" >> ${log}`,
  ];
  // In-process reads while waiting (a CLI per poll is slow on a loaded machine); the CLI's JSON is checked once below.
  const jobs = (): Promise<JobJson[]> => admin.admin.jobs('g7');
  const runs = async (id: string) => (await jobs()).find((j) => j.id === id)!.runs.map((r) => [r.node, r.result ?? 'running']);
  // The --monitor test above shut n3 down: every node runs again first.
  for (const [name, n] of nodes) if (n.proc.exitCode !== null || n.proc.signalCode !== null) await node(name);
  cli.ok('cluster', 'group', 'create', 'g7', '--servers', 'n2,n3,n1');
  cli.ok('cluster', 'group', 'start', 'g7');
  await online('g7', 'n2');
  cli.ok('cluster', 'job', 'submit', 'g7', 'quick', '--', ...body('none'));
  cli.ok('cluster', 'job', 'submit', 'g7', 'rerun', '--auto-restart', '--', ...body('n2'));
  cli.ok('cluster', 'job', 'submit', 'g7', 'once', '--', ...body('n2'));
  await waitFor('three jobs began on n2', () => lines(log).filter((l) => l.startsWith('begin')).length === 3);
  await waitFor('quick done', async () => (await jobs()).find((j) => j.id === 'quick')?.state === 'done');
  const busy = cli.run('cluster', 'job', 'submit', 'g7', 'rerun', '--', 'true');
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, /^KURA-E8426: job rerun of group g7 is queued or running/);

  // Node loss: n2's agent and its jobs die (as with the machine); n3 marks the running jobs and re-runs the auto-restart one.
  const pids = fs.readdirSync(path.join(dir, 'n2', 'groups', 'g7')).filter((f) => f.endsWith('.pid'));
  await nodes.get('n2')!.kill9();
  for (const f of pids) process.kill(-Number(fs.readFileSync(path.join(dir, 'n2', 'groups', 'g7', f), 'utf8')), 'SIGKILL');
  await online('g7', 'n3');
  await waitFor('rerun done on n3', async () => (await jobs()).find((j) => j.id === 'rerun')?.state === 'done');
  assert.deepEqual(await runs('quick'), [['n2', 'exit 0']]);
  assert.deepEqual(await runs('rerun'), [
    ['n2', '0xFFFFFFFF6'],
    ['n3', 'exit 0'],
  ]);
  assert.deepEqual(await runs('once'), [['n2', '0xFFFFFFFF6']]);
  const listed = cli.json<JobJson[]>('cluster', 'job', 'list', 'g7');
  assert.deepEqual(
    listed.map((j) => [j.id, j.state, j.runs.length]),
    [
      ['once', 'cutoff', 1],
      ['quick', 'done', 1],
      ['rerun', 'done', 2],
    ],
    'without auto-restart a cut-off job is not run again',
  );
  assert.deepEqual(
    lines(log).filter((l) => /^(begin|end) (rerun|once) /.test(l)),
    ['begin rerun n2 g7', 'begin once n2 g7', 'begin rerun n3 g7', 'end rerun n3'].sort((a, b) => lines(log).indexOf(a) - lines(log).indexOf(b)),
    'the cut-off runs never ended; only the auto-restart job began again, from the start, on n3',
  );
  const table = cli.ok('cluster', 'job', 'list', 'g7');
  assert.match(table, /once\s+cutoff\s+n2\s+\*{5} \(0xFFFFFFFF6\)/, 'the list shows the seed mark');
  assert.match(
    fs.readFileSync(path.join(dir, 'n3', 'cluster.log'), 'utf8'),
    /KURA-W8403 group g7: job rerun was cut off by a failover on n2 \(marked 0xFFFFFFFF6\); it runs again/,
  );
  await node('n2');

  // A move: the stopping node marks its own cut-off job; the target runs it again.
  cli.ok('cluster', 'job', 'submit', 'g7', 'rerun', '--auto-restart', '--', ...body('n3'));
  await waitFor('rerun began on n3 again', () => lines(log).filter((l) => l === 'begin rerun n3 g7').length === 2);
  cli.ok('cluster', 'group', 'move', 'g7', '--to', 'n1');
  await online('g7', 'n1');
  await waitFor('rerun done on n1', async () => (await jobs()).find((j) => j.id === 'rerun')?.state === 'done');
  assert.deepEqual(await runs('rerun'), [
    ['n3', '0xFFFFFFFF6'],
    ['n1', 'exit 0'],
  ]);
  assert.match(fs.readFileSync(path.join(dir, 'n3', 'cluster.log'), 'utf8'), /KURA-W8403 group g7: job rerun was cut off by a failover on n3/);
  cli.ok('cluster', 'job', 'delete', 'g7', 'once');
  assert.equal(cli.run('cluster', 'job', 'delete', 'g7', 'once').status, 1);
  cli.ok('cluster', 'group', 'stop', 'g7');
  await waitFor('g7 offline', async () => (await show('g7')).state === 'offline');
});
