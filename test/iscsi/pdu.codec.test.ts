// The PDU codec: builders write the fields where RFC 7143 11 puts them, the
// stream reader cuts PDUs out of arbitrarily split chunks (with AHS, padding
// and both digests), lands Data-Out in place, and reports digest and length
// errors instead of throwing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { crc32c, dataDigest } from '../../src/iscsi/crc32c.js';
import * as P from '../../src/iscsi/pdu.js';
import type { Pdu } from '../../src/iscsi/pdu.js';
import { ChunkQueue } from '../../src/io/chunk-queue.js';
import { PduReader, isReaderError } from '../../src/iscsi/pdu-reader.js';
import { encodeText, parseText } from '../../src/iscsi/text.js';

const seq = { statSN: 0x11223344, expCmdSN: 0x55667788, maxCmdSN: 0x99aabbcc };

/** A PDU as a sender puts it on the wire. */
function wire(bhs: Buffer, data: Buffer, o: { hd?: boolean; dd?: boolean; ahs?: Buffer } = {}): Buffer {
  const parts = [bhs];
  if (o.ahs) parts.push(o.ahs);
  if (o.hd) {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(crc32c(o.ahs ?? Buffer.alloc(0), crc32c(bhs)));
    parts.push(d);
  }
  if (data.length) {
    parts.push(data, Buffer.alloc(P.padOf(data.length)));
    if (o.dd) {
      const d = Buffer.alloc(4);
      d.writeUInt32LE(dataDigest(data));
      parts.push(d);
    }
  }
  return Buffer.concat(parts);
}

function readAll(r: PduReader, bytes: Buffer, chunk: number): Pdu[] {
  const out: Pdu[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    r.push(bytes.subarray(i, i + chunk));
    for (;;) {
      const p = r.next();
      if (p === null) break;
      assert.ok(!isReaderError(p), 'no reader error');
      out.push(p as Pdu);
    }
  }
  return out;
}

test('SCSI Response: flags, status, residual, ExpDataSN and the window fields sit where RFC 7143 11.4 says', () => {
  const h = P.scsiResponse({
    itt: 0xdeadbeef,
    status: 0x02,
    response: 0,
    flags: P.RSP_UNDERFLOW,
    residual: 512,
    bidiResidual: 0,
    expDataSN: 3,
    seq,
    dataLength: 20,
  });
  assert.equal(h.length, 48);
  assert.equal(h[0], P.OP_SCSI_RESPONSE);
  assert.equal(h[1], 0x80 | 0x02);
  assert.equal(h[3], 0x02);
  assert.equal(P.dataSegmentLength(h), 20);
  assert.equal(h.readUInt32BE(16), 0xdeadbeef);
  assert.equal(h.readUInt32BE(24), seq.statSN);
  assert.equal(h.readUInt32BE(28), seq.expCmdSN);
  assert.equal(h.readUInt32BE(32), seq.maxCmdSN);
  assert.equal(h.readUInt32BE(36), 3);
  assert.equal(h.readUInt32BE(44), 512);
});

test('Data-In: S bit carries status, residual and StatSN; without it StatSN and residual stay 0', () => {
  const last = P.dataIn({
    final: true,
    statusPresent: true,
    status: 0,
    residualFlags: P.RSP_OVERFLOW,
    residual: 7,
    lun: 3,
    itt: 9,
    dataSN: 4,
    bufferOffset: 8192,
    seq,
    dataLength: 100,
  });
  assert.equal(last[0], P.OP_SCSI_DATA_IN);
  assert.equal(last[1], 0x80 | 0x01 | 0x04);
  assert.equal(P.decodeLun(last), 3);
  assert.equal(last.readUInt32BE(20), 0xffffffff, 'TTT reserved');
  assert.equal(last.readUInt32BE(24), seq.statSN);
  assert.equal(last.readUInt32BE(36), 4);
  assert.equal(last.readUInt32BE(40), 8192);
  assert.equal(last.readUInt32BE(44), 7);
  const mid = P.dataIn({
    final: false,
    statusPresent: false,
    status: 0,
    residualFlags: P.RSP_OVERFLOW,
    residual: 7,
    lun: 3,
    itt: 9,
    dataSN: 0,
    bufferOffset: 0,
    seq,
    dataLength: 100,
  });
  assert.equal(mid[1], 0);
  assert.equal(mid.readUInt32BE(24), 0);
  assert.equal(mid.readUInt32BE(44), 0);
  assert.equal(mid.readUInt32BE(28), seq.expCmdSN, 'ExpCmdSN in every Data-In');
});

