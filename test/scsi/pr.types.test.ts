// Persistent reservations across two I_T nexuses: registration, the six
// reservation types and who may read and write under each, ownership when the
// holder leaves, PREEMPT, CLEAR, the generation counter, the PR IN data, and the
// unit attentions that tell the others what happened.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ItNexus } from '../../src/scsi/types.js';
import {
  cdb,
  prOutParams,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  INVALID_RELEASE_OF_PERSISTENT_RESERVATION,
  PARAMETER_LIST_LENGTH_ERROR,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
  REGISTRATIONS_PREEMPTED,
  RESERVATIONS_PREEMPTED,
  RESERVATIONS_RELEASED,
} from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, clearUnitAttentions, expectConflict, expectGood, expectSense, fixture, pattern } from './helpers.js';
import type { Fixture } from './helpers.js';

const REGISTER = 0;
const RESERVE = 1;
const RELEASE = 2;
const CLEAR = 3;
const PREEMPT = 4;
const PREEMPT_AND_ABORT = 5;
const REGISTER_AND_IGNORE = 6;

const WE = 1;
const EA = 3;
const WE_RO = 5;
const EA_RO = 6;
const WE_AR = 7;
const EA_AR = 8;
const ALL_AR = [WE_AR, EA_AR];

function out(f: Fixture, nexus: ItNexus, sa: number, key: bigint, sark: bigint, type = 0, flags: Parameters<typeof prOutParams>[2] = {}) {
  return f.exec(cdb.persistentReserveOut(sa, type), { nexus, dataOut: prOutParams(key, sark, flags) });
}

async function keys(f: Fixture, nexus: ItNexus = NEXUS_A): Promise<{ generation: number; keys: bigint[] }> {
  const r = await f.exec(cdb.persistentReserveIn(0), { nexus });
  expectGood(r, 'READ KEYS');
  const d = r.dataIn!;
  const n = d.readUInt32BE(4) / 8;
  return { generation: d.readUInt32BE(0), keys: Array.from({ length: n }, (_, i) => d.readBigUInt64BE(8 + 8 * i)) };
}

async function reservation(f: Fixture, nexus: ItNexus = NEXUS_A): Promise<{ key: bigint; type: number; scope: number } | undefined> {
  const r = await f.exec(cdb.persistentReserveIn(1), { nexus });
  expectGood(r, 'READ RESERVATION');
  const d = r.dataIn!;
  if (d.readUInt32BE(4) === 0) return undefined;
  assert.equal(d.readUInt32BE(4), 16);
  return { key: d.readBigUInt64BE(8), type: d[21]! & 0xf, scope: d[21]! >> 4 };
}

async function canRead(f: Fixture, nexus: ItNexus): Promise<boolean> {
  const r = await f.exec(cdb.read10(1, 1), { nexus });
  if (r.status === 0x18) return false;
  expectGood(r);
  return true;
}

async function canWrite(f: Fixture, nexus: ItNexus): Promise<boolean> {
  const r = await f.exec(cdb.write10(1, 1), { nexus, dataOut: pattern(1, 1) });
  if (r.status === 0x18) return false;
  expectGood(r);
  return true;
}

