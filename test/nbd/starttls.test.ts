// NBD_OPT_STARTTLS at the byte level, in-process, with Node's own TLS client:
// the cases real clients never produce (plaintext smuggled after STARTTLS, a
// second STARTTLS, state negotiated before TLS) and the three TLS modes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { NbdServer } from '../../src/nbd/server.js';
import type { NbdExportProvider, NbdPeer } from '../../src/nbd/server.js';
import type { NbdTlsMode } from '../../src/nbd/tls.js';
import * as P from '../../src/nbd/protocol.js';
import { FileDevice } from '../helpers/file-device.js';

const KEY = crypto.randomBytes(32);
let dev: FileDevice;
const peers: NbdPeer[] = [];

/** "open" for everybody, "web-only" for PSK identity web. */
const provider: NbdExportProvider = {
  list: (peer) => {
    peers.push(peer);
    return [{ name: 'open' }, ...(peer.identity === 'web' ? [{ name: 'web-only' }] : [])];
  },
  open: (name, peer) => (name === 'open' || (name === 'web-only' && peer.identity === 'web') ? dev : undefined),
  plainRestricted: () => true,
};

const servers: NbdServer[] = [];
async function serve(mode: NbdTlsMode | undefined): Promise<number> {
  const s = new NbdServer({ exports: provider, ...(mode ? { tls: { mode, psk: (id) => (id === 'web' ? KEY : undefined) } } : {}) });
  await s.listen('127.0.0.1', 0);
  servers.push(s);
  return s.address().port;
}

before(() => {
  dev = FileDevice.create({ size: 1 << 20, name: 'open' });
});
after(async () => {
  for (const s of servers) await s.close();
  dev.close();
});

/** Reads exact byte counts from whichever socket carries the session now. */
class Wire {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  sock: net.Socket;
  private readonly onData = (d: Buffer) => {
    this.buf = Buffer.concat([this.buf, d]);
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.closed = true;
    this.waiter?.();
  };

  constructor(sock: net.Socket) {
    this.sock = sock;
    this.attach(sock);
  }

  private attach(s: net.Socket): void {
    s.on('data', this.onData);
    s.on('close', this.onEnd);
    s.on('error', this.onEnd);
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = null;
    }
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }

  async upgrade(identity: string, key: Buffer): Promise<void> {
    this.sock.off('data', this.onData);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onEnd);
    const t = tls.connect({ socket: this.sock, pskCallback: () => ({ identity, psk: key }), checkServerIdentity: () => undefined });
    this.attach(t);
    this.sock = t;
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
    });
  }
}

async function open(port: number): Promise<Wire> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j));
  const w = new Wire(sock);
  const hello = (await w.read(18))!;
  assert.equal(hello.readBigUInt64BE(0), P.NBDMAGIC);
  sock.write(Buffer.from([0, 0, 0, P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES]));
  return w;
}

