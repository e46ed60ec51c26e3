// The SCSI vocabulary (src/scsi/spec) agrees with the target that uses it: the
// builders' CDBs are the commands the target dispatches them as, sense data
// round-trips in both formats, and the ALUA parsers read what the target reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCommand } from '../../src/scsi/commands.js';
import * as S from '../../src/scsi/spec/index.js';
import { NEXUS_A, NEXUS_B, expectGood, fixture } from './helpers.js';

test('each CDB builder makes a CDB the target dispatches to the command of that name', () => {
  const cases: Array<[Buffer, string]> = [
    [S.cdb.testUnitReady(), 'TEST UNIT READY'],
    [S.cdb.requestSense(), 'REQUEST SENSE'],
    [S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 255), 'INQUIRY'],
    [S.cdb.reportLuns(), 'REPORT LUNS'],
    [S.cdb.modeSense6(0x3f), 'MODE SENSE(6)'],
    [S.cdb.modeSense10(0x3f), 'MODE SENSE(10)'],
    [S.cdb.modeSelect6(0), 'MODE SELECT(6)'],
    [S.cdb.modeSelect10(0), 'MODE SELECT(10)'],
    [S.cdb.reserve6(), 'RESERVE(6)'],
    [S.cdb.release6(), 'RELEASE(6)'],
    [S.cdb.reserve10(), 'RESERVE(10)'],
    [S.cdb.release10(), 'RELEASE(10)'],
    [S.cdb.persistentReserveIn(S.PRIN_READ_KEYS), 'PERSISTENT RESERVE IN'],
    [S.cdb.persistentReserveOut(S.PROUT_REGISTER), 'PERSISTENT RESERVE OUT'],
    [S.cdb.reportTargetPortGroups(), 'REPORT TARGET PORT GROUPS'],
    [S.cdb.reportSupportedOperationCodes(0), 'REPORT SUPPORTED OPERATION CODES'],
    [S.cdb.reportSupportedTaskManagementFunctions(), 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS'],
    [S.cdb.extendedCopy(0), 'EXTENDED COPY(LID1)'],
    [S.cdb.receiveCopyResults(S.RCR_COPY_STATUS, 0), 'RECEIVE COPY RESULTS'],
    [S.cdb.startStopUnit(true), 'START STOP UNIT'],
    [S.cdb.preventAllowMediumRemoval(0), 'PREVENT ALLOW MEDIUM REMOVAL'],
    [S.cdb.readCapacity10(), 'READ CAPACITY(10)'],
    [S.cdb.readCapacity16(), 'READ CAPACITY(16)'],
    [S.cdb.getLbaStatus(0), 'GET LBA STATUS'],
    [S.cdb.read6(0, 1), 'READ(6)'],
    [S.cdb.write6(0, 1), 'WRITE(6)'],
    [S.cdb.read10(0, 1), 'READ(10)'],
    [S.cdb.write10(0, 1), 'WRITE(10)'],
    [S.cdb.read12(0, 1), 'READ(12)'],
    [S.cdb.write12(0, 1), 'WRITE(12)'],
    [S.cdb.read16(0, 1), 'READ(16)'],
    [S.cdb.write16(0, 1, S.CDB_FUA), 'WRITE(16)'],
    [S.cdb.verify10(0, 1), 'VERIFY(10)'],
    [S.cdb.verify16(0, 1), 'VERIFY(16)'],
    [S.cdb.writeAndVerify10(0, 1), 'WRITE AND VERIFY(10)'],
    [S.cdb.writeAndVerify16(0, 1), 'WRITE AND VERIFY(16)'],
    [S.cdb.orWrite16(0, 1), 'ORWRITE(16)'],
    [S.cdb.compareAndWrite(0, 1), 'COMPARE AND WRITE'],
    [S.cdb.writeAtomic16(0, 1), 'WRITE ATOMIC(16)'],
    [S.cdb.writeSame10(0, 1), 'WRITE SAME(10)'],
    [S.cdb.writeSame16(0, 1, S.WRITE_SAME_UNMAP), 'WRITE SAME(16)'],
    [S.cdb.unmap(24), 'UNMAP'],
    [S.cdb.synchronizeCache10(), 'SYNCHRONIZE CACHE(10)'],
    [S.cdb.synchronizeCache16(), 'SYNCHRONIZE CACHE(16)'],
    [S.cdb.preFetch10(0, 1), 'PRE-FETCH(10)'],
    [S.cdb.preFetch16(0, 1), 'PRE-FETCH(16)'],
    [S.cdb.readDefectData10(0, 4), 'READ DEFECT DATA(10)'],
    [S.cdb.readDefectData12(0, 4), 'READ DEFECT DATA(12)'],
  ];
  for (const [c, name] of cases) {
    const spec = findCommand(c);
    assert.equal(spec?.name, name, `${c.toString('hex')}`);
    assert.equal(c.length, spec!.cdbLength, `${name}: CDB length`);
  }
});

test('sense data: every named condition survives fixed format; descriptor format is read too', () => {
  const named = Object.entries(S).filter((e): e is [string, S.SenseCode] => typeof e[1] === 'object' && e[1] !== null && 'asc' in e[1] && 'key' in e[1]);
  assert.ok(named.length > 40, 'the named conditions are exported');
  for (const [name, code] of named) {
    const s = S.parseSense(S.buildSense({ ...code, information: 7, field: { cdb: true, byte: 2, bit: 5 } }))!;
    assert.ok(S.isSense(s, code), name);
    assert.equal(s.information, 7);
    assert.deepEqual(s.sksv, { cd: true, field: 2, bit: 5 });
  }
  // Descriptor format (SPC-4 4.5.2): response code 72h, key, ASC, ASCQ in bytes 1-3.
  assert.ok(S.isSense(S.parseSense(Buffer.from([0x72, S.ILLEGAL_REQUEST, 0x21, 0x00, 0, 0, 0, 0])), S.LBA_OUT_OF_RANGE));
  assert.equal(S.parseSense(undefined), undefined);
  assert.equal(S.senseText(S.LBA_OUT_OF_RANGE), 'sense key 0x05 ASC/ASCQ 21/00');
});

test('ALUA: a refusal names its state; RTPG answers parse in both formats to the states the target reports', async (t) => {
  for (const state of ['standby', 'unavailable', 'transitioning'] as const) assert.equal(S.aluaStateOfSense(S.ALUA_REFUSAL[state]), state);
  assert.equal(S.aluaStateOfSense(S.LBA_OUT_OF_RANGE), undefined);
  const f = await fixture(t);
  f.groups[1]!.state = 'standby';
  for (const extended of [false, true]) {
    const r = await f.exec(S.cdb.reportTargetPortGroups(1024, extended));
    expectGood(r);
    assert.deepEqual(S.parseTargetPortGroups(r.dataIn!), [
      { id: 0, state: 'active/optimized', relativeTargetPortIds: [1, 3] },
      { id: 1, state: 'standby', relativeTargetPortIds: [2, 4] },
    ]);
    assert.equal(S.aluaStateOf(r.dataIn!, undefined, 4), 'standby', 'found by its port');
  }
  // The Device Identification page says which port and group answered.
  for (const nexus of [NEXUS_A, NEXUS_B]) {
    const id = S.parseDeviceIdentification((await f.exec(S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 1024), { nexus })).dataIn!);
    assert.deepEqual(id, { id: `naa.${f.source.naa}`, relativeTargetPortId: nexus.relativeTargetPortId, targetPortGroup: nexus.targetPortGroup });
  }
});
