// READ/WRITE 6/10/12/16 round-trip bytes through the real thin LD; transfer
// length 0 is a no-op (256 for the 6-byte CDBs); FUA reaches the device; DPO is
// accepted; RDPROTECT/WRPROTECT are refused; short Data-Out is handled per FCP-4.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_FIELD_IN_CDB, INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT } from '../../src/scsi/spec/index.js';
import { BS, expectGood, expectSense, fixture, pattern } from './helpers.js';

test('WRITE then READ of every CDB size returns the same bytes', async (t) => {
  const f = await fixture(t);
  const cases = [
    { w: cdb.write10, r: cdb.read10, lba: 10, n: 7 },
    { w: cdb.write12, r: cdb.read12, lba: 3000, n: 33 },
    { w: cdb.write16, r: cdb.read16, lba: f.dev.blockCount - 5, n: 5 },
    { w: cdb.write6, r: cdb.read6, lba: 100, n: 3 },
  ];
  let seed = 1;
  for (const c of cases) {
    const data = pattern(c.n, seed++);
    expectGood(await f.exec(c.w(c.lba, c.n), { dataOut: data }), 'write');
    const r = await f.exec(c.r(c.lba, c.n), { expected: c.n * BS });
    expectGood(r, 'read');
    assert.ok(r.dataIn!.equals(data), 'read back what was written');
  }
  // A write that spans a chunk boundary (1 MiB chunks) lands in both chunks.
  const lba = 2048 - 4;
  const data = pattern(8, 9);
  expectGood(await f.exec(cdb.write16(lba, 8), { dataOut: data }));
  assert.ok((await f.exec(cdb.read10(lba, 8))).dataIn!.equals(data));
  // Unwritten blocks of a thin LD read as zeros.
  const z = await f.exec(cdb.read10(20000, 4));
  assert.ok(z.dataIn!.equals(Buffer.alloc(4 * BS)));
});

test('transfer length 0 is a no-op on READ/WRITE 10/12/16 and means 256 blocks on READ(6)/WRITE(6)', async (t) => {
  const f = await fixture(t);
  for (const c of [cdb.read10(0, 0), cdb.read12(0, 0), cdb.read16(0, 0)]) {
    const r = await f.exec(c);
    expectGood(r);
    assert.equal(r.dataIn?.length ?? 0, 0);
  }
  for (const c of [cdb.write10(0, 0), cdb.write12(0, 0), cdb.write16(0, 0)]) expectGood(await f.exec(c));
  assert.equal(f.dev.writes.length, 0, 'no device write for a zero-length WRITE');
  const data = pattern(256, 3);
  expectGood(await f.exec(cdb.write6(0, 0), { dataOut: data }));
  assert.deepEqual(f.dev.writes.at(-1), { lba: 0, blocks: 256, fua: false });
  const r = await f.exec(cdb.read6(0, 0));
  expectGood(r);
  assert.equal(r.dataIn!.length, 256 * BS);
  assert.ok(r.dataIn!.equals(data));
});

test('FUA is honoured on WRITE and COMPARE AND WRITE; DPO and FUA_NV are accepted', async (t) => {
  const f = await fixture(t);
  const d = pattern(2, 4);
  expectGood(await f.exec(cdb.write10(0, 2, 0x08), { dataOut: d }));
  assert.deepEqual(f.dev.writes.at(-1), { lba: 0, blocks: 2, fua: true });
  expectGood(await f.exec(cdb.write16(8, 2), { dataOut: d }));
  assert.deepEqual(f.dev.writes.at(-1), { lba: 8, blocks: 2, fua: false });
  expectGood(await f.exec(cdb.write12(16, 2, 0x10 | 0x02), { dataOut: d }), 'DPO + FUA_NV');
  assert.equal(f.dev.writes.at(-1)!.fua, false);
  for (const flags of [0x10, 0x08, 0x18]) expectGood(await f.exec(cdb.read10(0, 1, flags)), `READ(10) flags ${flags}`);
  const caw = Buffer.concat([d.subarray(0, BS), pattern(1, 5)]);
  expectGood(await f.exec(cdb.compareAndWrite(0, 1, 0x08), { dataOut: caw }));
  assert.deepEqual(f.dev.writes.at(-1), { lba: 0, blocks: 1, fua: true });
});