test('REGISTER: register, re-register with the wrong key conflicts, change key, unregister; READ KEYS and the generation', async (t) => {
  const f = await fixture(t);
  assert.deepEqual(await keys(f), { generation: 0, keys: [] });
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0xaan));
  expectConflict(await out(f, NEXUS_A, REGISTER, 0n, 0xabn), 'registered, RESERVATION KEY 0');
  expectConflict(await out(f, NEXUS_B, REGISTER, 0x99n, 0xbbn), 'unregistered, non-zero RESERVATION KEY');
  expectGood(await out(f, NEXUS_B, REGISTER_AND_IGNORE, 0x99n, 0xbbn));
  assert.deepEqual(await keys(f, NEXUS_B), { generation: 2, keys: [0xaan, 0xbbn] });
  expectGood(await out(f, NEXUS_A, REGISTER, 0xaan, 0xacn), 'change key');
  expectGood(await out(f, NEXUS_B, REGISTER, 0xbbn, 0n), 'unregister');
  assert.deepEqual(await keys(f), { generation: 4, keys: [0xacn] });
  expectGood(await out(f, NEXUS_B, REGISTER_AND_IGNORE, 0n, 0n), 'unregistering the unregistered is a no-op');
  assert.equal((await keys(f)).generation, 4, 'and does not count');
  // READ KEYS cut by the allocation length keeps ADDITIONAL LENGTH.
  const short = await f.exec(cdb.persistentReserveIn(0, 8));
  assert.equal(short.dataIn!.length, 8);
  assert.equal(short.dataIn!.readUInt32BE(4), 8);
  // Service actions other than REGISTER need a registration and its key.
  expectConflict(await out(f, NEXUS_B, RESERVE, 0xbbn, 0n, WE));
  expectConflict(await out(f, NEXUS_A, RESERVE, 0xaan, 0n, WE), 'stale key');
});

test('each reservation type: who may read and write, registered or not (libiscsi ProutReserve.Access*)', async (t) => {
  const f = await fixture(t);
  const table: Array<[number, boolean, boolean, boolean, boolean]> = [
    // type, registered B reads, writes, unregistered B reads, writes
    [EA, false, false, false, false],
    [WE, true, false, true, false],
    [EA_RO, true, true, false, false],
    [WE_RO, true, true, true, false],
    [EA_AR, true, true, false, false],
    [WE_AR, true, true, true, false],
  ];
  for (const [type, regRead, regWrite, unregRead, unregWrite] of table) {
    expectGood(await out(f, NEXUS_A, REGISTER_AND_IGNORE, 0n, 0x1n));
    expectGood(await out(f, NEXUS_B, REGISTER_AND_IGNORE, 0n, 0x2n));
    expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, type));
    assert.deepEqual(await reservation(f, NEXUS_B), { key: ALL_AR.includes(type) ? 0n : 0x1n, type, scope: 0 });
    expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, type), 'reserving again is fine');
    assert.equal(await canRead(f, NEXUS_A), true);
    assert.equal(await canWrite(f, NEXUS_A), true);
    assert.equal(await canRead(f, NEXUS_B), regRead, `type ${type}: registered read`);
    assert.equal(await canWrite(f, NEXUS_B), regWrite, `type ${type}: registered write`);
    // Commands every nexus may send under any reservation.
    for (const c of [
      cdb.inquiry(false, 0, 36),
      cdb.testUnitReady(),
      cdb.readCapacity10(),
      cdb.persistentReserveIn(0),
      cdb.reportTargetPortGroups(64),
      cdb.reportLuns(0, 64),
    ]) {
      expectGood(await f.exec(c, { nexus: NEXUS_B }), `type ${type}: opcode ${c[0]!.toString(16)}`);
    }
    expectGood(await out(f, NEXUS_B, REGISTER, 0x2n, 0n));
    assert.equal(await canRead(f, NEXUS_B), unregRead, `type ${type}: unregistered read`);
    assert.equal(await canWrite(f, NEXUS_B), unregWrite, `type ${type}: unregistered write`);
    expectConflict(await out(f, NEXUS_B, RESERVE, 0n, 0n, type), 'unregistered RESERVE');
    expectGood(await out(f, NEXUS_A, RELEASE, 0x1n, 0n, type));
    assert.equal(await reservation(f), undefined);
    expectGood(await out(f, NEXUS_A, REGISTER, 0x1n, 0n));
  }
});

