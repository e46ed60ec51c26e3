// COMPARE AND WRITE: writes only when the medium matches the verify half; a
// miscompare leaves the blocks as they were and names the first differing byte in
// INFORMATION; concurrent COMPARE AND WRITEs and WRITEs to the same LBAs serialise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_FIELD_IN_CDB, LBA_OUT_OF_RANGE, MISCOMPARE_DURING_VERIFY_OPERATION } from '../../src/scsi/spec/index.js';
import { BS, NEXUS_A, NEXUS_B, expectGood, expectSense, fixture, pattern } from './helpers.js';

test('COMPARE AND WRITE writes when the data matches, for 1 to 255 blocks', async (t) => {
  const f = await fixture(t);
  for (const n of [1, 2, 17, 255]) {
    const old = pattern(n, n);
    const next = pattern(n, n + 100);
    expectGood(await f.exec(cdb.write16(1000, n), { dataOut: old }));
    expectGood(await f.exec(cdb.compareAndWrite(1000, n), { dataOut: Buffer.concat([old, next]) }), `${n} blocks`);
    assert.ok((await f.exec(cdb.read16(1000, n))).dataIn!.equals(next));
  }
  expectGood(await f.exec(cdb.compareAndWrite(0, 0)), 'zero blocks is a no-op');
});

test('a miscompare is MISCOMPARE / MISCOMPARE DURING VERIFY OPERATION with the offset in INFORMATION, and nothing is written', async (t) => {
  const f = await fixture(t);
  const n = 4;
  const old = pattern(n, 1);
  expectGood(await f.exec(cdb.write10(50, n), { dataOut: old }));
  for (const at of [0, 1, 511, 512, 1000, n * BS - 1]) {
    const wrong = Buffer.from(old);
    wrong[at] ^= 0x5a;
    const s = expectSense(await f.exec(cdb.compareAndWrite(50, n), { dataOut: Buffer.concat([wrong, pattern(n, 2)]) }), MISCOMPARE_DURING_VERIFY_OPERATION);
    assert.equal(s.information, at, 'INFORMATION = offset of the first differing byte');
    assert.ok((await f.exec(cdb.read10(50, n))).dataIn!.equals(old), 'blocks unchanged');
  }
});

test('COMPARE AND WRITE checks its fields and its Data-Out size', async (t) => {
  const f = await fixture(t);
  expectSense(await f.exec(cdb.compareAndWrite(0, 1, 0x20), { dataOut: Buffer.alloc(2 * BS) }), INVALID_FIELD_IN_CDB, 'WRPROTECT');
  const s = expectSense(await f.exec(cdb.compareAndWrite(0, 1), { dataOut: Buffer.alloc(BS) }), INVALID_FIELD_IN_CDB, 'one half missing');
  assert.deepEqual(s.sksv, { cd: true, field: 13 }, 'points at NUMBER OF LOGICAL BLOCKS');
  expectSense(await f.exec(cdb.compareAndWrite(0, 1), { dataOut: Buffer.alloc(4 * BS) }), INVALID_FIELD_IN_CDB, 'too much');
  // 256 blocks wrap to 0 in the one-byte field: Data-Out for 256 blocks with a count of 0 is refused (libiscsi 1.19 CompareAndWrite.Simple).
  expectSense(await f.exec(cdb.compareAndWrite(0, 0), { dataOut: Buffer.alloc(512 * BS) }), INVALID_FIELD_IN_CDB, 'count 0 with data');
  expectSense(await f.exec(cdb.compareAndWrite(f.dev.blockCount - 1, 2), { dataOut: Buffer.alloc(4 * BS) }), LBA_OUT_OF_RANGE);
  assert.equal(f.dev.writes.length, 0);
});

test('COMPARE AND WRITE is atomic against other COMPARE AND WRITEs and WRITEs to the same blocks', async (t) => {
  const f = await fixture(t);
  const lba = 300;
  // Two initiators each turn value v into v+1 when they see v, like a lock word (libiscsi MultipathIO.CompareAndWriteAsync).
  const block = (v: number) => Buffer.alloc(BS, v);
  expectGood(await f.exec(cdb.write10(lba, 1), { dataOut: block(0) }));
  const rounds = 60;
  const results = await Promise.all(
    Array.from({ length: rounds }, (_, i) =>
      f.exec(cdb.compareAndWrite(lba, 1), { nexus: i % 2 ? NEXUS_B : NEXUS_A, dataOut: Buffer.concat([block(i), block(i + 1)]) }),
    ),
  );
  const good = results.filter((r) => r.status === 0).length;
  for (const r of results) if (r.status !== 0) expectSense(r, MISCOMPARE_DURING_VERIFY_OPERATION);
  // Issued in order and serialised in order: every one of them must have matched.
  assert.equal(good, rounds);
  assert.ok((await f.exec(cdb.read10(lba, 1))).dataIn!.equals(block(rounds)));
  // A WRITE racing a COMPARE AND WRITE lands entirely before or after it, never in between.
  for (let i = 0; i < 20; i++) {
    expectGood(await f.exec(cdb.write10(lba, 2), { dataOut: Buffer.alloc(2 * BS, 1) }));
    const [caw, w] = await Promise.all([
      f.exec(cdb.compareAndWrite(lba, 2), { dataOut: Buffer.concat([Buffer.alloc(2 * BS, 1), Buffer.alloc(2 * BS, 2)]) }),
      f.exec(cdb.write10(lba, 2), { nexus: NEXUS_B, dataOut: Buffer.alloc(2 * BS, 3) }),
    ]);
    expectGood(caw);
    expectGood(w);
    assert.ok((await f.exec(cdb.read10(lba, 2))).dataIn!.equals(Buffer.alloc(2 * BS, 3)), 'the later WRITE wins whole');
  }
});