test('non-zero RDPROTECT/WRPROTECT/VRPROTECT is INVALID FIELD IN CDB with a field pointer', async (t) => {
  const f = await fixture(t);
  for (let p = 1; p < 8; p++) {
    const s = expectSense(await f.exec(cdb.read10(0, 1, p << 5)), INVALID_FIELD_IN_CDB, 'RDPROTECT');
    assert.deepEqual(s.sksv, { cd: true, field: 1, bit: 7 });
    expectSense(await f.exec(cdb.read16(0, 1, p << 5)), INVALID_FIELD_IN_CDB);
    expectSense(await f.exec(cdb.write10(0, 1, p << 5), { dataOut: pattern(1, 1) }), INVALID_FIELD_IN_CDB, 'WRPROTECT');
    expectSense(await f.exec(cdb.verify10(0, 1, 1, p << 5), { dataOut: pattern(1, 1) }), INVALID_FIELD_IN_CDB, 'VRPROTECT');
  }
  assert.equal(f.dev.writes.length, 0);
});

test('Data-Out shorter than the CDB: whole blocks are written, a partial block is refused; longer Data-Out is cut to the CDB', async (t) => {
  const f = await fixture(t);
  const a = Buffer.alloc(4 * BS, 'a');
  expectGood(await f.exec(cdb.write10(0, 4), { dataOut: a }));
  // Two blocks asked, one sent: the one block is written, the second stays.
  expectGood(await f.exec(cdb.write10(0, 2), { dataOut: Buffer.alloc(BS, 'b') }));
  let r = await f.exec(cdb.read10(0, 2));
  assert.ok(r.dataIn!.subarray(0, BS).equals(Buffer.alloc(BS, 'b')));
  assert.ok(r.dataIn!.subarray(BS).equals(Buffer.alloc(BS, 'a')));
  // 200 bytes of one block: nothing is written.
  expectSense(await f.exec(cdb.write10(1, 1), { dataOut: Buffer.alloc(200, 'c') }), INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT);
  // One block asked, three sent: only the first is written.
  expectGood(await f.exec(cdb.write10(2, 1), { dataOut: Buffer.alloc(3 * BS, 'd') }));
  r = await f.exec(cdb.read10(0, 4));
  assert.equal(r.dataIn!.subarray(BS, 2 * BS).toString(), 'a'.repeat(BS));
  assert.equal(r.dataIn!.subarray(2 * BS, 3 * BS).toString(), 'd'.repeat(BS));
  assert.equal(r.dataIn!.subarray(3 * BS).toString(), 'a'.repeat(BS));
  // WRITE AND VERIFY with no Data-Out at all writes nothing and succeeds (libiscsi WriteVerify10Residuals).
  expectGood(await f.exec(cdb.writeAndVerify10(0, 1)));
});

test('a transfer length beyond MAXIMUM TRANSFER LENGTH is INVALID FIELD IN CDB', async (t) => {
  const f = await fixture(t);
  const s = expectSense(await f.exec(cdb.read16(0, 16385)), INVALID_FIELD_IN_CDB);
  assert.deepEqual(s.sksv, { cd: true, field: 10 });
  expectSense(await f.exec(cdb.write10(0, 16385)), INVALID_FIELD_IN_CDB);
  expectGood(await f.exec(cdb.read16(0, 16384)));
});

test('every response to a command with Data-Out says how much Data-Out its CDB describes, error or not', async (t) => {
  const f = await fixture(t);
  assert.equal((await f.exec(cdb.write10(0, 3), { dataOut: pattern(3, 1) })).dataOutLength, 3 * BS);
  assert.equal((await f.exec(cdb.write10(0, 1), { dataOut: Buffer.alloc(200) })).dataOutLength, BS, 'on CHECK CONDITION too');
  assert.equal((await f.exec(cdb.write6(0, 0), { dataOut: pattern(256, 1) })).dataOutLength, 256 * BS);
  assert.equal((await f.exec(cdb.compareAndWrite(0, 2), { dataOut: Buffer.alloc(4 * BS) })).dataOutLength, 4 * BS);
  assert.equal((await f.exec(cdb.writeSame16(0, 8, 0x09))).dataOutLength, 0, 'NDOB');
  assert.equal((await f.exec(cdb.writeSame10(0, 8), { dataOut: Buffer.alloc(BS) })).dataOutLength, BS);
  assert.equal((await f.exec(cdb.verify10(0, 2, 0))).dataOutLength, 0);
  assert.equal((await f.exec(cdb.verify10(0, 2, 1), { dataOut: Buffer.alloc(2 * BS) })).dataOutLength, 2 * BS);
  assert.equal((await f.exec(cdb.unmap(24), { dataOut: Buffer.alloc(24) })).dataOutLength, 24);
  assert.equal((await f.exec(cdb.persistentReserveOut(0), { dataOut: Buffer.alloc(24) })).dataOutLength, 24);
  assert.equal((await f.exec(cdb.modeSelect6(0))).dataOutLength, 0);
  assert.equal((await f.exec(cdb.read10(0, 1))).dataOutLength, undefined, 'no Data-Out for a READ');
});
