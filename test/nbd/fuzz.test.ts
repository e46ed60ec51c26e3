// Hostile and malformed NBD input against the server in-process (FileDevice
// exports): random bytes, mutated handshakes, random options, bad magic, huge
// lengths, out-of-range offsets, truncated packets, random bytes after a valid
// handshake. The process must stay up, every hostile connection must go away,
// no handler may fail internally, and a well-behaved client keeps working.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { NbdServer } from '../../src/nbd/server.js';
import * as P from '../../src/nbd/protocol.js';
import { DeviceExports, FileDevice } from '../helpers/file-device.js';

const MiB = 1 << 20;
const STREAMS = 3000;
const PARALLEL = 25;

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}
function pick<T>(xs: readonly T[]): T {
  return xs[rand(xs.length)]!;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
}
function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
}
function option(opt: number, data: Buffer, len = data.length): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(P.IHAVEOPT, 0);
  h.writeUInt32BE(opt >>> 0, 8);
  h.writeUInt32BE(len >>> 0, 12);
  return Buffer.concat([h, data]);
}
function go(name: string, infos: number[] = []): Buffer {
  return option(P.NBD_OPT_GO, Buffer.concat([str(name), u16(infos.length), ...infos.map(u16)]));
}
function meta(opt: number, name: string, queries: string[]): Buffer {
  return option(opt, Buffer.concat([str(name), u32(queries.length), ...queries.map((q) => str(q))]));
}

const NAMES = ['ld', 'ro'];
const FLAGS = Buffer.from([0, 0, 0, P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES]);

/** A valid way into transmission on a fuzz export, in one of several styles. */
function validPrefix(): Buffer {
  const name = pick(NAMES);
  switch (rand(4)) {
    case 0:
      return Buffer.concat([FLAGS, go(name)]);
    case 1:
      return Buffer.concat([FLAGS, option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0)), meta(P.NBD_OPT_SET_META_CONTEXT, name, ['base:allocation']), go(name, [1, 2, 3])]);
    case 2:
      return Buffer.concat([FLAGS, option(P.NBD_OPT_EXPORT_NAME, Buffer.from(name))]);
    default:
      return Buffer.concat([Buffer.from([0, 0, 0, 1]), option(P.NBD_OPT_LIST, Buffer.alloc(0)), option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0)), go(name)]);
  }
}

const OFFSETS = [0n, 512n, 16n * BigInt(MiB) - 512n, 16n * BigInt(MiB), 16n * BigInt(MiB) + 512n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 512n];
const LENGTHS = [0, 1, 511, 512, 4096, 65536, 32 * MiB, 32 * MiB + 1, 0x7fffffff, 0xffffffff];

function request(type: number, flags: number, offset: bigint, length: number, payload?: Buffer): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(BigInt(rand(1 << 30)) * BigInt(rand(1 << 30)), 8);
  h.writeBigUInt64BE(offset, 16);
  h.writeUInt32BE(length >>> 0, 24);
  return payload ? Buffer.concat([h, payload]) : h;
}

/** A request with edge-case fields; writes of modest size carry their payload. */
function randomRequest(): Buffer {
  const type = rand(4) === 0 ? rand(16) : pick([P.NBD_CMD_READ, P.NBD_CMD_WRITE, P.NBD_CMD_FLUSH, P.NBD_CMD_TRIM, P.NBD_CMD_CACHE, P.NBD_CMD_WRITE_ZEROES, P.NBD_CMD_BLOCK_STATUS]);
  const flags = rand(3) === 0 ? rand(1 << 16) : rand(32);
  const offset = rand(2) ? pick(OFFSETS) : BigInt(rand(16 * MiB));
  const length = rand(2) ? pick(LENGTHS) : rand(256 * 1024);
  if (type === P.NBD_CMD_WRITE) {
    const n = length <= 256 * 1024 ? length : rand(4096);
    return request(type, flags, offset, length, crypto.randomBytes(n));
  }
  if (type === P.NBD_CMD_DISC && rand(2)) return request(P.NBD_CMD_READ, 0, 0n, 512);
  return request(type, flags, offset, length);
}

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  for (let i = 1 + rand(4); i > 0 && out.length; i--) out[rand(out.length)] ^= 1 << rand(8);
  return out;
}

