// CRC32C against the iSCSI test vectors (RFC 3720 B.4, carried into RFC 7143)
// and against a bit-at-a-time reference on random data of every alignment.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { crc32c, dataDigest } from '../../src/iscsi/crc32c.js';

function reference(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('RFC 3720 B.4 vectors: zeros, ones, ascending, descending, a READ(10) SCSI Command PDU', () => {
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  const readPdu = Buffer.from('01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000', 'hex');
  assert.equal(readPdu.length, 48);
  assert.equal(crc32c(readPdu), 0xd9963a56);
  // On the wire the digest goes least significant byte first: zeros give aa 36 91 8a.
  const wire = Buffer.alloc(4);
  wire.writeUInt32LE(crc32c(Buffer.alloc(32)));
  assert.deepEqual([...wire], [0xaa, 0x36, 0x91, 0x8a]);
});

test('the check value of "123456789" is e3069283', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('slice-by-8 equals the bitwise reference for every length 0..100 and offsets, and chains', () => {
  const data = crypto.randomBytes(4096);
  for (let len = 0; len <= 100; len++) {
    for (const start of [0, 1, 3, 7]) {
      const view = data.subarray(start, start + len);
      assert.equal(crc32c(view), reference(view), `len ${len} start ${start}`);
      assert.equal(crc32c(data, 0, start, start + len), reference(view), `range len ${len} start ${start}`);
    }
  }
  const big = crypto.randomBytes(1 << 20);
  assert.equal(crc32c(big), reference(big));
  const cut = 12345;
  assert.equal(crc32c(big.subarray(cut), crc32c(big.subarray(0, cut))), crc32c(big), 'crc32c(b, crc32c(a)) = crc32c(a+b)');
});

test('the data digest covers the pad bytes (zeros) after the data segment', () => {
  const d = Buffer.from('abcde');
  assert.equal(dataDigest(d), crc32c(Buffer.concat([d, Buffer.alloc(3)])));
  const aligned = Buffer.from('abcd');
  assert.equal(dataDigest(aligned), crc32c(aligned));
});
