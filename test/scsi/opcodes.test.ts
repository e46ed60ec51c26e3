// Unknown operation codes and service actions; REPORT SUPPORTED OPERATION CODES
// in all its reporting options, with CDB usage data and timeouts descriptors;
// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cdb, INVALID_COMMAND_OPERATION_CODE, INVALID_FIELD_IN_CDB } from '../../src/scsi/spec/index.js';
import { expectGood, expectSense, fixture } from './helpers.js';

test('an unknown operation code is INVALID COMMAND OPERATION CODE; an unknown service action INVALID FIELD IN CDB', async (t) => {
  const f = await fixture(t);
  for (const op of [0x02, 0x04, 0x3b, 0x8c, 0xff])
    expectSense(await f.exec(Buffer.from([op, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), INVALID_COMMAND_OPERATION_CODE, op.toString(16));
  const s = expectSense(await f.exec(Buffer.from([0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])), INVALID_FIELD_IN_CDB);
  assert.deepEqual(s.sksv, { cd: true, field: 1, bit: 4 });
  expectSense(await f.exec(Buffer.from([0xa3, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])), INVALID_FIELD_IN_CDB);
});

interface Descriptor {
  opcode: number;
  sa: number;
  servactv: boolean;
  ctdp: boolean;
  cdbLength: number;
  timeouts?: Buffer;
}

function allCommands(d: Buffer, rctd: boolean): Descriptor[] {
  const out: Descriptor[] = [];
  const end = 4 + d.readUInt32BE(0);
  for (let o = 4; o < end;) {
    const ctdp = (d[o + 5]! & 0x02) !== 0;
    out.push({
      opcode: d[o]!,
      sa: d.readUInt16BE(o + 2),
      servactv: (d[o + 5]! & 1) !== 0,
      ctdp,
      cdbLength: d.readUInt16BE(o + 6),
      timeouts: ctdp ? d.subarray(o + 8, o + 20) : undefined,
    });
    o += ctdp ? 20 : 8;
  }
  assert.equal(
    rctd,
    out.every((x) => x.ctdp),
  );
  return out;
}

test('REPORT SUPPORTED OPERATION CODES: all commands, then each one alone with matching usage data', async (t) => {
  const f = await fixture(t);
  const all = allCommands((await f.exec(cdb.reportSupportedOperationCodes(0))).dataIn!, false);
  const has = (op: number, sa?: number) => all.some((d) => d.opcode === op && (sa === undefined || (d.servactv && d.sa === sa)));
  for (const op of [0x00, 0x03, 0x12, 0x1a, 0x25, 0x28, 0x2a, 0x35, 0x41, 0x42, 0x88, 0x89, 0x8a, 0x93, 0xa0]) assert.ok(has(op), `opcode ${op.toString(16)}`);
  for (const [op, sa] of [
    [0x9e, 0x10],
    [0x9e, 0x12],
    [0xa3, 0x0a],
    [0xa3, 0x0c],
    [0xa3, 0x0d],
    [0x5e, 0],
    [0x5e, 3],
    [0x5f, 0],
    [0x5f, 6],
  ])
    assert.ok(has(op!, sa), `${op!.toString(16)}/${sa}`);
  assert.ok(
    all.every((d) => d.servactv || d.sa === 0),
    'SERVICE ACTION is zero unless SERVACTV',
  );
  for (const d of all) {
    const option = d.servactv ? 2 : 1;
    const r = await f.exec(cdb.reportSupportedOperationCodes(option, d.opcode, d.sa));
    expectGood(r, `${d.opcode.toString(16)}/${d.sa}`);
    const one = r.dataIn!;
    assert.equal(one[1]! & 0x07, 3, 'supported as in the standard');
    assert.equal(one.readUInt16BE(2), d.cdbLength);
    assert.equal(one[4], d.opcode, 'CDB USAGE DATA starts with the opcode');
    assert.equal(one.length, 4 + d.cdbLength);
    // The wrong option for this kind of command is INVALID FIELD IN CDB.
    expectSense(await f.exec(cdb.reportSupportedOperationCodes(d.servactv ? 1 : 2, d.opcode, d.sa)), INVALID_FIELD_IN_CDB);
    expectGood(await f.exec(cdb.reportSupportedOperationCodes(3, d.opcode, d.sa)));
  }
  // DPO and FUA are in the usage data of READ(10)/(16), WRITE(10), COMPARE AND WRITE; DPO of VERIFY(10).
  for (const op of [0x28, 0x88, 0x2a, 0x89]) assert.equal((await f.exec(cdb.reportSupportedOperationCodes(1, op))).dataIn![5]! & 0x18, 0x18, op.toString(16));
  for (const op of [0x2f, 0x2e]) assert.equal((await f.exec(cdb.reportSupportedOperationCodes(1, op))).dataIn![5]! & 0x10, 0x10, op.toString(16));
  const none = (await f.exec(cdb.reportSupportedOperationCodes(1, 0x3b))).dataIn!;
  assert.equal(none[1]! & 0x07, 1, 'an unsupported command is "not supported", not an error');
  expectSense(await f.exec(cdb.reportSupportedOperationCodes(5)), INVALID_FIELD_IN_CDB, 'reporting option 101b');
  // Allocation length cuts.
  assert.equal((await f.exec(cdb.reportSupportedOperationCodes(0, 0, 0, false, 10))).dataIn!.length, 10);
});

test('REPORT SUPPORTED OPERATION CODES with RCTD: a 12-byte timeouts descriptor for every command', async (t) => {
  const f = await fixture(t);
  const all = allCommands((await f.exec(cdb.reportSupportedOperationCodes(0, 0, 0, true))).dataIn!, true);
  assert.ok(all.length > 40);
  for (const d of all) {
    assert.equal(d.timeouts!.readUInt16BE(0), 0x0a);
    assert.ok(d.timeouts!.readUInt32BE(8) > 0, 'a recommended timeout');
  }
  const one = (await f.exec(cdb.reportSupportedOperationCodes(1, 0x28, 0, true))).dataIn!;
  assert.equal(one[1]! & 0x80, 0x80, 'CTDP');
  assert.equal(one.length, 4 + 10 + 12);
});

test('REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS', async (t) => {
  const f = await fixture(t);
  const r = (await f.exec(cdb.reportSupportedTaskManagementFunctions())).dataIn!;
  assert.equal(r.length, 4);
  assert.equal(r[0], 0xda, 'ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET RESET');
  const ext = (await f.exec(cdb.reportSupportedTaskManagementFunctions(true))).dataIn!;
  assert.equal(ext.length, 16);
  assert.equal(ext[3], 0x0c);
});
