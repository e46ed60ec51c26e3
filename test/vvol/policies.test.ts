// Storage policies applied to VVOLs: the datastore's rules, I/O control (limits
// on the LD), backup volumes and their generations, and resizing with backup
// volumes; every refusal in the seed's words (VVM L1879, L1896, L1905, L1911,
// L1922, L1926, L1949, L1956, L1990, L2003, L2058, L2116).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GiB, fixture, rejectsWith, succeeded } from './fixture.js';

test('policy CRUD; a policy in use is not deleted', async (t) => {
  const f = fixture(t);
  const p = await f.provider.createPolicy({ name: 'gold', raid: 'RAID1', iopsUpper: 1000, iopsLower: 100 });
  assert.deepEqual(p.io, { upper: 1000, lower: 100 });
  await assert.rejects(f.provider.createPolicy({ name: 'gold' }), rejectsWith('KURA-E3251'));
  assert.deepEqual(
    f.provider.listPolicies().map((x) => x.name),
    ['gold'],
  );
  assert.deepEqual(
    f.provider.capabilities().map((c) => [c.namespace, c.category]),
    ['PD Type', 'RAID', 'Security', 'Backup', 'I/O Control'].map((c) => ['com.nec.jp.ism.vasaprovider', c]),
  );
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1', policy: 'gold' })).vvol;
  assert.equal(v.policy, 'gold');
  assert.deepEqual(f.array.ioLimits(v.ld), { upper: 1000, lower: 100 }, 'the policy limits are set on the LD');
  await assert.rejects(f.provider.deletePolicy('gold'), rejectsWith('KURA-E3262'));
  await f.provider.setVvolPolicy(v.id, null);
  assert.deepEqual(f.array.ioLimits(v.ld), { upper: 0, lower: 0 }, 'and cleared with it');
  await f.provider.deletePolicy('gold');
  assert.throws(() => f.provider.getPolicy('gold'), rejectsWith('KURA-E3252'));
});

test('a container that does not satisfy the policy is refused in the seed words (VVM L2058, L1905, L1922, L1911, L1926)', async (t) => {
  const f = fixture(t);
  await f.provider.createPolicy({ name: 'r10', raid: 'RAID10' });
  await f.provider.createPolicy({ name: 'enc', encryption: true });
  await f.provider.createPolicy({ name: 'ssd', pdType: 'SSD' });
  await f.provider.createPolicy({ name: 'io', iopsUpper: 500 });
  await f.provider.createPolicy({ name: 'bk', backup: { generations: 1 } });
  const create = (policy: string) => f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1', policy });
  await assert.rejects(
    create('r10'),
    rejectsWith(
      'KURA-E3259',
      'The specified datastore does not satisfy the rule(RAID) in the storage policy for the virtual machines. The value of the datastore\'s capability is "RAID1" while the value in the storage policy for the virtual machines is "RAID10."',
    ),
  );
  await assert.rejects(
    create('enc'),
    rejectsWith(
      'KURA-E3259',
      'The specified datastore does not satisfy the rule(Specify Encrypt PD) in the storage policy for the virtual machines. The value of the datastore\'s capability is "No" while the value in the storage policy for the virtual machines is "Yes."',
    ),
  );
  await assert.rejects(
    create('ssd'),
    rejectsWith(
      'KURA-E3259',
      'The specified datastore does not satisfy the rule(Physical Disk Type) in the storage policy for the virtual machines. The value of the datastore\'s capability is "FILE" while the value in the storage policy for the virtual machines is "SSD."',
    ),
  );
  f.array.licenses.delete('IOLoadManager');
  await assert.rejects(create('io'), rejectsWith('KURA-E3256', 'Failed to apply the storage policy because the license for I/O Load Manager is locked.'));
  f.array.licenses.add('IOLoadManager');
  f.array.pools.get(f.sc0)!.qosMode = 'off';
  await assert.rejects(
    create('io'),
    rejectsWith('KURA-E3255', 'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.'),
  );
  f.array.pools.get(f.sc0)!.qosMode = 'on';
  await assert.rejects(create('bk'), rejectsWith('KURA-E3258', 'Failed to apply the storage policy because no pool for backup exists.'));
  const before = f.array.lds.size;
  f.array.failNext.set('setIoLimits', new Error('the system volume is missing'));
  await assert.rejects(create('io'), rejectsWith('KURA-E3257', 'Failed to apply the storage policy due to I/O control configuration error.'));
  assert.equal(f.array.lds.size, before, 'the VVOL is not left behind');
  assert.equal(f.provider.queryVvols().length, 0);
  // The same rules as compliance results of the container.
  const c = f.provider.containerCompliance('sc0', 'r10');
  assert.deepEqual(
    c.map((x) => [x.rule, x.compliant]),
    [['RAID', false]],
  );
  f.array.pools.get(f.sc0)!.raid = 'RAID10';
  assert.ok(f.provider.containerCompliance('sc0', 'r10').every((x) => x.compliant));
});

