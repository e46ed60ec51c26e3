// Extended snapshots (EBV/ESV), fast clones (FEV/FCV), the SSV and licences on the array.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { checkDataDir } from '../../src/block/check.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

function rejectsWith(id: string) {
  return (e: unknown) => e instanceof KuraError && e.id === id;
}

async function ready(t: { after(fn: () => void): void }): Promise<{ a: KuraArray; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ds-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'p', size: 8 * GiB, raid: 'RAID0', pds: 1 });
  await a.lds.createLd({ name: 'vol', pool: 'p', size: 64 * MiB });
  return { a, dir };
}

test('snapshots and clones need their licences and an SSV', async (t) => {
  const { a } = await ready(t);
  await assert.rejects(a.snapshots.createSnapshot('vol'), rejectsWith('KURA-E2061'));
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await a.licenses.unlockLicense('volumeclone');
  await assert.rejects(a.snapshots.createSnapshot('vol'), rejectsWith('KURA-E2034'));
  await assert.rejects(a.licenses.unlockLicense('Nope'), rejectsWith('KURA-E2060'));
  const ssv = await a.lds.createLd({ name: 'ssv', pool: 'p', size: 1, attr: 'ssv' });
  assert.equal(ssv.capacity, 4 * GiB);
  assert.equal(ssv.allocated, 4 * GiB, 'the SSV is physically allocated');
  assert.equal(ssv.purpose, 'Solution Reserved Volume');
  await assert.rejects(a.lds.createLd({ name: 'ssv2', pool: 'p', size: 1, attr: 'ssv' }), rejectsWith('KURA-E2033'));
  const s = await a.snapshots.createSnapshot('vol', 'first');
  assert.equal(s.generation, 1);
  await assert.rejects(a.lds.deleteLd('ssv'), rejectsWith('KURA-E2038'));
  await a.close();
});

