// The VVOL provider on the real array, through `kura serve`: Storage Container
// pools, VVOLs made over the REST API whose bytes (written and read through
// the array's NBD export of each VVOL's LD) survive a two-phase snapshot, a
// revert, a linked clone and a full clone (compared with qemu-img), the
// allocated and unshared bitmaps, storage policies applied as I/O limits,
// and at the end, everything deleted, `kura check` clean with no chunk leaked.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { pathOf } from '../../src/api/route.js';
import { VASA, VVOLS } from '../../src/api/vasa.js';
import type { LdInfo, PoolInfo } from '../../src/array/agent.js';
import { NbdClient } from '../../src/nbd/client.js';
import type { VvolView } from '../../src/vvol/model.js';
import type { TaskInfo } from '../../src/vvol/tasks.js';
import { runKura } from '../helpers/cli.js';
import { readAll, writeAll } from '../helpers/nbd-io.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ok } from '../helpers/tools.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
let srv: TestServer;

before(async () => {
  srv = await startServer({ args: ['--no-demo'] });
  for (const l of ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager']) srv.cli.json('license', 'unlock', l);
  srv.cli.json('pool', 'create', 'sc0', '--size', '4GiB', '--container');
  srv.cli.json('pool', 'create', 'sc1', '--size', '2GiB', '--container');
  srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
  srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
});

after(async () => {
  await srv?.cleanup();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function settled(t: TaskInfo): Promise<TaskInfo> {
  for (let i = 0; i < 600 && (t.state === 'queued' || t.state === 'running'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    t = await api<TaskInfo>('GET', pathOf(VASA.task, { id: t.id }));
  }
  assert.equal(t.state, 'success', JSON.stringify(t.error));
  return t;
}

const ldName = (ld: number): string => srv.cli.json<LdInfo>('ld', 'show', String(ld)).name;

async function withNbd<T>(ld: number | string, fn: (c: NbdClient) => Promise<T>): Promise<T> {
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: typeof ld === 'number' ? ldName(ld) : ld });
  try {
    return await fn(c);
  } finally {
    await c.disconnect();
  }
}

const A0 = crypto.randomBytes(2 * MiB);
const A1 = crypto.randomBytes(MiB);
const B0 = crypto.randomBytes(2 * MiB);
const C0 = crypto.randomBytes(MiB);

test('VVOL bytes survive snapshot, revert, linked clone and full clone; bitmaps come from the maps', { timeout: 55_000 }, async () => {
  const made = await api<{ vvol: VvolView; warnings: unknown[] }>('POST', pathOf(VVOLS.create), {
    container: 'sc0',
    type: 'data',
    size: '1GiB',
    vm: 'vm1',
    metadata: { disk: 'scsi0:0' },
  });
  const v = made.vvol;
  assert.match(v.id, /^naa\.6[0-9a-f]{31}$/);
  const ld = srv.cli.json<LdInfo>('ld', 'show', String(v.ld));
  assert.equal(ld.purpose, 'VVOL');
  assert.equal(ld.vmwareType, 'vmdk-VVOL');
  assert.equal(ld.capacity, GiB);

  await withNbd(v.ld, async (c) => {
    await writeAll(c, 0, A0);
    await writeAll(c, 512 * MiB, A1);
  });

  // Allocated: chunks 0, 1 and 512 of 1 MiB.
  const alloc = await api<{ granularity: number; bits: string }>('GET', pathOf(VVOLS.allocatedBitmap, { id: v.id }, { offset: 0, length: GiB }));
  const bits = Buffer.from(alloc.bits, 'base64');
  const set = (b: Buffer): number[] => [...Array(b.length * 8).keys()].filter((i) => (b[i >> 3]! & (0x80 >> (i & 7))) !== 0);
  assert.equal(alloc.granularity, MiB);
  assert.deepEqual(set(bits), [0, 1, 512]);

  // Two-phase snapshot, then new data in chunk 0.
  const prep = await api<{ prepareId: string }>('POST', pathOf(VVOLS.prepareSnapshot), { ids: [v.id] });
  const snapTask = await settled(await api<TaskInfo>('POST', pathOf(VVOLS.snapshot, { prepareId: prep.prepareId }), { name: 's1' }));
  const snapId = (snapTask.result as Array<{ snapshot: string }>)[0]!.snapshot;
  const snap = await api<VvolView>('GET', pathOf(VVOLS.show, { id: snapId }));
  assert.equal(srv.cli.json<LdInfo>('ld', 'show', String(snap.ld)).snapshotAttribute, 'ESV');
  await withNbd(v.ld, (c) => writeAll(c, 0, B0));

  // Unshared against the snapshot: only chunks 0 and 1 were rewritten.
  const unshared = await api<{ bits: string }>('GET', pathOf(VVOLS.unsharedBitmap, { id: v.id }, { base: snapId }));
  assert.deepEqual(set(Buffer.from(unshared.bits, 'base64')), [0, 1]);

  assert.deepEqual(await withNbd(snap.ld, (c) => readAll(c, 0, 2 * MiB)), A0, 'the snapshot keeps the old bytes');
  assert.deepEqual(await withNbd(v.ld, (c) => readAll(c, 0, 2 * MiB)), B0);

  await api('POST', pathOf(VVOLS.revert, { id: v.id }), { snapshot: snapId });
  assert.deepEqual(await withNbd(v.ld, (c) => readAll(c, 0, 2 * MiB)), A0, 'revert brings the snapshot bytes back');

  // Linked clone: shares the data, writes stay its own.
  const fc = await settled(await api<TaskInfo>('POST', pathOf(VVOLS.fastClone, { id: v.id }), { vm: 'vm2' }));
  const linked = await api<VvolView>('GET', pathOf(VVOLS.show, { id: (fc.result as { vvol: string }).vvol }));
  assert.equal(linked.linkedFrom, v.id);
  assert.equal(srv.cli.json<LdInfo>('ld', 'show', String(linked.ld)).cloneAttribute, 'FCV');
  assert.deepEqual(await withNbd(linked.ld, (c) => readAll(c, 512 * MiB, MiB)), A1);
  await withNbd(linked.ld, (c) => writeAll(c, 0, C0));
  assert.deepEqual(await withNbd(v.ld, (c) => readAll(c, 0, 2 * MiB)), A0, "the source is untouched by the clone's writes");

  // Full clone from the CLI, waiting with progress; every byte compared by qemu-img.
  const r = runKura(['vvol', 'clone', v.id, '--vm', 'vm3', '--wait', '--json'], { env: srv.env });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const full = JSON.parse(r.stdout) as TaskInfo;
  assert.equal(full.state, 'success');
  assert.equal(full.progress, 100);
  assert.match(r.stderr, /full clone/);
  const copy = await api<VvolView>('GET', pathOf(VVOLS.show, { id: (full.result as { vvol: string }).vvol }));
  const copyLd = srv.cli.json<LdInfo>('ld', 'show', String(copy.ld));
  assert.equal(copyLd.rplAttribute, 'IV', 'the pair is gone after the copy');
  assert.equal(copyLd.vmwareType, 'vmdk-VVOL');
  ok('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', srv.nbdUri(ldName(v.ld)), srv.nbdUri(copyLd.name)], { timeout: 40_000 });
  assert.equal(copy.vm, 'vm3');

  // Migration to another container: a full copy there, then the source goes.
  const mig = await settled(await api<TaskInfo>('POST', pathOf(VVOLS.migrate, { id: copy.id }), { container: 'sc1' }));
  const moved = await api<VvolView>('GET', pathOf(VVOLS.show, { id: (mig.result as { vvol: string }).vvol }));
  assert.equal(srv.cli.json<LdInfo>('ld', 'show', String(moved.ld)).pool, 'sc1');
  assert.equal(srv.cli.json<PoolInfo>('pool', 'show', 'sc0').ldCount, 3, 'the source LD is gone from sc0 (left: the VVOL, its snapshot, its linked clone)');
  ok('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', srv.nbdUri(ldName(v.ld)), srv.nbdUri(ldName(moved.ld))], { timeout: 40_000 });

  // kura vvol list --json: the fields the contract names.
  const list = srv.cli.json<Array<Record<string, unknown>>>('vvol', 'list');
  for (const x of list) for (const k of ['id', 'type', 'vm', 'ld', 'container', 'boundPes']) assert.ok(k in x, `${k} in vvol list`);
  assert.deepEqual(list.map((x) => x['vm']).sort(), ['vm1', 'vm1', 'vm2', 'vm3']);

  // A container with VVOLs is not deleted (VVM L204).
  const del = srv.cli.run('pool', 'delete', 'sc0');
  assert.notEqual(del.status, 0);
  assert.match(del.stderr, /KURA-E3010/);
  assert.match(del.stderr, /Before deleting the Storage Container, all logical disks created in the target Storage Container must be deleted\./);

  // Everything goes: the linked clone and the snapshot before their source.
  for (const id of [linked.id, moved.id, snapId]) {
    const d = await api<{ task: TaskInfo | null }>('DELETE', pathOf(VVOLS.delete, { id }));
    if (d.task) await settled(d.task);
  }
  await api('DELETE', pathOf(VVOLS.delete, { id: v.id }));
  assert.deepEqual(srv.cli.json<unknown[]>('vvol', 'list'), []);
  const sc0 = srv.cli.json<PoolInfo>('pool', 'show', 'sc0');
  assert.equal(sc0.ldCount, 0);
  assert.equal(sc0.used, 0, 'no chunk left in the container');
  srv.cli.json('pool', 'delete', 'sc0');
  srv.cli.json('pool', 'delete', 'sc1');
  srv.cli.json('ld', 'delete', 'ssv');
  srv.cli.json('pool', 'delete', 'sys');
  assert.equal(await srv.stop(), 0);
  const check = runKura(['check', '--data', srv.dataDir, '--json']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.deepEqual((JSON.parse(check.stdout) as { faults: string[] }).faults, []);
});