test('backup policy: backup volumes per generation in vvolbackup pools; fewer generations refused; manual deletion (VVM L1144-L1160, L1879, L2003, L2116)', async (t) => {
  const f = fixture(t);
  const bk0 = f.array.addPool('vvolbackup0');
  f.array.addPool('VVOLBACKUP9'); // upper case: not a backup pool (VVM L1162)
  await f.provider.createPolicy({ name: 'bk1', backup: { generations: 1 } });
  await f.provider.createPolicy({ name: 'bk2', backup: { generations: 2, autoDelete: true } });
  await f.provider.createPolicy({ name: 'none' });

  const { vvol, warnings } = await f.provider.createVvol({ container: 'sc0', type: 'data', size: 2 * GiB, vm: 'vm1', policy: 'bk2' });
  assert.deepEqual(warnings, [{ id: 'KURA-W3001', text: 'The disk array has only one pool for backup.' }]);
  assert.deepEqual(
    vvol.backups.map((b) => [b.pool, b.generation]),
    [
      [bk0, 1],
      [bk0, 2],
    ],
  );
  for (const b of vvol.backups) assert.deepEqual([f.array.ld(b.ld)!.capacity, f.array.ld(b.ld)!.vmwareType], [2 * GiB, 'vmdk-VVOL']);
  const swap = (await f.provider.createVvol({ container: 'sc0', type: 'swap', size: GiB, vm: 'vm1', policy: 'bk2' })).vvol;
  assert.deepEqual(swap.backups, [], 'swap VVOLs are not backed up (VVM L1547)');
  assert.ok(f.provider.vvolCompliance(vvol.id).every((r) => r.compliant));

  const fewer = "You cannot delete a virtual machine's backup volume only by applying a new backup policy.";
  await assert.rejects(f.provider.setVvolPolicy(vvol.id, 'bk1'), rejectsWith('KURA-E3260', fewer));
  await assert.rejects(f.provider.setVvolPolicy(vvol.id, 'none'), rejectsWith('KURA-E3260', fewer));
  // An operator deletes one backup volume by hand: only a policy matching what is left applies.
  f.array.lds.delete(vvol.backups[1]!.ld);
  assert.equal(
    f.provider.vvolCompliance(vvol.id).find((r) => r.rule === 'Backup')!.message,
    "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.",
  );
  await assert.rejects(
    f.provider.setVvolPolicy(vvol.id, 'bk2'),
    rejectsWith(
      'KURA-E3261',
      "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.",
    ),
  );
  const r = await f.provider.setVvolPolicy(vvol.id, 'bk1');
  assert.deepEqual(
    r.vvol.backups.map((b) => b.generation),
    [1],
  );
  // To increase the generations, apply the policy again (VVM L1160); with two backup pools they are spread.
  const bk1 = f.array.addPool('vvolbackup1');
  const up = await f.provider.setVvolPolicy(vvol.id, 'bk2');
  assert.deepEqual(
    up.vvol.backups.map((b) => [b.pool, b.generation]),
    [
      [bk0, 1],
      [bk1, 2],
    ],
  );
  assert.deepEqual(up.warnings, []);
  // Automatic deletion of backup volumes with the VM (VVM L1101-L1103).
  const backups = up.vvol.backups.map((b) => b.ld);
  await f.provider.deleteVvol(vvol.id);
  for (const ld of backups) assert.equal(f.array.ld(ld), undefined);
  // Without it they are kept, and the caller is told.
  const kept = (await f.provider.createVvol({ container: 'sc0', type: 'config', size: GiB, vm: 'vm2', policy: 'bk1' })).vvol;
  const del = await f.provider.deleteVvol(kept.id);
  assert.equal(del.warnings[0]!.id, 'KURA-W3003');
  assert.ok(f.array.ld(kept.backups[0]!.ld));
});

