// REPORT TARGET PORT GROUPS reports the groups and states the array gives; a port
// in standby, unavailable or transitioning state refuses what SPC-4 5.15.2.4 says
// it must, with the matching NOT READY sense.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cdb,
  ASYMMETRIC_ACCESS_STATE_CHANGED,
  CAPACITY_DATA_HAS_CHANGED,
  LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION,
  LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE,
  LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE,
} from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, expectGood, expectSense, fixture } from './helpers.js';

test('RTPG: length header or extended header, states, supported-state bits, ports, truncation', async (t) => {
  const f = await fixture(t);
  const r = await f.exec(cdb.reportTargetPortGroups(4));
  expectGood(r);
  const full = r.dataIn!.readUInt32BE(0) + 4;
  assert.equal(full, 4 + 2 * (8 + 2 * 4));
  const d = (await f.exec(cdb.reportTargetPortGroups(full))).dataIn!;
  assert.equal(d.length, full);
  const groups = [];
  for (let o = 4, i = 0; i < 2; i++) {
    const ports = [];
    for (let p = 0; p < d[o + 7]!; p++) ports.push(d.readUInt16BE(o + 8 + 4 * p + 2));
    groups.push({ state: d[o]! & 0x0f, supported: d[o + 1], id: d.readUInt16BE(o + 2), ports });
    o += 8 + 4 * d[o + 7]!;
  }
  assert.deepEqual(groups, [
    { state: 0x0, supported: 0x8f, id: 0, ports: [1, 3] },
    { state: 0x1, supported: 0x8f, id: 1, ports: [2, 4] },
  ]);
  const ext = (await f.exec(cdb.reportTargetPortGroups(1024, true))).dataIn!;
  assert.equal(ext.readUInt32BE(0), ext.length - 4);
  assert.equal(ext[4]! >> 4, 1, 'FORMAT TYPE 001b');
  assert.ok(ext.subarray(8).equals(d.subarray(4)), 'same descriptors after the extended header');
  // Each state code as SPC-4 numbers them.
  const codes: Array<[(typeof f.groups)[0]['state'], number]> = [
    ['standby', 2],
    ['unavailable', 3],
    ['transitioning', 0xf],
  ];
  for (const [state, code] of codes) {
    f.groups[1]!.state = state;
    assert.equal((await f.exec(cdb.reportTargetPortGroups(64))).dataIn![4 + 16]! & 0x0f, code, state);
  }
});

test('a standby port refuses media access and TEST UNIT READY (04/0B) but answers INQUIRY, RTPG, MODE SENSE, PR IN', async (t) => {
  const f = await fixture(t);
  f.groups[1]!.state = 'standby';
  const b = { nexus: NEXUS_B };
  expectSense(await f.exec(cdb.read10(0, 1), b), LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE);
  expectSense(await f.exec(cdb.testUnitReady(), b), LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE);
  expectSense(await f.exec(cdb.readCapacity10(), b), LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE);
  expectGood(await f.exec(cdb.inquiry(false, 0, 96), b));
  expectGood(await f.exec(cdb.reportTargetPortGroups(64), b));
  expectGood(await f.exec(cdb.modeSense6(0x3f), b));
  expectGood(await f.exec(cdb.persistentReserveIn(0), b));
  expectGood(await f.exec(cdb.reportLuns(0, 64), b));
  const rs = await f.exec(cdb.requestSense(), b);
  expectGood(rs, 'REQUEST SENSE answers in standby');
  assert.deepEqual([rs.dataIn![2]! & 0xf, rs.dataIn![12], rs.dataIn![13]], [0x2, 0x04, 0x0b], 'and says why media access is refused');
  expectGood(await f.exec(cdb.read10(0, 1), { nexus: NEXUS_A }), 'the optimized port is unaffected');
  f.groups[1]!.state = 'unavailable';
  expectSense(await f.exec(cdb.modeSense6(0x3f), b), LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE);
  expectGood(await f.exec(cdb.reportTargetPortGroups(64), b));
  f.groups[1]!.state = 'transitioning';
  expectSense(await f.exec(cdb.write10(0, 1), { ...b, dataOut: Buffer.alloc(512) }), LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION);
  expectGood(await f.exec(cdb.requestSense(), b));
  f.groups[1]!.state = 'active/optimized';
  expectGood(await f.exec(cdb.read10(0, 1), b));
});

test('the array announces ALUA and capacity changes: 2A/06 and 2A/09 to every nexus, once', async (t) => {
  const f = await fixture(t);
  f.groups[0]!.state = 'active/non-optimized';
  f.groups[1]!.state = 'active/optimized';
  f.lu.queueUnitAttention(ASYMMETRIC_ACCESS_STATE_CHANGED, 'all');
  for (const nexus of [NEXUS_A, NEXUS_B]) {
    expectGood(await f.exec(cdb.inquiry(false, 0, 36), { nexus }), 'INQUIRY does not report it');
    expectSense(await f.exec(cdb.reportTargetPortGroups(64), { nexus }), ASYMMETRIC_ACCESS_STATE_CHANGED);
    expectGood(await f.exec(cdb.reportTargetPortGroups(64), { nexus }));
  }
  f.lu.queueUnitAttention(CAPACITY_DATA_HAS_CHANGED, NEXUS_B);
  expectGood(await f.exec(cdb.readCapacity10(), { nexus: NEXUS_A }));
  expectSense(await f.exec(cdb.readCapacity10(), { nexus: NEXUS_B }), CAPACITY_DATA_HAS_CHANGED);
});
