// Identifier forms (VVM L804-L828) and storage-policy validation (VVM 3.9).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerId, ldOfPeId, ldOfVvolId, peId, poolOfContainerId, vvolId } from '../../src/vvol/ids.js';
import { containerCompliance, makePolicy, vvolCompliance, type ContainerProfile } from '../../src/vvol/policy.js';
import { rejectsWith } from './fixture.js';

// The seed's example LD names are WWN + LD number: 2000000991007777 + 0001 (VVM L711).
const WWN = '2000000991007777';

test('ids: container, VVOL and PE forms are made from the WWN as the seed says', () => {
  // x: 5th to 10th digits ("000991"), y: last 12 ("000991007777"), z: pool / LD number.
  assert.equal(containerId(WWN, 1), 'vvol:6000991000000000-0009910077770001');
  assert.equal(vvolId(WWN, 0x2a), 'naa.6000991000000000000991007777002a');
  assert.equal(peId(WWN, 0x400), 'eui.0009910077770400');
  assert.equal(vvolId(WWN, 1).length, 'naa.'.length + 32);
  assert.equal(poolOfContainerId(WWN, 'vvol:6000991000000000-000991007777000A'), 10, 'hex digits read in either case');
  assert.equal(ldOfVvolId(WWN, vvolId(WWN, 0xffff)), 0xffff);
  assert.equal(ldOfPeId(WWN, 'EUI.0009910077770400'), 0x400);
  assert.equal(ldOfVvolId('2000000991008888', vvolId(WWN, 1)), undefined, 'another array');
  assert.equal(ldOfPeId(WWN, 'naa.6000991000000000000991007777002a'), undefined);
  assert.throws(() => vvolId('123', 1), rejectsWith('KURA-E3001'));
  assert.throws(() => vvolId(WWN, 0x10000), rejectsWith('KURA-E3002'));
});

test('policy: capabilities are checked; the I/O lower limit must be below the upper (VVM L1204-L1209, L1916)', () => {
  const now = '2026-01-01T00:00:00.000Z';
  const p = makePolicy(
    { name: 'gold', raid: 'raid10', pdType: 'file', encryption: true, backup: { generations: 2, autoDelete: true }, iopsUpper: 1000, iopsLower: 10 },
    now,
  );
  assert.deepEqual(
    [p.raid, p.pdType, p.encryption, p.backup, p.io],
    ['RAID10', 'FILE', true, { enabled: true, autoDelete: true, generations: 2 }, { upper: 1000, lower: 10 }],
  );
  assert.throws(
    () => makePolicy({ name: 'x', iopsUpper: 100, iopsLower: 200 }, now),
    rejectsWith('KURA-E3254', 'Failed to apply the storage policy because the I/O Lower Limit is larger than the I/O Upper Limit.'),
  );
  assert.throws(() => makePolicy({ name: 'x', iopsUpper: 100, iopsLower: 100 }, now), rejectsWith('KURA-E3254'), 'lower must be less than upper (L1209)');
  for (const bad of [9, 1_000_001, 10.5]) assert.throws(() => makePolicy({ name: 'x', iopsUpper: bad }, now), rejectsWith('KURA-E3253'));
  assert.equal(makePolicy({ name: 'x', iopsUpper: 1_000_000, iopsLower: 999_999 }, now).io?.upper, 1_000_000);
  for (const g of [0, 3]) assert.throws(() => makePolicy({ name: 'x', backup: { generations: g } }, now), rejectsWith('KURA-E3253'));
  assert.throws(() => makePolicy({ name: 'x', raid: 'RAID5' }, now), rejectsWith('KURA-E3253'));
  assert.throws(() => makePolicy({ name: '..' }, now), rejectsWith('KURA-E4030'));
  assert.throws(() => makePolicy({ name: 'a b' }, now), rejectsWith('KURA-E3250'));
});

test('policy: compliance of a container and of a VVOL speaks in the seed messages (VVM L2058, L1905, L1911, L1879, L1896)', () => {
  const now = '2026-01-01T00:00:00.000Z';
  const p = makePolicy({ name: 'gold', raid: 'RAID10', encryption: true, backup: { generations: 1 }, iopsUpper: 500 }, now);
  const profile: ContainerProfile = { pdType: 'FILE', raid: 'RAID1', encryption: false, ioControl: false, backup: false };
  const r = containerCompliance(p, profile);
  assert.deepEqual(
    r.map((x) => [x.rule, x.compliant]),
    [
      ['RAID', false],
      ['Specify Encrypt PD', false],
      ['I/O Control', false],
      ['Backup', false],
    ],
  );
  assert.equal(
    r[0]!.message,
    'The specified datastore does not satisfy the rule(RAID) in the storage policy for the virtual machines. The value of the datastore\'s capability is "RAID1" while the value in the storage policy for the virtual machines is "RAID10."',
  );
  assert.equal(
    r[1]!.message,
    'The specified datastore does not satisfy the rule(Specify Encrypt PD) in the storage policy for the virtual machines. The value of the datastore\'s capability is "No" while the value in the storage policy for the virtual machines is "Yes."',
  );
  assert.equal(r[2]!.message, 'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.');
  assert.equal(r[3]!.message, 'Failed to apply the storage policy because no pool for backup exists.');
  const good: ContainerProfile = { pdType: 'FILE', raid: 'RAID10', encryption: true, ioControl: true, backup: true };
  assert.ok(containerCompliance(p, good).every((x) => x.compliant));
  const v = vvolCompliance(p, good, { io: { upper: 0, lower: 0 }, backups: 0, backup: 'applies' });
  assert.deepEqual(
    v.filter((x) => !x.compliant).map((x) => x.rule),
    ['I/O Control', 'Backup'],
  );
  assert.equal(
    v.find((x) => x.rule === 'Backup')!.message,
    "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.",
  );
  assert.equal(
    vvolCompliance(p, good, { io: { upper: 500, lower: 0 }, backups: 0, backup: 'linked-clone' }).find((x) => x.rule === 'Backup')!.message,
    'Backup can not be done for linked clones.',
  );
  assert.ok(vvolCompliance(p, good, { io: { upper: 500, lower: 0 }, backups: 1, backup: 'applies' }).every((x) => x.compliant));
  assert.ok(
    vvolCompliance(p, good, { io: { upper: 500, lower: 0 }, backups: 0, backup: 'not-applicable' }).every((x) => x.compliant),
    'swap VVOLs are not backed up',
  );
});
