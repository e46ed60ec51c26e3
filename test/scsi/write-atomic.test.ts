// WRITE ATOMIC(16): the data lands whole, also across a chunk boundary; a reader
// racing the writes never sees a mix of old and new blocks; freed chunks go back
// to the pool; bad fields and short Data-Out are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDataDir } from '../../src/block/check.js';
import { cdb, INVALID_FIELD_IN_CDB, INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT, LBA_OUT_OF_RANGE } from '../../src/scsi/spec/index.js';
import { BS, MiB, expectGood, expectSense, fixture, pattern } from './helpers.js';

/** 1 MiB chunks of 512-byte blocks: LBA 2048 starts the second chunk. */
const CHUNK_BLOCKS = MiB / BS;

test('WRITE ATOMIC writes 1 to 256 blocks, across a chunk boundary too, and gives the replaced chunks back', { timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  for (const n of [1, 7, 128, 256]) {
    const lba = CHUNK_BLOCKS - Math.floor(n / 2);
    const data = pattern(n, n);
    expectGood(await f.exec(cdb.writeAtomic16(lba, n), { dataOut: data }), `${n} blocks`);
    assert.ok((await f.exec(cdb.read16(lba, n))).dataIn!.equals(data));
  }
  const bl = (await f.exec(cdb.inquiry(true, 0xb0, 64))).dataIn!;
  assert.equal(bl.readUInt32BE(44), 256, 'MAXIMUM ATOMIC TRANSFER LENGTH');
  await f.lu.device.flush();
  assert.equal(f.poolUsed(), 2 * MiB, 'two chunks in use: the copies replaced the originals');
  // Committed metadata on disk: every map entry points at an allocated chunk, no chunk leaked.
  // kura check needs the directory free: close the array first.
  await f.array.close();
  assert.deepEqual(checkDataDir(f.dir).faults, []);
});

test('a reader racing WRITE ATOMIC sees all old or all new blocks, never a mix', { timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  const n = 256;
  const lba = CHUNK_BLOCKS - 100;
  const a = Buffer.alloc(n * BS, 0xaa);
  const b = Buffer.alloc(n * BS, 0xbb);
  expectGood(await f.exec(cdb.writeAtomic16(lba, n), { dataOut: a }));
  let writing = true;
  const writer = (async () => {
    try {
      for (let i = 0; i < 40; i++) expectGood(await f.exec(cdb.writeAtomic16(lba, n), { dataOut: i % 2 ? a : b }));
    } finally {
      writing = false;
    }
  })();
  let reads = 0;
  while (writing) {
    const got = (await f.exec(cdb.read16(lba, n))).dataIn!;
    assert.ok(got.equals(a) || got.equals(b), 'a read returned part of one write and part of another');
    reads++;
    // Cached reads complete without leaving the microtask queue: let the writer's I/O in.
    await new Promise((r) => setImmediate(r));
  }
  await writer;
  assert.ok(reads > 0);
});

test('WRITE ATOMIC refuses protection information, boundaries, too many blocks, ranges past the end and short Data-Out', { timeout: 60_000 }, async (t) => {
  const f = await fixture(t);
  const one = pattern(1, 1);
  expectSense(await f.exec(cdb.writeAtomic16(0, 1, 0x20), { dataOut: one }), INVALID_FIELD_IN_CDB, 'WRPROTECT');
  expectSense(await f.exec(cdb.writeAtomic16(0, 1, 0, 8), { dataOut: one }), INVALID_FIELD_IN_CDB, 'ATOMIC BOUNDARY');
  expectSense(await f.exec(cdb.writeAtomic16(0, 257), { dataOut: pattern(257, 1) }), INVALID_FIELD_IN_CDB, 'above the maximum atomic transfer length');
  const blocks = f.dev.blockCount;
  expectSense(await f.exec(cdb.writeAtomic16(blocks - 1, 2), { dataOut: pattern(2, 1) }), LBA_OUT_OF_RANGE, 'past the end');
  expectSense(await f.exec(cdb.writeAtomic16(0x8000000000000000n, 1), { dataOut: one }), LBA_OUT_OF_RANGE, 'huge LBA');
  expectGood(await f.exec(cdb.writeAtomic16(0, 0)), 'zero blocks is a no-op');
  expectSense(
    await f.exec(cdb.writeAtomic16(0, 4), { dataOut: pattern(2, 1), expected: 4 * BS }),
    INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT,
    'half the data is not an atomic write',
  );
  assert.ok((await f.exec(cdb.read16(0, 4))).dataIn!.equals(Buffer.alloc(4 * BS)), 'nothing was written');
});
