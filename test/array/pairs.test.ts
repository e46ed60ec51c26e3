// Replication pairs on the array: data written through the export devices,
// replicate (full, then differences only), separate (RV access), restore while
// the MV is in use, unpair, the rules, a restart in the middle of a copy, and
// the metadata checked afterwards.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { PairInfo } from '../../src/array/agent.js';
import { checkDataDir } from '../../src/block/check.js';
import { KuraError } from '../../src/errors.js';
import { senseForDeviceError } from '../../src/scsi/sense.js';
import { LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED } from '../../src/scsi/spec/index.js';

const MiB = 1 << 20;
const SECTORS_PER_MIB = MiB / 512;

function rejectsWith(id: string) {
  return (e: unknown) => e instanceof KuraError && e.id === id;
}

async function ready(t: { after(fn: () => void): void }, size = 32 * MiB): Promise<{ a: KuraArray; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pairs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'p', size: 1 << 30, raid: 'RAID1', pds: 2 });
  await a.lds.createLd({ name: 'mv', pool: 'p', size });
  await a.lds.createLd({ name: 'rv', pool: 'p', size });
  return { a, dir };
}

/** Polls until the pair's copy is over (the state no longer ends in /exec). */
async function settled(a: KuraArray, mv = 'mv', rv = 'rv'): Promise<PairInfo> {
  for (;;) {
    const p = a.pairs.getPair(mv, rv);
    if (!p.sync.endsWith('/exec')) return p;
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('pair rules: licence, sizes, attributes, RV mapped, states', async (t) => {
  const { a } = await ready(t);
  await assert.rejects(a.pairs.createPair('mv', 'rv'), rejectsWith('KURA-E2061'));
  await a.licenses.unlockLicense('DynamicDataReplication');
  await a.lds.createLd({ name: 'small', pool: 'p', size: 16 * MiB });
  await assert.rejects(a.pairs.createPair('mv', 'small'), rejectsWith('KURA-E2302'));
  await assert.rejects(a.pairs.createPair('mv', 'mv'), rejectsWith('KURA-E2301'));
  await a.hosts.createHost('h', ['iqn.2026-01.test:h']);
  await a.hosts.mapLun('h', 'rv', 0);
  await assert.rejects(a.pairs.createPair('mv', 'rv'), rejectsWith('KURA-E2305'));
  await a.hosts.unmapLun('h', 0);
  const p = await a.pairs.createPair('mv', 'rv');
  assert.deepEqual([p.activity, p.sync, p.rvComplete], ['separate', 'sep/end', false]);
  assert.equal(a.lds.getLd('mv').rplAttribute, 'MV');
  assert.equal(a.lds.getLd('rv').rplAttribute, 'RV');
  await assert.rejects(a.pairs.createPair('rv', 'small'), rejectsWith('KURA-E2700'), 'an RV cannot be an MV too (formerly KURA-E2306)');
  await assert.rejects(a.pairs.restorePair('mv', 'rv'), rejectsWith('KURA-E2312'), 'nothing to restore from before the first copy');
  await assert.rejects(a.pairs.separatePair('mv', 'rv'), rejectsWith('KURA-E2314'));
  await a.pairs.replicatePair('mv', 'rv');
  await settled(a);
  await assert.rejects(a.lds.deleteLd('rv'), rejectsWith('KURA-E2318'));
  await assert.rejects(a.lds.expandLd('mv', 64 * MiB), rejectsWith('KURA-E2319'));
  await assert.rejects(a.pairs.deletePair('mv', 'rv'), rejectsWith('KURA-E2316'));
  await assert.rejects(a.pairs.separatePair('mv', 'rv', { rvAccess: 'xx' }), rejectsWith('KURA-E2317'));
  assert.equal((await a.pairs.deletePair('mv', 'rv', { force: true })).sync, 'rpl/sync');
  assert.equal(a.lds.getLd('rv').rplAttribute, 'IV');
  await assert.rejects(async () => a.pairs.getPair('mv', 'rv'), rejectsWith('KURA-E2308'));
  await a.close();
});

test('replicate, separate, differences only, restore while writing, unpair, check clean', async (t) => {
  const { a, dir } = await ready(t);
  await a.licenses.unlockLicense('DynamicDataReplication');
  const mv = a.frontEnd.exports().open('mv')!;
  const rv = a.frontEnd.exports().open('rv')!;
  // MV: MiB 0-3 and 10 written; the rest a hole. RV: old data at MiB 20 that must become a hole.
  const base = crypto.randomBytes(4 * MiB);
  await mv.write(0, base);
  const ten = crypto.randomBytes(MiB);
  await mv.write(10 * SECTORS_PER_MIB, ten);
  await rv.write(20 * SECTORS_PER_MIB, crypto.randomBytes(MiB));
  await a.pairs.createPair('mv', 'rv');
  const first = await a.pairs.replicatePair('mv', 'rv');
  assert.equal(first.activity, 'replicate');
  const synced = await settled(a);
  assert.deepEqual([synced.sync, synced.progress, synced.copyDiffBytes, synced.rvComplete, synced.rvAccess], ['rpl/sync', 100, 0, true, 'nr']);
  assert.equal(synced.copiedBytes, 6 * MiB, 'the first copy takes every chunk allocated on either side');
  const notReady = await rv.read(0, 8).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(notReady instanceof KuraError && notReady.id === 'KURA-E2330', 'the RV is not ready while replicating');
  const sense = senseForDeviceError(notReady, 'read').sense;
  assert.deepEqual(
    sense && [sense.key, sense.asc, sense.ascq],
    [LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED.key, LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED.asc, LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED.ascq],
    'iSCSI initiators get NOT READY, manual intervention required',
  );

  // Mirrored: a write to the MV reaches the RV.
  const m1 = crypto.randomBytes(MiB / 2);
  await mv.write(2 * SECTORS_PER_MIB, m1, { fua: true });
  await a.pairs.separatePair('mv', 'rv');
  let p = a.pairs.getPair('mv', 'rv');
  assert.deepEqual([p.activity, p.sync, p.rvAccess, p.separateDiffBytes, p.rvComplete], ['separate', 'sep/end', 'rw', 0, true]);
  assert.ok(p.separateStart && p.separateEnd);
  const expectMv = Buffer.concat([base, Buffer.alloc(28 * MiB)]);
  m1.copy(expectMv, 2 * MiB);
  ten.copy(expectMv, 10 * MiB);
  assert.ok((await rv.read(0, 32 * SECTORS_PER_MIB)).equals(expectMv), 'the RV is a byte-for-byte copy, the mirrored write included');
  assert.deepEqual(
    (await rv.allocation(0, 32 * SECTORS_PER_MIB)).map((e) => [e.blocks / SECTORS_PER_MIB, e.hole]),
    [
      [4, false],
      [6, true],
      [1, false],
      [21, true],
    ],
    'holes stay holes on the RV (its old MiB 20 was unmapped)',
  );

  // Separated: the MV changes in MiB 1 and 15, the RV in MiB 3.
  const sep1 = crypto.randomBytes(4096);
  await mv.write(SECTORS_PER_MIB + 8, sep1);
  const sep15 = crypto.randomBytes(MiB);
  await mv.write(15 * SECTORS_PER_MIB, sep15);
  await rv.write(3 * SECTORS_PER_MIB, crypto.randomBytes(8192));
  sep1.copy(expectMv, MiB + 4096);
  sep15.copy(expectMv, 15 * MiB);
  p = a.pairs.getPair('mv', 'rv');
  assert.equal(p.separateDiffBytes, 3 * MiB);
  assert.equal(p.copyDiffBytes, 3 * MiB);
  await a.pairs.replicatePair('mv', 'rv');
  p = await settled(a);
  assert.equal(p.copiedBytes, 3 * MiB, 'the second replicate copies only the differences');
  assert.equal(p.sync, 'rpl/sync');
  await a.pairs.separatePair('mv', 'rv', { rvAccess: 'ro' });
  assert.ok((await rv.read(0, 32 * SECTORS_PER_MIB)).equals(expectMv));
  await assert.rejects(rv.write(0, Buffer.alloc(512)), rejectsWith('KURA-E2331'));
  assert.equal(rv.readOnly, true);

  // Changes on the MV after the separate are undone by a restore, which runs while the MV is read and written.
  const good = Buffer.from(expectMv);
  for (let m = 0; m < 32; m += 2) await mv.write(m * SECTORS_PER_MIB, crypto.randomBytes(MiB));
  assert.equal(a.pairs.getPair('mv', 'rv').copyDiffBytes, 16 * MiB);
  await a.pairs.restorePair('mv', 'rv');
  assert.deepEqual(
    (await mv.allocation(20 * SECTORS_PER_MIB, 12 * SECTORS_PER_MIB)).map((e) => [e.blocks / SECTORS_PER_MIB, e.hole]),
    [[12, true]],
    'during the restore the MV reports the allocation its data will have (the RV holes of MiB 20-31)',
  );
  const during = crypto.randomBytes(4096);
  const [readBack] = await Promise.all([mv.read(30 * SECTORS_PER_MIB, 2 * SECTORS_PER_MIB), mv.write(7 * SECTORS_PER_MIB + 8, during)]);
  assert.ok(readBack.equals(good.subarray(30 * MiB, 32 * MiB)), 'a read of a region not yet restored sees the RV data');
  during.copy(good, 7 * MiB + 4096);
  p = await settled(a);
  assert.deepEqual([p.activity, p.sync, p.progress], ['restore', 'rst/sync', 100]);
  assert.ok((await mv.read(0, 32 * SECTORS_PER_MIB)).equals(good), 'the MV holds the RV data plus the write made during the restore');
  await a.pairs.separatePair('mv', 'rv');
  assert.ok((await rv.read(0, 32 * SECTORS_PER_MIB)).equals(good), 'writes during the restore were mirrored to the RV');

  await a.pairs.deletePair('mv', 'rv');
  assert.deepEqual(a.pairs.listPairs(), []);
  await mv.write(0, Buffer.alloc(512, 1));
  assert.ok((await rv.read(0, 1)).equals(good.subarray(0, 512)), 'no mirroring after unpair');
  await a.lds.deleteLd('mv');
  await a.lds.deleteLd('rv');
  await a.close();
  const report = checkDataDir(dir);
  assert.deepEqual(report.faults, []);
  assert.equal(report.pools[0]!.allocated, 0, 'no chunk leaked');
});

test('a copy interrupted by a restart resumes from its persisted bitmap and completes', async (t) => {
  const { a, dir } = await ready(t, 64 * MiB);
  await a.licenses.unlockLicense('DynamicDataReplication');
  const data = crypto.randomBytes(64 * MiB);
  const mv = a.frontEnd.exports().open('mv')!;
  await mv.write(0, data);
  await a.pairs.createPair('mv', 'rv');
  await a.pairs.replicatePair('mv', 'rv');
  await a.close(); // stops the copier after its current batch
  const b = await KuraArray.open({ dataDir: dir });
  const mid = b.pairs.getPair('mv', 'rv');
  assert.equal(mid.sync, 'rpl/exec');
  assert.equal(mid.rvComplete, false);
  assert.ok(mid.copyDiffBytes > 0 && mid.copyDiffBytes < 64 * MiB, `part of the copy was done before the restart (${mid.copyDiffBytes} bytes left)`);
  const done = await settled(b);
  assert.deepEqual([done.sync, done.progress, done.copyDiffBytes, done.rvComplete], ['rpl/sync', 100, 0, true]);
  await b.pairs.separatePair('mv', 'rv');
  assert.ok(
    (
      await b.frontEnd
        .exports()
        .open('rv')!
        .read(0, 64 * SECTORS_PER_MIB)
    ).equals(data),
  );
  await b.close();
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('forced separate during a copy says the RV is incomplete; replicate completes it', async (t) => {
  const { a } = await ready(t, 64 * MiB);
  await a.licenses.unlockLicense('DynamicDataReplication');
  const data = crypto.randomBytes(64 * MiB);
  await a.frontEnd.exports().open('mv')!.write(0, data);
  await a.pairs.createPair('mv', 'rv');
  await a.pairs.replicatePair('mv', 'rv');
  const p = await a.pairs.separatePair('mv', 'rv', { force: true });
  assert.deepEqual([p.activity, p.sync, p.rvComplete], ['separate', 'fault', false]);
  assert.ok(p.copyDiffBytes > 0);
  assert.match(p.fault ?? '', /not copied/);
  await assert.rejects(a.pairs.restorePair('mv', 'rv'), rejectsWith('KURA-E2312'));
  await a.pairs.replicatePair('mv', 'rv');
  await settled(a);
  // A separate during a copy without force waits for it: sep/exec, then sep/end at its end.
  await a.pairs.separatePair('mv', 'rv');
  const mv = a.frontEnd.exports().open('mv')!;
  const next = crypto.randomBytes(64 * MiB);
  await mv.write(0, next);
  await a.pairs.replicatePair('mv', 'rv');
  const s = await a.pairs.separatePair('mv', 'rv', { rvAccess: 'ro' });
  assert.deepEqual([s.activity, s.sync, s.rvAccess], ['separate', 'sep/exec', 'nr']);
  const end = await settled(a);
  assert.deepEqual([end.sync, end.rvAccess, end.rvComplete, end.previousSync], ['sep/end', 'ro', true, 'sep/exec']);
  await mv.write(0, Buffer.alloc(MiB, 9));
  assert.ok(
    (
      await a.frontEnd
        .exports()
        .open('rv')!
        .read(0, 64 * SECTORS_PER_MIB)
    ).equals(next),
    'the RV holds the MV as of the end of the separate',
  );
  await a.close();
});

test('a mirrored write the RV cannot take faults the pair, keeps the MV write, and replicate recovers', async (t) => {
  const { a } = await ready(t);
  await a.licenses.unlockLicense('DynamicDataReplication');
  await a.pools.createPool({ name: 'tiny', size: 4 * MiB, raid: 'RAID0', pds: 1 });
  await a.lds.createLd({ name: 'small-rv', pool: 'tiny', size: 32 * MiB });
  const events: string[] = [];
  a.events.onEvent((e) => events.push(e.id));
  const mv = a.frontEnd.exports().open('mv')!;
  await mv.write(0, crypto.randomBytes(2 * MiB));
  await a.pairs.createPair('mv', 'small-rv');
  await a.pairs.replicatePair('mv', 'small-rv');
  assert.equal((await settled(a, 'mv', 'small-rv')).sync, 'rpl/sync');
  const big = crypto.randomBytes(8 * MiB);
  await mv.write(8 * SECTORS_PER_MIB, big, { fua: true });
  assert.ok((await mv.read(8 * SECTORS_PER_MIB, 8 * SECTORS_PER_MIB)).equals(big), 'the MV write stands');
  const p = a.pairs.getPair('mv', 'small-rv');
  assert.deepEqual([p.sync, p.rvAccess, p.rvComplete], ['fault', 'nr', false]);
  assert.match(p.fault ?? '', /mirrored write to RV failed/);
  assert.ok(p.copyDiffBytes >= 2 * MiB, 'the chunks the RV missed are recorded');
  await new Promise((r) => setImmediate(r));
  assert.ok(events.includes('KURA-E2345'));
  await a.pools.expandPool('tiny', 16 * MiB);
  await a.pairs.replicatePair('mv', 'small-rv');
  assert.equal((await settled(a, 'mv', 'small-rv')).sync, 'rpl/sync');
  await a.pairs.separatePair('mv', 'small-rv');
  assert.ok(
    (
      await a.frontEnd
        .exports()
        .open('small-rv')!
        .read(0, 16 * SECTORS_PER_MIB)
    ).equals(await mv.read(0, 16 * SECTORS_PER_MIB)),
  );
  await a.close();
});

test('a restore cut short by a forced separate keeps the RV whole; restoring again completes the MV', async (t) => {
  const { a } = await ready(t, 64 * MiB);
  await a.licenses.unlockLicense('DynamicDataReplication');
  const mv = a.frontEnd.exports().open('mv')!;
  const good = crypto.randomBytes(64 * MiB);
  await mv.write(0, good);
  await a.pairs.createPair('mv', 'rv');
  await a.pairs.replicatePair('mv', 'rv');
  await settled(a);
  await a.pairs.separatePair('mv', 'rv');
  await mv.write(0, crypto.randomBytes(64 * MiB));
  await a.pairs.restorePair('mv', 'rv');
  const cut = await a.pairs.separatePair('mv', 'rv', { force: true });
  assert.deepEqual([cut.sync, cut.rvComplete], ['fault', true]);
  assert.match(cut.fault ?? '', /not copied to the MV/);
  assert.ok(
    (
      await a.frontEnd
        .exports()
        .open('rv')!
        .read(0, 64 * SECTORS_PER_MIB)
    ).equals(good),
    'the RV is untouched by the cut restore',
  );
  await assert.rejects(a.pairs.replicatePair('mv', 'rv'), rejectsWith('KURA-E2321'), 'a replicate would copy the partly restored MV over the RV');
  await a.pairs.restorePair('mv', 'rv');
  const done = await settled(a);
  assert.deepEqual([done.sync, done.progress], ['rst/sync', 100]);
  assert.ok((await mv.read(0, 64 * SECTORS_PER_MIB)).equals(good));
  await a.close();
});