test('a second nexus cannot take a reservation held by another, except all-registrants sharing it', async (t) => {
  const f = await fixture(t);
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectGood(await out(f, NEXUS_B, REGISTER, 0n, 0x2n));
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, WE_RO));
  expectConflict(await out(f, NEXUS_B, RESERVE, 0x2n, 0n, WE_RO));
  expectConflict(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, EA), 'holder asking for another type');
  expectGood(await out(f, NEXUS_B, RELEASE, 0x2n, 0n, WE_RO), 'RELEASE by a non-holder does nothing');
  assert.equal((await reservation(f))!.type, WE_RO);
  expectSense(await out(f, NEXUS_A, RELEASE, 0x1n, 0n, EA), INVALID_RELEASE_OF_PERSISTENT_RESERVATION, 'INVALID RELEASE OF PERSISTENT RESERVATION');
  expectGood(await out(f, NEXUS_A, RELEASE, 0x1n, 0n, WE_RO));
  expectSense(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_B }), RESERVATIONS_RELEASED, 'RESERVATIONS RELEASED for the other registrant');
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, EA_AR));
  expectGood(await out(f, NEXUS_B, RESERVE, 0x2n, 0n, EA_AR), 'every registrant holds an all-registrants reservation');
  expectGood(await out(f, NEXUS_B, RELEASE, 0x2n, 0n, EA_AR));
  expectSense(await f.exec(cdb.testUnitReady()), RESERVATIONS_RELEASED, 'releasing an all-registrants reservation tells the other registrants');
  assert.equal(await reservation(f), undefined);
});

test('the holder unregistering releases the reservation, except for all-registrants types (libiscsi ProutReserve.Ownership*)', async (t) => {
  const f = await fixture(t);
  for (const type of [EA, WE, EA_RO, WE_RO, EA_AR, WE_AR]) {
    expectGood(await out(f, NEXUS_A, REGISTER_AND_IGNORE, 0n, 0x1n));
    expectGood(await out(f, NEXUS_B, REGISTER_AND_IGNORE, 0n, 0x2n));
    expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, type));
    expectGood(await out(f, NEXUS_A, REGISTER, 0x1n, 0n));
    if (ALL_AR.includes(type)) {
      assert.deepEqual(await reservation(f), { key: 0n, type, scope: 0 }, `type ${type} stays`);
      assert.equal(await canWrite(f, NEXUS_B), true);
      expectGood(await out(f, NEXUS_B, RELEASE, 0x2n, 0n, type));
    } else {
      assert.equal(await reservation(f), undefined, `type ${type} released`);
      const tur = await f.exec(cdb.testUnitReady(), { nexus: NEXUS_B });
      if (type === EA_RO || type === WE_RO) expectSense(tur, RESERVATIONS_RELEASED);
      else expectGood(tur);
    }
    expectGood(await out(f, NEXUS_B, REGISTER, 0x2n, 0n));
    assert.deepEqual((await keys(f)).keys, []);
  }
});

