// EXTENDED COPY (LID1) and RECEIVE COPY RESULTS: blocks copied inside one LU and
// between two LUs named by their NAA designators, holes kept as holes, results held
// per list identifier, and the sense data for each kind of bad parameter list.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import {
  cdb,
  prOutParams,
  COPY_ABORTED,
  COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION,
  COPY_TARGET_DEVICE_NOT_REACHABLE,
  INVALID_FIELD_IN_CDB,
  PARAMETER_LIST_LENGTH_ERROR,
  TOO_MANY_SEGMENT_DESCRIPTORS,
  TOO_MANY_TARGET_DESCRIPTORS,
  UNREACHABLE_COPY_TARGET,
  UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE,
  UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
} from '../../src/scsi/spec/index.js';
import { BS, MiB, NEXUS_A, NEXUS_B, clearUnitAttentions, expectGood, expectSense, fixture, pattern } from './helpers.js';
import type { Fixture } from './helpers.js';
import { segmentDescriptor as segment, targetDescriptor as target, xcopyParams as params } from '../helpers/xcopy-params.js';

function xcopy(f: Fixture, p: Buffer, opts: { lun?: number; length?: number } = {}) {
  return f.exec(cdb.extendedCopy(opts.length ?? p.length), { dataOut: p, lun: opts.lun });
}

test('EXTENDED COPY copies blocks inside one LU; COPY STATUS reports the held result of a list identifier', async (t) => {
  const f = await fixture(t);
  const data = pattern(2048, 7);
  expectGood(await f.exec(cdb.write16(0, 2048), { dataOut: data }));
  expectSense(await f.exec(cdb.receiveCopyResults(0x00, 5)), INVALID_FIELD_IN_CDB, 'no copy with list id 5 yet');
  expectGood(await xcopy(f, params(5, [target(f.source.naa)], [segment(0, 0, 2048, 0, 20480)])));
  assert.ok((await f.exec(cdb.read16(20480, 2048))).dataIn!.equals(data), 'the copy reads back byte for byte');
  const st = await f.exec(cdb.receiveCopyResults(0x00, 5));
  expectGood(st);
  assert.equal(st.dataIn![4], 0x01, 'COPY MANAGER STATUS: completed without errors');
  assert.equal(st.dataIn!.readUInt16BE(5), 1, 'one segment processed');
  assert.equal(st.dataIn!.readUInt32BE(8), 2048 * BS, 'transfer count in bytes');
  expectSense(await f.exec(cdb.receiveCopyResults(0x00, 5), { nexus: NEXUS_B }), INVALID_FIELD_IN_CDB, 'results belong to the I_T nexus that copied');
  expectGood(await xcopy(f, Buffer.alloc(0), { length: 0 }), 'a zero parameter list length copies nothing');
});

test('EXTENDED COPY between two LUs named by NAA; zero source blocks stay holes on the destination', async (t) => {
  const f = await fixture(t, { poolSize: 128 * MiB });
  await f.array.lds.createLd({ name: 'dst', pool: 'p', size: 16 * MiB });
  const info = f.array.lds.getLd('dst');
  const dst = new LogicalUnit({ ...f.source, naa: info.naa, serial: info.serial, device: f.array.frontEnd.exports().open('dst')! });
  f.luns.set(1, dst);
  await clearUnitAttentions(f, NEXUS_A, 1);
  // 1 MiB of data, then 3 MiB the source never wrote (a hole).
  const data = pattern(2048, 3);
  expectGood(await f.exec(cdb.write16(0, 2048), { dataOut: data }));
  const p = params(1, [target(f.source.naa), target(info.naa)], [segment(0, 1, 8192, 0, 0)]);
  expectGood(await xcopy(f, p));
  assert.ok((await f.exec(cdb.read16(0, 2048), { lun: 1 })).dataIn!.equals(data));
  assert.ok((await f.exec(cdb.read16(2048, 6144), { lun: 1 })).dataIn!.equals(Buffer.alloc(6144 * BS)));
  assert.equal(f.array.lds.getLd('dst').allocated, MiB, 'only the chunk with data was allocated on the destination');
  // An LU the nexus cannot address is not a copy target, even if the array has it.
  f.luns.delete(1);
  expectSense(await xcopy(f, p), UNREACHABLE_COPY_TARGET, 'UNREACHABLE COPY TARGET');
});

