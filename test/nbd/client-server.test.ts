// The NBD server in-process over FileDevice exports, driven by our own client and
// by raw sockets: negotiation, pipelining, FUA/flush/trim/zeroes/block status,
// error numbers, read-only exports, limits, flow control and shutdown.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../../src/block/device.js';
import { KuraError } from '../../src/errors.js';
import type { ErrorCode } from '../../src/errors.js';
import { NbdClient, NbdError } from '../../src/nbd/client.js';
import type { NbdConnectOptions } from '../../src/nbd/client.js';
import { NbdServer } from '../../src/nbd/server.js';
import * as P from '../../src/nbd/protocol.js';
import { DeviceExports, FileDevice } from '../helpers/file-device.js';

const KiB = 1024;
const MiB = 1 << 20;

/** Holds operations until released; counts how many are waiting (to prove pipelining). */
class Gate {
  waiting = 0;
  private open = false;
  private waiters: Array<() => void> = [];
  private watchers: Array<{ n: number; resolve: () => void }> = [];

  async pass(): Promise<void> {
    if (this.open) return;
    this.waiting++;
    for (const w of this.watchers.filter((x) => this.waiting >= x.n)) w.resolve();
    this.watchers = this.watchers.filter((x) => this.waiting < x.n);
    await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves once n operations wait at the gate; rejects after ms. */
  reached(n: number, ms: number): Promise<void> {
    if (this.waiting >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${this.waiting} of ${n} requests reached the device together: the server does not pipeline`)), ms);
      this.watchers.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  release(): void {
    this.open = true;
    for (const w of this.waiters) w();
    this.waiters = [];
  }

  close(): void {
    this.open = false;
    this.waiting = 0;
  }
}

/** Wraps a device: a gate before reads and writes, and injectable faults. */
class TestDevice implements BlockDevice {
  readGate: Gate | null = null;
  writeGate: Gate | null = null;
  fault: unknown = null;
  syncThrow = false;
  shortRead = false;
  writesStarted = 0;
  constructor(private readonly inner: FileDevice, readonly name: string) {}
  get blockSize() {
    return this.inner.blockSize;
  }
  get blockCount() {
    return this.inner.blockCount;
  }
  get readOnly() {
    return this.inner.readOnly;
  }
  get optimalIoSize() {
    return this.inner.optimalIoSize;
  }
  private maybeFail(): void {
    if (this.fault) throw this.fault;
  }
  read(lba: number, blocks: number): Promise<Buffer> {
    if (this.syncThrow) throw new Error('synchronous failure');
    return (async () => {
      this.maybeFail();
      if (this.readGate) await this.readGate.pass();
      const b = await this.inner.read(lba, blocks);
      return this.shortRead ? b.subarray(0, b.length - 512) : b;
    })();
  }
  async write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.writesStarted++;
    this.maybeFail();
    if (this.writeGate) await this.writeGate.pass();
    return this.inner.write(lba, buf, opts);
  }
  async flush(): Promise<void> {
    this.maybeFail();
    return this.inner.flush();
  }
  async unmap(ranges: UnmapRange[]): Promise<void> {
    this.maybeFail();
    return this.inner.unmap(ranges);
  }
  async writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    this.maybeFail();
    return this.inner.writeZeroes(lba, blocks, opts);
  }
  async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    this.maybeFail();
    return this.inner.allocation(lba, blocks);
  }
}

let disk: FileDevice;
let ro: FileDevice;
let growable: FileDevice;
let testInner: FileDevice;
let dev: TestDevice;
let exports: DeviceExports;
let server: NbdServer;
let port: number;
let sockDir: string;
const log: string[] = [];

before(async () => {
  disk = FileDevice.create({ name: 'disk', size: 32 * MiB, trackHoles: true });
  ro = FileDevice.create({ name: 'ro', size: 8 * MiB, readOnly: true });
  growable = FileDevice.create({ name: 'grow', size: 4 * MiB });
  testInner = FileDevice.create({ name: 'test', size: 64 * MiB });
  dev = new TestDevice(testInner, 'test');
  exports = new DeviceExports().add(disk, 'a disk with holes').add(ro, 'read-only').add(growable).add(dev);
  server = new NbdServer({ exports, log: (m) => log.push(m) });
  await server.listen('127.0.0.1', 0);
  port = server.address().port;
  sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbdsock-'));
});

after(async () => {
  await server.close();
  for (const d of [disk, ro, growable, testInner]) d.close();
  fs.rmSync(sockDir, { recursive: true, force: true });
});

const connect = (exportName: string, o: Partial<NbdConnectOptions> = {}) => NbdClient.connect({ host: '127.0.0.1', port, exportName, ...o });

function isErrno(n: number) {
  return (e: unknown) => {
    assert.ok(e instanceof NbdError, `expected an NbdError, got ${String(e)}`);
    assert.equal(e.errno, n, `expected ${P.nbdErrorName(n)} (${n}), got ${e.errno}: ${e.message}`);
    return true;
  };
}

// ---- raw protocol helpers ----

/** A socket with an exact-read helper. */
class Raw {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => undefined);
  }
  static open(): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  async read(n: number, ms = 5000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.buf.length < n) {
      if (this.closed) throw new Error('closed');
      if (Date.now() > deadline) throw new Error('timeout');
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Resolves true if the server closes the connection within ms. */
  async closesWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
  write(b: Buffer): void {
    this.sock.write(b);
  }
  async hello(clientFlags = P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES): Promise<number> {
    const h = await this.read(18);
    assert.equal(h.readBigUInt64BE(0), P.NBDMAGIC);
    assert.equal(h.readBigUInt64BE(8), P.IHAVEOPT);
    const f = Buffer.alloc(4);
    f.writeUInt32BE(clientFlags >>> 0, 0);
    this.write(f);
    return h.readUInt16BE(16);
  }
  sendOption(opt: number, data: Buffer = Buffer.alloc(0)): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(P.IHAVEOPT, 0);
    h.writeUInt32BE(opt >>> 0, 8);
    h.writeUInt32BE(data.length, 12);
    this.write(Buffer.concat([h, data]));
  }
  /** Option replies up to and including the final one. */
  async option(opt: number, data: Buffer = Buffer.alloc(0)): Promise<Array<{ type: number; body: Buffer }>> {
    this.sendOption(opt, data);
    const out: Array<{ type: number; body: Buffer }> = [];
    for (;;) {
      const h = await this.read(20);
      assert.equal(h.readBigUInt64BE(0), P.NBD_REP_MAGIC);
      assert.equal(h.readUInt32BE(8), opt >>> 0, 'reply echoes the option');
      const type = h.readUInt32BE(12);
      const body = await this.read(h.readUInt32BE(16));
      out.push({ type, body });
      if (type === P.NBD_REP_ACK || type >= 0x80000000) return out;
    }
  }
  request(type: number, flags: number, handle: number, offset: bigint, length: number, payload?: Buffer): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(BigInt(handle), 8);
    h.writeBigUInt64BE(offset, 16);
    h.writeUInt32BE(length >>> 0, 24);
    this.write(payload ? Buffer.concat([h, payload]) : h);
  }
  end(): void {
    this.sock.destroy();
  }
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  const l = Buffer.alloc(4);
  l.writeUInt32BE(b.length, 0);
  return Buffer.concat([l, b]);
}

function goData(name: string, infos: number[] = []): Buffer {
  const t = Buffer.alloc(2 + 2 * infos.length);
  t.writeUInt16BE(infos.length, 0);
  infos.forEach((x, i) => t.writeUInt16BE(x, 2 + 2 * i));
  return Buffer.concat([str(name), t]);
}

function metaData(name: string, queries: string[]): Buffer {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(queries.length, 0);
  return Buffer.concat([str(name), n, ...queries.map(str)]);
}

// ---- negotiation ----

describe('negotiation', () => {
  test('the server greets with fixed newstyle and no-zeroes, and lists exports with descriptions', async () => {
    const r = await Raw.open();
    const flags = await r.hello();
    assert.equal(flags, P.NBD_FLAG_FIXED_NEWSTYLE | P.NBD_FLAG_NO_ZEROES);
    const replies = await r.option(P.NBD_OPT_LIST);
    assert.equal(replies.at(-1)!.type, P.NBD_REP_ACK);
    const listed = replies.filter((x) => x.type === P.NBD_REP_SERVER).map((x) => {
      const n = x.body.readUInt32BE(0);
      return { name: x.body.toString('utf8', 4, 4 + n), description: x.body.toString('utf8', 4 + n) };
    });
    assert.deepEqual(listed, [
      { name: 'disk', description: 'a disk with holes' },
      { name: 'ro', description: 'read-only' },
      { name: 'grow', description: '' },
      { name: 'test', description: '' },
    ]);
    // NBD_OPT_LIST with data is invalid, and the session goes on.
    assert.equal((await r.option(P.NBD_OPT_LIST, Buffer.from('x'))).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    assert.equal((await r.option(P.NBD_OPT_ABORT)).at(-1)!.type, P.NBD_REP_ACK);
    assert.ok(await r.closesWithin(2000), 'the server closes after NBD_OPT_ABORT');
  });

  test('NbdClient.list and NbdClient.info', async () => {
    assert.deepEqual((await NbdClient.list({ host: '127.0.0.1', port })).map((e) => e.name), ['disk', 'ro', 'grow', 'test']);
    const info = await NbdClient.info({ host: '127.0.0.1', port, exportName: 'disk' });
    assert.equal(info.size, 32 * MiB);
    assert.equal(info.name, 'disk');
    assert.equal(info.description, 'a disk with holes');
    assert.deepEqual(info.blockSize, { minimum: 512, preferred: 64 * KiB, maximum: 32 * MiB });
    const want = P.NBD_FLAG_HAS_FLAGS | P.NBD_FLAG_SEND_FLUSH | P.NBD_FLAG_SEND_FUA | P.NBD_FLAG_SEND_TRIM | P.NBD_FLAG_SEND_WRITE_ZEROES | P.NBD_FLAG_CAN_MULTI_CONN;
    assert.equal(info.flags & want, want);
    assert.equal(info.flags & P.NBD_FLAG_SEND_DF, 0, 'DF is not offered without structured replies');
    assert.equal(info.flags & P.NBD_FLAG_READ_ONLY, 0);
    const roInfo = await NbdClient.info({ host: '127.0.0.1', port, exportName: 'ro' });
    assert.equal(roInfo.flags & P.NBD_FLAG_READ_ONLY, P.NBD_FLAG_READ_ONLY);
    await assert.rejects(NbdClient.info({ host: '127.0.0.1', port, exportName: 'nope' }), isErrno(P.NBD_REP_ERR_UNKNOWN));
  });

  test('STARTTLS, EXTENDED_HEADERS and unknown options get ERR_UNSUP; bad option data gets ERR_INVALID', async () => {
    const r = await Raw.open();
    await r.hello();
    for (const opt of [P.NBD_OPT_STARTTLS, P.NBD_OPT_EXTENDED_HEADERS, 4, 12, 99, 0x7fffffff, 0xffffffff]) {
      assert.equal((await r.option(opt)).at(-1)!.type, P.NBD_REP_ERR_UNSUP, `option ${opt}`);
    }
    assert.equal((await r.option(P.NBD_OPT_STRUCTURED_REPLY, Buffer.from([1]))).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    assert.equal((await r.option(P.NBD_OPT_GO, Buffer.from([0, 0, 0, 9, 1]))).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    assert.equal((await r.option(P.NBD_OPT_INFO, Buffer.concat([goData('disk'), Buffer.from([0])]))).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    assert.equal((await r.option(P.NBD_OPT_GO, goData('nope'))).at(-1)!.type, P.NBD_REP_ERR_UNKNOWN);
    // Several exports and no default: the empty name is unknown.
    assert.equal((await r.option(P.NBD_OPT_GO, goData(''))).at(-1)!.type, P.NBD_REP_ERR_UNKNOWN);
    // After all that, GO still works.
    const go = await r.option(P.NBD_OPT_GO, goData('disk', [P.NBD_INFO_NAME, P.NBD_INFO_DESCRIPTION, P.NBD_INFO_BLOCK_SIZE]));
    assert.equal(go.at(-1)!.type, P.NBD_REP_ACK);
    const infos = new Map(go.filter((x) => x.type === P.NBD_REP_INFO).map((x) => [x.body.readUInt16BE(0), x.body.subarray(2)]));
    assert.equal(infos.get(P.NBD_INFO_EXPORT)!.readBigUInt64BE(0), BigInt(32 * MiB));
    assert.equal(infos.get(P.NBD_INFO_NAME)!.toString(), 'disk');
    assert.equal(infos.get(P.NBD_INFO_DESCRIPTION)!.toString(), 'a disk with holes');
    assert.equal(infos.get(P.NBD_INFO_BLOCK_SIZE)!.readUInt32BE(8), 32 * MiB);
    r.request(P.NBD_CMD_READ, 0, 7, 0n, 512);
    const rep = await r.read(16 + 512);
    assert.equal(rep.readUInt32BE(0), P.NBD_SIMPLE_REPLY_MAGIC);
    assert.equal(rep.readUInt32BE(4), 0);
    assert.equal(rep.readBigUInt64BE(8), 7n);
    r.end();
  });

  test('meta contexts: list finds base:allocation, set needs structured replies, other namespaces select nothing', async () => {
    const r = await Raw.open();
    await r.hello();
    const names = (reps: Array<{ type: number; body: Buffer }>) => reps.filter((x) => x.type === P.NBD_REP_META_CONTEXT).map((x) => x.body.toString('utf8', 4));
    assert.deepEqual(names(await r.option(P.NBD_OPT_LIST_META_CONTEXT, metaData('disk', []))), ['base:allocation']);
    assert.deepEqual(names(await r.option(P.NBD_OPT_LIST_META_CONTEXT, metaData('disk', ['base:']))), ['base:allocation']);
    assert.deepEqual(names(await r.option(P.NBD_OPT_LIST_META_CONTEXT, metaData('disk', ['qemu:dirty-bitmap:x']))), []);
    assert.equal((await r.option(P.NBD_OPT_SET_META_CONTEXT, metaData('disk', ['base:allocation']))).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    assert.equal((await r.option(P.NBD_OPT_STRUCTURED_REPLY)).at(-1)!.type, P.NBD_REP_ACK);
    assert.equal((await r.option(P.NBD_OPT_SET_META_CONTEXT, metaData('nope', ['base:allocation']))).at(-1)!.type, P.NBD_REP_ERR_UNKNOWN);
    const broken = metaData('disk', ['base:allocation']);
    broken.writeUInt32BE(5, 8); // five queries announced, one present
    assert.equal((await r.option(P.NBD_OPT_SET_META_CONTEXT, broken)).at(-1)!.type, P.NBD_REP_ERR_INVALID);
    const set = await r.option(P.NBD_OPT_SET_META_CONTEXT, metaData('disk', ['x-foo:bar', 'base:allocation']));
    assert.deepEqual(names(set), ['base:allocation']);
    const id = set[0]!.body.readUInt32BE(0);
    // A context selected for "disk" does not carry over to "grow".
    assert.equal((await r.option(P.NBD_OPT_GO, goData('grow'))).at(-1)!.type, P.NBD_REP_ACK);
    r.request(P.NBD_CMD_BLOCK_STATUS, 0, 1, 0n, 4096);
    const h = await r.read(20);
    assert.equal(h.readUInt32BE(0), P.NBD_STRUCTURED_REPLY_MAGIC);
    assert.equal(h.readUInt16BE(6), P.NBD_REPLY_TYPE_ERROR);
    assert.equal((await r.read(h.readUInt32BE(16))).readUInt32BE(0), P.NBD_EINVAL);
    assert.notEqual(id, 0);
    r.end();
  });

  test('NBD_OPT_EXPORT_NAME enters transmission; an unknown name closes the connection', async () => {
    const c = await connect('disk', { useExportName: true });
    assert.equal(c.size, 32 * MiB);
    await c.write(0, Buffer.alloc(4096, 7));
    assert.equal((await c.read(0, 4096))[4095], 7);
    await c.disconnect();
    await assert.rejects(connect('nope', { useExportName: true }), isErrno(P.NBD_REP_ERR_UNKNOWN));
    // Without NO_ZEROES the reply carries 124 zero bytes.
    const r = await Raw.open();
    await r.hello(P.NBD_FLAG_C_FIXED_NEWSTYLE);
    r.sendOption(P.NBD_OPT_EXPORT_NAME, Buffer.from('ro'));
    const b = await r.read(134);
    assert.equal(b.readBigUInt64BE(0), BigInt(8 * MiB));
    assert.ok(b.subarray(10).every((x) => x === 0));
    r.end();
  });

  test('unknown client flags, bad option magic and huge options close the connection', async () => {
    const a = await Raw.open();
    await a.hello(0x80);
    assert.ok(await a.closesWithin(2000), 'unknown client flag');
    const b = await Raw.open();
    await b.hello();
    b.write(Buffer.alloc(16, 0x41));
    assert.ok(await b.closesWithin(2000), 'bad option magic');
    const c = await Raw.open();
    await c.hello();
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(P.IHAVEOPT, 0);
    h.writeUInt32BE(P.NBD_OPT_GO, 8);
    h.writeUInt32BE(0xffffffff, 12);
    c.write(h);
    assert.ok(await c.closesWithin(2000), 'option of 4 GiB');
  });

  test('the empty export name picks the default export, or the only one', async () => {
    const one = new NbdServer({ exports: new DeviceExports().add(growable) });
    await one.listen('127.0.0.1', 0);
    const c1 = await NbdClient.connect({ host: '127.0.0.1', port: one.address().port, exportName: '' });
    assert.equal(c1.size, growable.blockCount * 512);
    assert.equal(c1.exportName, 'grow', 'NBD_INFO_NAME names the export chosen');
    await c1.disconnect();
    await one.close();
    const dflt = new NbdServer({ exports, defaultExport: 'ro' });
    await dflt.listen('127.0.0.1', 0);
    const c2 = await NbdClient.connect({ host: '127.0.0.1', port: dflt.address().port, exportName: '' });
    assert.equal(c2.size, 8 * MiB);
    assert.ok(c2.readOnly);
    c2.destroy();
    await dflt.close();
  });

  test('the export size is read from the device at GO time', async () => {
    const before = await connect('grow');
    assert.equal(before.size, 4 * MiB);
    await assert.rejects(before.read(4 * MiB, 4096), isErrno(P.NBD_EINVAL));
    growable.resize(6 * MiB);
    const afterGrow = await connect('grow');
    assert.equal(afterGrow.size, 6 * MiB);
    await afterGrow.write(5 * MiB, Buffer.alloc(4096, 3));
    assert.equal((await afterGrow.read(5 * MiB, 4096))[0], 3);
    before.destroy();
    afterGrow.destroy();
  });

  test('a unix socket listener serves the same exports', async () => {
    const sock = path.join(sockDir, 'nbd.sock');
    const s = new NbdServer({ exports });
    await s.listenUnix(sock);
    await s.close();
    // A stale socket file is replaced on the next listen.
    const s2 = new NbdServer({ exports });
    await s2.listenUnix(sock);
    const c = await NbdClient.connect({ path: sock, exportName: 'disk' });
    assert.equal(c.size, 32 * MiB);
    const data = crypto.randomBytes(8192);
    await c.write(16 * MiB, data);
    assert.ok((await c.read(16 * MiB, 8192)).equals(data));
    await c.disconnect();
    await s2.close();
  });
});

// ---- transmission ----

for (const structured of [true, false]) {
  describe(`transmission with ${structured ? 'structured' : 'simple'} replies`, () => {
    test('64 requests in flight at once, replies matched by handle', async () => {
      const c = await connect('test', { structuredReplies: structured });
      assert.equal(c.structured, structured);
      if (structured) assert.equal(c.flags & P.NBD_FLAG_SEND_DF, P.NBD_FLAG_SEND_DF);
      const blocks = Array.from({ length: 64 }, () => crypto.randomBytes(4096 * (1 + crypto.randomInt(16))));
      const offs = blocks.map((_b, i) => i * 128 * KiB);
      // The device holds every write until all 64 are in: only a pipelining server gets there.
      dev.writeGate = new Gate();
      const writes = blocks.map((b, i) => c.write(offs[i]!, b, { fua: i % 8 === 0 }));
      assert.ok(c.inFlight >= 64);
      await dev.writeGate.reached(64, 10_000);
      dev.writeGate.release();
      dev.writeGate = null;
      await Promise.all(writes);
      dev.readGate = new Gate();
      const reads = blocks.map((b, i) => c.read(offs[i]!, b.length, { df: structured && i % 2 === 0 }));
      await dev.readGate.reached(64, 10_000);
      dev.readGate.release();
      dev.readGate = null;
      (await Promise.all(reads)).forEach((b, i) => assert.ok(b.equals(blocks[i]!), `block ${i} reads back`));
      await c.disconnect();
    });

    test('FUA, flush, trim and write zeroes reach the device as such', async () => {
      const c = await connect('disk', { structuredReplies: structured });
      const s0 = { ...disk.stats };
      await c.write(0, crypto.randomBytes(64 * KiB));
      assert.equal(disk.stats.fuaWrites, s0.fuaWrites, 'no FUA asked, none done');
      await c.write(64 * KiB, crypto.randomBytes(64 * KiB), { fua: true });
      assert.equal(disk.stats.fuaWrites, s0.fuaWrites + 1);
      await c.flush();
      assert.equal(disk.stats.flushes, s0.flushes + 1);
      await c.trim(0, 64 * KiB);
      assert.equal(disk.stats.unmaps, s0.unmaps + 1);
      assert.ok((await c.read(0, 64 * KiB)).every((x) => x === 0), 'trimmed range reads as zeros');
      await c.trim(128 * KiB, 64 * KiB, { fua: true });
      assert.equal(disk.stats.flushes, s0.flushes + 2, 'a FUA trim flushes');
      await c.write(MiB, Buffer.alloc(128 * KiB, 9));
      await c.writeZeroes(MiB, 64 * KiB, { noHole: true, fua: true });
      assert.equal(disk.stats.noHoleZeroes, s0.noHoleZeroes + 1, 'NO_HOLE is passed on');
      assert.equal(disk.stats.fuaZeroes, s0.fuaZeroes + 1);
      await c.writeZeroes(MiB + 64 * KiB, 64 * KiB);
      assert.equal(disk.stats.writeZeroes, s0.writeZeroes + 2);
      assert.equal(disk.stats.noHoleZeroes, s0.noHoleZeroes + 1);
      assert.ok((await c.read(MiB, 128 * KiB)).every((x) => x === 0));
      await c.cache(0, MiB);
      c.destroy();
    });

    test('out-of-range, unaligned, oversized and unknown requests get the right errors; the connection stays usable', async () => {
      const c = await connect('disk', { structuredReplies: structured });
      const end = 32 * MiB;
      await assert.rejects(c.read(end, 4096), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.read(end - 512, 1024), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.read(2 ** 52, 512), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.read(100, 512), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.read(0, 100), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.read(0, 32 * MiB + 512), isErrno(P.NBD_EINVAL), 'reads above the 32 MiB maximum');
      await assert.rejects(c.write(end - 512, Buffer.alloc(1024)), isErrno(P.NBD_ENOSPC), 'writes beyond the end: ENOSPC');
      await assert.rejects(c.write(2 ** 52, Buffer.alloc(512)), isErrno(P.NBD_ENOSPC));
      await assert.rejects(c.write(512, Buffer.alloc(100)), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.writeZeroes(end, 4096), isErrno(P.NBD_ENOSPC));
      await assert.rejects(c.trim(end - 4096, 8192), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.cache(end, 4096), isErrno(P.NBD_EINVAL));
      await assert.rejects(c.command(42, 0, 0, 512), isErrno(P.NBD_EINVAL), 'unknown command');
      await assert.rejects(c.command(P.NBD_CMD_READ, 1 << 9, 0, 512), isErrno(P.NBD_EINVAL), 'unknown flag');
      await assert.rejects(c.command(P.NBD_CMD_WRITE, P.NBD_CMD_FLAG_NO_HOLE, 0, 512, Buffer.alloc(512)), isErrno(P.NBD_EINVAL), 'flag not valid for the command');
      if (!structured) {
        await assert.rejects(c.command(P.NBD_CMD_READ, P.NBD_CMD_FLAG_DF, 0, 512), isErrno(P.NBD_EINVAL), 'DF needs structured replies');
        await assert.rejects(c.command(P.NBD_CMD_BLOCK_STATUS, 0, 0, 512), isErrno(P.NBD_EINVAL), 'block status needs a context');
      }
      await c.write(4096, Buffer.alloc(4096, 5));
      assert.equal((await c.read(4096, 4096))[100], 5);
      assert.equal((await c.read(end - 512, 512)).length, 512);
      c.destroy();
    });

    test('device errors map to NBD error numbers, including thrown and malformed results', async () => {
      const c = await connect('test', { structuredReplies: structured });
      const cases: Array<[ErrorCode, number]> = [
        ['ENOSPC', P.NBD_ENOSPC],
        ['EIO', P.NBD_EIO],
        ['EROFS', P.NBD_EPERM],
        ['EPERM', P.NBD_EPERM],
        ['EINVAL', P.NBD_EINVAL],
        ['ERANGE', P.NBD_EINVAL],
        ['EBUSY', P.NBD_EIO],
        ['ENOENT', P.NBD_EIO],
      ];
      for (const [code, want] of cases) {
        dev.fault = new KuraError('KURA-E3999', code, `injected ${code}`, 'none');
        await assert.rejects(c.write(0, Buffer.alloc(4096)), isErrno(want), `write ${code}`);
        await assert.rejects(c.read(0, 4096), isErrno(want), `read ${code}`);
        await assert.rejects(c.flush(), isErrno(want), `flush ${code}`);
        await assert.rejects(c.trim(0, 4096), isErrno(want), `trim ${code}`);
      }
      dev.fault = new TypeError('a bug');
      await assert.rejects(c.writeZeroes(0, 4096), isErrno(P.NBD_EIO));
      dev.fault = null;
      if (structured) {
        dev.fault = new KuraError('KURA-E3999', 'ENOSPC', 'pool is full', 'none');
        await assert.rejects(c.write(0, Buffer.alloc(512)), (e: unknown) => e instanceof NbdError && /KURA-E3999 pool is full/.test(e.message), 'structured errors carry the message');
        dev.fault = null;
      }
      dev.syncThrow = true;
      await assert.rejects(c.read(0, 4096), isErrno(P.NBD_EIO), 'a device that throws synchronously');
      dev.syncThrow = false;
      dev.shortRead = true;
      await assert.rejects(c.read(0, 4096), isErrno(P.NBD_EIO), 'a device that returns too few bytes');
      dev.shortRead = false;
      const data = crypto.randomBytes(4096);
      await c.write(8192, data);
      assert.ok((await c.read(8192, 4096)).equals(data), 'the connection still works');
      c.destroy();
    });

    test('a read-only export refuses writes, trims and zeroing with EPERM and still reads', async () => {
      const c = await connect('ro', { structuredReplies: structured });
      assert.ok(c.readOnly);
      assert.equal(c.flags & (P.NBD_FLAG_SEND_TRIM | P.NBD_FLAG_SEND_WRITE_ZEROES), 0);
      await assert.rejects(c.write(0, Buffer.alloc(4096, 1)), isErrno(P.NBD_EPERM));
      await assert.rejects(c.write(0, Buffer.alloc(4096, 1), { fua: true }), isErrno(P.NBD_EPERM));
      await assert.rejects(c.trim(0, 4096), isErrno(P.NBD_EPERM));
      await assert.rejects(c.writeZeroes(0, 4096), isErrno(P.NBD_EPERM));
      assert.ok((await c.read(0, 4096)).every((x) => x === 0), 'nothing was written');
      await c.flush();
      c.destroy();
    });
  });
}

describe('block status', () => {
  test('base:allocation reports written granules as data and the rest as zero holes', async () => {
    const fresh = FileDevice.create({ name: 'fresh', size: 4 * MiB, trackHoles: true });
    exports.add(fresh);
    try {
      const c = await connect('fresh');
      assert.notEqual(c.metaContextId, null);
      assert.deepEqual(await c.blockStatus(0, 4 * MiB), [{ offset: 0, length: 4 * MiB, flags: P.NBD_STATE_HOLE | P.NBD_STATE_ZERO }]);
      await c.write(0, Buffer.alloc(64 * KiB, 1));
      await c.write(192 * KiB, Buffer.alloc(512, 1)); // touches granule 3
      await c.writeZeroes(MiB, 128 * KiB, { noHole: true }); // allocated zeros
      const H = P.NBD_STATE_HOLE | P.NBD_STATE_ZERO;
      assert.deepEqual(await c.blockStatus(0, 2 * MiB), [
        { offset: 0, length: 64 * KiB, flags: 0 },
        { offset: 64 * KiB, length: 128 * KiB, flags: H },
        { offset: 192 * KiB, length: 64 * KiB, flags: 0 },
        { offset: 256 * KiB, length: 768 * KiB, flags: H },
        { offset: MiB, length: 128 * KiB, flags: 0 },
        { offset: MiB + 128 * KiB, length: 896 * KiB, flags: H },
      ]);
      assert.deepEqual(await c.blockStatus(32 * KiB, 64 * KiB), [
        { offset: 32 * KiB, length: 32 * KiB, flags: 0 },
        { offset: 64 * KiB, length: 32 * KiB, flags: H },
      ], 'a query inside granules is clipped to the range asked');
      assert.deepEqual(await c.blockStatus(0, 4 * MiB, { reqOne: true }), [{ offset: 0, length: 64 * KiB, flags: 0 }]);
      await c.trim(0, 256 * KiB);
      assert.deepEqual((await c.blockStatus(0, MiB)).map((e) => e.flags), [H], 'trimmed granules are holes again');
      await assert.rejects(c.blockStatus(4 * MiB, 512), isErrno(P.NBD_EINVAL), 'beyond the end');
      await assert.rejects(c.blockStatus(0, 0), isErrno(P.NBD_EINVAL), 'zero length');
      await assert.rejects(c.blockStatus(100, 512), isErrno(P.NBD_EINVAL), 'unaligned');
      c.destroy();
      const simple = await connect('fresh', { structuredReplies: false });
      assert.equal(simple.metaContextId, null);
      await assert.rejects(simple.blockStatus(0, 512), /not negotiated/);
      simple.destroy();
    } finally {
      exports.devices.delete('fresh');
      fresh.close();
    }
  });
});

describe('limits and flow control', () => {
  test('a write longer than 32 MiB closes the connection without buffering it; the server goes on', async () => {
    const r = await Raw.open();
    await r.hello();
    assert.equal((await r.option(P.NBD_OPT_GO, goData('disk'))).at(-1)!.type, P.NBD_REP_ACK);
    const rss = process.memoryUsage().rss;
    r.request(P.NBD_CMD_WRITE, 0, 1, 0n, 0xffffffff, crypto.randomBytes(MiB));
    assert.ok(await r.closesWithin(2000), 'closed');
    assert.ok(process.memoryUsage().rss - rss < 256 * MiB, 'no huge allocation');
    const c = await connect('disk');
    await c.write(0, Buffer.alloc(512, 2));
    assert.equal((await c.read(0, 512))[0], 2);
    c.destroy();
  });

  test('bad request magic closes the connection', async () => {
    const r = await Raw.open();
    await r.hello();
    assert.equal((await r.option(P.NBD_OPT_GO, goData('disk'))).at(-1)!.type, P.NBD_REP_ACK);
    r.write(Buffer.alloc(28, 0x55));
    assert.ok(await r.closesWithin(2000));
  });

  test('bytes in flight are capped per connection: reading pauses while the device is slow', async () => {
    const capped = new NbdServer({ exports, maxInflightBytes: 4 * MiB });
    await capped.listen('127.0.0.1', 0);
    const c = await NbdClient.connect({ host: '127.0.0.1', port: capped.address().port, exportName: 'test' });
    dev.writeGate = new Gate();
    const started = dev.writesStarted;
    const data = crypto.randomBytes(MiB);
    const writes = Array.from({ length: 48 }, (_x, i) => c.write(i * MiB, data));
    await dev.writeGate.reached(4, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const dispatched = dev.writesStarted - started;
    // At most the cap plus the request that crossed it, and what was already parsed.
    assert.ok(dispatched <= 6, `${dispatched} MiB of writes reached the device with a 4 MiB cap`);
    dev.writeGate.release();
    dev.writeGate = null;
    await Promise.all(writes);
    assert.equal(dev.writesStarted - started, 48);
    assert.ok((await c.read(47 * MiB, MiB)).equals(data));
    c.destroy();
    await capped.close();
  });

  test('disconnect waits for requests in flight; NBD_CMD_DISC lets them finish', async () => {
    const c = await connect('test');
    dev.writeGate = new Gate();
    const data = crypto.randomBytes(64 * KiB);
    const w = c.write(32 * MiB, data);
    await dev.writeGate.reached(1, 5000);
    const d = c.disconnect();
    setTimeout(() => {
      dev.writeGate!.release();
      dev.writeGate = null;
    }, 100);
    await w;
    await d;
    const c2 = await connect('test');
    assert.ok((await c2.read(32 * MiB, 64 * KiB)).equals(data));
    c2.destroy();
  });

  test('close() ends idle, negotiating and busy connections', async () => {
    const s = new NbdServer({ exports });
    await s.listen('127.0.0.1', 0);
    const p = s.address().port;
    const idle = await NbdClient.connect({ host: '127.0.0.1', port: p, exportName: 'disk' });
    const raw = net.connect(p, '127.0.0.1');
    raw.on('error', () => undefined);
    await new Promise((r) => raw.once('data', r));
    assert.equal(s.connectionCount, 2);
    const t0 = Date.now();
    await s.close();
    assert.ok(Date.now() - t0 < 2000, 'close does not hang on open connections');
    assert.match((await idle.closed).message, /closed/);
    assert.equal(s.connectionCount, 0);
    raw.destroy();
  });

  test('no protocol violation above was logged as an internal error', () => {
    assert.ok(!log.some((m) => /internal error/.test(m)), log.join('\n'));
  });
});
