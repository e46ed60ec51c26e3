// Failures of the block device become the sense data SBC-3 asks for: a full thin
// pool is DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT, a read-only LD is
// DATA PROTECT / WRITE PROTECTED, an I/O error is a MEDIUM ERROR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KuraError } from '../../src/errors.js';
import {
  cdb,
  INTERNAL_TARGET_FAILURE,
  LOGICAL_UNIT_NOT_SUPPORTED,
  SPACE_ALLOCATION_FAILED_WRITE_PROTECT,
  UNRECOVERED_READ_ERROR,
  WRITE_ERROR,
  WRITE_PROTECTED,
} from '../../src/scsi/spec/index.js';
import { BS, MiB, expectGood, expectSense, fixture, pattern } from './helpers.js';

test('writing past the thin pool space is DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT (27/07)', async (t) => {
  // A 4 MiB RAID1 pool behind a 32 MiB LD: the pool runs out after a few chunks.
  const f = await fixture(t, { poolSize: 8 * MiB, ldSize: 32 * MiB });
  const chunkBlocks = MiB / BS;
  const data = pattern(chunkBlocks, 7);
  let full: ReturnType<typeof expectSense> | undefined;
  for (let c = 0; c < 32; c++) {
    const r = await f.exec(cdb.write16(c * chunkBlocks, chunkBlocks), { dataOut: data });
    if (r.status === 0) continue;
    full = expectSense(r, SPACE_ALLOCATION_FAILED_WRITE_PROTECT, `write of chunk ${c}`);
    break;
  }
  assert.ok(full, 'the pool filled up');
  // What did fit is still readable; WRITE SAME and COMPARE AND WRITE into new space fail the same way.
  expectGood(await f.exec(cdb.read10(0, 8)));
  expectSense(await f.exec(cdb.writeSame16(31 * chunkBlocks, 8), { dataOut: pattern(1, 1) }), SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
  const zeros = Buffer.alloc(BS);
  expectSense(
    await f.exec(cdb.compareAndWrite(31 * chunkBlocks, 1), { dataOut: Buffer.concat([zeros, pattern(1, 2)]) }),
    SPACE_ALLOCATION_FAILED_WRITE_PROTECT,
  );
  // Freeing space (UNMAP of whole chunks) makes writes succeed again.
  const u = Buffer.alloc(24);
  u.writeUInt16BE(22, 0);
  u.writeUInt16BE(16, 2);
  u.writeBigUInt64BE(0n, 8);
  u.writeUInt32BE(2 * chunkBlocks, 16);
  expectGood(await f.exec(cdb.unmap(u.length), { dataOut: u }));
  expectGood(await f.exec(cdb.synchronizeCache10()));
  expectGood(await f.exec(cdb.write16(31 * chunkBlocks, 8), { dataOut: pattern(8, 3) }));
});

test('a read-only LD refuses every write with DATA PROTECT / WRITE PROTECTED and says WP in MODE SENSE', async (t) => {
  const f = await fixture(t);
  f.dev.readOnlyOverride = true;
  const wp = async (c: Buffer, dataOut?: Buffer) => expectSense(await f.exec(c, { dataOut }), WRITE_PROTECTED, c[0]!.toString(16));
  await wp(cdb.write10(0, 1), pattern(1, 1));
  await wp(cdb.write16(0, 1), pattern(1, 1));
  await wp(cdb.writeAndVerify10(0, 1), pattern(1, 1));
  await wp(cdb.writeSame10(0, 1), Buffer.alloc(BS));
  await wp(cdb.writeSame10(0, 1, 0x08)); // UNMAP, no Data-Out at all: still WRITE PROTECTED first
  await wp(cdb.writeSame16(0, 1, 0x08 | 0x01));
  await wp(cdb.compareAndWrite(0, 1), Buffer.alloc(2 * BS));
  await wp(cdb.unmap(24), Buffer.alloc(24));
  expectGood(await f.exec(cdb.read10(0, 1)));
  const ms = await f.exec(cdb.modeSense6(0x3f));
  expectGood(ms);
  assert.equal(ms.dataIn![2]! & 0x80, 0x80, 'WP bit in the device-specific parameter');
});

test('device I/O errors become MEDIUM ERROR (reads 11/00, writes 0C/00); a deleted LD is LOGICAL UNIT NOT SUPPORTED', async (t) => {
  const f = await fixture(t);
  f.dev.failWith = new KuraError('KURA-E1040', 'EIO', 'PD failed.', 'Replace the PD.');
  expectSense(await f.exec(cdb.read10(0, 1)), UNRECOVERED_READ_ERROR);
  expectSense(await f.exec(cdb.write10(0, 1), { dataOut: pattern(1, 1) }), WRITE_ERROR);
  expectSense(await f.exec(cdb.synchronizeCache10()), INTERNAL_TARGET_FAILURE);
  f.dev.failWith = new KuraError('KURA-E1030', 'ENOENT', 'LD deleted.', 'Reconnect.');
  expectSense(await f.exec(cdb.read10(0, 1)), LOGICAL_UNIT_NOT_SUPPORTED);
  f.dev.failWith = new Error('a bug');
  expectSense(await f.exec(cdb.read10(0, 1)), INTERNAL_TARGET_FAILURE);
  f.dev.failWith = undefined;
  expectGood(await f.exec(cdb.read10(0, 1)));
});
