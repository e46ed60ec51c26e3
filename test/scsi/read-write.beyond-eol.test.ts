// Every media access command that names an LBA range outside the medium ends
// with ILLEGAL REQUEST / LBA OUT OF RANGE, even with a transfer length of zero
// when the LBA itself lies beyond the last block (libiscsi *_beyond_eol, *_0blocks).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, unmapParams, LBA_OUT_OF_RANGE } from '../../src/scsi/spec/index.js';
import { BS, expectGood, expectSense, fixture, pattern } from './helpers.js';

test('READ/WRITE/VERIFY/WRITE AND VERIFY/PRE-FETCH beyond the end are LBA OUT OF RANGE', async (t) => {
  const f = await fixture(t);
  const n = f.dev.blockCount;
  const data = pattern(4, 1);
  const oob = async (c: Buffer, dataOut?: Buffer, msg?: string) => expectSense(await f.exec(c, { dataOut }), LBA_OUT_OF_RANGE, msg);
  for (const blocks of [1, 2, 4]) {
    await oob(cdb.read10(n + 1 - blocks, blocks), undefined, `READ(10) ${blocks}`);
    await oob(cdb.read12(n + 1 - blocks, blocks));
    await oob(cdb.read16(n + 1 - blocks, blocks));
    await oob(cdb.write10(n + 1 - blocks, blocks), data.subarray(0, blocks * BS));
    await oob(cdb.write16(n + 1 - blocks, blocks), data.subarray(0, blocks * BS));
    await oob(cdb.verify10(n + 1 - blocks, blocks, 1), data.subarray(0, blocks * BS));
    await oob(cdb.writeAndVerify16(n + 1 - blocks, blocks), data.subarray(0, blocks * BS));
    await oob(cdb.preFetch10(n + 1 - blocks, blocks));
    await oob(cdb.preFetch16(n + 1 - blocks, blocks));
  }
  // Huge and wrapped-around LBAs.
  for (const lba of [0x80000000, 0xffffffff]) {
    await oob(cdb.read10(lba, 1));
    await oob(cdb.write10(lba, 1), data.subarray(0, BS));
  }
  for (const lba of [2n ** 63n, 2n ** 64n - 1n, 2n ** 55n]) {
    await oob(cdb.read16(lba, 1), undefined, `READ(16) at ${lba}`);
    await oob(cdb.write16(lba, 1), data.subarray(0, BS));
  }
  // Two blocks starting at the last one.
  await oob(cdb.read10(n - 1, 2));
  // READ(6) reaches 21 bits of LBA only.
  await oob(cdb.read6(n, 1));
  // The last blocks themselves are fine.
  expectGood(await f.exec(cdb.read16(n - 256, 256)));
  expectGood(await f.exec(cdb.write10(n - 1, 1), { dataOut: data.subarray(0, BS) }));
  assert.ok(!f.dev.writes.some((w) => w.lba + w.blocks > n), 'nothing was written outside the medium');
});

test('a zero transfer length still checks the LBA', async (t) => {
  const f = await fixture(t);
  const n = f.dev.blockCount;
  for (const c of [cdb.read10, cdb.read12, cdb.read16, cdb.write10, cdb.write16]) {
    expectGood(await f.exec(c(0, 0)));
    expectGood(await f.exec(c(n, 0)), 'LBA = capacity with 0 blocks');
    expectSense(await f.exec(c(n + 1, 0)), LBA_OUT_OF_RANGE);
    expectSense(await f.exec(c(0xffffffff, 0)), LBA_OUT_OF_RANGE);
  }
  expectSense(await f.exec(cdb.verify10(n + 1, 0, 1)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.writeAndVerify10(n + 1, 0)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.preFetch10(n + 1, 0)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.synchronizeCache10(n + 1, 0)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.synchronizeCache16(n - 1, 2)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.writeSame10(n + 1, 0), { dataOut: Buffer.alloc(BS) }), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.writeSame16(2n ** 63n, 0), { dataOut: Buffer.alloc(BS) }), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.compareAndWrite(n, 1), { dataOut: Buffer.alloc(2 * BS) }), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.getLbaStatus(n)), LBA_OUT_OF_RANGE);
  expectSense(await f.exec(cdb.getLbaStatus(-1)), LBA_OUT_OF_RANGE);
  const u = unmapParams([{ lba: n - 1, blocks: 2 }]);
  expectSense(await f.exec(cdb.unmap(u.length), { dataOut: u }), LBA_OUT_OF_RANGE);
  const u0 = unmapParams([{ lba: n, blocks: 0 }]);
  expectGood(await f.exec(cdb.unmap(u0.length), { dataOut: u0 }), 'UNMAP of 0 blocks at the capacity');
  assert.equal(f.dev.writes.length, 0);
});
