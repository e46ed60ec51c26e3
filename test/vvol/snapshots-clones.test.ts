// Two-phase snapshots, revert, linked and full clones, migration, bitmaps and
// tasks: the data the array double holds after each step, the limits (255
// snapshots per VM, 256 FCVs, 64 layers, 16 concurrent operations) and the
// seed's messages (VVM L1975, L1997, L2000, L2019-L2028, L2042, L2046,
// L2078, L2082, L2105, L2110).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SNAPSHOTS_PER_VM } from '../../src/vvol/limits.js';
import type { VvolView } from '../../src/vvol/model.js';
import { CHUNK } from './memory-array.js';
import { GiB, fixture, hostSeeing, rejectsWith, succeeded, type Fixture } from './fixture.js';

async function vm(f: Fixture, name: string, container: string | number = 'sc0'): Promise<{ config: VvolView; data: VvolView }> {
  const config = (await f.provider.createVvol({ container, type: 'config', size: GiB, vm: name })).vvol;
  const data = (await f.provider.createVvol({ container, type: 'data', size: 4 * GiB, vm: name })).vvol;
  return { config, data };
}

async function snap(f: Fixture, ids: string[], name?: string): Promise<Array<{ vvol: string; snapshot: string }>> {
  const p = await f.provider.prepareSnapshot(ids);
  assert.ok(p.prepareId, JSON.stringify(p.items));
  return succeeded(f, f.provider.snapshot(p.prepareId!, name));
}

test('two-phase snapshot of a VM, revert to the second of three, data as taken', async (t) => {
  const f = fixture(t);
  const { config, data } = await vm(f, 'vm1');
  const shots: string[] = [];
  for (let i = 1; i <= 3; i++) {
    f.array.write(data.ld, 0, `data-${i}`);
    f.array.write(config.ld, 0, `config-${i}`);
    const r = await snap(f, [config.id, data.id], `s${i}`);
    assert.deepEqual(
      r.map((x) => x.vvol),
      [config.id, data.id],
    );
    shots.push(r[1]!.snapshot);
  }
  f.array.write(data.ld, 0, 'data-now');
  f.array.write(data.ld, 5, 'later');
  const snaps = f.provider.snapshotsOf(data.id);
  assert.deepEqual(
    snaps.map((s) => [s.snapshotName, s.snapshotOf, s.type, s.vm, s.layer]),
    [1, 2, 3].map((i) => [`s${i}`, data.id, 'data', 'vm1', 1]),
  );
  assert.equal(f.array.ld(snaps[0]!.ld)!.vmwareType, 'vmdk-VVOL');
  await f.provider.revert(data.id, shots[1]!);
  assert.equal(f.array.read(data.ld, 0), 'data-2');
  assert.equal(f.array.read(data.ld, 5), undefined, 'what was written after the snapshot is gone');
  // Revert needs the VVOL unbound (the VM powered off) and a snapshot of it.
  const pe = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe.ld]);
  await f.provider.bind([data.id], 'esx1');
  await assert.rejects(f.provider.revert(data.id, shots[0]!), rejectsWith('KURA-E3047'));
  await f.provider.unbind([data.id], 'esx1');
  await assert.rejects(f.provider.revert(config.id, shots[0]!), rejectsWith('KURA-E3162'));
  await assert.rejects(f.provider.deleteVvol(data.id), rejectsWith('KURA-E3048'), 'its snapshots depend on it');
  // A prepare not taken can be abandoned; an unknown one is refused.
  const p = await f.provider.prepareSnapshot([data.id]);
  f.provider.abandonSnapshot(p.prepareId!);
  assert.throws(() => f.provider.snapshot(p.prepareId!), rejectsWith('KURA-E3160'));
});

