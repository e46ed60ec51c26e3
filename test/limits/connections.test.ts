// Issue 8 item 10: connections that are opened and left idle must not make the
// array unreachable. Against a real `kura serve` with small caps: 200 idle NBD
// connections against a cap of 50 leave the API answering and a new NBD client
// is served once the idle ones reach the handshake timeout; an iSCSI portal
// over its cap leaves the other portal serving; idle API connections are closed
// within the idle limit, and the API's own cap logs when it bites.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import { NbdClient } from '../../src/nbd/client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { sleep } from './helpers.js';

/** Opens a TCP connection that sends nothing; resolves when connected, `closed` when the server drops it. */
function idle(port: number): Promise<{ sock: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.on('data', () => undefined);
    const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now() - t0)));
    sock.once('connect', () => resolve({ sock, closed }));
    // Refused outright (or reset before connect) counts as connected-and-closed.
    sock.once('close', () => resolve({ sock, closed }));
  });
}

async function apiOk(srv: TestServer): Promise<void> {
  const res = await fetch(`${srv.url}/api/v1/lds`, { headers: { authorization: `Bearer ${srv.token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.ok(((await res.json()) as Array<{ name: string }>).some((l) => l.name === 'demo0'));
}

test('connection caps, the NBD handshake timeout and the API idle timeout keep kura serve reachable', { timeout: 90_000 }, async () => {
  const srv = await startServer({
    args: [
      '--nbd-max-connections',
      '50',
      '--iscsi-max-connections',
      '20',
      '--http-max-connections',
      '30',
      '--nbd-handshake-timeout',
      '3',
      '--http-idle-timeout',
      '2',
    ],
  });
  const socks: net.Socket[] = [];
  try {
    // 200 NBD connections that never negotiate: 50 are kept, the rest closed at once.
    const nbd = await Promise.all(Array.from({ length: 200 }, () => idle(srv.nbdPort)));
    socks.push(...nbd.map((c) => c.sock));
    await sleep(500);
    const open = nbd.filter((c) => !c.sock.destroyed && !c.sock.readableEnded).length;
    assert.ok(open <= 50, `at most the cap of 50 idle NBD connections stay open (${open} do)`);
    await apiOk(srv);
    assert.match(srv.stderr(), /KURA-W6200 NBD listener: 50 connections open, the cap; refused \d+ new connection/);

    // A good client gets in once the idle ones reach the handshake timeout (3 s).
    const t0 = Date.now();
    let good: NbdClient | undefined;
    while (!good && Date.now() - t0 < 30_000) {
      try {
        good = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'demo0', timeoutMs: 5000 });
      } catch {
        await sleep(250);
      }
    }
    assert.ok(good, 'a new NBD client is served after the idle connections timed out');
    const data = Buffer.alloc(4096, 0x5a);
    await good.write(8192, data, { fua: true });
    assert.ok((await good.read(8192, 4096)).equals(data));
    // Past the handshake timeout, a client in transmission stays connected.
    await sleep(3500);
    assert.ok((await good.read(8192, 4096)).equals(data));
    await good.disconnect();
    const lifetimes = await Promise.all(nbd.map((c) => c.closed));
    assert.ok(Math.max(...lifetimes) < 20_000, `every idle NBD connection was closed (the longest lived ${Math.max(...lifetimes)} ms)`);
    assert.match(srv.stderr(), /KURA-W6201 nbd: .*no export chosen within 3000 ms/);

    // One iSCSI portal over its cap: the other portal and the API still serve.
    const iscsi = await Promise.all(Array.from({ length: 60 }, () => idle(srv.iscsiPorts[0])));
    socks.push(...iscsi.map((c) => c.sock));
    await sleep(300);
    assert.match(srv.stderr(), /KURA-W6202 iSCSI portal .*: 20 connections open, the cap/);
    const ini = await IscsiInitiator.connect('127.0.0.1', srv.iscsiPorts[1]);
    assert.equal((await ini.login({ initiatorName: 'iqn.2026-12.io.kura:good', targetName: srv.iqn })).status, 0);
    assert.equal(await ini.logout(), 0);
    await apiOk(srv);
    for (const c of iscsi) c.sock.destroy();

    // An idle API connection is closed within the idle limit (2 s, swept every 0.5 s).
    const h = await idle(srv.httpPort);
    socks.push(h.sock);
    const lived = await Promise.race([h.closed, sleep(15_000).then(() => -1)]);
    assert.ok(lived > 0 && lived < 6000, `an idle API connection is closed within the idle limit (after ${lived} ms)`);

    // The API's own cap: 40 idle connections against 30; once they time out, requests are served again.
    const api = await Promise.all(Array.from({ length: 40 }, () => idle(srv.httpPort)));
    socks.push(...api.map((c) => c.sock));
    await sleep(300);
    assert.match(srv.stderr(), /KURA-W6203 API listener: 30 connections open, the cap/);
    await Promise.all(api.map((c) => c.closed));
    await apiOk(srv);
    assert.equal(srv.proc.exitCode, null);
  } finally {
    for (const s of socks) s.destroy();
    await srv.cleanup();
  }
});
