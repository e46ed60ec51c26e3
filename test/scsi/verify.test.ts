// VERIFY(10/12/16) with BYTCHK 00b (medium check), 01b (compare the Data-Out) and
// 11b (one block against each); WRITE AND VERIFY writes, reads back and compares.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_FIELD_IN_CDB, MISCOMPARE_DURING_VERIFY_OPERATION } from '../../src/scsi/spec/index.js';
import { BS, expectGood, expectSense, fixture, pattern } from './helpers.js';

test('VERIFY compares the Data-Out with the medium and names the first differing byte', async (t) => {
  const f = await fixture(t);
  const data = pattern(8, 3);
  expectGood(await f.exec(cdb.write10(40, 8), { dataOut: data }));
  expectGood(await f.exec(cdb.verify10(40, 8, 1), { dataOut: data }), 'BYTCHK 01b, matching');
  expectGood(await f.exec(cdb.verify16(40, 8, 1), { dataOut: data }));
  expectGood(await f.exec(cdb.verify10(40, 8, 1, 0x10), { dataOut: data }), 'DPO is accepted');
  for (const at of [0, 777, 8 * BS - 1]) {
    const wrong = Buffer.from(data);
    wrong[at] ^= 'X'.charCodeAt(0);
    const s = expectSense(await f.exec(cdb.verify10(40, 8, 1), { dataOut: wrong }), MISCOMPARE_DURING_VERIFY_OPERATION);
    assert.equal(s.information, at);
    expectGood(await f.exec(cdb.verify10(40, 8, 0), { dataOut: wrong }), 'BYTCHK 00b does not compare');
  }
  expectGood(await f.exec(cdb.verify10(40, 0, 1)), 'zero blocks');
  expectSense(await f.exec(cdb.verify10(40, 1, 2), { dataOut: data }), INVALID_FIELD_IN_CDB, 'BYTCHK 10b is reserved');
});

test('VERIFY with BYTCHK 11b compares one block against every block of the range', async (t) => {
  const f = await fixture(t);
  const one = pattern(1, 7);
  expectGood(await f.exec(cdb.writeSame16(100, 10), { dataOut: one }));
  expectGood(await f.exec(cdb.verify16(100, 10, 3), { dataOut: one }));
  expectGood(await f.exec(cdb.write10(105, 1), { dataOut: pattern(1, 8) }));
  const s = expectSense(await f.exec(cdb.verify16(100, 10, 3), { dataOut: one }), MISCOMPARE_DURING_VERIFY_OPERATION);
  assert.ok(s.information! >= 5 * BS && s.information! < 6 * BS, 'offset inside the sixth block');
});

test('WRITE AND VERIFY writes through to the medium and verifies', async (t) => {
  const f = await fixture(t);
  const data = pattern(3, 11);
  expectGood(await f.exec(cdb.writeAndVerify10(7, 3), { dataOut: data }));
  assert.equal(f.dev.writes.at(-1)!.fua, true, 'written with FUA: verified on the medium');
  assert.ok((await f.exec(cdb.read10(7, 3))).dataIn!.equals(data));
  expectGood(await f.exec(cdb.writeAndVerify16(20, 2, false), { dataOut: pattern(2, 12) }), 'BYTCHK 0');
  expectGood(await f.exec(cdb.writeAndVerify10(0, 0)), 'zero blocks');
});