test('EXTENDED COPY checks the parameter list: lengths, descriptor counts and types, indexes, capacity', async (t) => {
  const f = await fixture(t);
  const good = params(1, [target(f.source.naa)], [segment(0, 0, 8, 0, 64)]);
  expectSense(await xcopy(f, good.subarray(0, 16 + 31), { length: 16 + 31 }), PARAMETER_LIST_LENGTH_ERROR, 'truncated target descriptor');
  expectSense(await xcopy(f, good.subarray(0, good.length - 1), { length: good.length - 1 }), PARAMETER_LIST_LENGTH_ERROR, 'truncated segment descriptor');
  const op = await f.exec(cdb.receiveCopyResults(0x03, 0));
  expectGood(op);
  const maxTargets = op.dataIn!.readUInt16BE(8);
  const maxSegments = op.dataIn!.readUInt16BE(10);
  assert.deepEqual([...op.dataIn!.subarray(44, 44 + op.dataIn![43]!)], [0x02, 0xe4], 'implemented descriptor type codes');
  expectSense(
    await xcopy(
      f,
      params(
        1,
        Array.from({ length: maxTargets + 1 }, () => target(f.source.naa)),
        [segment(0, 0, 8, 0, 64)],
      ),
    ),
    TOO_MANY_TARGET_DESCRIPTORS,
    'TOO MANY TARGET DESCRIPTORS',
  );
  expectSense(
    await xcopy(
      f,
      params(
        1,
        [target(f.source.naa)],
        Array.from({ length: maxSegments + 1 }, () => segment(0, 0, 8, 0, 64)),
      ),
    ),
    TOO_MANY_SEGMENT_DESCRIPTORS,
    'TOO MANY SEGMENT DESCRIPTORS',
  );
  expectSense(
    await xcopy(f, params(1, [target(f.source.naa, 0xe0)], [segment(0, 0, 8, 0, 64)])),
    UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE,
    'Fibre Channel N_Port_Name target descriptor',
  );
  expectSense(
    await xcopy(f, params(1, [target(f.source.naa)], [segment(0, 0, 8, 0, 64, 0x03)])),
    UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE,
    'stream segment descriptor',
  );
  expectSense(await xcopy(f, params(1, [target('6' + '0'.repeat(31))], [segment(0, 0, 8, 0, 64)])), UNREACHABLE_COPY_TARGET, 'unknown LU');
  expectSense(
    await xcopy(f, params(1, [target(f.source.naa)], [segment(0, 1, 8, 0, 64)])),
    COPY_TARGET_DEVICE_NOT_REACHABLE,
    'destination index beyond the targets',
  );
  const blocks = f.dev.blockCount;
  expectSense(
    await xcopy(f, params(1, [target(f.source.naa)], [segment(0, 0, 8, 0, blocks - 1)])),
    COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION,
    'beyond the end of the destination',
  );
  expectSense(await f.exec(cdb.receiveCopyResults(0x01, 0)), INVALID_FIELD_IN_CDB, 'RECEIVE DATA is not supported');
});

test('INQUIRY reports 3PC and the Third-party Copy VPD page lists EXTENDED COPY and RECEIVE COPY RESULTS (COPY STATUS, OPERATING PARAMETERS, FAILED SEGMENT DETAILS)', async (t) => {
  const f = await fixture(t);
  const std = await f.exec(cdb.inquiry(false, 0, 96));
  assert.equal(std.dataIn![5]! & 0x08, 0x08, '3PC');
  const pages = (await f.exec(cdb.inquiry(true, 0x00, 255))).dataIn!;
  assert.ok([...pages.subarray(4)].includes(0x8f));
  const tpc = (await f.exec(cdb.inquiry(true, 0x8f, 255))).dataIn!;
  assert.equal(tpc.readUInt16BE(4), 0x0001, 'SUPPORTED COMMANDS descriptor');
  const list = tpc.subarray(9, 9 + tpc[8]!);
  assert.deepEqual([...list], [0x83, 1, 0x00, 0x84, 3, 0x00, 0x03, 0x04]);
});

