// Hostile and malformed NBD input. Most inputs go straight into the server's
// parser through in-memory sockets (fast enough for millions): random bytes,
// valid negotiations with a few mutations, and valid handshakes followed by
// mutated or random transmission requests. A share goes over real TCP against
// the listener, whole or in pieces. No exception may escape, connections must
// all be cleaned up, memory must stay bounded, and a good client must be served
// afterwards. Seeded: KURA_FUZZ_SEED replays a run; KURA_FUZZ_INPUTS sets the
// count (the full run is 1,000,000).
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
import { FakeSocket } from '../helpers/fake-socket.js';
import { Rng, fuzzInputs, fuzzSeed } from '../helpers/fuzz-rng.js';

const SEED = fuzzSeed();
const INPUTS = fuzzInputs(60_000);
/** One input in this many goes over a real socket. */
const REAL_SOCKET_EVERY = 50;
const LD_SIZE = 16 << 20;
const rng = new Rng(SEED);

function option(code: number, data: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(P.IHAVEOPT, 0);
  h.writeUInt32BE(code, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

function nameAndInfos(name: string, infos: number[]): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(4 + n.length + 2 + infos.length * 2);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(infos.length, 4 + n.length);
  infos.forEach((x, i) => b.writeUInt16BE(x, 4 + n.length + 2 + i * 2));
  return b;
}

function metaQuery(name: string, queries: string[]): Buffer {
  const n = Buffer.from(name);
  const parts = [Buffer.alloc(4), n, Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(n.length, 0);
  parts[2]!.writeUInt32BE(queries.length, 0);
  for (const q of queries) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(Buffer.byteLength(q), 0);
    parts.push(l, Buffer.from(q));
  }
  return Buffer.concat(parts);
}

function clientFlags(): Buffer {
  const f = Buffer.alloc(4);
  f.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | (rng.int(2) ? P.NBD_FLAG_C_NO_ZEROES : 0), 0);
  return f;
}

/** Any one negotiation option, mostly well formed. */
function anyOption(): Buffer {
  const name = rng.pick(['ld', '', 'nope', 'ld@x', 'x'.repeat(300)]);
  switch (rng.int(9)) {
    case 0:
      return option(P.NBD_OPT_LIST, Buffer.alloc(0));
    case 1:
      return option(P.NBD_OPT_INFO, nameAndInfos(name, [P.NBD_INFO_NAME, P.NBD_INFO_DESCRIPTION, P.NBD_INFO_BLOCK_SIZE].slice(0, rng.int(4))));
    case 2:
      return option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0));
    case 3:
      return option(P.NBD_OPT_LIST_META_CONTEXT, metaQuery(name, [rng.pick([P.BASE_ALLOCATION, 'base:', '', 'qemu:dirty-bitmap:x'])]));
    case 4:
      return option(P.NBD_OPT_SET_META_CONTEXT, metaQuery(name, [P.BASE_ALLOCATION]));
    case 5:
      return option(P.NBD_OPT_GO, nameAndInfos(name, []));
    case 6:
      return option(P.NBD_OPT_EXPORT_NAME, Buffer.from(name));
    case 7:
      return option(P.NBD_OPT_ABORT, Buffer.alloc(0));
    default:
      return option(rng.int(20), rng.bytes(rng.int(40)));
  }
}

/** A handshake that reaches transmission on export "ld", with or without structured replies and base:allocation. */
function validPrefix(): Buffer {
  const parts = [clientFlags()];
  if (rng.int(2)) {
    parts.push(option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0)));
    if (rng.int(2)) parts.push(option(P.NBD_OPT_SET_META_CONTEXT, metaQuery('ld', [P.BASE_ALLOCATION])));
  }
  parts.push(option(P.NBD_OPT_GO, nameAndInfos('ld', [])));
  return Buffer.concat(parts);
}

function request(type: number, flags: number, offset: number | bigint, length: number): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeUInt32BE(rng.next(), 12);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length >>> 0, 24);
  return h;
}

/** A plausible request: real commands, aligned offsets inside the LD mostly, edge values sometimes. */
function anyRequest(): Buffer {
  const type = rng.pick([
    P.NBD_CMD_READ,
    P.NBD_CMD_READ,
    P.NBD_CMD_WRITE,
    P.NBD_CMD_WRITE,
    P.NBD_CMD_FLUSH,
    P.NBD_CMD_TRIM,
    P.NBD_CMD_WRITE_ZEROES,
    P.NBD_CMD_BLOCK_STATUS,
    P.NBD_CMD_CACHE,
    P.NBD_CMD_DISC,
    11,
    0xffff,
  ]);
  const flags = rng.pick([0, 0, P.NBD_CMD_FLAG_FUA, P.NBD_CMD_FLAG_NO_HOLE, P.NBD_CMD_FLAG_DF, P.NBD_CMD_FLAG_REQ_ONE, rng.next() & 0xffff]);
  const offset = rng.pick<number | bigint>([0, 512 * rng.int(LD_SIZE / 512), LD_SIZE - 4096, LD_SIZE, rng.int(LD_SIZE), 0xffffffffffffff00n, 2n ** 63n]);
  const length = rng.pick([0, 512, 4096, 65536, 512 * rng.int(256), rng.int(1 << 16), LD_SIZE, 0xffffffff, P.NBD_MAX_PAYLOAD + 512]);
  const h = request(type, flags, offset, length);
  if (type !== P.NBD_CMD_WRITE || length > 256 * 1024) return h;
  // A write's payload: whole, or lying short (the stream runs on into the next request).
  const n = rng.int(4) === 0 ? rng.int(length + 1) : length;
  return Buffer.concat([h, rng.bytes(Math.min(n, 4096)), Buffer.alloc(Math.max(0, n - 4096))]);
}

