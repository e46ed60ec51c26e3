// NBD transmission through our own client against a real array in-process:
// pipelining, errors, read-only exports, and a full pool.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { ArrayEvent } from '../../src/array/agent.js';
import { NbdClient, NbdError } from '../../src/nbd/client.js';
import { NbdServer } from '../../src/nbd/server.js';
import * as P from '../../src/nbd/protocol.js';
import { ioBuffers } from '../../src/io/buffer-pool.js';

const MiB = 1 << 20;
let dir: string;
let array: KuraArray;
let server: NbdServer;
let port: number;
const events: ArrayEvent[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbdp-'));
  array = await KuraArray.open({ dataDir: dir });
  array.events.onEvent((e) => events.push(e));
  await array.pools.createPool({ name: 'p', size: 64 * MiB, raid: 'RAID1' });
  await array.pools.createPool({ name: 'tiny', size: 2 * MiB, raid: 'RAID0', pds: 1 });
  await array.lds.createLd({ name: 'ld', pool: 'p', size: 32 * MiB });
  await array.lds.createLd({ name: 'full', pool: 'tiny', size: 16 * MiB });
  server = new NbdServer({ exports: array.frontEnd.exports() });
  await server.listen('127.0.0.1', 0);
  port = server.address().port;
});

after(async () => {
  await server.close();
  await array.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const connect = (name: string) => NbdClient.connect({ host: '127.0.0.1', port, exportName: name });

function errno(n: number) {
  return (e: unknown) => e instanceof NbdError && e.errno === n;
}

test('64 pipelined writes and reads with FUA, flush, trim and write-zeroes', async () => {
  const c = await connect('ld');
  assert.equal(c.size, 32 * MiB);
  const blocks = Array.from({ length: 64 }, () => crypto.randomBytes(64 * 1024));
  await Promise.all(blocks.map((b, i) => c.write(i * 64 * 1024, b, { fua: i % 7 === 0 })));
  await c.flush();
  const back = await Promise.all(blocks.map((_b, i) => c.read(i * 64 * 1024, 64 * 1024)));
  back.forEach((b, i) => assert.ok(b.equals(blocks[i]!), `block ${i}`));
  await c.trim(0, MiB);
  await c.writeZeroes(MiB + 4096, 8192, { fua: true });
  assert.ok((await c.read(0, MiB)).every((x) => x === 0));
  const z = await c.read(MiB, 3 * 4096);
  assert.ok(z.subarray(0, 4096).equals(blocks[16]!.subarray(0, 4096)));
  assert.ok(z.subarray(4096).every((x) => x === 0));
  await c.disconnect();
});

test('rounds of pipelined 1 MiB writes and reads over two connections reuse pooled buffers and every reply has its own bytes', async () => {
  const a = await connect('ld');
  const b = await connect('ld');
  const reusedBefore = ioBuffers.reused;
  for (let round = 0; round < 3; round++) {
    const data = Array.from({ length: 8 }, () => crypto.randomBytes(MiB));
    await Promise.all(data.map((d, i) => (i % 2 === 0 ? a : b).write(i * MiB, d)));
    const back = await Promise.all(data.map((_d, i) => (i % 2 === 0 ? b : a).read(i * MiB, MiB)));
    back.forEach((r, i) => assert.ok(r.equals(data[i]!), `round ${round}, MiB ${i}`));
  }
  // Later rounds ran on buffers given back by earlier ones.
  assert.ok(ioBuffers.reused > reusedBefore);
  await a.disconnect();
  await b.disconnect();
});

test('out-of-range and unaligned requests get EINVAL/ENOSPC, and the connection stays usable', async () => {
  const c = await connect('ld');
  await assert.rejects(c.read(32 * MiB, 4096), errno(P.NBD_EINVAL));
  await assert.rejects(c.read(100, 512), errno(P.NBD_EINVAL));
  await assert.rejects(c.write(32 * MiB - 512, Buffer.alloc(1024)), errno(P.NBD_ENOSPC));
  await assert.rejects(c.read(0, 64 * MiB), errno(P.NBD_EINVAL), 'reads above the 32 MiB maximum');
  assert.equal((await c.read(0, 512)).length, 512);
  c.destroy();
});

test('a snapshot export is read-only: writes get EPERM', async () => {
  await array.licenses.unlockLicense('DynamicSnapVolume');
  // The SSV (4 GiB, thick) needs a pool of its own size; sparse PDs make that cheap.
  await array.pools.createPool({ name: 'big', size: 5 * 2 ** 30, raid: 'RAID0', pds: 1 });
  await array.lds.createLd({ name: 'ssv', pool: 'big', size: 0, attr: 'ssv' });
  await array.snapshots.createSnapshot('ld', 's1');
  const c = await connect('ld@s1');
  assert.equal(c.flags & P.NBD_FLAG_READ_ONLY, P.NBD_FLAG_READ_ONLY);
  await assert.rejects(c.write(0, Buffer.alloc(512)), errno(P.NBD_EPERM));
  await assert.rejects(c.trim(0, 4096), errno(P.NBD_EPERM));
  assert.equal((await c.read(0, 512)).length, 512);
  c.destroy();
});

test('a full pool fails writes with ENOSPC and an event, keeps data, and takes writes after expansion', async () => {
  const c = await connect('full');
  const data = crypto.randomBytes(2 * MiB);
  await c.write(0, data, { fua: true });
  await assert.rejects(c.write(4 * MiB, Buffer.alloc(4096, 1)), errno(P.NBD_ENOSPC));
  assert.ok(
    events.some((e) => e.id === 'KURA-E2003'),
    'out-of-space event',
  );
  assert.ok((await c.read(0, 2 * MiB)).equals(data), 'earlier data intact');
  await array.pools.expandPool('tiny', 4 * MiB);
  await c.write(4 * MiB, Buffer.alloc(4096, 1), { fua: true });
  assert.equal((await c.read(4 * MiB, 4096))[0], 1);
  c.destroy();
});

test('an unknown export name is refused during negotiation', async () => {
  await assert.rejects(connect('missing'), errno(P.NBD_REP_ERR_UNKNOWN));
});