test('snapshots: 255 per VM, with the seed message (VVM L1034, L2110)', async (t) => {
  const f = fixture(t);
  const { config, data } = await vm(f, 'vm1');
  const other = await vm(f, 'vm2');
  for (let i = 0; i < MAX_SNAPSHOTS_PER_VM; i++) await snap(f, [config.id, data.id]);
  const p = await f.provider.prepareSnapshot([config.id, data.id, other.data.id]);
  assert.deepEqual(
    p.items.map((x) => (x.ok ? 'ok' : x.error.id)),
    ['KURA-E3150', 'KURA-E3150', 'ok'],
  );
  assert.equal(
    !p.items[0]!.ok && p.items[0]!.error.message,
    'You cannot create any more snapshot because the number of snapshots is limited to 256 per virtual machine.',
  );
  await succeeded(f, f.provider.snapshot(p.prepareId!));
  assert.equal(f.provider.snapshotsOf(other.data.id).length, 1);
  // Deleting one VM snapshot frees a slot once the array has deleted it.
  const s = f.provider.snapshotsOf(data.id)[0]!;
  const sc = f.provider.snapshotsOf(config.id)[0]!;
  for (const id of [s.id, sc.id]) {
    const r = await f.provider.deleteVvol(id);
    await succeeded(f, r.task!);
  }
  await snap(f, [config.id, data.id]);
});

test('snapshot deletion runs on in the array; meanwhile the VM refuses snapshot, revert, clone, migration (VVM L1560-L1567, L2046)', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  const [{ snapshot: s1 }] = await snap(f, [data.id]);
  const [{ snapshot: s2 }] = await snap(f, [data.id]);
  let release!: () => void;
  f.array.deleteGate = new Promise((r) => (release = r));
  const r = await f.provider.deleteVvol(s1!);
  assert.equal(r.task!.kind, 'delete-snapshot');
  assert.throws(() => f.provider.getVvol(s1!), rejectsWith('KURA-E3043'), 'gone for vCenter at once');
  const msg = 'The process cannot run on the virtual machine because the disk array is deleting snapshots.';
  const p = await f.provider.prepareSnapshot([data.id]);
  assert.deepEqual(!p.items[0]!.ok && [p.items[0]!.error.id, p.items[0]!.error.message], ['KURA-E3157', msg]);
  await assert.rejects(f.provider.revert(data.id, s2!), rejectsWith('KURA-E3157', msg));
  assert.throws(() => f.provider.fastClone(data.id, { vm: 'vm2' }), rejectsWith('KURA-E3157'));
  assert.throws(() => f.provider.clone(data.id, { vm: 'vm3' }), rejectsWith('KURA-E3157'));
  f.array.addPool('sc1');
  assert.throws(() => f.provider.migrate(data.id, 'sc1'), rejectsWith('KURA-E3157'));
  f.array.deleteGate = null;
  release();
  await succeeded(f, r.task!);
  await f.provider.revert(data.id, s2!);
});

test('snapshot and clone preconditions: licences, SSV, virtual pool, layers (VVM L2000, L2019-L2028, L2042, L2078, L2082)', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  const firstError = async (): Promise<[string, string]> => {
    const p = await f.provider.prepareSnapshot([data.id]);
    const i = p.items[0]!;
    assert.ok(!i.ok);
    return [i.error.id, i.error.message];
  };
  f.array.licenses.delete('DynamicSnapVolume');
  assert.deepEqual(await firstError(), ['KURA-E3152', 'The license for snapshot is locked.']);
  f.array.licenses.add('DynamicSnapVolume');
  f.array.ssv = false;
  assert.deepEqual(await firstError(), ['KURA-E3151', 'No SSV is created.']);
  assert.throws(() => f.provider.fastClone(data.id, { vm: 'vm2' }), rejectsWith('KURA-E3151', 'No SSV is created.'));
  f.array.ssv = true;
  f.array.licenses.delete('VolumeClone');
  assert.throws(() => f.provider.fastClone(data.id, { vm: 'vm2' }), rejectsWith('KURA-E3153', 'The license for Volume Clone is locked.'));
  f.array.licenses.delete('DynamicDataReplication');
  assert.throws(() => f.provider.clone(data.id, { vm: 'vm2' }), rejectsWith('KURA-E3154', 'The license for DynamicDataReplication is locked.'));
  f.array.licenses.add('VolumeClone');
  f.array.licenses.add('DynamicDataReplication');
  f.array.pools.get(f.sc0)!.virtual = false;
  assert.deepEqual(await firstError(), ['KURA-E3158', 'The specified pool does not support this function (DynamicSnapVolume).']);
  assert.throws(
    () => f.provider.fastClone(data.id, { vm: 'vm2' }),
    rejectsWith('KURA-E3159', 'The specified pool does not support this function (Volume Clone).'),
  );
  f.array.pools.get(f.sc0)!.virtual = true;
  // 64 layers: a linked clone of a linked clone ... (VVM L1078-L1081).
  let src = data.id;
  for (let layer = 1; layer <= 64; layer++) {
    const r = await succeeded<{ vvol: string }>(f, f.provider.fastClone(src, { vm: `c${layer}` }));
    src = r.vvol;
  }
  assert.equal(f.provider.getVvol(src).layer, 64);
  assert.throws(() => f.provider.fastClone(src, { vm: 'c65' }), rejectsWith('KURA-E3156', 'The number of volume layers has reached the upper limit.'));
  const p = await f.provider.prepareSnapshot([src]);
  assert.ok(!p.items[0]!.ok && p.items[0]!.error.id === 'KURA-E3156');
});

