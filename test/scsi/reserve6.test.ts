// RESERVE(6)/(10) and RELEASE(6)/(10): one holder; other nexuses meet
// RESERVATION CONFLICT except for INQUIRY, REPORT LUNS, REQUEST SENSE and RELEASE;
// LUN reset, target reset and I_T nexus loss release the reservation
// (libiscsi Reserve6.*).
import { test } from 'node:test';
import {
  cdb,
  prOutParams,
  BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  INVALID_FIELD_IN_CDB,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
} from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, expectConflict, expectGood, expectSense, fixture } from './helpers.js';

test('RESERVE(6) by one nexus: re-reserve is fine, the other conflicts, its RELEASE is a no-op', async (t) => {
  const f = await fixture(t);
  const b = { nexus: NEXUS_B };
  expectGood(await f.exec(cdb.reserve6()));
  expectGood(await f.exec(cdb.reserve6()), 'the holder may reserve again');
  expectConflict(await f.exec(cdb.reserve6(), b));
  expectGood(await f.exec(cdb.release6(), b), 'RELEASE from another nexus does nothing');
  expectGood(await f.exec(cdb.modeSense6(0x3f)));
  expectConflict(await f.exec(cdb.modeSense6(0x3f), b));
  expectConflict(await f.exec(cdb.read10(0, 1), b));
  expectConflict(await f.exec(cdb.testUnitReady(), b));
  expectConflict(await f.exec(cdb.persistentReserveIn(0), b));
  expectGood(await f.exec(cdb.inquiry(false, 0, 36), b));
  expectGood(await f.exec(cdb.reportLuns(0, 64), b));
  expectGood(await f.exec(cdb.requestSense(), b));
  expectGood(await f.exec(cdb.release6()));
  expectGood(await f.exec(cdb.reserve10(), b), 'RESERVE(10) after the release');
  expectConflict(await f.exec(cdb.reserve6()));
  expectGood(await f.exec(cdb.release10(), b));
  expectSense(await f.exec(Buffer.from([0x16, 0x01, 0, 0, 0, 0])), INVALID_FIELD_IN_CDB, 'extent reservations are obsolete');
});

test('LUN RESET, target resets and I_T nexus loss release a RESERVE(6) reservation and leave reset unit attentions', async (t) => {
  const f = await fixture(t);
  const b = { nexus: NEXUS_B };
  expectGood(await f.exec(cdb.reserve6()));
  f.target.taskManagement(NEXUS_A, 'lun-reset', 0);
  expectSense(await f.exec(cdb.reserve6(), b), BUS_DEVICE_RESET_FUNCTION_OCCURRED, 'BUS DEVICE RESET FUNCTION OCCURRED');
  expectGood(await f.exec(cdb.reserve6(), b));
  expectGood(await f.exec(cdb.release6(), b));
  expectSense(await f.exec(cdb.reserve6()), BUS_DEVICE_RESET_FUNCTION_OCCURRED);
  expectGood(await f.exec(cdb.reserve6()));
  f.target.taskManagement(NEXUS_A, 'target-warm-reset');
  expectSense(await f.exec(cdb.reserve6(), b), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await f.exec(cdb.reserve6(), b));
  f.target.taskManagement(NEXUS_A, 'target-cold-reset');
  expectSense(await f.exec(cdb.reserve6()), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED, 'POWER ON, RESET, OR BUS DEVICE RESET OCCURRED');
  expectGood(await f.exec(cdb.reserve6()));
  f.target.taskManagement(NEXUS_A, 'nexus-loss');
  expectSense(await f.exec(cdb.reserve6(), b), POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  expectGood(await f.exec(cdb.reserve6(), b), 'the lost nexus no longer holds it');
  expectGood(await f.exec(cdb.release6(), b));
});

test('RESERVE(6) and persistent reservations exclude each other', async (t) => {
  const f = await fixture(t);
  expectGood(await f.exec(cdb.persistentReserveOut(0), { dataOut: prOutParams(0n, 1n) }));
  expectGood(await f.exec(cdb.persistentReserveOut(1, 1), { dataOut: prOutParams(1n, 0n) }));
  expectConflict(await f.exec(cdb.reserve6()), 'even the PR holder cannot RESERVE(6)');
  expectConflict(await f.exec(cdb.release6(), { nexus: NEXUS_B }), 'an unregistered RELEASE meets the persistent reservation');
  expectGood(await f.exec(cdb.release6()), 'a registered RELEASE does nothing');
  expectGood(await f.exec(cdb.persistentReserveOut(2, 1), { dataOut: prOutParams(1n, 0n) }));
  expectGood(await f.exec(cdb.reserve6(), { nexus: NEXUS_B }));
  expectConflict(await f.exec(cdb.persistentReserveOut(1, 1), { dataOut: prOutParams(1n, 0n) }), 'PR OUT from another nexus under RESERVE(6)');
});
