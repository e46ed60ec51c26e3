// Issue 13: the listeners of the distributed deployment have the same hardened
// setup as kura serve's API (src/limits/http-server.ts). Against a real
// `kura array` agent and a real `kura manager` HA front, each with a small cap
// and idle limit: a slowloris client dripping its headers is cut off, connections
// over the cap are refused (and logged), a malformed request gets a 400 with an
// id and the process lives on, an oversized body is refused with an id.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startEtcd } from '../helpers/etcd.js';
import type { EtcdCluster } from '../helpers/etcd.js';
import { startArray, startManager } from '../helpers/ha.js';
import type { KuraProcess } from '../helpers/ha.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a connection; `closed` resolves (with what the server sent) when the server drops it. */
function connect(port: number): Promise<{ sock: net.Socket; closed: Promise<string> }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const closed = new Promise<string>((r) => sock.on('close', () => r(got)));
    sock.once('connect', () => resolve({ sock, closed }));
    sock.once('close', () => resolve({ sock, closed }));
  });
}

/** One raw request; resolves with the whole answer once the server closes or `ms` passed. */
async function raw(port: number, bytes: string, ms = 10_000): Promise<string> {
  const c = await connect(port);
  c.sock.write(bytes, 'latin1');
  const got = await Promise.race([c.closed, sleep(ms).then(() => 'timeout')]);
  c.sock.destroy();
  return got;
}

interface Listener {
  what: string;
  port: number;
  token: string;
  /** A GET that answers 200 with the token. */
  okPath: string;
  /** A POST route that takes a JSON body. */
  postPath: string;
  proc: KuraProcess;
  capLine: RegExp;
}

async function ok(l: Listener): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${l.port}${l.okPath}`, { headers: { authorization: `Bearer ${l.token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `${l.what} answers ${l.okPath}`);
  await res.arrayBuffer();
}

async function hardened(l: Listener): Promise<void> {
  // Slowloris: a header line every 300 ms, for up to 30 s; the server closes the
  // connection once the idle limit (1 s) has passed without a complete head.
  const slow = await connect(l.port);
  slow.sock.write('GET / HTTP/1.1\r\nHost: x\r\n');
  let dripping = true;
  let lines = 0;
  void (async () => {
    while (dripping && lines < 100 && !slow.sock.destroyed) {
      await sleep(300);
      slow.sock.write(`x-drip-${lines++}: 1\r\n`);
    }
  })();
  const cut = await Promise.race([slow.closed.then((got) => ({ got })), sleep(30_000).then(() => null)]);
  dripping = false;
  slow.sock.destroy();
  assert.ok(cut !== null, `${l.what}: a client dripping its headers is cut off`);
  assert.ok(lines < 100, `${l.what}: cut before it sent its 100 header lines (${lines} sent)`);

  // A malformed request: 400 with an id, and the listener still serves.
  const bad = await raw(l.port, 'GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 /, `${l.what}: ${bad.slice(0, 80)}`);
  assert.match(bad, /"id":\s*"KURA-E4036"/);
  await ok(l);

  // An oversized body: 413 with an id, the connection closed.
  const big = await raw(
    l.port,
    `POST ${l.postPath} HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${l.token}\r\ncontent-type: application/json\r\ncontent-length: ${64 * 1024 * 1024}\r\n\r\n${' '.repeat(65536)}`,
  );
  assert.match(big, /^HTTP\/1\.1 413 /, `${l.what}: ${big.slice(0, 80)}`);
  assert.match(big, /"id":\s*"KURA-E4003"/);
  await ok(l);

  // Over the cap (8): the connections beyond it are closed on accept, the cap's line is
  // logged, and once the idle ones time out the listener serves again.
  const idle = await Promise.all(Array.from({ length: 20 }, () => connect(l.port)));
  await sleep(300);
  const open = idle.filter((c) => !c.sock.destroyed && !c.sock.readableEnded).length;
  assert.ok(open <= 8, `${l.what}: at most the cap of 8 idle connections stay open (${open} do)`);
  await Promise.race([Promise.all(idle.map((c) => c.closed)), sleep(30_000)]);
  assert.match(l.proc.output(), l.capLine);
  await ok(l);
  assert.ok(l.proc.running(), `${l.what} still runs`);
}

test('the array agent and the HA front cut slowloris clients, cap connections and refuse bad requests with ids', { timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ha-listen-'));
  let etcd: EtcdCluster | undefined;
  const procs: KuraProcess[] = [];
  try {
    const array = await startArray(path.join(root, 'a0'), ['--agent-max-connections', '8', '--agent-idle-timeout', '1']);
    procs.push(array);
    await hardened({
      what: 'the array agent',
      port: Number(new URL(array.agentUrl).port),
      token: fs.readFileSync(array.tokenFile, 'utf8').trim(),
      okPath: '/agent/v1/identity',
      postPath: '/agent/v1/call',
      proc: array,
      capLine: /KURA-W8005 agent listener: 8 connections open, the cap; refused \d+ new connection/,
    });

    etcd = await startEtcd(1);
    const m = await startManager(etcd.endpoints, path.join(root, 'm1'), 'm1', undefined, ['--http-max-connections', '8', '--http-idle-timeout', '1']);
    procs.push(m);
    await hardened({
      what: 'the HA front',
      port: Number(new URL(m.url).port),
      token: fs.readFileSync(path.join(root, 'm1', 'admin.token'), 'utf8').trim(),
      okPath: '/api/v1/ha/managers',
      postPath: '/api/v1/ha/arrays',
      proc: m,
      capLine: /KURA-W6203 API listener: 8 connections open, the cap; refused \d+ new connection/,
    });
  } finally {
    for (const p of procs) await p.kill();
    await etcd?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