/** One hostile stream. */
function hostile(): Buffer {
  switch (rng.int(6)) {
    case 0:
      return rng.bytes(rng.int(300));
    case 1:
      // Negotiation: a few options, then mutated anywhere.
      return rng.mutate(Buffer.concat([clientFlags(), ...Array.from({ length: 1 + rng.int(4) }, anyOption)]));
    case 2:
      // Negotiation with random options (lengths may lie).
      return Buffer.concat([clientFlags(), ...Array.from({ length: 1 + rng.int(3) }, () => (rng.int(2) ? anyOption() : rng.mutate(anyOption())))]);
    case 3: {
      // Transmission: valid handshake, plausible requests, mutations after the handshake.
      const p = validPrefix();
      return rng.mutate(Buffer.concat([p, ...Array.from({ length: 1 + rng.int(8) }, anyRequest)]), p.length);
    }
    case 4:
      // Transmission: valid handshake and well-formed requests only.
      return Buffer.concat([validPrefix(), ...Array.from({ length: 1 + rng.int(8) }, anyRequest)]);
    default: {
      // Transmission: the right magic and random fields, or random bytes.
      const reqs = Array.from({ length: 1 + rng.int(5) }, () => {
        const h = rng.bytes(28);
        if (rng.int(4)) h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
        return h;
      });
      return Buffer.concat([validPrefix(), ...reqs]);
    }
  }
}

function overSocket(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      setTimeout(() => s.destroy(), rng.int(20));
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    s.on('data', () => undefined);
  });
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test(`${INPUTS} hostile NBD inputs (seed ${SEED}): nothing escapes, memory stays bounded, a good client is served`, { timeout: 3_600_000 }, async () => {
  process.stderr.write(`nbd fuzz: seed ${SEED}, ${INPUTS} inputs (replay with KURA_FUZZ_SEED=${SEED} KURA_FUZZ_INPUTS=${INPUTS})\n`);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-fuzz-'));
  const array = await KuraArray.open({ dataDir: dir });
  const logs: string[] = [];
  const server = new NbdServer({ exports: array.frontEnd.exports(), log: (m) => logs.push(m), maxConnections: 1000 });
  try {
    await array.pools.createPool({ name: 'p', size: 64 << 20 });
    await array.lds.createLd({ name: 'ld', pool: 'p', size: LD_SIZE });
    await server.listen('127.0.0.1', 0);
    const port = server.address().port;
    const good = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'ld' });
    const pattern = crypto.randomBytes(64 * 1024);
    // Far from what the fuzz writes (it writes anywhere; this region is checked after).
    const SAFE = LD_SIZE - 64 * 1024;
    await good.write(SAFE, pattern, { fua: true });

    const started = Date.now();
    const rssStart = process.memoryUsage().rss;
    let rssMax = rssStart;
    let real = 0;
    let replied = 0;
    const socketJobs: Promise<void>[] = [];
    for (let i = 0; i < INPUTS; i++) {
      const input = hostile();
      if (i % REAL_SOCKET_EVERY === 0) {
        real++;
        socketJobs.push(overSocket(port, rng.chunks(input)));
        if (socketJobs.length >= 20) await Promise.all(socketJobs.splice(0));
      } else {
        const s = new FakeSocket();
        server.attach(s.asSocket);
        for (const c of rng.chunks(input)) s.feed(c);
        replied += s.sent;
        s.destroy();
      }
      if (i % 200 === 199) {
        await turn();
        if (i % 20_000 === 19_999) {
          rssMax = Math.max(rssMax, process.memoryUsage().rss);
          if (i % 100_000 === 99_999)
            process.stderr.write(
              `nbd fuzz: ${i + 1} inputs, ${((Date.now() - started) / 1000).toFixed(0)} s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`,
            );
        }
      }
    }
    await Promise.all(socketJobs);
    // Everything the fuzz started finishes; no connection is left behind.
    for (let k = 0; k < 100 && server.connectionCount > 1; k++) await new Promise((r) => setTimeout(r, 50));
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(
      `nbd fuzz: done: ${INPUTS} inputs (${real} over TCP) in ${secs.toFixed(1)} s (${(replied / 2 ** 20).toFixed(0)} MiB of replies in process), seed ${SEED}, peak rss ${(rssMax / 2 ** 20).toFixed(0)} MiB (start ${(rssStart / 2 ** 20).toFixed(0)})\n`,
    );
    assert.deepEqual(uncaught, [], 'no exception escaped');
    assert.deepEqual(
      logs.filter((l) => l.includes('internal error')),
      [],
      'no exception was caught at the connection edge either',
    );
    assert.equal(server.connectionCount, 1, 'only the good client is still connected');
    assert.ok(rssMax - rssStart < 512 * 2 ** 20, `memory stayed bounded (grew ${((rssMax - rssStart) / 2 ** 20).toFixed(0)} MiB)`);

    // The good client, connected all along, and a new one are served.
    await good.write(SAFE, pattern, { fua: true });
    assert.ok((await good.read(SAFE, pattern.length)).equals(pattern));
    const fresh = await NbdClient.connect({ host: '127.0.0.1', port, exportName: 'ld' });
    assert.ok((await fresh.read(SAFE, pattern.length)).equals(pattern));
    await fresh.disconnect();
    await good.disconnect();
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await server.close();
    await array.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
