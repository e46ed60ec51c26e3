// NBD_OPT_STARTTLS at the byte level, in-process, with Node's own TLS client:
// the cases real clients never produce (plaintext smuggled after STARTTLS, a
// second STARTTLS, state negotiated before TLS) and the three TLS modes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type tls from 'node:tls';
import { after, before, test } from 'node:test';
import { NbdServer } from '../../src/nbd/server.js';
import type { ExportPeer, ExportProvider } from '../../src/block/exports.js';
import type { NbdTlsMode } from '../../src/nbd/tls.js';
import * as P from '../../src/nbd/protocol.js';
import { FileDevice } from '../helpers/file-device.js';
import { ask, metaQuery, names, openWire, option } from '../helpers/nbd-wire.js';

const KEY = crypto.randomBytes(32);
let dev: FileDevice;
const peers: ExportPeer[] = [];

/** "open" for everybody, "web-only" for PSK identity web. */
const PLAIN: ExportPeer = { identity: null };
const provider: ExportProvider = {
  list: (peer = PLAIN) => {
    peers.push(peer);
    return [{ name: 'open' }, ...(peer.identity === 'web' ? [{ name: 'web-only' }] : [])];
  },
  open: (name, peer = PLAIN) => (name === 'open' || (name === 'web-only' && peer.identity === 'web') ? dev : undefined),
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

test('without TLS configured (pathd), STARTTLS is refused by policy and the session goes on', async () => {
  const w = await openWire(await serve(undefined));
  const r = (await ask(w, P.NBD_OPT_STARTTLS))!;
  assert.equal(r.last, P.NBD_REP_ERR_POLICY);
  assert.deepEqual(names((await ask(w, P.NBD_OPT_LIST))!), ['open']);
  w.sock.destroy();
});

test('TLS allowed: a PSK client sees its exports; a second STARTTLS is invalid; state from before TLS is forgotten', async () => {
  const w = await openWire(await serve('allowed'));
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
  const w = await openWire(await serve('allowed'));
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
  const w = await openWire(await serve('allowed'));
  w.sock.write(Buffer.concat([option(P.NBD_OPT_STARTTLS), option(P.NBD_OPT_LIST)]));
  assert.equal(await w.read(20), null, 'the server answered instead of closing');
});

test('TLS required: options other than STARTTLS get TLS_REQD, EXPORT_NAME closes, ABORT is acknowledged', async () => {
  const port = await serve('required');
  const w = await openWire(port);
  const list = (await ask(w, P.NBD_OPT_LIST))!;
  assert.equal(list.last, P.NBD_REP_ERR_TLS_REQD);
  assert.match(list.text, /requires TLS/);
  assert.equal((await ask(w, P.NBD_OPT_STRUCTURED_REPLY))!.last, P.NBD_REP_ERR_TLS_REQD);
  assert.equal((await ask(w, P.NBD_OPT_ABORT))!.last, P.NBD_REP_ACK);
  w.sock.destroy();

  const x = await openWire(port);
  x.sock.write(option(P.NBD_OPT_EXPORT_NAME, Buffer.from('open')));
  assert.equal(await x.read(1), null, 'EXPORT_NAME entered transmission without TLS');

  const y = await openWire(port);
  assert.equal((await ask(y, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
  await y.upgrade('web', KEY);
  assert.deepEqual(names((await ask(y, P.NBD_OPT_LIST))!), ['open', 'web-only']);
  y.sock.destroy();
});

test('a wrong key fails the handshake and the server drops the connection', async () => {
  const w = await openWire(await serve('allowed'));
  assert.equal((await ask(w, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
  await assert.rejects(w.upgrade('web', crypto.randomBytes(32)));
  w.sock.destroy();
});