test('snapshot generations: read old data, restore, delete, delete-oldest, 256 limit, attributes', async (t) => {
  const { a, dir } = await ready(t);
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  const vol = a.frontEnd.exports().open('vol')!;
  const v1 = crypto.randomBytes(2 * MiB);
  await vol.write(0, v1);
  await a.snapshots.createSnapshot('vol', 's1');
  const v2 = crypto.randomBytes(MiB);
  await vol.write(512, v2);
  await a.snapshots.createSnapshot('vol', 's2');
  await vol.write(0, Buffer.alloc(4 * MiB, 0xee));
  const s1 = a.frontEnd.exports().open('vol@s1')!;
  assert.equal(s1.readOnly, true);
  assert.deepEqual(await s1.read(0, 4096), v1);
  const expect2 = Buffer.from(v1);
  v2.copy(expect2, 512 * 512);
  assert.deepEqual(await a.frontEnd.exports().open('vol@s2')!.read(0, 4096), expect2);
  assert.equal(a.lds.getLd('vol').snapshotAttribute, 'EBV');
  assert.equal(a.lds.getLd('vol@s1').snapshotAttribute, 'ESV');
  assert.equal(a.lds.getLd('vol').purpose, 'Snapshot');
  assert.deepEqual(
    a.snapshots.listSnapshots('vol').map((x) => [x.name, x.generation, x.state]),
    [
      ['s1', 1, 'active'],
      ['s2', 2, 'active'],
    ],
  );
  await assert.rejects(a.snapshots.createSnapshot('vol', 's1'), rejectsWith('KURA-E2075'));
  await assert.rejects(a.lds.deleteLd('vol'), rejectsWith('KURA-E2037'));
  await assert.rejects(a.lds.deleteLd('vol@s1'), rejectsWith('KURA-E2035'));

  await a.snapshots.restoreSnapshot('vol', 's1');
  assert.deepEqual(await vol.read(0, 4096), v1);
  assert.deepEqual(await vol.read(4096, 4096), Buffer.alloc(2 * MiB), 'what was written after s1 is gone');

  // Fill to 256 generations, then the 257th is refused.
  for (let g = 3; g <= 256; g++) await a.snapshots.createSnapshot('vol');
  assert.equal(a.snapshots.listSnapshots('vol').length, 256);
  await assert.rejects(a.snapshots.createSnapshot('vol'), rejectsWith('KURA-E2072'));
  const gone = await a.snapshots.deleteOldestSnapshots('vol', 10);
  assert.deepEqual(
    gone.map((g) => g.generation),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(a.snapshots.listSnapshots('vol').length, 246);
  await a.snapshots.deleteSnapshot('vol', 'gen11');
  await a.snapshots.deleteOldestSnapshots('vol', 1000);
  assert.equal(a.lds.getLd('vol').snapshotAttribute, '---');
  await a.close();
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('fast clones: independent, chains up to 64 layers, FCV deletion needs --fcvforce, FEV rules', async (t) => {
  const { a, dir } = await ready(t);
  await a.licenses.unlockLicense('VolumeClone');
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  const usedBefore = a.pools.getPool('p').used;
  const vol = a.frontEnd.exports().open('vol')!;
  await vol.write(0, Buffer.alloc(MiB, 1));
  const c = await a.clones.createClone('vol', 'c1');
  assert.equal(c.cloneAttribute, 'FCV');
  assert.equal(a.lds.getLd('vol').cloneAttribute, 'FEV');
  const c1 = a.frontEnd.exports().open('c1')!;
  await c1.write(0, Buffer.alloc(4096, 2));
  assert.equal((await vol.read(0, 1))[0], 1);
  assert.equal((await c1.read(0, 1))[0], 2);
  await assert.rejects(a.lds.deleteLd('vol'), rejectsWith('KURA-E2080'));
  await assert.rejects(a.lds.deleteLd('c1'), rejectsWith('KURA-E2036'));

  // A snapshot is the first layer; clones of it and of clones continue to layer 64.
  await a.snapshots.createSnapshot('vol', 'base');
  let src = 'vol@base';
  for (let layer = 2; layer <= 64; layer++) {
    await a.clones.createClone(src, `L${layer}`);
    const d = a.frontEnd.exports().open(`L${layer}`)!;
    await d.write(layer * 8, Buffer.alloc(4096, layer));
    src = `L${layer}`;
  }
  await assert.rejects(a.clones.createClone(src, 'L65'), rejectsWith('KURA-E2073'));
  const last = await a.frontEnd
    .exports()
    .open('L64')!
    .read(0, 65 * 8);
  assert.equal(last[0], 1);
  for (let layer = 2; layer <= 64; layer++) assert.equal(last[layer * 8 * 512], layer, `layer ${layer}`);

  for (let layer = 64; layer >= 2; layer--) await a.lds.deleteLd(`L${layer}`, { fcvforce: true });
  await a.snapshots.deleteSnapshot('vol', 'base');
  await a.lds.deleteLd('c1', { fcvforce: true });
  assert.equal(a.lds.getLd('vol').cloneAttribute, '---');
  await a.lds.deleteLd('vol');
  await a.flush();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.pools.getPool('p').used, usedBefore - 0, 'every chunk but the SSV returned');
  await a.close();
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('I/O control: licence, ranges, upper above lower, not on an ESV, pool defaults, persisted', async (t) => {
  const { a, dir } = await ready(t);
  await assert.rejects(a.qos.setQos('vol', { upper: 100 }), rejectsWith('KURA-E2061'));
  await a.licenses.unlockLicense('IOLoadManager');
  await assert.rejects(a.qos.setQos('vol', { upper: 5 }), rejectsWith('KURA-E2090'));
  await assert.rejects(a.qos.setQos('vol', { upper: 2_000_000 }), rejectsWith('KURA-E2090'));
  await assert.rejects(a.qos.setQos('vol', { upper: 100, lower: 100 }), rejectsWith('KURA-E2091'));
  assert.deepEqual((await a.qos.setQos('vol', { upper: 1000, lower: 200 })).qos, { upper: 1000, lower: 200 });
  assert.deepEqual((await a.qos.setQos('vol', { lower: 0 })).qos, { upper: 1000, lower: 0 });
  await a.qos.setPoolQosDefaults('p', { upper: 5000, lower: 50 });
  assert.deepEqual((await a.lds.createLd({ name: 'newer', pool: 'p', size: MiB })).qos, { upper: 5000, lower: 50 });
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  await a.snapshots.createSnapshot('vol', 's');
  await assert.rejects(a.qos.setQos('vol@s', { upper: 100 }), rejectsWith('KURA-E2092'));
  await a.close();
  const b = await KuraArray.open({ dataDir: dir });
  assert.deepEqual(b.lds.getLd('vol').qos, { upper: 1000, lower: 0 });
  assert.deepEqual(b.pools.getPool('p').qosDefaults, { upper: 5000, lower: 50 });
  assert.equal(b.qosScheduler.active, true);
  await b.close();
});
