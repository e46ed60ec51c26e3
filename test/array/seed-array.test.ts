// Array rules as the seed's Virtual Volume manual (VVM, ../shared/seeds/
// virtual-volume-manual.txt; L = its line numbers) defines them: the SSV's
// licences, snapshots of snapshots, ESV access modes and status, pairs of ESVs
// and expansion of paired LDs, the per-LD lock, the pool's I/O control mode and
// the I/O limits of new clones.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray, MAX_LAYERS } from '../../src/array/array.js';
import { checkDataDir } from '../../src/block/check.js';
import { KuraError } from '../../src/errors.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function rejectsWith(id: string, text?: RegExp) {
  return (e: unknown) => {
    if (!(e instanceof KuraError)) throw e;
    assert.equal(e.id, id, `${e.id}: ${e.message}`);
    if (text) assert.match(e.message, text);
    return true;
  };
}

type After = { after(fn: () => void | Promise<void>): void };

/** A new array with a pool `p` (sparse PDs, so 8 GiB cost nothing); closed and removed after the test. */
async function array(
  t: After,
  opts: { licences?: string[]; ssv?: boolean; chunk?: number } = {},
): Promise<{ a: KuraArray; dir: string; reopen(): Promise<KuraArray> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-seed-'));
  const box = { a: await KuraArray.open({ dataDir: dir }) };
  t.after(async () => {
    // A test may have closed it already.
    await box.a.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await box.a.pools.createPool({ name: 'p', size: 8 * GiB, raid: 'RAID0', pds: 1, chunkSize: opts.chunk });
  for (const l of opts.licences ?? []) await box.a.licenses.unlockLicense(l);
  if (opts.ssv) await box.a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  return {
    get a() {
      return box.a;
    },
    dir,
    async reopen() {
      await box.a.close();
      box.a = await KuraArray.open({ dataDir: dir });
      return box.a;
    },
  };
}

test('SSV (L239): refused while VolumeClone and DynamicSnapVolume are both locked; either one suffices; shown as fully allocated', async (t) => {
  const { a } = await array(t);
  await assert.rejects(a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' }), rejectsWith('KURA-E2600', /VolumeClone or DynamicSnapVolume/));
  assert.equal(a.lds.listLds().length, 0, 'nothing was created');
  assert.equal(a.pools.getPool('p').used, 0, 'no space was taken');
  await a.licenses.unlockLicense('VolumeClone');
  const ssv = await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  assert.equal(ssv.allocated, ssv.capacity);
  assert.equal(ssv.capacityAllocation, 'actual', 'the SSV is thick: not a virtual allocation');
  await a.lds.createLd({ name: 'thin', pool: 'p', size: 64 * MiB });
  assert.equal(a.lds.getLd('thin').capacityAllocation, 'virtual');

  const other = await array(t, { licences: ['DynamicSnapVolume'] });
  const s2 = await other.a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  assert.equal(s2.capacityAllocation, 'actual');
});

test('snapshot of a snapshot (L1079-1081): allowed, reads its own generation, 64 layers at most, the inner snapshot cannot go first', async (t) => {
  const { a, dir } = await array(t, { licences: ['DynamicSnapVolume'], ssv: true });
  await a.lds.createLd({ name: 'vol', pool: 'p', size: 8 * MiB });
  const vol = a.frontEnd.exports().open('vol')!;
  const d1 = crypto.randomBytes(MiB);
  await vol.write(0, d1);
  const s1 = await a.snapshots.createSnapshot('vol', 's1');
  await vol.write(0, Buffer.alloc(MiB, 7));
  // A snapshot of the snapshot: the ESV becomes the base (EBV) of its own generations.
  const ss = await a.snapshots.createSnapshot(s1.ld, 'inner');
  assert.equal(ss.ld, 'vol@s1@inner');
  assert.deepEqual(
    await a.frontEnd
      .exports()
      .open(ss.ld)!
      .read(0, MiB / 512),
    d1,
    'the snapshot of the snapshot holds the first generation',
  );
  assert.equal(a.lds.getLd(s1.ld).snapshotAttribute, 'ESV');
  assert.deepEqual(
    a.snapshots.listSnapshots(s1.ld).map((s) => s.name),
    ['inner'],
  );
  // The inner snapshot's base cannot be deleted before it.
  await assert.rejects(a.snapshots.deleteSnapshot('vol', 's1'), rejectsWith('KURA-E2601', /inner/));

  // Layers: vol@s1 is layer 1, vol@s1@inner layer 2; a chain reaches MAX_LAYERS and stops there.
  let top = ss.ld;
  for (let layer = 3; layer <= MAX_LAYERS; layer++) top = (await a.snapshots.createSnapshot(top, `l${layer}`)).ld;
  await assert.rejects(a.snapshots.createSnapshot(top, 'over'), rejectsWith('KURA-E2073'));
  await a.snapshots.deleteSnapshot(top.slice(0, top.lastIndexOf('@')), top.slice(top.lastIndexOf('@') + 1));
  await a.close();
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('ESV access mode (L1811-1816): set-access rw makes a snapshot writable without changing its base, kept across restarts; ro again refuses writes', async (t) => {
  const box = await array(t, { licences: ['DynamicSnapVolume'], ssv: true });
  let a = box.a;
  await a.lds.createLd({ name: 'vol', pool: 'p', size: 8 * MiB });
  const d1 = crypto.randomBytes(2 * MiB);
  await a.frontEnd.exports().open('vol')!.write(0, d1, { fua: true });
  await a.snapshots.createSnapshot('vol', 's1');
  await assert.rejects(a.snapshots.setSnapshotAccess('vol', 's1', 'nr'), rejectsWith('KURA-E2602'));
  const s = await a.snapshots.setSnapshotAccess('vol', 's1', 'rw');
  assert.equal(s.access, 'rw');
  assert.equal(a.lds.getLd('vol@s1').accessMode, 'ReadWrite');
  const esv = a.frontEnd.exports().open('vol@s1')!;
  assert.equal(esv.readOnly, false);
  const w = crypto.randomBytes(MiB);
  await esv.write(1024, w, { fua: true });
  assert.deepEqual(await a.frontEnd.exports().open('vol')!.read(0, 4096), d1, 'the base did not change');

  const events: string[] = [];
  a = await box.reopen();
  a.events.onEvent((e) => events.push(e.id));
  await new Promise((r) => setImmediate(r));
  assert.equal(a.lds.getLd('vol@s1').accessMode, 'ReadWrite', 'rw survives a restart');
  assert.deepEqual(
    a.snapshots.listSnapshots('vol').map((x) => x.access),
    ['rw'],
  );
  assert.ok(!events.includes('KURA-W2500'), 'an ESV made writable on purpose is not "corrected"');
  const after = await a.frontEnd
    .exports()
    .open('vol@s1')!
    .read(1024, MiB / 512);
  assert.deepEqual(after, w, 'the write to the ESV is kept');
  // A restore into a writable snapshot is allowed; into a read-only one it is refused.
  await a.snapshots.createSnapshot('vol@s1', 'inner');
  await a.snapshots.setSnapshotAccess('vol', 's1', 'ro');
  await assert.rejects(a.snapshots.restoreSnapshot('vol@s1', 'inner'), rejectsWith('KURA-E2603'));
  await assert.rejects(a.frontEnd.exports().open('vol@s1')!.write(0, Buffer.alloc(512)), (e: unknown) => e instanceof KuraError && e.code === 'EROFS');
  a = await box.reopen();
  assert.equal(a.lds.getLd('vol@s1').accessMode, 'ReadOnly', 'ro survives a restart');
});

/** Polls until the pair's copy is over (the state no longer ends in /exec); bounded by the test's own timeout. */
async function settled(a: KuraArray, mv: string, rv: string): Promise<void> {
  while (a.pairs.getPair(mv, rv).sync.endsWith('/exec')) await new Promise((r) => setTimeout(r, 5));
}

test('pairs (Table 4-1, L1257-1272): a snapshot (ESV) may be the MV, never the RV; a read-only ESV is not restored into', async (t) => {
  const { a } = await array(t, { licences: ['DynamicSnapVolume', 'DynamicDataReplication'], ssv: true });
  await a.lds.createLd({ name: 'vol', pool: 'p', size: 8 * MiB });
  await a.lds.createLd({ name: 'bk', pool: 'p', size: 8 * MiB });
  const d1 = crypto.randomBytes(3 * MiB);
  await a.frontEnd.exports().open('vol')!.write(0, d1, { fua: true });
  await a.snapshots.createSnapshot('vol', 's1');
  await a.frontEnd.exports().open('vol')!.write(0, Buffer.alloc(MiB, 1), { fua: true });
  await assert.rejects(a.pairs.createPair('bk', 'vol@s1'), rejectsWith('KURA-E2303', /vol@s1 is a snapshot \(ESV\) and cannot be an RV/));
  const p = await a.pairs.createPair('vol@s1', 'bk');
  assert.equal(p.mv, 'vol@s1');
  assert.equal(a.lds.getLd('vol@s1').rplAttribute, 'MV');
  await a.pairs.replicatePair('vol@s1', 'bk');
  await settled(a, 'vol@s1', 'bk');
  await a.pairs.separatePair('vol@s1', 'bk');
  assert.deepEqual(
    await a.frontEnd
      .exports()
      .open('bk')!
      .read(0, (3 * MiB) / 512),
    d1,
    "the RV holds the snapshot's data",
  );
  await assert.rejects(a.pairs.restorePair('vol@s1', 'bk'), rejectsWith('KURA-E2607'));
  await assert.rejects(a.snapshots.deleteSnapshot('vol', 's1'), rejectsWith('KURA-E2318'));
});

test("expanding a paired LD (L1965-1969): refused while replicating with the seed's message, allowed after separate on MV and RV; replicate needs equal sizes again", async (t) => {
  const { a, dir } = await array(t, { licences: ['DynamicDataReplication'] });
  await a.lds.createLd({ name: 'mv', pool: 'p', size: 8 * MiB });
  await a.lds.createLd({ name: 'rv', pool: 'p', size: 8 * MiB });
  await a.frontEnd
    .exports()
    .open('mv')!
    .write(0, crypto.randomBytes(2 * MiB), { fua: true });
  await a.pairs.createPair('mv', 'rv');
  await a.pairs.replicatePair('mv', 'rv');
  await settled(a, 'mv', 'rv');
  await assert.rejects(
    a.lds.expandLd('mv', 16 * MiB),
    rejectsWith('KURA-E2319', /^Failed to expand the specified volume because the volume is being replicated/),
  );
  await assert.rejects(a.lds.expandLd('rv', 16 * MiB), rejectsWith('KURA-E2319'));
  await a.pairs.separatePair('mv', 'rv');
  assert.equal((await a.lds.expandLd('mv', 16 * MiB)).capacity, 16 * MiB);
  // Written after the expansion, in the new region: the next replicate must copy it.
  const tail = crypto.randomBytes(MiB);
  await a.frontEnd
    .exports()
    .open('mv')!
    .write((12 * MiB) / 512, tail, { fua: true });
  await assert.rejects(
    a.pairs.replicatePair('mv', 'rv'),
    rejectsWith('KURA-E2606', /capacities differ \(backup volume:0001, capacity:8MB; MV capacity:16MB\)/),
  );
  await assert.rejects(a.pairs.restorePair('mv', 'rv'), rejectsWith('KURA-E2606'));
  assert.equal((await a.lds.expandLd('rv', 16 * MiB)).capacity, 16 * MiB, 'the RV is expanded too');
  await a.pairs.replicatePair('mv', 'rv');
  await settled(a, 'mv', 'rv');
  await a.pairs.separatePair('mv', 'rv');
  const mv = await a.frontEnd
    .exports()
    .open('mv')!
    .read(0, (16 * MiB) / 512);
  const rv = await a.frontEnd
    .exports()
    .open('rv')!
    .read(0, (16 * MiB) / 512);
  assert.ok(rv.equals(mv), 'the RV is the MV again, new region included');
  assert.deepEqual(rv.subarray(12 * MiB, 13 * MiB), tail);
  await a.close();
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('per-LD lock (L2068): an LD that a running pair copy writes refuses snapshots, clones and access changes with "The specified LD is locked."', async (t) => {
  // 64 KiB chunks: the copy of 32 MiB is 512 chunks in 32 commits, still running when the next change comes.
  const { a } = await array(t, { licences: ['DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication'], ssv: true, chunk: 64 * 1024 });
  await a.lds.createLd({ name: 'mv', pool: 'p', size: 32 * MiB });
  await a.lds.createLd({ name: 'rv', pool: 'p', size: 32 * MiB });
  await a.frontEnd
    .exports()
    .open('mv')!
    .write(0, crypto.randomBytes(32 * MiB), { fua: true });
  await a.pairs.createPair('mv', 'rv');
  await a.pairs.replicatePair('mv', 'rv');
  await assert.rejects(
    a.snapshots.createSnapshot('rv'),
    rejectsWith('KURA-E2610', /^The specified LD is locked: LD rv is held by the copy of pair mv → rv \(rpl\/exec/),
  );
  await assert.rejects(a.clones.createClone('rv', 'rvc'), rejectsWith('KURA-E2610'));
  // The MV is only read by a replicate: it takes a snapshot meanwhile.
  await a.snapshots.createSnapshot('mv', 'during');
  await settled(a, 'mv', 'rv');
  await a.pairs.separatePair('mv', 'rv');
  assert.equal((await a.snapshots.createSnapshot('rv', 'after')).ld, 'rv@after', 'free again once the copy is over');

  // A restore writes the MV: now the MV is locked and the RV is not.
  await a.frontEnd
    .exports()
    .open('mv')!
    .write(0, crypto.randomBytes(32 * MiB), { fua: true });
  await a.pairs.restorePair('mv', 'rv');
  await assert.rejects(a.clones.createClone('mv', 'mvc'), rejectsWith('KURA-E2610', /LD mv is held by the copy of pair mv → rv \(rst\/exec/));
  assert.equal((await a.snapshots.setSnapshotAccess('mv', 'during', 'rw')).access, 'rw', 'a snapshot of a locked LD is not locked itself');
  await settled(a, 'mv', 'rv');
  await a.clones.createClone('mv', 'mvc');
});

test("FCVs get the pool's initial I/O limits (L1300-1303) like any new LD, not their source's; kept across a restart", async (t) => {
  const box = await array(t, { licences: ['VolumeClone', 'IOLoadManager'], ssv: true });
  let a = box.a;
  await a.qos.setPoolQosDefaults('p', { upper: 300, lower: 20 });
  await a.lds.createLd({ name: 'src', pool: 'p', size: 8 * MiB });
  await a.qos.setQos('src', { upper: 5000, lower: 0 });
  const fcv = await a.clones.createClone('src', 'fcv');
  assert.deepEqual(fcv.qos, { upper: 300, lower: 20 });
  a = await box.reopen();
  assert.deepEqual(a.lds.getLd('fcv').qos, { upper: 300, lower: 20 });
  assert.deepEqual(a.lds.getLd('src').qos, { upper: 5000, lower: 0 });
});

/** Seconds that `n` one-block reads of an LD's export take. */
async function readSeconds(a: KuraArray, ld: string, n: number): Promise<number> {
  const dev = a.frontEnd.exports().open(ld)!;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await dev.read(i, 1);
  return (performance.now() - t0) / 1000;
}

test("pool I/O control mode (L1905-1910): off, LD limits are kept but do not act and new limits are refused with the seed's reason; on again, they act; kept across a restart", async (t) => {
  const box = await array(t, { licences: ['IOLoadManager'] });
  let a = box.a;
  assert.equal(a.pools.getPool('p').qosMode, 'on');
  await a.lds.createLd({ name: 'slow', pool: 'p', size: 8 * MiB });
  await a.lds.createLd({ name: 'other', pool: 'p', size: 8 * MiB });
  await a.qos.setQos('slow', { upper: 10 });
  assert.equal(a.lds.getLd('slow').qosActive, true);
  // 25 I/Os at 10 IOPS take about 2.5 s; the bounds below are generous either way.
  assert.ok((await readSeconds(a, 'slow', 25)) >= 1.5, 'the upper limit acts while the mode is on');
  await assert.rejects(a.qos.setPoolQosMode('p', 'maybe'), rejectsWith('KURA-E2612'));
  assert.equal((await a.qos.setPoolQosMode('p', 'off')).qosMode, 'off');
  assert.deepEqual([a.lds.getLd('slow').qos.upper, a.lds.getLd('slow').qosActive], [10, false], 'kept, not acting');
  assert.ok((await readSeconds(a, 'slow', 25)) < 1.5, 'the limit does not act while the mode is off');
  await assert.rejects(a.qos.setQos('other', { upper: 100 }), rejectsWith('KURA-E2611', /I\/O control mode is disabled in pool p/));
  a = await box.reopen();
  assert.equal(a.pools.getPool('p').qosMode, 'off');
  assert.ok((await readSeconds(a, 'slow', 25)) < 1.5, 'still off after a restart');
  await a.qos.setPoolQosMode('p', 'on');
  assert.equal(a.lds.getLd('slow').qosActive, true);
  assert.ok((await readSeconds(a, 'slow', 25)) >= 1.5, 'on again, the limit acts');
});