test("EXTENDED COPY honours reservations on the other LU: no write under another nexus's Write Exclusive or RESERVE(6), reads where a READ would pass", async (t) => {
  const f = await fixture(t, { poolSize: 128 * MiB });
  await f.array.lds.createLd({ name: 'fenced', pool: 'p', size: 16 * MiB });
  const info = f.array.lds.getLd('fenced');
  const other = new LogicalUnit({ ...f.source, naa: info.naa, serial: info.serial, device: f.array.frontEnd.exports().open('fenced')! });
  f.luns.set(1, other);
  await clearUnitAttentions(f, NEXUS_A, 1);
  await clearUnitAttentions(f, NEXUS_B, 1);
  await clearUnitAttentions(f, NEXUS_B, 0);
  const mine = pattern(8, 1);
  const theirs = pattern(8, 2);
  expectGood(await f.exec(cdb.write16(0, 8), { dataOut: mine }));
  expectGood(await f.exec(cdb.write16(0, 8), { dataOut: theirs, nexus: NEXUS_B, lun: 1 }));
  // NEXUS_B registers and takes WRITE EXCLUSIVE (type 1) on LUN 1.
  expectGood(await f.exec(cdb.persistentReserveOut(0x00), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0n, 0xbn) }));
  expectGood(await f.exec(cdb.persistentReserveOut(0x01, 0x1), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0xbn, 0n) }));
  const toOther = params(1, [target(f.source.naa), target(info.naa)], [segment(0, 1, 8, 0, 0)]);
  const fromOther = params(2, [target(info.naa), target(f.source.naa)], [segment(0, 1, 8, 0, 100)]);
  expectSense(await xcopy(f, toOther), COPY_TARGET_DEVICE_NOT_REACHABLE, 'a write through the copy meets the Write Exclusive reservation');
  assert.ok((await f.exec(cdb.read16(0, 8), { nexus: NEXUS_B, lun: 1 })).dataIn!.equals(theirs), 'the reserved LU is unchanged');
  expectGood(await xcopy(f, fromOther), 'Write Exclusive lets others read');
  assert.ok((await f.exec(cdb.read16(100, 8))).dataIn!.equals(theirs));
  // EXCLUSIVE ACCESS (type 3) keeps reads out too.
  expectGood(await f.exec(cdb.persistentReserveOut(0x02, 0x1), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0xbn, 0n) }));
  expectGood(await f.exec(cdb.persistentReserveOut(0x01, 0x3), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0xbn, 0n) }));
  expectSense(await xcopy(f, fromOther), COPY_TARGET_DEVICE_NOT_REACHABLE, 'a read through the copy meets the Exclusive Access reservation');
  expectGood(await f.exec(cdb.persistentReserveOut(0x02, 0x3), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0xbn, 0n) }));
  expectGood(await xcopy(f, toOther), 'released: the copy goes through');
  assert.ok((await f.exec(cdb.read16(0, 8), { lun: 1 })).dataIn!.equals(mine));
  // A RESERVE(6) of the other nexus refuses the copy as it would refuse a WRITE (after unregistering: RESERVE(6) is refused while registrations exist).
  expectGood(await f.exec(cdb.persistentReserveOut(0x00), { nexus: NEXUS_B, lun: 1, dataOut: prOutParams(0xbn, 0n) }));
  expectGood(await f.exec(cdb.reserve6(), { nexus: NEXUS_B, lun: 1 }));
  expectSense(await xcopy(f, toOther), COPY_TARGET_DEVICE_NOT_REACHABLE, 'RESERVE(6) of another nexus');
  expectGood(await f.exec(cdb.release6(), { nexus: NEXUS_B, lun: 1 }));
  expectGood(await xcopy(f, toOther));
});

test('RECEIVE COPY RESULTS FAILED SEGMENT DETAILS returns the status and sense of a copy that failed in a segment, until delivered whole', async (t) => {
  const f = await fixture(t);
  const blocks = f.dev.blockCount;
  const data = pattern(8, 9);
  expectGood(await f.exec(cdb.write16(0, 8), { dataOut: data }));
  // The first segment copies, the second runs past the end of the LU.
  const p = params(7, [target(f.source.naa)], [segment(0, 0, 8, 0, 64), segment(0, 0, 8, 0, blocks - 4)]);
  expectSense(await xcopy(f, p), COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION, 'second segment beyond the end');
  assert.ok((await f.exec(cdb.read16(64, 8))).dataIn!.equals(data), 'the first segment was copied');
  const st = await f.exec(cdb.receiveCopyResults(0x00, 7));
  expectGood(st);
  assert.equal(st.dataIn![4], 0x02, 'COPY STATUS: completed with errors');
  assert.equal(st.dataIn!.readUInt16BE(5), 1, 'one segment processed');
  const short = await f.exec(cdb.receiveCopyResults(0x04, 7, 16));
  expectGood(short);
  const available = short.dataIn!.readUInt32BE(0);
  assert.ok(available > 56, 'details are available');
  const full = await f.exec(cdb.receiveCopyResults(0x04, 7, 1024));
  expectGood(full);
  const d = full.dataIn!;
  assert.equal(d.readUInt32BE(0), available, 'a truncated read does not discard the details');
  assert.equal(d[56], 0x02, 'COPY COMMAND STATUS: CHECK CONDITION');
  const sense = d.subarray(60, 60 + d.readUInt16BE(58));
  assert.equal(sense[2]! & 0x0f, COPY_ABORTED, 'the sense data the copy was terminated with');
  assert.equal(d.length, 4 + available);
  const again = await f.exec(cdb.receiveCopyResults(0x04, 7, 1024));
  expectGood(again);
  assert.equal(again.dataIn!.readUInt32BE(0), 0, 'delivered whole, the details are discarded');
  // A copy that succeeds has no failed segment details.
  expectGood(await xcopy(f, params(8, [target(f.source.naa)], [segment(0, 0, 8, 0, 200)])));
  assert.equal((await f.exec(cdb.receiveCopyResults(0x04, 8, 1024))).dataIn!.readUInt32BE(0), 0);
});