test('PREEMPT removes registrations (2A/05 to them) and takes over a reservation; CLEAR removes everything (2A/03)', async (t) => {
  const f = await fixture(t);
  // Registrations only (libiscsi ProutPreempt.RemoveRegistration).
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectGood(await out(f, NEXUS_B, REGISTER, 0n, 0x2n));
  const g = (await keys(f)).generation;
  expectGood(await out(f, NEXUS_B, PREEMPT, 0x2n, 0x1n, EA));
  expectSense(await f.exec(cdb.testUnitReady()), REGISTRATIONS_PREEMPTED, 'REGISTRATIONS PREEMPTED');
  assert.deepEqual(await keys(f), { generation: g + 1, keys: [0x2n] });
  expectSense(await out(f, NEXUS_B, PREEMPT, 0x2n, 0n, EA), INVALID_FIELD_IN_PARAMETER_LIST, 'SERVICE ACTION RESERVATION KEY 0 without a reservation');
  expectConflict(await out(f, NEXUS_B, PREEMPT, 0x2n, 0x77n, EA), 'no registration holds that key');
  // Taking over a reservation: the holder's registration goes, the preempter holds the new type.
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, WE));
  expectGood(await out(f, NEXUS_B, PREEMPT_AND_ABORT, 0x2n, 0x1n, EA));
  assert.deepEqual(await reservation(f, NEXUS_B), { key: 0x2n, type: EA, scope: 0 });
  expectSense(await f.exec(cdb.read10(0, 1)), REGISTRATIONS_PREEMPTED);
  expectConflict(await f.exec(cdb.read10(0, 1)), 'A is now unregistered under EA');
  // All-registrants with SARK 0: everyone else goes.
  expectGood(await out(f, NEXUS_B, RELEASE, 0x2n, 0n, EA));
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, WE_AR));
  expectGood(await out(f, NEXUS_B, PREEMPT, 0x2n, 0n, EA_RO));
  assert.deepEqual((await keys(f, NEXUS_B)).keys, [0x2n]);
  assert.deepEqual(await reservation(f, NEXUS_B), { key: 0x2n, type: EA_RO, scope: 0 });
  expectSense(await f.exec(cdb.testUnitReady()), REGISTRATIONS_PREEMPTED);
  // CLEAR (libiscsi ProutClear.Simple): generation +1, nothing left, the others told 2A/03.
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  const before = (await keys(f)).generation;
  expectGood(await out(f, NEXUS_B, CLEAR, 0x2n, 0n));
  assert.deepEqual(await keys(f, NEXUS_B), { generation: before + 1, keys: [] });
  assert.equal(await reservation(f, NEXUS_B), undefined);
  expectSense(await f.exec(cdb.testUnitReady()), RESERVATIONS_PREEMPTED, 'RESERVATIONS PREEMPTED');
  expectGood(await f.exec(cdb.testUnitReady(), { nexus: NEXUS_B }));
});

test('PR IN: REPORT CAPABILITIES, READ FULL STATUS with TransportIDs, service action range', async (t) => {
  const f = await fixture(t);
  const caps = (await f.exec(cdb.persistentReserveIn(2))).dataIn!;
  assert.equal(caps.readUInt16BE(0), 8);
  assert.equal(caps[2], 0x15, 'CRH, ATP_C, PTPL_C; no SIP_C');
  assert.equal(caps[3]! & 0x80, 0x80, 'TMV');
  assert.equal((caps[3]! >> 4) & 7, 0, 'ALLOW COMMANDS');
  assert.equal(caps.readUInt16BE(4), 0xea01, 'all six types');
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectGood(await out(f, NEXUS_B, REGISTER, 0n, 0x2n, 0, { allTgPt: true }));
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, WE_RO));
  const fs = (await f.exec(cdb.persistentReserveIn(3))).dataIn!;
  const descs = [];
  for (let o = 8; o < 8 + fs.readUInt32BE(4);) {
    const tidLen = fs.readUInt32BE(o + 20);
    const tid = fs.subarray(o + 24, o + 24 + tidLen);
    descs.push({
      key: fs.readBigUInt64BE(o),
      flags: fs[o + 12],
      scopeType: fs[o + 13],
      rtpi: fs.readUInt16BE(o + 18),
      format: tid[0],
      name: tid.subarray(4).toString('utf8').replace(/\0+$/, ''),
    });
    assert.equal(tidLen % 4, 0);
    o += 24 + tidLen;
  }
  // ALL_TG_PT registered B on every port of the LU: 2 and 4 in group 1, 1 and 3 in group 0.
  assert.deepEqual(
    descs.map((d) => [d.key, d.flags, d.scopeType, d.rtpi, d.format, d.name]),
    [
      [0x1n, 0x01, WE_RO, 1, 0x45, NEXUS_A.initiatorPort],
      [0x2n, 0x02, 0, 1, 0x45, NEXUS_B.initiatorPort],
      [0x2n, 0x02, 0, 2, 0x45, NEXUS_B.initiatorPort],
      [0x2n, 0x02, 0, 3, 0x45, NEXUS_B.initiatorPort],
      [0x2n, 0x02, 0, 4, 0x45, NEXUS_B.initiatorPort],
    ],
  );
  for (let sa = 4; sa < 0x20; sa++) expectSense(await f.exec(cdb.persistentReserveIn(sa)), INVALID_FIELD_IN_CDB, `PR IN service action ${sa}`);
});