/** One hostile stream; which kind is chosen at random. */
function hostile(): Buffer {
  switch (rand(13)) {
    case 0:
      return crypto.randomBytes(rand(300));
    case 1:
      return mutate(Buffer.concat([validPrefix(), randomRequest()]));
    case 2: {
      // Random option codes with random, consistent or inconsistent lengths.
      const opts = Array.from({ length: 1 + rand(6) }, () => {
        const data = crypto.randomBytes(rand(64));
        return option(rand(2) ? rand(16) : rand(2 ** 32), data, rand(4) === 0 ? rand(2 ** 32) : data.length);
      });
      return Buffer.concat([FLAGS, ...opts]);
    }
    case 3:
      // Known options with random bodies, then maybe a valid GO.
      return Buffer.concat([
        FLAGS,
        ...Array.from({ length: 1 + rand(8) }, () => option(pick([1, 2, 3, 5, 6, 7, 8, 9, 10, 11]), crypto.randomBytes(rand(40)))),
        rand(2) ? go(pick(NAMES)) : Buffer.alloc(0),
      ]);
    case 4:
      return Buffer.concat([validPrefix(), ...Array.from({ length: 1 + rand(12) }, randomRequest)]);
    case 5:
      // A write announcing a huge or large payload that never fully arrives.
      return Buffer.concat([validPrefix(), request(P.NBD_CMD_WRITE, 0, 0n, pick([MiB, 32 * MiB, 32 * MiB + 1, 0xffffffff])), crypto.randomBytes(rand(8192))]);
    case 6:
      // Bad request magic after some good requests.
      return Buffer.concat([validPrefix(), ...Array.from({ length: rand(3) }, randomRequest), crypto.randomBytes(28)]);
    case 7: {
      // Meta-context options with inconsistent inner lengths.
      const body = crypto.randomBytes(8 + rand(64));
      body.writeUInt32BE(rand(2) ? 0xfffffff0 : rand(20), 0);
      if (rand(2)) body.writeUInt32BE(rand(2) ? 0xffffffff : rand(5), Math.min(body.length - 4, 4 + rand(8)));
      const pre = rand(2) ? option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0)) : Buffer.alloc(0);
      return Buffer.concat([FLAGS, pre, option(rand(2) ? P.NBD_OPT_SET_META_CONTEXT : P.NBD_OPT_LIST_META_CONTEXT, body)]);
    }
    case 8: {
      // A plausible session cut at a random byte.
      const s = Buffer.concat([validPrefix(), ...Array.from({ length: 1 + rand(6) }, randomRequest)]);
      return s.subarray(0, rand(s.length + 1));
    }
    case 9:
      return Buffer.concat([validPrefix(), crypto.randomBytes(rand(400))]);
    case 10: {
      // INFO/GO with odd names and information request counts.
      const name = rand(3) === 0 ? crypto.randomBytes(rand(5000)) : Buffer.from(pick(['', 'ld', 'ro', 'nope', 'ld\0x']));
      const n = rand(3) === 0 ? rand(65536) : rand(6);
      const infos = Array.from({ length: Math.min(n, 8) }, () => u16(rand(2) ? rand(5) : rand(65536)));
      return Buffer.concat([FLAGS, option(pick([P.NBD_OPT_INFO, P.NBD_OPT_GO]), Buffer.concat([str(name), u16(n), ...infos]))]);
    }
    case 11:
      // NBD_OPT_EXPORT_NAME with unknown or random names (the server must close).
      return Buffer.concat([rand(2) ? FLAGS : Buffer.from([0, 0, 0, 1]), option(P.NBD_OPT_EXPORT_NAME, rand(2) ? crypto.randomBytes(rand(100)) : Buffer.from('nope'))]);
    default:
      // Many reads whose replies are never read, then whatever follows.
      return Buffer.concat([validPrefix(), ...Array.from({ length: 50 + rand(100) }, () => request(P.NBD_CMD_READ, 0, BigInt(rand(32)) * 512n * 1024n, 512 * 1024)), crypto.randomBytes(rand(50))]);
  }
}

