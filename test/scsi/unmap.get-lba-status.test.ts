// UNMAP frees whole chunks and zeroes partial ones; GET LBA STATUS reports mapped
// (0) and deallocated (1) extents starting at the requested LBA; the parameter
// list of UNMAP is checked for every length and count it carries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, unmapParams, INVALID_FIELD_IN_CDB, INVALID_FIELD_IN_PARAMETER_LIST, PARAMETER_LIST_LENGTH_ERROR } from '../../src/scsi/spec/index.js';
import { BS, MiB, expectGood, expectSense, fixture, pattern } from './helpers.js';

const CHUNK = MiB / BS;

function descriptors(d: Buffer): Array<{ lba: number; blocks: number; status: number }> {
  const len = d.readUInt32BE(0);
  const out = [];
  for (let o = 8; o + 16 <= Math.min(d.length, len + 4); o += 16)
    out.push({ lba: Number(d.readBigUInt64BE(o)), blocks: d.readUInt32BE(o + 8), status: d[o + 12]! & 0x0f });
  return out;
}

test('UNMAP frees space, and GET LBA STATUS reports the holes from the requested LBA on', async (t) => {
  const f = await fixture(t);
  const data = pattern(CHUNK, 5);
  for (let c = 0; c < 3; c++) expectGood(await f.exec(cdb.write16(c * CHUNK, CHUNK), { dataOut: data }));
  expectGood(await f.exec(cdb.synchronizeCache10()));
  const before = f.poolUsed();
  let st = await f.exec(cdb.getLbaStatus(0, 8 + 16 * 4));
  expectGood(st);
  assert.deepEqual(descriptors(st.dataIn!), [
    { lba: 0, blocks: 3 * CHUNK, status: 0 },
    { lba: 3 * CHUNK, blocks: f.dev.blockCount - 3 * CHUNK, status: 1 },
  ]);
  // The middle chunk and 8 blocks of the first.
  const p = unmapParams([
    { lba: CHUNK, blocks: CHUNK },
    { lba: 16, blocks: 8 },
  ]);
  expectGood(await f.exec(cdb.unmap(p.length), { dataOut: p }));
  expectGood(await f.exec(cdb.synchronizeCache10()));
  assert.ok(f.poolUsed() < before, 'pool used dropped');
  const r = await f.exec(cdb.read10(8, 24));
  assert.ok(r.dataIn!.subarray(0, 8 * BS).equals(data.subarray(8 * BS, 16 * BS)), 'blocks before the range kept');
  assert.ok(r.dataIn!.subarray(8 * BS, 16 * BS).equals(Buffer.alloc(8 * BS)), 'unmapped blocks read zeros');
  st = await f.exec(cdb.getLbaStatus(20, 8 + 16 * 8));
  assert.deepEqual(descriptors(st.dataIn!).slice(0, 3), [
    { lba: 20, blocks: CHUNK - 20, status: 0 }, // a partial unmap leaves the chunk mapped
    { lba: CHUNK, blocks: CHUNK, status: 1 },
    { lba: 2 * CHUNK, blocks: CHUNK, status: 0 },
  ]);
  // An allocation length for one descriptor gets one, and PARAMETER DATA LENGTH matches what is returned.
  st = await f.exec(cdb.getLbaStatus(CHUNK + 5, 24));
  assert.equal(st.dataIn!.length, 24);
  assert.equal(st.dataIn!.readUInt32BE(0), 20);
  assert.deepEqual(descriptors(st.dataIn!), [{ lba: CHUNK + 5, blocks: CHUNK - 5, status: 1 }]);
  // Allocation length shorter than a descriptor: the header alone.
  st = await f.exec(cdb.getLbaStatus(0, 8));
  expectGood(st);
  assert.equal(st.dataIn!.length, 8);
});

test('UNMAP parameter list: empty, short, truncated, too many descriptors, too many blocks, ANCHOR', async (t) => {
  const f = await fixture(t);
  expectGood(await f.exec(cdb.unmap(0)), 'parameter list length 0');
  expectGood(await f.exec(cdb.unmap(8), { dataOut: unmapParams([]) }), 'header only');
  expectSense(await f.exec(cdb.unmap(6), { dataOut: Buffer.alloc(6) }), PARAMETER_LIST_LENGTH_ERROR, 'shorter than the header');
  expectSense(await f.exec(cdb.unmap(24)), PARAMETER_LIST_LENGTH_ERROR, 'no Data-Out');
  // A descriptor data length that is not a multiple of 16 leaves the partial descriptor unused.
  const p = unmapParams([{ lba: 0, blocks: 8 }]);
  p.writeUInt16BE(20, 2);
  expectGood(await f.exec(cdb.unmap(p.length), { dataOut: p }));
  const many = unmapParams(Array.from({ length: 257 }, (_, i) => ({ lba: i, blocks: 1 })));
  const s = expectSense(await f.exec(cdb.unmap(many.length), { dataOut: many }), INVALID_FIELD_IN_PARAMETER_LIST, 'more than 256 descriptors');
  assert.deepEqual(s.sksv, { cd: false, field: 2 });
  const ok = unmapParams(Array.from({ length: 256 }, (_, i) => ({ lba: i * 2, blocks: 1 })));
  expectGood(await f.exec(cdb.unmap(ok.length), { dataOut: ok }));
  const big = unmapParams([
    { lba: 0, blocks: 0x80000 },
    { lba: 0, blocks: 0x80001 },
  ]);
  const f2 = await fixture(t, { ldSize: 1024 * MiB, poolSize: 16 * MiB });
  expectSense(await f2.exec(cdb.unmap(big.length), { dataOut: big }), INVALID_FIELD_IN_PARAMETER_LIST, 'more than MAXIMUM UNMAP LBA COUNT');
  expectSense(await f.exec(cdb.unmap(24, true), { dataOut: unmapParams([{ lba: 0, blocks: 1 }]) }), INVALID_FIELD_IN_CDB, 'ANCHOR');
  for (let i = 0; i < 4; i++) expectGood(await f.exec(cdb.unmap(24), { dataOut: unmapParams([{ lba: i, blocks: 0 }]) }), 'zero-length descriptors');
});