test('linked clone shares the source data, diverges on write; 256 FCVs per FEV (VVM L1060, L2105)', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  f.array.write(data.ld, 0, 'golden');
  const r = await succeeded<{ vvol: string }>(f, f.provider.fastClone(data.id, { vm: 'vm2', metadata: { VMW_VmID: 'vm2' } }));
  const c = f.provider.getVvol(r.vvol);
  assert.deepEqual([c.linkedFrom, c.vm, c.type, c.layer, c.metadata], [data.id, 'vm2', 'data', 1, { VMW_VmID: 'vm2' }]);
  assert.equal(f.array.read(c.ld, 0), 'golden');
  f.array.write(c.ld, 0, 'changed');
  assert.equal(f.array.read(data.ld, 0), 'golden');
  const unshared = await f.provider.unsharedBitmap(c.id, data.id, 0, 4 * CHUNK);
  assert.deepEqual([...unshared.bits], [0b1000_0000], 'only the written chunk differs');
  await assert.rejects(f.provider.deleteVvol(data.id), rejectsWith('KURA-E3048'), 'its linked clone depends on it');
  for (let i = 1; i < 256; i++) await succeeded(f, f.provider.fastClone(data.id, { vm: `l${i}` }));
  assert.throws(
    () => f.provider.fastClone(data.id, { vm: 'l256' }),
    rejectsWith('KURA-E3155', 'You cannot create any more FCV because the number of FCVs of the specified FEV has reached the upper limit.'),
  );
});

test('full clone copies every byte as a task with progress; cancel removes the partial copy; no space (VVM L1997)', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  for (let c = 0; c < 8; c++) f.array.write(data.ld, c, `chunk-${c}`);
  const sc1 = f.array.addPool('sc1');
  f.array.holdCopies = true;
  const task = f.provider.clone(data.id, { vm: 'vm2', container: 'sc1' });
  assert.equal(task.kind, 'clone');
  await new Promise((r) => setImmediate(r));
  assert.equal(f.provider.getTask(task.id).state, 'running');
  assert.equal(f.provider.getTask(task.id).progress, 0);
  await assert.rejects(
    f.provider.resizeVvol(data.id, 8 * GiB),
    rejectsWith('KURA-E3050', 'Failed to expand the specified volume because the volume is being replicated.'),
  );
  f.array.releaseCopies();
  const r = await succeeded<{ vvol: string }>(f, task);
  const c = f.provider.getVvol(r.vvol);
  assert.deepEqual([c.container, c.vm, c.linkedFrom, c.layer], [sc1, 'vm2', null, 0]);
  for (let i = 0; i < 8; i++) assert.equal(f.array.read(c.ld, i), `chunk-${i}`);
  assert.equal(f.provider.getTask(task.id).progress, 100);

  const before = f.array.lds.size;
  f.array.holdCopies = true;
  const t2 = f.provider.clone(data.id, { vm: 'vm3' });
  await new Promise((r) => setImmediate(r));
  f.provider.cancelTask(t2.id);
  const ended = await f.provider.waitTask(t2.id);
  assert.deepEqual([ended.state, ended.error?.id], ['cancelled', 'KURA-E3202']);
  assert.equal(f.array.lds.size, before, 'the partial copy is deleted');
  assert.throws(() => f.provider.cancelTask(t2.id), rejectsWith('KURA-E3201'));
  f.array.holdCopies = false;

  f.array.pools.get(sc1)!.capacity = 2 * CHUNK;
  assert.throws(() => f.provider.clone(data.id, { vm: 'vm4', container: 'sc1' }), rejectsWith('KURA-E3054', 'Insufficient pool space.'));
  f.array.pools.get(sc1)!.capacity = 2 ** 40;
  f.array.failNext.set('createLd', Object.assign(new (await import('../../src/errors.js')).KuraError('KURA-E2022', 'ENOSPC', 'Pool full.', 'Expand it.')));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm5' }), rejectsWith('KURA-E3054', 'Insufficient pool space.'));
});