/** Sends one stream whole or in random pieces, then drops the connection at a random moment. */
function send(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      s.destroy();
      resolve();
    };
    s.on('error', finish);
    s.on('close', finish);
    if (rand(4) !== 0) s.on('data', () => undefined); // sometimes never read what the server sends
    s.on('connect', () => {
      const pieces: Buffer[] = [];
      if (rand(2)) pieces.push(data);
      else for (let i = 0; i < data.length; ) {
        const n = 1 + rand(64);
        pieces.push(data.subarray(i, i + n));
        i += n;
      }
      const next = () => {
        if (finished) return;
        const p = pieces.shift();
        if (!p) return void setTimeout(finish, rand(30));
        s.write(p);
        if (rand(8) === 0) setTimeout(next, rand(3));
        else setImmediate(next);
      };
      next();
    });
  });
}

let server: NbdServer;
let port: number;
const devs: FileDevice[] = [];
const log: string[] = [];

before(async () => {
  const exports = new DeviceExports();
  for (const [name, readOnly] of [['ld', false], ['ro', true], ['good', false]] as const) {
    const d = FileDevice.create({ name, size: 16 * MiB, trackHoles: true, readOnly });
    devs.push(d);
    exports.add(d);
  }
  server = new NbdServer({ exports, log: (m) => log.push(m) });
  await server.listen('127.0.0.1', 0);
  port = server.address().port;
});

after(async () => {
  await server.close();
  for (const d of devs) d.close();
});

test(`${STREAMS} hostile NBD streams: the server survives, cleans up, and still serves a good client`, { timeout: 300_000 }, async () => {
  const good = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'good' });
  const pattern = crypto.randomBytes(256 * 1024);
  await good.write(0, pattern, { fua: true });
  let sent = 0;
  const worker = async () => {
    while (sent < STREAMS) {
      sent++;
      await send(port, hostile());
      if (sent % 500 === 0) assert.ok((await good.read(0, pattern.length)).equals(pattern), `after ${sent} streams the good client still reads`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  // Every hostile connection goes away (the server notices closed peers).
  const deadline = Date.now() + 10_000;
  while (server.connectionCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.connectionCount, 1, 'only the good client is still connected');
  assert.deepEqual(log.filter((m) => /internal error/.test(m)), [], 'no handler failed internally');
  assert.ok(log.some((m) => /bad request magic/.test(m)) && log.some((m) => /exceeds/.test(m)), 'the violations were seen and logged');
  assert.ok(process.memoryUsage().rss < 1.5 * 2 ** 30, `rss ${process.memoryUsage().rss}`);
  // The old connection and a new one both still work.
  assert.ok((await good.read(0, pattern.length)).equals(pattern));
  const fresh = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'good' });
  const more = crypto.randomBytes(128 * 1024);
  await fresh.write(MiB, more);
  await fresh.flush();
  assert.ok((await good.read(MiB, more.length)).equals(more), 'a write on one connection is seen on the other');
  assert.deepEqual(await fresh.blockStatus(0, 2 * MiB), [
    { offset: 0, length: 256 * 1024, flags: 0 },
    { offset: 256 * 1024, length: 768 * 1024, flags: P.NBD_STATE_HOLE | P.NBD_STATE_ZERO },
    { offset: MiB, length: 128 * 1024, flags: 0 },
    { offset: MiB + 128 * 1024, length: MiB - 128 * 1024, flags: P.NBD_STATE_HOLE | P.NBD_STATE_ZERO },
  ]);
  await fresh.disconnect();
  await good.disconnect();
});