test('backup policy on a linked clone: no backup volume, the seed alarm (VVM L1172-L1174, L1896)', async (t) => {
  const f = fixture(t);
  f.array.addPool('vvolbackup0');
  await f.provider.createPolicy({ name: 'bk1', backup: { generations: 1 } });
  const src = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  const { vvol } = await succeeded<{ vvol: string }>(f, f.provider.fastClone(src.id, { vm: 'vm2' }));
  const r = await f.provider.setVvolPolicy(vvol, 'bk1');
  assert.deepEqual(r.warnings, [{ id: 'KURA-W3002', text: 'Backup can not be done for linked clones.' }]);
  assert.deepEqual(r.vvol.backups, []);
  assert.equal(f.provider.getAlarms().at(-1)!.text, 'Backup can not be done for linked clones.');
  assert.equal(f.provider.vvolCompliance(vvol).find((x) => x.rule === 'Backup')!.message, 'Backup can not be done for linked clones.');
});

test('resize with backup volumes: backups first, the seed messages when a step fails (VVM L1949, L1956, L1990)', async (t) => {
  const f = fixture(t);
  f.array.addPool('vvolbackup0');
  f.array.addPool('vvolbackup1');
  await f.provider.createPolicy({ name: 'bk2', backup: { generations: 2 } });
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: 2 * GiB, vm: 'vm1', policy: 'bk2' })).vvol;
  const [b1, b2] = v.backups.map((b) => b.ld) as [number, number];

  // The second backup volume fails: the first has grown, the VVOL has not.
  let calls = 0;
  const orig = f.array.resizeLd.bind(f.array);
  f.array.resizeLd = async (n, size) => {
    if (++calls === 2) throw new Error('pool busy');
    return orig(n, size);
  };
  await assert.rejects(
    f.provider.resizeVvol(v.id, 3 * GiB),
    rejectsWith('KURA-E3052', `Failed to expand the second backup volume(backup volume:${b2.toString(16).padStart(4, '0')}, capacity:3072).`),
  );
  assert.deepEqual([f.array.ld(b1)!.capacity, f.array.ld(b2)!.capacity, f.array.ld(v.ld)!.capacity], [3 * GiB, 2 * GiB, 2 * GiB]);
  // Both backups grow, the VVOL does not.
  calls = 0;
  f.array.resizeLd = async (n, size) => {
    if (++calls === 3) throw new Error('pool busy');
    return orig(n, size);
  };
  await assert.rejects(
    f.provider.resizeVvol(v.id, 4 * GiB),
    rejectsWith('KURA-E3051', 'Failed to expand the volume(But had succeed in expanding backup volume. Target capacity:4096).'),
  );
  f.array.resizeLd = orig;
  // A backup volume now larger than a smaller target.
  await assert.rejects(
    f.provider.resizeVvol(v.id, 3 * GiB),
    rejectsWith('KURA-E3053', 'Failed to expand the backup volume because the target capacity(3072) is less than the present one(4096).'),
  );
  const ok = await f.provider.resizeVvol(v.id, 4 * GiB);
  assert.deepEqual([ok.size, f.array.ld(v.ld)!.capacity, f.array.ld(b2)!.capacity], [4 * GiB, 4 * GiB, 4 * GiB]);
});
