// WRITE SAME(10)/(16): a pattern repeated over the range; with UNMAP and a zero
// block the chunks go back to the pool; NDOB; zero blocks = to the last LBA;
// MAXIMUM WRITE SAME LENGTH; exactly one block of Data-Out; ANCHOR refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_COMMAND_OPERATION_CODE, INVALID_FIELD_IN_CDB, INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT } from '../../src/scsi/spec/index.js';
import { BS, MiB, expectGood, expectSense, fixture, pattern } from './helpers.js';

const UNMAP = 0x08;
const NDOB = 0x01;
const CHUNK = MiB / BS;

test('WRITE SAME repeats the block over the range, through both CDB sizes', async (t) => {
  const f = await fixture(t);
  for (const [c, lba, n] of [
    [cdb.writeSame10, 5, 300],
    [cdb.writeSame16, CHUNK - 10, 5000],
  ] as const) {
    const block = pattern(1, lba);
    expectGood(await f.exec(c(lba, n), { dataOut: block }));
    const r = await f.exec(cdb.read16(lba - 1, n + 2));
    for (let i = 0; i < n; i++) assert.ok(r.dataIn!.subarray((i + 1) * BS, (i + 2) * BS).equals(block), `block ${i}`);
    assert.ok(r.dataIn!.subarray(0, BS).equals(Buffer.alloc(BS)), 'block before untouched');
    assert.ok(r.dataIn!.subarray((n + 1) * BS).equals(Buffer.alloc(BS)), 'block after untouched');
  }
});

test('WRITE SAME with UNMAP and a zero block frees the chunks (pool used drops) and reads back zeros', async (t) => {
  const f = await fixture(t);
  const data = pattern(CHUNK, 3);
  for (let c = 0; c < 4; c++) expectGood(await f.exec(cdb.write16(c * CHUNK, CHUNK), { dataOut: data }));
  expectGood(await f.exec(cdb.synchronizeCache16()));
  const before = f.poolUsed();
  assert.ok(before >= 4 * MiB, `the pool holds the 4 chunks (${before})`);
  expectGood(await f.exec(cdb.writeSame16(0, 4 * CHUNK, UNMAP), { dataOut: Buffer.alloc(BS) }));
  expectGood(await f.exec(cdb.synchronizeCache16()));
  const after = f.poolUsed();
  assert.ok(after <= before - 4 * MiB, `pool used dropped from ${before} to ${after}`);
  assert.deepEqual(f.dev.unmaps.at(-1), [{ lba: 0, blocks: 4 * CHUNK }]);
  const r = await f.exec(cdb.read16(0, 16));
  assert.ok(r.dataIn!.equals(Buffer.alloc(16 * BS)));
  const st = await f.exec(cdb.getLbaStatus(0, 8 + 16));
  expectGood(st);
  assert.equal(st.dataIn![8 + 12], 1, 'GET LBA STATUS: deallocated');
  // WRITE SAME(10) with UNMAP, and WRITE SAME(16) with NDOB and no Data-Out at all.
  expectGood(await f.exec(cdb.write10(0, 8), { dataOut: pattern(8, 1) }));
  expectGood(await f.exec(cdb.writeSame10(0, 8, UNMAP), { dataOut: Buffer.alloc(BS) }));
  assert.ok((await f.exec(cdb.read10(0, 8))).dataIn!.equals(Buffer.alloc(8 * BS)));
  expectGood(await f.exec(cdb.write10(0, 8), { dataOut: pattern(8, 2) }));
  expectGood(await f.exec(cdb.writeSame16(0, 8, UNMAP | NDOB)));
  assert.ok((await f.exec(cdb.read10(0, 8))).dataIn!.equals(Buffer.alloc(8 * BS)));
  // UNMAP deallocates whatever the block holds (SBC-3: UNMAP 1, ANCHOR 0 → unmap); the blocks read as zeros.
  expectGood(await f.exec(cdb.write10(0, 8), { dataOut: pattern(8, 5) }));
  expectGood(await f.exec(cdb.writeSame10(0, 3, UNMAP), { dataOut: pattern(1, 9) }));
  assert.ok((await f.exec(cdb.read10(0, 3))).dataIn!.equals(Buffer.alloc(3 * BS)));
  assert.ok((await f.exec(cdb.read10(3, 1))).dataIn!.equals(pattern(8, 5).subarray(3 * BS, 4 * BS)));
});