test('PR OUT checks: parameter list length, SPEC_I_PT refused, scope and type, REGISTER AND MOVE not offered', async (t) => {
  const f = await fixture(t);
  expectSense(await f.exec(cdb.persistentReserveOut(REGISTER, 0, 20), { dataOut: prOutParams(0n, 1n).subarray(0, 20) }), PARAMETER_LIST_LENGTH_ERROR);
  expectSense(
    await f.exec(cdb.persistentReserveOut(REGISTER, 0, 28), { dataOut: Buffer.concat([prOutParams(0n, 1n), Buffer.alloc(4)]) }),
    PARAMETER_LIST_LENGTH_ERROR,
  );
  expectSense(await f.exec(cdb.persistentReserveOut(REGISTER, 0, 24)), PARAMETER_LIST_LENGTH_ERROR, 'no Data-Out');
  const sip = expectSense(
    await f.exec(cdb.persistentReserveOut(REGISTER, 0, 24), { dataOut: prOutParams(0n, 1n, { specIpt: true }) }),
    INVALID_FIELD_IN_PARAMETER_LIST,
  );
  assert.deepEqual(sip.sksv, { cd: false, field: 20, bit: 3 });
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n));
  expectSense(await f.exec(cdb.persistentReserveOut(RESERVE, WE, 24, 2), { dataOut: prOutParams(0x1n, 0n) }), INVALID_FIELD_IN_CDB, 'scope');
  expectSense(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, 2), INVALID_FIELD_IN_CDB, 'obsolete type 2');
  expectSense(await out(f, NEXUS_A, 7, 0x1n, 0x2n), INVALID_FIELD_IN_CDB, 'REGISTER AND MOVE');
});

test('registrations survive I_T nexus loss and resets; ALL_TG_PT registers the initiator port on every target port', async (t) => {
  const f = await fixture(t);
  // NEXUS_A's initiator port seen through target port 3 (same group 0): another I_T nexus.
  const aPort3: ItNexus = { ...NEXUS_A, relativeTargetPortId: 3, targetPort: 'iqn.2026-11.io.kura:array1,t,0x0003' };
  f.target.nexusCreated(aPort3);
  expectSense(await f.exec(cdb.testUnitReady(), { nexus: aPort3 }), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await out(f, NEXUS_A, REGISTER, 0n, 0x1n, 0, { allTgPt: true }));
  expectGood(await out(f, NEXUS_A, RESERVE, 0x1n, 0n, EA_RO));
  assert.equal(await canWrite(f, aPort3), true, 'registered through ALL_TG_PT: allowed under a registrants-only type');
  assert.equal(await canWrite(f, NEXUS_B), false);
  f.target.taskManagement(NEXUS_A, 'nexus-loss');
  f.target.taskManagement(NEXUS_B, 'lun-reset', 0);
  f.target.taskManagement(NEXUS_B, 'target-warm-reset');
  await clearUnitAttentions(f, NEXUS_B);
  await clearUnitAttentions(f, aPort3);
  assert.deepEqual((await keys(f, NEXUS_B)).keys, [0x1n, 0x1n, 0x1n, 0x1n], 'one registration per target port, all kept');
  assert.deepEqual(await reservation(f, NEXUS_B), { key: 0x1n, type: EA_RO, scope: 0 });
  // The holder changes the type by preempting its own key.
  expectSense(await f.exec(cdb.testUnitReady()), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await out(f, NEXUS_A, PREEMPT, 0x1n, 0x1n, WE));
  assert.deepEqual(await reservation(f), { key: 0x1n, type: WE, scope: 0 });
  // SPC-4 5.12.11.4.3: every other I_T nexus registered with that key loses its registration, even the same initiator's other ports.
  assert.equal((await keys(f)).keys.length, 1);
  expectSense(await f.exec(cdb.testUnitReady(), { nexus: aPort3 }), REGISTRATIONS_PREEMPTED);
});
