// REPORT LUNS lists the nexus's LUNs in SAM-5 encoding; commands to a LUN with no
// logical unit are LOGICAL UNIT NOT SUPPORTED, except INQUIRY, REPORT LUNS and
// REQUEST SENSE.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { cdb, INVALID_FIELD_IN_CDB, LOGICAL_UNIT_NOT_SUPPORTED } from '../../src/scsi/spec/index.js';
import { expectGood, expectSense, fixture } from './helpers.js';

test('REPORT LUNS: peripheral addressing below 256, flat space above, ascending, without duplicates', async (t) => {
  const f = await fixture(t);
  f.luns.set(300, new LogicalUnit({ ...f.source, naa: '6' + '1'.repeat(31) }));
  f.luns.set(5, new LogicalUnit({ ...f.source, naa: '6' + '2'.repeat(31) }));
  f.luns.delete(0);
  const r = await f.exec(cdb.reportLuns(0, 512), { lun: 0 });
  expectGood(r, 'REPORT LUNS works through a LUN that has no LU');
  const d = r.dataIn!;
  assert.equal(d.readUInt32BE(0), 16, 'LUN LIST LENGTH');
  assert.equal(d.subarray(8, 16).toString('hex'), '0005000000000000');
  assert.equal(d.subarray(16, 24).toString('hex'), '412c000000000000');
  // SELECT REPORT 2 is the same here; 1 (well-known LUs only) is empty.
  assert.ok((await f.exec(cdb.reportLuns(2, 512))).dataIn!.equals(d));
  const wk = await f.exec(cdb.reportLuns(1, 512));
  assert.equal(wk.dataIn!.readUInt32BE(0), 0);
  // Truncated to the allocation length; too short an allocation length is an error.
  assert.equal((await f.exec(cdb.reportLuns(0, 16))).dataIn!.length, 16);
  const s = expectSense(await f.exec(cdb.reportLuns(0, 15)), INVALID_FIELD_IN_CDB);
  assert.deepEqual(s.sksv, { cd: true, field: 6 });
  expectSense(await f.exec(cdb.reportLuns(3, 512)), INVALID_FIELD_IN_CDB);
});

test('a LUN without a logical unit: LOGICAL UNIT NOT SUPPORTED, and REQUEST SENSE says so with GOOD status', async (t) => {
  const f = await fixture(t);
  expectSense(await f.exec(cdb.testUnitReady(), { lun: 9 }), LOGICAL_UNIT_NOT_SUPPORTED);
  expectSense(await f.exec(cdb.read10(0, 1), { lun: 9 }), LOGICAL_UNIT_NOT_SUPPORTED);
  expectSense(await f.exec(Buffer.from([0xff, 0, 0, 0, 0, 0]), { lun: 9 }), LOGICAL_UNIT_NOT_SUPPORTED, 'even for an unknown opcode');
  const rs = await f.exec(cdb.requestSense(), { lun: 9 });
  expectGood(rs);
  assert.deepEqual([rs.dataIn![2]! & 0xf, rs.dataIn![12], rs.dataIn![13]], [0x5, 0x25, 0x00]);
});