test('R2T, Login/Logout/TMF responses, NOP-In, Reject and Async Message fields', () => {
  const r = P.r2t({ lun: 1, itt: 2, ttt: 3, r2tSN: 4, bufferOffset: 5, desiredLength: 6, seq });
  assert.deepEqual(
    [r[0], r[1], r.readUInt32BE(16), r.readUInt32BE(20), r.readUInt32BE(36), r.readUInt32BE(40), r.readUInt32BE(44)],
    [0x31, 0x80, 2, 3, 4, 5, 6],
  );
  const isid = Buffer.from('80123456789a', 'hex');
  const l = P.loginResponse({ transit: true, csg: 1, nsg: 3, isid, tsih: 0x1234, itt: 7, statusClass: 2, statusDetail: 3, seq, dataLength: 0 });
  assert.equal(l[0], 0x23);
  assert.equal(l[1], 0x80 | (1 << 2) | 3);
  assert.deepEqual(l.subarray(8, 14), isid);
  assert.equal(l.readUInt16BE(14), 0x1234);
  assert.deepEqual([l[36], l[37]], [2, 3]);
  const lo = P.logoutResponse({ itt: 1, response: 2, time2Wait: 3, time2Retain: 4, seq });
  assert.deepEqual([lo[0], lo[2], lo.readUInt16BE(40), lo.readUInt16BE(42)], [0x26, 2, 3, 4]);
  const t = P.taskMgmtResponse({ itt: 5, response: 1, seq });
  assert.deepEqual([t[0], t[1], t[2], t.readUInt32BE(16)], [0x22, 0x80, 1, 5]);
  const n = P.nopIn({ itt: 0xffffffff, ttt: 42, seq, dataLength: 0 });
  assert.deepEqual([n[0], n.readUInt32BE(16), n.readUInt32BE(20)], [0x20, 0xffffffff, 42]);
  const rj = P.reject({ reason: P.REJECT_PROTOCOL_ERROR, seq });
  assert.deepEqual([rj[0], rj[2], P.dataSegmentLength(rj), rj.readUInt32BE(16)], [0x3f, 4, 48, 0xffffffff]);
  const a = P.asyncMessage({ event: P.ASYNC_EVENT_LOGOUT_REQUEST, parameter3: 9, seq });
  assert.deepEqual([a[0], a[36], a.readUInt16BE(42)], [0x32, 1, 9]);
});

test('LUN fields: peripheral (<256) and flat space addressing round-trip; other methods decode to -1', () => {
  const b = Buffer.alloc(48);
  for (const lun of [0, 1, 255, 256, 4095, 16383]) {
    P.encodeLun(lun, b);
    assert.equal(P.decodeLun(b), lun);
  }
  P.encodeLun(300, b);
  assert.deepEqual([...b.subarray(8, 10)], [0x41, 0x2c]);
  b.fill(0, 8, 16);
  b[8] = 0xc0;
  assert.equal(P.decodeLun(b), -1, 'extended addressing is not a LUN we have');
  b.fill(0, 8, 16);
  b[12] = 1;
  assert.equal(P.decodeLun(b), -1, 'second level LUN');
});

test('serial number arithmetic wraps at 2^32 (RFC 1982)', () => {
  assert.ok(P.snLt(0xffffffff, 0));
  assert.ok(P.snLt(0xfffffff0, 5));
  assert.ok(!P.snLt(5, 0xfffffff0));
  assert.ok(P.snLe(7, 7));
  assert.equal(P.snAdd(0xffffffff, 2), 1);
});

test('the reader cuts PDUs out of chunks split at every size, with AHS, padding and digests', () => {
  const pdus: Buffer[] = [];
  const expected: Array<{ op: number; data: Buffer; ahs: number }> = [];
  for (let i = 0; i < 12; i++) {
    const data = crypto.randomBytes(i * 37);
    const h = P.initiatorHeader(P.OP_SCSI_COMMAND, 0x80, data.length);
    h.writeUInt32BE(i, 16);
    let ahs: Buffer | undefined;
    if (i % 3 === 0) {
      ahs = Buffer.alloc(20);
      ahs.writeUInt16BE(17, 0);
      ahs[2] = P.AHS_EXTENDED_CDB;
      h[4] = 5;
    }
    pdus.push(wire(h, data, { hd: true, dd: true, ahs }));
    expected.push({ op: P.OP_SCSI_COMMAND, data, ahs: ahs?.length ?? 0 });
  }
  const stream = Buffer.concat(pdus);
  for (const chunk of [1, 3, 48, 49, 100, 4096, stream.length]) {
    const r = new PduReader();
    r.headerDigest = true;
    r.dataDigest = true;
    const got = readAll(r, stream, chunk);
    assert.equal(got.length, expected.length, `chunk ${chunk}`);
    got.forEach((p, i) => {
      assert.equal(P.ittOf(p.bhs), i);
      assert.deepEqual(p.data, expected[i]!.data);
      assert.equal(p.ahs.length, expected[i]!.ahs);
      assert.equal(p.dataDigestError, undefined);
    });
  }
});