function option(opt: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(P.IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

/** Sends an option and collects replies up to the final one (ACK or an error). */
async function ask(w: Wire, opt: number, data?: Buffer): Promise<{ types: number[]; last: number; text: string; payloads: Buffer[] } | null> {
  w.sock.write(option(opt, data));
  const types: number[] = [];
  const payloads: Buffer[] = [];
  for (;;) {
    const h = await w.read(20);
    if (!h) return null;
    const type = h.readUInt32BE(12);
    const body = (await w.read(h.readUInt32BE(16)))!;
    types.push(type);
    payloads.push(body);
    if (type !== P.NBD_REP_SERVER && type !== P.NBD_REP_INFO && type !== P.NBD_REP_META_CONTEXT) return { types, last: type, text: body.toString(), payloads };
  }
}

function names(r: { payloads: Buffer[]; types: number[] }): string[] {
  return r.payloads.filter((_p, i) => r.types[i] === P.NBD_REP_SERVER).map((p) => p.subarray(4, 4 + p.readUInt32BE(0)).toString());
}

function metaQuery(name: string): Buffer {
  const q = Buffer.from(P.BASE_ALLOCATION);
  const b = Buffer.alloc(4 + name.length + 4 + 4 + q.length);
  b.writeUInt32BE(name.length, 0);
  b.write(name, 4);
  b.writeUInt32BE(1, 4 + name.length);
  b.writeUInt32BE(q.length, 8 + name.length);
  q.copy(b, 12 + name.length);
  return b;
}

test('without TLS configured (pathd), STARTTLS is refused by policy and the session goes on', async () => {
  const w = await open(await serve(undefined));
  const r = (await ask(w, P.NBD_OPT_STARTTLS))!;
  assert.equal(r.last, P.NBD_REP_ERR_POLICY);
  assert.deepEqual(names((await ask(w, P.NBD_OPT_LIST))!), ['open']);
  w.sock.destroy();
});

test('TLS allowed: a PSK client sees its exports; a second STARTTLS is invalid; state from before TLS is forgotten', async () => {
  const w = await open(await serve('allowed'));
  assert.deepEqual(names((await ask(w, P.NBD_OPT_LIST))!), ['open']);
  assert.equal((await ask(w, P.NBD_OPT_STRUCTURED_REPLY))!.last, P.NBD_REP_ACK);
  assert.equal((await ask(w, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
  await w.upgrade('web', KEY);
  assert.equal((w.sock as tls.TLSSocket).encrypted, true);
  assert.deepEqual(names((await ask(w, P.NBD_OPT_LIST))!), ['open', 'web-only']);
  assert.deepEqual(peers.at(-1), { identity: 'web' });
  assert.equal((await ask(w, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ERR_INVALID);
  // Structured replies were negotiated in plaintext: after TLS they must be asked for again.
  const meta = (await ask(w, P.NBD_OPT_SET_META_CONTEXT, metaQuery('web-only')))!;
  assert.equal(meta.last, P.NBD_REP_ERR_INVALID);
  assert.match(meta.text, /structured replies/);
  w.sock.destroy();
});

test('TLS allowed: a plain client asking for a hidden export is told TLS is needed, never whether it exists', async () => {
  const w = await open(await serve('allowed'));
  for (const name of ['web-only', 'no-such-export']) {
    const info = Buffer.alloc(4 + name.length + 2);
    info.writeUInt32BE(name.length, 0);
    info.write(name, 4);
    const r = (await ask(w, P.NBD_OPT_INFO, info))!;
    assert.equal(r.last, P.NBD_REP_ERR_TLS_REQD, name);
    assert.equal((await ask(w, P.NBD_OPT_LIST_META_CONTEXT, metaQuery(name)))!.last, P.NBD_REP_ERR_TLS_REQD, name);
  }
  assert.equal((await ask(w, P.NBD_OPT_LIST_META_CONTEXT, metaQuery('open')))!.last, P.NBD_REP_ACK);
  w.sock.destroy();
});

test('plaintext sent after STARTTLS, before the reply, closes the connection', async () => {
  const w = await open(await serve('allowed'));
  w.sock.write(Buffer.concat([option(P.NBD_OPT_STARTTLS), option(P.NBD_OPT_LIST)]));
  assert.equal(await w.read(20), null, 'the server answered instead of closing');
});

test('TLS required: options other than STARTTLS get TLS_REQD, EXPORT_NAME closes, ABORT is acknowledged', async () => {
  const port = await serve('required');
  const w = await open(port);
  const list = (await ask(w, P.NBD_OPT_LIST))!;
  assert.equal(list.last, P.NBD_REP_ERR_TLS_REQD);
  assert.match(list.text, /requires TLS/);
  assert.equal((await ask(w, P.NBD_OPT_STRUCTURED_REPLY))!.last, P.NBD_REP_ERR_TLS_REQD);
  assert.equal((await ask(w, P.NBD_OPT_ABORT))!.last, P.NBD_REP_ACK);
  w.sock.destroy();

  const x = await open(port);
  x.sock.write(option(P.NBD_OPT_EXPORT_NAME, Buffer.from('open')));
  assert.equal(await x.read(1), null, 'EXPORT_NAME entered transmission without TLS');

  const y = await open(port);
  assert.equal((await ask(y, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
  await y.upgrade('web', KEY);
  assert.deepEqual(names((await ask(y, P.NBD_OPT_LIST))!), ['open', 'web-only']);
  y.sock.destroy();
});

test('a wrong key fails the handshake and the server drops the connection', async () => {
  const w = await open(await serve('allowed'));
  assert.equal((await ask(w, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
  await assert.rejects(w.upgrade('web', crypto.randomBytes(32)));
  w.sock.destroy();
});
