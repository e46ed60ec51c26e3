// Every seed message the provider can give is the seed's text, word for word:
// each message function called with the seed's placeholders (<aaa...a>, ...)
// must give the text of its lines in the seed (VVM, ../shared/seeds/
// virtual-volume-manual.txt; lines joined with one space). The table is the
// seed's text copied here, so the test runs without the seed; where the seed
// file is at hand it is also compared with the table. The other tests provoke
// each message through the provider.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as M from '../../src/vvol/messages.js';
import { fixture, rejectsWith } from './fixture.js';

const a = '<aaa...a>';
const b = '<bbb...b>';
const c = '<ccc...c>';
// Numbers in the seed's templates are placeholders too.
const n = (s: string): number => s as unknown as number;

const TABLE: Array<[lines: [number, number], produced: string, seed: string]> = [
  [
    [204, 205],
    M.containerHoldsLds('p', 1).message,
    'Before deleting the Storage Container, all logical disks created in the target Storage Container must be deleted.',
  ],
  [[265, 265], M.peNeedsContainer('p').message, 'Create a Protocol Endpoint in a pool created as a Storage Container.'],
  [[282, 282], M.tooManyPes().message, 'Up to eight Protocol Endpoints can be created in a single disk array unit.'],
  [
    [307, 308],
    M.peHasBindings('pe', 1).message,
    'Before deleting a created Protocol Endpoint, be sure to stop all virtual machines that use VVOLs in the disk array.',
  ],
  [
    [1879, 1880],
    M.backupCountMismatch().message,
    "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.",
  ],
  [[1896, 1896], M.linkedCloneBackupWarning().text, 'Backup can not be done for linked clones.'],
  [[1905, 1906], M.ioControlModeOff().message, 'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.'],
  [[1911, 1911], M.noBackupPool().message, 'Failed to apply the storage policy because no pool for backup exists.'],
  [[1916, 1917], M.lowerAboveUpper().message, 'Failed to apply the storage policy because the I/O Lower Limit is larger than the I/O Upper Limit.'],
  [[1922, 1923], M.licenseIoLoadManager().message, 'Failed to apply the storage policy because the license for I/O Load Manager is locked.'],
  [[1926, 1926], M.ioControlFailed('x').message, 'Failed to apply the storage policy due to I/O control configuration error.'],
  [[1932, 1932], M.bindFailed('x').message, 'Failed to bind PE and VVOL.'],
  [
    [1949, 1950],
    M.expandFailedAfterBackup(n(a)).message,
    'Failed to expand the volume(But had succeed in expanding backup volume. Target capacity:<aaa...a>).',
  ],
  [[1956, 1957], M.secondBackupExpandFailed(n(a), n(b)).message, 'Failed to expand the second backup volume(backup volume:<aaa...a>, capacity:<bbb...b>).'],
  [[1965, 1965], M.resizeWhileReplicated().message, 'Failed to expand the specified volume because the volume is being replicated.'],
  [[1970, 1970], M.arrayInfoFailed('x').message, 'Failed to get information from the disk array.'],
  [[1975, 1975], M.bitmapFailed('x').message, 'Failed to get the information (bitmap) on the specified VVOLs.'],
  [[1980, 1980], M.unbindFailed('x').message, 'Failed to unbind PE and VVOL.'],
  [[1985, 1985], M.metadataWriteFailed('x').message, 'Failed to write metadata to the VVOL.'],
  [
    [1990, 1991],
    M.backupLargerThanTarget(n(a), n(b)).message,
    'Failed to expand the backup volume because the target capacity(<aaa...a>) is less than the present one(<bbb...b>).',
  ],
  [[1997, 1997], M.insufficientPoolSpace().message, 'Insufficient pool space.'],
  [[2000, 2000], M.noSsv().message, 'No SSV is created.'],
  [[2003, 2003], M.oneBackupPoolWarning().text, 'The disk array has only one pool for backup.'],
  [[2019, 2019], M.licenseReplication().message, 'The license for DynamicDataReplication is locked.'],
  [[2022, 2022], M.licenseSnapshot().message, 'The license for snapshot is locked.'],
  [[2025, 2025], M.licenseVirtualVolume().message, 'The license for Virtual Volume is locked.'],
  [[2028, 2028], M.licenseVolumeClone().message, 'The license for Volume Clone is locked.'],
  [[2042, 2042], M.tooManyLayers().message, 'The number of volume layers has reached the upper limit.'],
  [[2046, 2047], M.deletingSnapshots().message, 'The process cannot run on the virtual machine because the disk array is deleting snapshots.'],
  [[2051, 2051], M.noSuchVvol(a).message, 'The specified <aaa...a> does not exist.'],
  [
    [2058, 2060],
    M.datastoreRule(a, b, c).message,
    'The specified datastore does not satisfy the rule(<aaa...a>) in the storage policy for the virtual machines. The value of the datastore\'s capability is "<bbb...b>" while the value in the storage policy for the virtual machines is "<ccc...c>."',
  ],
  [[2072, 2072], M.ldMissing().message, 'The specified LD does not exist.'],
  [[2078, 2078], M.poolNoSnapshot().message, 'The specified pool does not support this function (DynamicSnapVolume).'],
  [[2082, 2082], M.poolNoClone().message, 'The specified pool does not support this function (Volume Clone).'],
  [[2092, 2092], M.tooLarge().message, 'The volume capacity over 10TB is not supported.'],
  [
    [2097, 2099],
    M.sizeRaisedWarning(a, b).text,
    'The volume size you have specified (<aaa...a>MB) is less than 1 GB. But the volume (<bbb...b>) is created with 1 GB in the disk array because a volume requires at least 1 GB.',
  ],
  [[2105, 2106], M.tooManyFcvs().message, 'You cannot create any more FCV because the number of FCVs of the specified FEV has reached the upper limit.'],
  [[2110, 2111], M.tooManySnapshots().message, 'You cannot create any more snapshot because the number of snapshots is limited to 256 per virtual machine.'],
  [[2116, 2117], M.fewerGenerations().message, "You cannot delete a virtual machine's backup volume only by applying a new backup policy."],
];

test('the provider gives the seed messages word for word', () => {
  for (const [[from], produced, seed] of TABLE) assert.equal(produced, seed, `VVM L${from}`);
  // Where the seed is at hand (the repository's sibling ../shared/seeds), the table is its text.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const file = path.resolve(root, '../shared/seeds/virtual-volume-manual.txt');
  if (!fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [[from, to], , seed] of TABLE) {
    assert.equal(
      lines
        .slice(from - 1, to)
        .map((l) => l.trim())
        .join(' '),
      seed,
      `VVM L${from}-L${to}`,
    );
  }
});

test('an array that does not answer gives the seed message (VVM L1970)', async (t) => {
  const f = fixture(t);
  f.array.failNext.set('listPools', new Error('connection refused'));
  assert.throws(() => f.provider.listContainers(), rejectsWith('KURA-E3057', 'Failed to get information from the disk array.'));
  f.array.failNext.set('listPools', new Error('connection refused'));
  await assert.rejects(f.provider.createVvol({ container: 'sc0', type: 'data', size: 2 ** 30, vm: 'vm1' }), rejectsWith('KURA-E3057'));
});