test('a data segment inside one chunk comes out as a view of it (no copy)', () => {
  const data = crypto.randomBytes(1000);
  const bytes = wire(P.initiatorHeader(P.OP_SCSI_DATA_OUT, 0x80, data.length), data);
  const r = new PduReader();
  r.push(bytes);
  const p = r.next() as Pdu;
  assert.equal(p.data.buffer, bytes.buffer);
  assert.deepEqual(p.data, data);
});

test('a sink lands the data segment straight in the destination buffer, across chunk boundaries', () => {
  const data = crypto.randomBytes(3000);
  const bytes = wire(P.initiatorHeader(P.OP_SCSI_DATA_OUT, 0x80, data.length), data);
  const dest = Buffer.alloc(8192);
  const r = new PduReader();
  r.sink = () => ({ buf: dest, offset: 4096 });
  const got = readAll(r, bytes, 700);
  assert.equal(got.length, 1);
  assert.deepEqual(dest.subarray(4096, 7096), data);
  assert.equal(got[0]!.data.buffer, dest.buffer);
});

test('a header digest mismatch and an over-long data segment are reported, not thrown', () => {
  const h = P.initiatorHeader(P.OP_NOP_OUT, 0x80, 0);
  const bad = wire(h, Buffer.alloc(0), { hd: true });
  bad[bad.length - 1]! ^= 1;
  const r = new PduReader();
  r.headerDigest = true;
  r.push(bad);
  const e = r.next();
  assert.ok(e && isReaderError(e) && e.kind === 'header-digest');

  const r2 = new PduReader();
  r2.maxDataSegment = 1024;
  r2.push(P.initiatorHeader(P.OP_NOP_OUT, 0x80, 4096));
  const e2 = r2.next();
  assert.ok(e2 && isReaderError(e2) && e2.kind === 'too-long' && e2.length === 4096);
});

test('a data digest mismatch marks the PDU; the stream stays in step', () => {
  const data = Buffer.from('hello world');
  const one = wire(P.initiatorHeader(P.OP_NOP_OUT, 0x80, data.length), data, { dd: true });
  one[one.length - 1]! ^= 0xff;
  const two = wire(P.initiatorHeader(P.OP_NOP_OUT, 0x80, data.length), data, { dd: true });
  const r = new PduReader();
  r.dataDigest = true;
  const got = readAll(r, Buffer.concat([one, two]), 5);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.dataDigestError, true);
  assert.equal(got[1]!.dataDigestError, undefined);
});

test('the receive queue takes views inside a chunk and copies across chunks', () => {
  const q = new ChunkQueue();
  q.push(Buffer.from('abc'));
  q.push(Buffer.from('defgh'));
  assert.equal(q.take(2)!.toString(), 'ab');
  assert.equal(q.take(3)!.toString(), 'cde');
  const d = Buffer.alloc(3);
  q.copyOut(d, 0, 3);
  assert.equal(d.toString(), 'fgh');
  assert.equal(q.length, 0);
});

test('text keys: NUL-terminated pairs round-trip; malformed text is an error with the reason', () => {
  const enc = encodeText([
    ['InitiatorName', 'iqn.2000-01.com.example:a'],
    ['X-odd', 'a=b'],
  ]);
  assert.equal(enc.toString(), 'InitiatorName=iqn.2000-01.com.example:a\0X-odd=a=b\0');
  const p = parseText(Buffer.concat([enc, Buffer.alloc(3)]));
  assert.ok(p.ok);
  assert.deepEqual(p.ok && p.pairs, [
    ['InitiatorName', 'iqn.2000-01.com.example:a'],
    ['X-odd', 'a=b'],
  ]);
  for (const bad of ['NoEquals\0', '=value\0', 'Key=unterminated', `${'K'.repeat(64)}=v\0`, 'Bad Key=v\0', `Key=${'v'.repeat(8193)}\0`]) {
    const r = parseText(Buffer.from(bad));
    assert.equal(r.ok, false, JSON.stringify(bad.slice(0, 30)));
  }
  assert.deepEqual(parseText(Buffer.alloc(0)), { ok: true, pairs: [] });
});