test('concurrent snapshot/clone operations: 16 run on an M110, the rest wait their turn (VVM L1615-L1619)', async (t) => {
  const f = fixture(t);
  assert.equal(f.provider.limits().maxConcurrentOperations, 16);
  const { data } = await vm(f, 'vm1');
  f.array.write(data.ld, 0, 'x');
  f.array.holdCopies = true;
  const tasks = [];
  for (let i = 0; i < 20; i++) tasks.push(f.provider.clone(data.id, { vm: `c${i}` }));
  await new Promise((r) => setTimeout(r, 20));
  const states = tasks.map((x) => f.provider.getTask(x.id).state);
  assert.deepEqual([states.filter((s) => s === 'running').length, states.filter((s) => s === 'queued').length], [16, 4]);
  assert.deepEqual(f.provider.tasks.load(), { running: 16, queued: 4, max: 16 });
  // A queued task is cancelled at once.
  const q = f.provider.cancelTask(tasks[19]!.id);
  assert.equal(q.state, 'cancelled');
  f.array.releaseCopies();
  for (const x of tasks.slice(0, 19)) await succeeded(f, x);
  assert.equal(f.provider.queryVvols({ type: 'data' }).length, 20);
});

test('migrate moves an unbound VVOL to another container with its data and metadata', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  await f.provider.updateMetadata(data.id, { VMW_VmID: '42' });
  f.array.write(data.ld, 3, 'payload');
  const sc1 = f.array.addPool('sc1');
  assert.throws(() => f.provider.migrate(data.id, 'sc0'), rejectsWith('KURA-E3165'));
  const r = await succeeded<{ from: string; vvol: string }>(f, f.provider.migrate(data.id, 'sc1'));
  assert.equal(r.from, data.id);
  const moved = f.provider.getVvol(r.vvol);
  assert.deepEqual([moved.container, moved.vm, moved.metadata], [sc1, 'vm1', { VMW_VmID: '42' }]);
  assert.equal(f.array.read(moved.ld, 3), 'payload');
  assert.equal(f.array.ld(data.ld), undefined);
  assert.throws(() => f.provider.getVvol(data.id), rejectsWith('KURA-E3043'));
});

test('bitmaps: allocated and unshared against a snapshot; range checks; array failure (VVM L1975)', async (t) => {
  const f = fixture(t);
  const { data } = await vm(f, 'vm1');
  f.array.write(data.ld, 0, 'a');
  f.array.write(data.ld, 9, 'b');
  const alloc = await f.provider.allocatedBitmap(data.id, 0, 16 * CHUNK);
  assert.deepEqual([alloc.granularity, [...alloc.bits]], [CHUNK, [0b1000_0000, 0b0100_0000]]);
  const [{ snapshot: s }] = await snap(f, [data.id]);
  f.array.write(data.ld, 2, 'c');
  f.array.write(data.ld, 9, 'd');
  const diff = await f.provider.unsharedBitmap(data.id, s!, 0, 16 * CHUNK);
  assert.deepEqual([...diff.bits], [0b0010_0000, 0b0100_0000], 'chunks 2 and 9 changed since the snapshot');
  await assert.rejects(f.provider.allocatedBitmap(data.id, 0, 5 * GiB), rejectsWith('KURA-E3164'));
  const other = await vm(f, 'vm2');
  await assert.rejects(f.provider.unsharedBitmap(data.id, other.data.id, 0, CHUNK), rejectsWith('KURA-E3162'));
  f.array.failNext.set('allocatedBitmap', new Error('no answer'));
  await assert.rejects(
    f.provider.allocatedBitmap(data.id, 0, CHUNK),
    rejectsWith('KURA-E3163', 'Failed to get the information (bitmap) on the specified VVOLs.'),
  );
});
