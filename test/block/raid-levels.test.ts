// The RAID level modules: how many PDs each accepts, how much a group holds, where
// each chunk lives (the on-disk layout, which must never move), and which failures
// a group survives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RAID_LEVELS, parseRaid, raidLevel } from '../../src/block/raid/index.js';
import { defaultPdCount, stripeWidth, validatePdCount } from '../../src/block/raid-group.js';
import type { Raid } from '../../src/block/raid/index.js';

function rejects(raid: Raid, pds: number): void {
  assert.throws(
    () => validatePdCount(raid, pds),
    (e: Error & { id?: string }) => e.id === 'KURA-E1011' && e.message.includes(`${raid} cannot be built from ${pds} PDs.`),
    `${raid} with ${pds} PDs`,
  );
}

test('each level is found by the names users type and refuses other ones', () => {
  assert.deepEqual(['0', 'raid0', '1', 'RAID1', '10', 'raid10', '1/10', 'RAID1/10'].map(parseRaid), [
    'RAID0',
    'RAID0',
    'RAID1',
    'RAID1',
    'RAID10',
    'RAID10',
    'RAID10',
    'RAID10',
  ]);
  for (const bad of ['5', 'RAID6', '', '01'])
    assert.throws(
      () => parseRaid(bad),
      (e: Error & { id?: string }) => e.id === 'KURA-E1010' && e.message === `RAID type "${bad}" is not supported.`,
    );
  for (const l of RAID_LEVELS) assert.equal(raidLevel(l.name), l);
});

test('PD counts: RAID0 1-64, RAID1 2-64, RAID10 even 4-64; defaults 1, 2, 4', () => {
  for (const n of [1, 2, 7, 64]) validatePdCount('RAID0', n);
  for (const n of [2, 3, 64]) validatePdCount('RAID1', n);
  for (const n of [4, 6, 64]) validatePdCount('RAID10', n);
  for (const n of [0, 65, 1.5]) rejects('RAID0', n);
  for (const n of [1, 65]) rejects('RAID1', n);
  for (const n of [2, 5, 66]) rejects('RAID10', n);
  assert.deepEqual((['RAID0', 'RAID1', 'RAID10'] as const).map(defaultPdCount), [1, 2, 4]);
});

test('capacity: a row holds one chunk per PD (RAID0), one chunk (RAID1), one per mirror pair (RAID10)', () => {
  assert.equal(stripeWidth('RAID0', 5), 5);
  assert.equal(stripeWidth('RAID1', 3), 1);
  assert.equal(stripeWidth('RAID10', 6), 3);
});

test('chunk placement: every chunk of a row gets its own PDs and every row of a PD one chunk', () => {
  for (const [raid, pds] of [
    ['RAID0', 3],
    ['RAID1', 3],
    ['RAID10', 6],
  ] as const) {
    const level = raidLevel(raid);
    const width = level.stripeWidth(pds);
    const used = new Set<string>();
    for (let i = 0; i < width * 4; i++) {
      const p = level.place(i, pds);
      assert.equal(p.row, Math.floor(i / width), `${raid} chunk ${i} row`);
      assert.deepEqual(p.read, p.write, `${raid} chunk ${i}: reads may use any copy that writes go to`);
      for (const pd of p.write) {
        assert.ok(pd >= 0 && pd < pds);
        const slot = `${pd}:${p.row}`;
        assert.ok(!used.has(slot), `${raid} chunk ${i} overlaps another on PD ${pd} row ${p.row}`);
        used.add(slot);
      }
    }
    // Every slot of the first four rows holds a chunk: nothing is left unused.
    assert.equal(used.size, pds * 4, raid);
  }
  // The layout on disk, spelled out: it must not change for existing pools.
  assert.deepEqual(raidLevel('RAID0').place(7, 3), { row: 2, read: [1], write: [1] });
  assert.deepEqual(raidLevel('RAID1').place(7, 3), { row: 7, read: [0, 1, 2], write: [0, 1, 2] });
  assert.deepEqual(raidLevel('RAID10').place(7, 6), { row: 2, read: [2, 3], write: [2, 3] });
});

test('survival and resync: RAID0 is lost with any failed PD and never resyncs; RAID1 survives until every PD fails; RAID10 while every mirror pair keeps a PD', () => {
  const f = (...i: number[]) => new Set(i);
  const r0 = raidLevel('RAID0');
  assert.equal(r0.survives(3, f()), true);
  assert.equal(r0.survives(3, f(1)), false);
  assert.equal(r0.needsResync, false);
  const r1 = raidLevel('RAID1');
  assert.equal(r1.survives(3, f()), true);
  assert.equal(r1.survives(3, f(0, 2)), true);
  assert.equal(r1.survives(3, f(0, 1, 2)), false);
  assert.equal(r1.needsResync, true);
  const r10 = raidLevel('RAID10');
  assert.equal(r10.survives(4, f()), true);
  assert.equal(r10.survives(4, f(0, 3)), true, 'one PD of each pair');
  assert.equal(r10.survives(4, f(2, 3)), false, 'both PDs of pair 2+3: its chunks are gone');
  assert.equal(r10.survives(6, f(1, 2, 5)), true);
  assert.equal(r10.needsResync, true);
});
