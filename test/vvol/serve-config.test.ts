// Containers, protocol endpoints, bind/unbind and storage policies through
// `kura serve` and the kura CLI: the seed's messages where the seed refuses
// (conversion L197, eight PEs L282, PE outside a container L265, PE deletion
// while bound L307, I/O limits L1916), `pool list` and `ld show` as iSMview
// shows them, and the provider's records and bindings across a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { HOSTS } from '../../src/api/hosts.js';
import { LDS } from '../../src/api/lds.js';
import { POOLS } from '../../src/api/pools.js';
import { pathOf } from '../../src/api/route.js';
import { CONTAINERS, PES, POLICIES, VVOLS } from '../../src/api/vasa.js';
import type { LdInfo, PoolInfo } from '../../src/array/agent.js';
import type { VvolView } from '../../src/vvol/model.js';
import type { PeView } from '../../src/vvol/provider.js';
import { runKura } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;

before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
  for (const l of ['VirtualVolume', 'IOLoadManager']) srv.cli.json('license', 'unlock', l);
});

after(async () => {
  await srv?.cleanup();
  // The restarted server's directory is not its own to remove.
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as T;
}

async function apiRefused(method: string, path: string, body: unknown, id: string, message: string): Promise<void> {
  const r = await call(method, path, body);
  const e = (r.json as { error: { id: string; message: string } }).error;
  assert.equal(e.id, id, JSON.stringify(e));
  assert.equal(e.message, message);
}

const ldShow = (ref: string | number): Promise<LdInfo> => api<LdInfo>('GET', pathOf(LDS.show, { ref }));

function refused(args: string[], id: string, message: string): void {
  const r = srv.cli.run(...args);
  assert.notEqual(r.status, 0, `kura ${args.join(' ')} succeeded`);
  assert.match(r.stderr, new RegExp(id));
  assert.ok(r.stderr.includes(message), `kura ${args.join(' ')}: ${r.stderr}`);
}

test('container pools, eight PEs, bind through a PE, policies as I/O limits, and a restart', { timeout: 55_000 }, async () => {
  // Containers: VMware Type Container, --- otherwise; no conversion.
  const sc = srv.cli.json<PoolInfo>('pool', 'create', 'sc0', '--size', '2GiB', '--container');
  assert.equal(sc.vmwareType, 'Container');
  assert.equal((await api<PoolInfo>('POST', pathOf(POOLS.create), { name: 'plain', size: '1GiB' })).vmwareType, '---');
  const list = srv.cli.ok('pool', 'list');
  assert.match(list, /VMware Type/);
  assert.match(
    list.split('\n').find((l) => l.includes('sc0'))!,
    /Container$/,
  );
  assert.match(
    list.split('\n').find((l) => l.includes('plain'))!,
    /---$/,
  );
  assert.match(srv.cli.ok('pool', 'show', 'sc0'), /VMware Type\s+: Container/);
  refused(['pool', 'set', 'plain', '--container'], 'KURA-E3013', 'It is not possible to convert an existing pool into a Storage Container.');

  // PEs: only in a container, at most eight.
  refused(['pe', 'create', 'pex', '--pool', 'plain'], 'KURA-E3021', 'Create a Protocol Endpoint in a pool created as a Storage Container.');
  srv.cli.json('pe', 'create', 'pe0', '--pool', 'sc0', '--owner', '0');
  for (let i = 1; i < 8; i++) await api('POST', pathOf(PES.create), { name: `pe${i}`, pool: 'sc0', owner: i % 2 });
  refused(['pe', 'create', 'pe8', '--pool', 'sc0'], 'KURA-E3020', 'Up to eight Protocol Endpoints can be created in a single disk array unit.');
  const pes = srv.cli.json<PeView[]>('pe', 'list');
  assert.equal(pes.length, 8);
  assert.deepEqual(
    pes.map((p) => p.owner),
    [0, 1, 0, 1, 0, 1, 0, 1],
  );
  const pe0 = pes.find((p) => p.name === 'pe0')!;
  assert.match(pe0.id, /^eui\.[0-9a-f]{16}$/);
  const peLd = await ldShow('pe0');
  assert.equal(peLd.vmwareType, 'PE');
  assert.equal(peLd.purpose, 'VVOL');

  // Policies: the seed's rule on I/O limits, compliance of the container.
  refused(
    ['policy', 'create', 'bad', '--iops-upper', '100', '--iops-lower', '1000'],
    'KURA-E3254',
    'Failed to apply the storage policy because the I/O Lower Limit is larger than the I/O Upper Limit.',
  );
  srv.cli.json('policy', 'create', 'gold', '--raid', 'RAID1', '--iops-upper', '1000', '--iops-lower', '100');
  await api('POST', pathOf(POLICIES.create), { name: 'fast', raid: 'RAID10' });
  const okRules = srv.cli.json<Array<{ compliant: boolean }>>('vvol', 'container-compliance', 'sc0', '--policy', 'gold');
  assert.ok(okRules.length > 0 && okRules.every((r) => r.compliant));
  const badRules = await api<Array<{ rule: string; compliant: boolean; message?: string }>>(
    'GET',
    pathOf(CONTAINERS.compliance, { ref: 'sc0' }, { policy: 'fast' }),
  );
  const raid = badRules.find((r) => r.rule === 'RAID')!;
  assert.equal(raid.compliant, false);
  assert.match(raid.message!, /does not satisfy the rule\(RAID\)/);

  // A VVOL with the policy: its I/O limits are the LD's.
  const made = srv.cli.json<{ vvol: VvolView }>(
    'vvol',
    'create',
    '--container',
    'sc0',
    '--type',
    'config',
    '--size',
    '1GiB',
    '--vm',
    'vm1',
    '--policy',
    'gold',
  );
  const v = made.vvol;
  const vLd = await ldShow(v.ld);
  assert.equal(vLd.vmwareType, 'config-VVOL');
  assert.deepEqual(vLd.qos, { upper: 1000, lower: 100 });
  assert.ok((await api<Array<{ compliant: boolean }>>('GET', pathOf(VVOLS.compliance, { id: v.id }))).every((r) => r.compliant));
  const small = await api<{ vvol: VvolView; warnings: Array<{ id: string; text: string }> }>('POST', pathOf(VVOLS.create), {
    container: 'sc0',
    type: 'swap',
    size: '100MiB',
    vm: 'vm1',
  });
  assert.equal(small.vvol.size, 2 ** 30);
  assert.deepEqual(
    small.warnings.map((w) => w.id),
    ['KURA-W3000'],
  );

  // Bind for a host that sees the PEs: Bound VVOL / PE lists, reference counts.
  await api('POST', pathOf(HOSTS.create), { name: 'esx1', initiators: ['iqn.1998-01.com.vmware:esx1'] });
  await api('POST', pathOf(HOSTS.map, { name: 'esx1' }), { ld: 'pe0', lun: 0 });
  const b1 = srv.cli.json<Array<{ ok: boolean; value: { slu: number; count: number; peLd: number } }>>('vvol', 'bind', v.id, '--host', 'esx1');
  assert.ok(b1[0]!.ok, JSON.stringify(b1));
  assert.deepEqual([b1[0]!.value.slu, b1[0]!.value.count, b1[0]!.value.peLd], [1, 1, pe0.ld]);
  const b2 = await api<Array<{ value: { slu: number; count: number } }>>('POST', pathOf(VVOLS.bind), { ids: [v.id], host: 'esx1' });
  assert.deepEqual([b2[0]!.value.slu, b2[0]!.value.count], [1, 2]);
  assert.deepEqual((await ldShow('pe0')).boundVvolList, [v.ld]);
  assert.deepEqual((await ldShow(v.ld)).boundPeList, [pe0.ld]);
  assert.match(srv.cli.ok('ld', 'show', 'pe0'), /Bound VVOL List\(h\)\s+: /);
  assert.deepEqual(srv.cli.json<VvolView[]>('vvol', 'list').find((x) => x.id === v.id)!.boundPes, [pe0.ld]);
  const peDelete = 'Before deleting a created Protocol Endpoint, be sure to stop all virtual machines that use VVOLs in the disk array.';
  refused(['pe', 'delete', 'pe0'], 'KURA-E3022', peDelete);
  await apiRefused('DELETE', pathOf(LDS.delete, { ref: 'pe0' }, { force: true }), undefined, 'KURA-E3022', peDelete);

  // A restart keeps PEs, VVOLs, policies and the binding the array serves.
  assert.equal(await srv.stop(), 0);
  const dataDir = srv.dataDir;
  srv = await startServer({ dataDir, args: ['--no-demo'] });
  assert.equal((await api<PeView[]>('GET', pathOf(PES.list))).length, 8);
  assert.equal((await api<PoolInfo>('GET', pathOf(POOLS.show, { ref: 'sc0' }))).vmwareType, 'Container');
  assert.deepEqual((await ldShow('pe0')).boundVvolList, [v.ld]);
  assert.deepEqual(
    (await api<Array<{ slu: number; hosts: Record<string, number> }>>('GET', pathOf(VVOLS.bindings, { id: v.id }))).map((b) => [b.slu, b.hosts]),
    [[1, { esx1: 2 }]],
  );

  // Unbind to zero: the binding is gone, the PE may go.
  const unbind = () => api('POST', pathOf(VVOLS.unbind), { ids: [v.id], host: 'esx1' });
  await unbind();
  assert.deepEqual((await ldShow('pe0')).boundVvolList, [v.ld]);
  await unbind();
  assert.deepEqual((await ldShow('pe0')).boundVvolList, []);
  await api('DELETE', pathOf(HOSTS.unmap, { name: 'esx1', lun: 0 }));
  srv.cli.json('pe', 'delete', 'pe0');
  for (let i = 1; i < 8; i++) await api('DELETE', pathOf(PES.delete, { ref: `pe${i}` }));
  for (const x of [v, small.vvol]) await api('DELETE', pathOf(VVOLS.delete, { id: x.id }));
  for (const name of ['gold', 'fast']) await api('DELETE', pathOf(POLICIES.delete, { name }));
  for (const ref of ['sc0', 'plain']) await api('DELETE', pathOf(POOLS.delete, { ref }));
  assert.equal(await srv.stop(), 0);
  const check = runKura(['check', '--data', dataDir, '--json']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
