// Containers, protocol endpoints and VVOL lifecycle on the provider: limits and
// the seed's messages (VVM L204, L265, L282, L307, L1554-L1557, L1985,
// L2025, L2051, L2072, L2092, L2097).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GiB, TiB, fixture, hostSeeing, rejectsWith } from './fixture.js';

test('containers are the container pools, with the seed id form; deletion needs their LDs gone (VVM L204)', async (t) => {
  const f = fixture(t);
  f.array.addPool('plain', { container: false });
  const cs = f.provider.listContainers();
  assert.deepEqual(
    cs.map((c) => [c.name, c.id]),
    [['sc0', 'vvol:6000991000000000-0009910077770000']],
  );
  assert.equal(f.provider.getContainer(cs[0]!.id).name, 'sc0');
  assert.equal(f.provider.getContainer('sc0').pool, f.sc0);
  assert.throws(() => f.provider.getContainer('plain'), rejectsWith('KURA-E3011'));
  assert.throws(() => f.provider.getContainer('nope'), rejectsWith('KURA-E3012'));
  f.provider.checkContainerDeletable('sc0');
  await f.provider.createVvol({ container: 'sc0', type: 'config', size: 4 * GiB, vm: 'vm1' });
  assert.throws(
    () => f.provider.checkContainerDeletable('sc0'),
    rejectsWith('KURA-E3010', 'Before deleting the Storage Container, all logical disks created in the target Storage Container must be deleted.'),
  );
});

test('protocol endpoints: in a container only, at most eight, not deleted while VVOLs are bound (VVM L265, L282, L307)', async (t) => {
  const f = fixture(t);
  f.array.addPool('plain', { container: false });
  await assert.rejects(
    f.provider.createPe({ name: 'pe-x', pool: 'plain' }),
    rejectsWith('KURA-E3021', 'Create a Protocol Endpoint in a pool created as a Storage Container.'),
  );
  await assert.rejects(f.provider.createPe({ name: 'pe-x', pool: 'sc0', owner: 2 }), rejectsWith('KURA-E3024'));
  await assert.rejects(f.provider.createPe({ name: 'a b', pool: 'sc0' }), rejectsWith('KURA-E3025'));
  const pes = [];
  for (let i = 0; i < 8; i++) pes.push(await f.provider.createPe({ name: `pe${i}`, pool: 'sc0', owner: i % 2 }));
  assert.deepEqual(
    pes.map((p) => p.owner),
    [0, 1, 0, 1, 0, 1, 0, 1],
  );
  assert.equal(f.array.ld(pes[0]!.ld)!.vmwareType, 'PE');
  assert.match(pes[0]!.id, /^eui\.000991007777[0-9a-f]{4}$/);
  await assert.rejects(
    f.provider.createPe({ name: 'pe8', pool: 'sc0' }),
    rejectsWith('KURA-E3020', 'Up to eight Protocol Endpoints can be created in a single disk array unit.'),
  );
  assert.equal(f.provider.listPes().length, 8);

  hostSeeing(f, 'esx1', [pes[0]!.ld]);
  const { vvol } = await f.provider.createVvol({ container: 'sc0', type: 'data', size: 8 * GiB, vm: 'vm1' });
  await f.provider.bind([vvol.id], 'esx1');
  assert.deepEqual(f.provider.getPe('pe0').boundVvols, [vvol.ld], "iSMview's Bound VVOL List");
  await assert.rejects(
    f.provider.deletePe('pe0'),
    rejectsWith('KURA-E3022', 'Before deleting a created Protocol Endpoint, be sure to stop all virtual machines that use VVOLs in the disk array.'),
  );
  await f.provider.unbind([vvol.id], 'esx1');
  await f.provider.deletePe(pes[0]!.id);
  assert.equal(f.array.ld(pes[0]!.ld), undefined);
  await f.provider.createPe({ name: 'pe8', pool: 'sc0' });
  await assert.rejects(f.provider.deletePe('pe0'), rejectsWith('KURA-E3023'));
});

