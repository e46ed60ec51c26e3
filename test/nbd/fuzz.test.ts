// Hostile and malformed NBD input: random bytes, mutated handshakes, bad magic,
// huge lengths, truncated packets. The server must stay up and keep serving.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { NbdClient } from '../../src/nbd/client.js';
import { NbdServer } from '../../src/nbd/server.js';
import * as P from '../../src/nbd/protocol.js';

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

/** A valid fixed-newstyle prefix up to transmission for export "ld". */
function validPrefix(): Buffer {
  const name = Buffer.from('ld');
  const data = Buffer.alloc(4 + name.length + 2);
  data.writeUInt32BE(name.length, 0);
  name.copy(data, 4);
  const opt = Buffer.alloc(16);
  opt.writeBigUInt64BE(P.IHAVEOPT, 0);
  opt.writeUInt32BE(P.NBD_OPT_GO, 8);
  opt.writeUInt32BE(data.length, 12);
  const flags = Buffer.alloc(4);
  flags.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES, 0);
  return Buffer.concat([flags, opt, data]);
}

function request(type: number, flags: number, offset: bigint, length: number): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(BigInt(rand(1 << 30)), 8);
  h.writeBigUInt64BE(offset, 16);
  h.writeUInt32BE(length, 24);
  return h;
}

/** One hostile stream: which kind is picked at random. */
function hostile(): Buffer {
  switch (rand(8)) {
    case 0:
      return crypto.randomBytes(rand(200));
    case 1: {
      const p = validPrefix();
      p[rand(p.length)] ^= 1 << rand(8);
      return p;
    }
    case 2: {
      // Option with a huge or random length, random code.
      const opt = Buffer.alloc(16);
      opt.writeBigUInt64BE(P.IHAVEOPT, 0);
      opt.writeUInt32BE(rand(20), 8);
      opt.writeUInt32BE(rand(2) ? 0xffffffff : rand(300), 12);
      const flags = Buffer.from([0, 0, 0, 3]);
      return Buffer.concat([flags, opt, crypto.randomBytes(rand(300))]);
    }
    case 3:
      return Buffer.concat([validPrefix(), crypto.randomBytes(rand(100))]);
    case 4:
      // Requests with absurd offsets and lengths, random types and flags.
      return Buffer.concat([
        validPrefix(),
        ...Array.from({ length: 1 + rand(5) }, () => request(rand(10), rand(1 << 16), BigInt(rand(2)) ? 0xffffffffffffff00n : BigInt(rand(1 << 26)), rand(2) ? 0xffffffff : rand(1 << 20))),
      ]);
    case 5:
      // A write whose payload never fully arrives.
      return Buffer.concat([validPrefix(), request(P.NBD_CMD_WRITE, 0, 0n, 1 << 20), crypto.randomBytes(rand(4096))]);
    case 6:
      // Bad request magic after a good handshake.
      return Buffer.concat([validPrefix(), crypto.randomBytes(28)]);
    default: {
      // Meta-context options with inconsistent inner lengths.
      const body = crypto.randomBytes(8 + rand(64));
      body.writeUInt32BE(rand(2) ? 0xfffffff0 : rand(20), 0);
      const opt = Buffer.alloc(16);
      opt.writeBigUInt64BE(P.IHAVEOPT, 0);
      opt.writeUInt32BE(rand(2) ? P.NBD_OPT_SET_META_CONTEXT : P.NBD_OPT_LIST_META_CONTEXT, 8);
      opt.writeUInt32BE(body.length, 12);
      return Buffer.concat([Buffer.from([0, 0, 0, 1]), opt, body]);
    }
  }
}

function send(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      // Sometimes in pieces, to exercise partial parsing.
      if (rand(2)) s.write(data);
      else for (let i = 0; i < data.length; i += 7) s.write(data.subarray(i, i + 7));
      setTimeout(() => s.destroy(), rand(20));
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.on('data', () => undefined);
  });
}

test('2000 hostile NBD streams: the server survives and still serves a good client', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fuzz-'));
  const array = await KuraArray.open({ dataDir: dir });
  await array.createPool({ name: 'p', size: 64 << 20 });
  await array.createLd({ name: 'ld', pool: 'p', size: 16 << 20 });
  const server = new NbdServer({ exports: array.exports() });
  await server.listen('127.0.0.1', 0);
  const port = server.address().port;
  const good = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'ld' });
  const pattern = crypto.randomBytes(64 * 1024);
  await good.write(0, pattern, { fua: true });
  for (let round = 0; round < 100; round++) {
    await Promise.all(Array.from({ length: 20 }, () => send(port, hostile())));
    assert.ok((await good.read(0, pattern.length)).equals(pattern), `round ${round}: good client still reads`);
  }
  const fresh = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'ld' });
  await fresh.write(65536, pattern);
  assert.ok((await fresh.read(65536, pattern.length)).equals(pattern));
  fresh.destroy();
  good.destroy();
  await server.close();
  await array.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
