// ORWRITE(16) ORs the Data-Out into the medium; READ DEFECT DATA reports empty lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_FIELD_IN_CDB, LBA_OUT_OF_RANGE } from '../../src/scsi/spec/index.js';
import { BS, expectGood, expectSense, fixture } from './helpers.js';

test('ORWRITE(16): the medium becomes medium OR data; range, protection and zero-length rules of a write', async (t) => {
  const f = await fixture(t);
  expectGood(await f.exec(cdb.write16(10, 2), { dataOut: Buffer.alloc(2 * BS, 0x0f) }));
  expectGood(await f.exec(cdb.orWrite16(10, 2), { dataOut: Buffer.alloc(2 * BS, 0xa0) }));
  assert.ok((await f.exec(cdb.read16(10, 2))).dataIn!.equals(Buffer.alloc(2 * BS, 0xaf)));
  expectGood(await f.exec(cdb.orWrite16(10, 1, 0x08), { dataOut: Buffer.alloc(BS, 0x50) }), 'FUA');
  assert.equal(f.dev.writes.at(-1)!.fua, true);
  assert.ok((await f.exec(cdb.read16(10, 1))).dataIn!.equals(Buffer.alloc(BS, 0xff)));
  expectGood(await f.exec(cdb.orWrite16(0, 0)));
  expectSense(await f.exec(cdb.orWrite16(f.dev.blockCount + 1, 0)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.orWrite16(-1, 1), { dataOut: Buffer.alloc(BS) }), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.orWrite16(0, 1, 0x20), { dataOut: Buffer.alloc(BS) }), INVALID_FIELD_IN_CDB, 'ORPROTECT');
});

test('READ DEFECT DATA(10)/(12): header only, lists valid as requested, DEFECT LIST LENGTH 0', async (t) => {
  const f = await fixture(t);
  const r10 = await f.exec(cdb.readDefectData10(0x18 | 0x05, 32));
  expectGood(r10);
  assert.deepEqual([...r10.dataIn!], [0, 0x1d, 0, 0]);
  const r12 = await f.exec(cdb.readDefectData12(0, 32));
  expectGood(r12);
  assert.equal(r12.dataIn!.length, 8);
  assert.equal(r12.dataIn!.readUInt32BE(4), 0);
});