test('VVOL create: types, id, VMware type, metadata, 1 GB floor with the warning, 10 TB ceiling (VVM L1554-L1557, L2092, L2097)', async (t) => {
  const f = fixture(t);
  const { vvol, warnings } = await f.provider.createVvol({
    container: 'sc0',
    type: 'data',
    size: 20 * GiB,
    vm: 'dc0/vm1',
    metadata: { VMW_VVolName: 'vm1.vmdk', VMW_VmID: '5001' },
  });
  assert.deepEqual(warnings, []);
  assert.equal(vvol.id, `naa.6000991000000000000991007777${vvol.ld.toString(16).padStart(4, '0')}`);
  assert.equal(f.array.ld(vvol.ld)!.vmwareType, 'vmdk-VVOL');
  assert.equal(f.array.ld(vvol.ld)!.capacity, 20 * GiB);
  assert.deepEqual(vvol.metadata, { VMW_VVolName: 'vm1.vmdk', VMW_VmID: '5001' });
  for (const [type, vmware] of [
    ['config', 'config-VVOL'],
    ['swap', 'swap-VVOL'],
    ['memory', 'memory-VVOL'],
  ] as const) {
    const r = await f.provider.createVvol({ container: f.sc0, type, size: GiB, vm: 'dc0/vm1' });
    assert.equal(f.array.ld(r.vvol.ld)!.vmwareType, vmware);
  }
  const small = await f.provider.createVvol({ container: 'sc0', type: 'data', size: 512 * 2 ** 20, vm: 'dc0/vm1' });
  assert.equal(f.array.ld(small.vvol.ld)!.capacity, GiB);
  assert.deepEqual(small.warnings, [
    {
      id: 'KURA-W3000',
      text: `The volume size you have specified (512MB) is less than 1 GB. But the volume (${small.vvol.id}) is created with 1 GB in the disk array because a volume requires at least 1 GB.`,
    },
  ]);
  assert.equal(f.provider.getAlarms().at(-1)!.text, small.warnings[0]!.text, 'the warning is an alarm too');
  await assert.rejects(
    f.provider.createVvol({ container: 'sc0', type: 'data', size: 10 * TiB + 512, vm: 'vm' }),
    rejectsWith('KURA-E3040', 'The volume capacity over 10TB is not supported.'),
  );
  const max = await f.provider.createVvol({ container: 'sc0', type: 'data', size: 10 * TiB, vm: 'vm' });
  assert.equal(max.vvol.size, 10 * TiB);
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'vmdk', size: GiB, vm: 'vm' }), rejectsWith('KURA-E3042'));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: -1, vm: 'vm' }), rejectsWith('KURA-E3041'));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: '' }), rejectsWith('KURA-E3055'));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm', metadata: { 'bad key': 'x' } }), rejectsWith('KURA-E3046'));
  f.array.licenses.delete('VirtualVolume');
  await assert.rejects(
    f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm' }),
    rejectsWith('KURA-E3056', 'The license for Virtual Volume is locked.'),
  );
  await assert.rejects(f.provider.createPe({ name: 'pe', pool: 'sc0' }), rejectsWith('KURA-E3056'));
});

