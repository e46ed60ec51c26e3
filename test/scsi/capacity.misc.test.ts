// READ CAPACITY(10)/(16), a capacity that grows, SYNCHRONIZE CACHE, PRE-FETCH,
// START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL on a non-removable LU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, CAPACITY_DATA_HAS_CHANGED, INVALID_FIELD_IN_CDB } from '../../src/scsi/spec/index.js';
import { BS, MiB, NEXUS_A, expectGood, expectSense, fixture } from './helpers.js';

test('READ CAPACITY(10) and (16): last LBA, block length, LBPME/LBPRZ, exponent, allocation length', async (t) => {
  const f = await fixture(t);
  const n = f.dev.blockCount;
  const r10 = (await f.exec(cdb.readCapacity10())).dataIn!;
  assert.deepEqual([r10.readUInt32BE(0), r10.readUInt32BE(4)], [n - 1, BS]);
  const r16 = (await f.exec(cdb.readCapacity16())).dataIn!;
  assert.equal(r16.length, 32);
  assert.equal(Number(r16.readBigUInt64BE(0)), n - 1);
  assert.equal(r16.readUInt32BE(8), BS);
  assert.equal(r16[12], 0, 'no protection information');
  assert.equal(r16[13]! & 0x0f, 0, 'LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT');
  assert.equal(r16[14]! & 0xc0, 0xc0, 'LBPME and LBPRZ');
  for (let alloc = 0; alloc < 16; alloc++) {
    const r = await f.exec(cdb.readCapacity16(alloc));
    expectGood(r);
    assert.equal(r.dataIn?.length ?? 0, alloc);
  }
  expectSense(await f.exec(Buffer.from([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0])), INVALID_FIELD_IN_CDB, 'LBA without PMI');
});

test('a grown LD: READ CAPACITY follows, and the array announces it with 2A/09', async (t) => {
  const f = await fixture(t);
  await f.array.lds.expandLd('ld', 32 * MiB);
  f.lu.queueUnitAttention(CAPACITY_DATA_HAS_CHANGED, 'all');
  expectSense(await f.exec(cdb.readCapacity10()), CAPACITY_DATA_HAS_CHANGED);
  const r = (await f.exec(cdb.readCapacity10())).dataIn!;
  assert.equal(r.readUInt32BE(0), (32 * MiB) / BS - 1);
  expectGood(await f.exec(cdb.write10((32 * MiB) / BS - 1, 1), { dataOut: Buffer.alloc(BS, 1) }));
});

test('SYNCHRONIZE CACHE flushes the device; PRE-FETCH answers GOOD; START STOP UNIT and PREVENT ALLOW are accepted', async (t) => {
  const f = await fixture(t);
  const before = f.dev.flushes;
  expectGood(await f.exec(cdb.synchronizeCache10()));
  expectGood(await f.exec(cdb.synchronizeCache16(100, 8)));
  assert.equal(f.dev.flushes, before + 2);
  expectGood(await f.exec(cdb.preFetch10(0, 256)));
  expectGood(await f.exec(cdb.preFetch10(0, 1, true)));
  expectGood(await f.exec(cdb.preFetch16(f.dev.blockCount - 1, 1)));
  expectGood(await f.exec(cdb.preFetch10(0, 0)));
  expectGood(await f.exec(cdb.startStopUnit(false)));
  assert.equal(f.dev.flushes, before + 3, 'stopping flushes');
  expectGood(await f.exec(cdb.startStopUnit(true)));
  expectGood(await f.exec(cdb.preventAllowMediumRemoval(1)));
  expectGood(await f.exec(cdb.preventAllowMediumRemoval(0)));
  expectGood(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_A }));
  const inq = (await f.exec(cdb.inquiry(false, 0, 36))).dataIn!;
  assert.equal(inq[1]! & 0x80, 0, 'RMB 0');
});
