// Unit attentions: POWER ON/RESET once per new I_T nexus and LU, after LUN RESET
// on every nexus, not reported (nor cleared) by INQUIRY and REPORT LUNS, returned
// and cleared by REQUEST SENSE, one per command in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import {
  cdb,
  ASYMMETRIC_ACCESS_STATE_CHANGED,
  BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  CAPACITY_DATA_HAS_CHANGED,
  INVALID_FIELD_IN_CDB,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
  REPORTED_LUNS_DATA_HAS_CHANGED,
} from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, clearUnitAttentions, expectGood, expectSense, fixture } from './helpers.js';

test('a new nexus gets 29/00 on its first command to each LU, once; INQUIRY and REPORT LUNS pass it by', async (t) => {
  const f = await fixture(t, { keepUnitAttentions: true });
  const other = new LogicalUnit({ ...f.source, naa: '6' + 'a'.repeat(31) });
  f.luns.set(1, other);
  f.target.nexusCreated(NEXUS_A);
  expectGood(await f.exec(cdb.inquiry(false, 0, 36)));
  expectGood(await f.exec(cdb.reportLuns(0, 64)));
  expectSense(await f.exec(cdb.read10(0, 1)), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await f.exec(cdb.read10(0, 1)));
  expectSense(await f.exec(cdb.testUnitReady(), { lun: 1 }), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED, 'the other LU owes it too');
  expectGood(await f.exec(cdb.testUnitReady(), { lun: 1 }));
  // The same I_T nexus logging in again is new again.
  f.target.nexusCreated(NEXUS_A);
  expectSense(await f.exec(cdb.testUnitReady()), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectSense(await f.exec(cdb.testUnitReady(), { lun: 1 }), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await f.exec(cdb.testUnitReady()));
});

test('REQUEST SENSE returns the pending unit attention as sense data with GOOD status and clears it; otherwise NO SENSE', async (t) => {
  const f = await fixture(t, { keepUnitAttentions: true });
  const r = await f.exec(cdb.requestSense(18));
  expectGood(r);
  const d = r.dataIn!;
  assert.equal(d.length, 18);
  assert.equal(d[0], 0x70);
  assert.deepEqual([d[2]! & 0xf, d[12], d[13]], [0x6, 0x29, 0x00]);
  expectGood(await f.exec(cdb.testUnitReady()), 'cleared by REQUEST SENSE');
  const none = (await f.exec(cdb.requestSense())).dataIn!;
  assert.deepEqual([none[2]! & 0xf, none[12], none[13]], [0x0, 0x00, 0x00]);
  expectSense(await f.exec(Buffer.from([0x03, 0x01, 0, 0, 252, 0])), INVALID_FIELD_IN_CDB, 'descriptor format is not offered');
});

test('LUN RESET establishes 29/03 for every nexus of the LU; several conditions come one per command', async (t) => {
  const f = await fixture(t);
  assert.equal(f.target.taskManagement(NEXUS_B, 'lun-reset', 0), 0);
  assert.equal(f.target.taskManagement(NEXUS_B, 'lun-reset', 5), 2, 'LUN does not exist');
  for (const nexus of [NEXUS_A, NEXUS_B]) {
    expectSense(await f.exec(cdb.testUnitReady(), { nexus }), BUS_DEVICE_RESET_FUNCTION_OCCURRED);
    expectGood(await f.exec(cdb.testUnitReady(), { nexus }));
  }
  f.lu.queueUnitAttention(CAPACITY_DATA_HAS_CHANGED, 'all');
  f.lu.queueUnitAttention(ASYMMETRIC_ACCESS_STATE_CHANGED, 'all');
  f.lu.queueUnitAttention(ASYMMETRIC_ACCESS_STATE_CHANGED, 'all');
  expectSense(await f.exec(cdb.read16(0, 1)), CAPACITY_DATA_HAS_CHANGED);
  expectSense(await f.exec(cdb.read16(0, 1)), ASYMMETRIC_ACCESS_STATE_CHANGED);
  expectGood(await f.exec(cdb.read16(0, 1)), 'the same condition twice is reported once');
  assert.equal(await clearUnitAttentions(f, NEXUS_B), 2);
  // A reset supersedes what was pending before it.
  f.lu.queueUnitAttention(CAPACITY_DATA_HAS_CHANGED, NEXUS_A);
  f.target.taskManagement(NEXUS_A, 'lun-reset', 0);
  expectSense(await f.exec(cdb.testUnitReady()), BUS_DEVICE_RESET_FUNCTION_OCCURRED);
  expectGood(await f.exec(cdb.testUnitReady()));
  assert.equal(f.target.taskManagement(NEXUS_A, 'abort-task-set', 0), 0);
  assert.equal(f.target.taskManagement(NEXUS_A, 'clear-task-set', 0), 0);
  expectGood(await f.exec(cdb.testUnitReady()), 'ABORT/CLEAR TASK SET leave no unit attention here');
});

test('REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED', async (t) => {
  const f = await fixture(t);
  f.lu.queueUnitAttention(REPORTED_LUNS_DATA_HAS_CHANGED, NEXUS_A);
  expectGood(await f.exec(cdb.reportLuns(0, 64)));
  expectGood(await f.exec(cdb.testUnitReady()));
});