test('VVOL queries by container, VM, type and metadata; metadata updates (VVM L1985 on a failed write)', async (t) => {
  const f = fixture(t);
  const sc1 = f.array.addPool('sc1');
  const a = (await f.provider.createVvol({ container: 'sc0', type: 'config', size: GiB, vm: 'vm1', metadata: { VMW_VmID: 'a' } })).vvol;
  const b = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1', metadata: { VMW_VmID: 'a' } })).vvol;
  const c = (await f.provider.createVvol({ container: sc1, type: 'data', size: GiB, vm: 'vm2', metadata: { VMW_VmID: 'b' } })).vvol;
  assert.deepEqual(
    f.provider.queryVvols({ vm: 'vm1' }).map((v) => v.id),
    [a.id, b.id],
  );
  assert.deepEqual(
    f.provider.queryVvols({ container: 'sc1' }).map((v) => v.id),
    [c.id],
  );
  assert.deepEqual(
    f.provider.queryVvols({ type: 'data' }).map((v) => v.id),
    [b.id, c.id],
  );
  assert.deepEqual(
    f.provider.queryVvols({ metadata: { VMW_VmID: 'b' } }).map((v) => v.id),
    [c.id],
  );
  const u = await f.provider.updateMetadata(a.id, { VMW_VmID: null, VMW_GosType: 'linux' });
  assert.deepEqual(u.metadata, { VMW_GosType: 'linux' });
  assert.equal(f.provider.getVvol(a.id.toUpperCase()).id, a.id, 'ids are read in either case');
  await assert.rejects(f.provider.updateMetadata(a.id, { k: 'x'.repeat(4097) }), rejectsWith('KURA-E3046'));
  // The write of management information fails (the store refuses it).
  const orig = f.store.setMetadata.bind(f.store);
  f.store.setMetadata = () => {
    throw new Error('disk I/O error');
  };
  await assert.rejects(f.provider.updateMetadata(a.id, { k: 'v' }), rejectsWith('KURA-E3045', 'Failed to write metadata to the VVOL.'));
  const before = f.array.lds.size;
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm3', metadata: { k: 'v' } }), rejectsWith('KURA-E3045'));
  assert.equal(f.array.lds.size, before, 'a VVOL whose metadata cannot be written is not left behind');
  f.store.setMetadata = orig;
});

test('VVOL delete: unknown id, LD deleted behind the provider, bound, resize rules (VVM L2051, L2072)', async (t) => {
  const f = fixture(t);
  const pe = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe.ld]);
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: 2 * GiB, vm: 'vm1' })).vvol;
  const ghost = f.provider.ids().vvol(0x123);
  await assert.rejects(f.provider.deleteVvol(ghost), rejectsWith('KURA-E3043', `The specified ${ghost} does not exist.`));
  await f.provider.bind([v.id], 'esx1');
  await assert.rejects(f.provider.deleteVvol(v.id), rejectsWith('KURA-E3047'));
  await assert.rejects(f.provider.resizeVvol(v.id, GiB), rejectsWith('KURA-E3049'));
  await assert.rejects(f.provider.resizeVvol(v.id, 11 * TiB), rejectsWith('KURA-E3040'));
  const grown = await f.provider.resizeVvol(v.id, 3 * GiB);
  assert.equal(grown.size, 3 * GiB);
  assert.equal(f.array.ld(v.ld)!.capacity, 3 * GiB);
  await f.provider.unbind([v.id], 'esx1');
  const w = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  f.array.lds.delete(w.ld);
  await assert.rejects(f.provider.deleteVvol(w.id), rejectsWith('KURA-E3044', 'The specified LD does not exist.'));
  await assert.rejects(f.provider.deleteVvol(w.id), rejectsWith('KURA-E3043'), 'the record went with it');
  const r = await f.provider.deleteVvol(v.id);
  assert.equal(r.task, null);
  assert.equal(f.array.ld(v.ld), undefined);
  assert.deepEqual(f.provider.queryVvols(), []);
  assert.deepEqual(
    f.provider.getEvents().map((e) => e.id),
    ['KURA-I3020', 'KURA-I3040', 'KURA-I3100', 'KURA-I3042', 'KURA-I3101', 'KURA-I3040', 'KURA-I3041'],
  );
});

test('the array does not answer a query: the seed message (VVM L1970)', async (t) => {
  const f = fixture(t);
  f.array.failNext.set('listPools', new Error('the array agent timed out'));
  assert.throws(() => f.provider.listContainers(), rejectsWith('KURA-E3057', 'Failed to get information from the disk array.'));
  f.array.failNext.set('listPools', new Error('the array agent timed out'));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' }), rejectsWith('KURA-E3057'));
  assert.equal(f.provider.listContainers().length > 0, true, 'the next query is answered');
});