test('WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 runs to the last LBA, within MAXIMUM WRITE SAME LENGTH', async (t) => {
  const f = await fixture(t);
  const n = f.dev.blockCount;
  expectGood(await f.exec(cdb.write10(n - 20, 20), { dataOut: pattern(20, 4) }));
  expectGood(await f.exec(cdb.writeSame10(n - 10, 0, UNMAP), { dataOut: Buffer.alloc(BS) }));
  const r = await f.exec(cdb.read10(n - 20, 20));
  assert.ok(!r.dataIn!.subarray(0, 10 * BS).equals(Buffer.alloc(10 * BS)), 'blocks before the LBA keep their data');
  assert.ok(r.dataIn!.subarray(10 * BS).equals(Buffer.alloc(10 * BS)), 'the rest to the end is zero');
  expectGood(await f.exec(cdb.writeSame16(n, 0), { dataOut: Buffer.alloc(BS) }), 'zero blocks at the capacity is nothing to do');
  // The LD has 32768 blocks: "to the end" from 0 fits in 65535; a 64 MiB LD would not.
  expectGood(await f.exec(cdb.writeSame16(0, 0), { dataOut: Buffer.alloc(BS) }));
  const s = expectSense(await f.exec(cdb.writeSame16(0, 65536), { dataOut: Buffer.alloc(BS) }), INVALID_FIELD_IN_CDB, 'beyond MAXIMUM WRITE SAME LENGTH');
  assert.deepEqual(s.sksv, { cd: true, field: 10 });
});

test('WRITE SAME refuses ANCHOR, protection, obsolete PBDATA/LBDATA and Data-Out that is not exactly one block', async (t) => {
  const f = await fixture(t);
  const one = Buffer.alloc(BS);
  expectSense(await f.exec(cdb.writeSame10(0, 1, 0x10), { dataOut: one }), INVALID_FIELD_IN_CDB, 'ANCHOR');
  expectSense(await f.exec(cdb.writeSame10(0, 1, 0x10 | UNMAP), { dataOut: one }), INVALID_FIELD_IN_CDB, 'ANCHOR+UNMAP');
  for (let p = 1; p < 8; p++) expectSense(await f.exec(cdb.writeSame10(0, 1, p << 5), { dataOut: one }), INVALID_FIELD_IN_CDB, 'WRPROTECT');
  expectSense(await f.exec(cdb.writeSame10(0, 1, 0x02), { dataOut: one }), INVALID_FIELD_IN_CDB, 'LBDATA');
  expectSense(await f.exec(cdb.writeSame10(0, 1, UNMAP), { dataOut: Buffer.alloc(BS / 2) }), INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT, 'half a block');
  expectSense(await f.exec(cdb.writeSame10(0, 1, UNMAP), { dataOut: Buffer.alloc(2 * BS) }), INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT, 'two blocks');
  expectSense(await f.exec(cdb.writeSame10(0, 1)), INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT, 'no Data-Out');
  assert.equal(f.dev.writes.length + f.dev.unmaps.length, 0);
});

test('a fully provisioned LU has no UNMAP: WRITE SAME with UNMAP is INVALID FIELD IN CDB, UNMAP an unknown command', async (t) => {
  const f = await fixture(t, { thin: false });
  expectSense(await f.exec(cdb.writeSame10(0, 1, UNMAP), { dataOut: Buffer.alloc(BS) }), INVALID_FIELD_IN_CDB);
  expectSense(await f.exec(cdb.unmap(24), { dataOut: Buffer.alloc(24) }), INVALID_COMMAND_OPERATION_CODE);
  expectGood(await f.exec(cdb.writeSame10(0, 1), { dataOut: Buffer.alloc(BS) }));
  const rc = await f.exec(cdb.readCapacity16());
  assert.equal(rc.dataIn![14]! & 0xc0, 0, 'LBPME and LBPRZ clear');
});
