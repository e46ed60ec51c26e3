// Alerts against real peers: a webhook receiver that fails the first POST
// (the retry with back-off delivers it), syslog listeners on UDP and TCP
// (RFC 5424 messages, octet counting on TCP), Debian's snmptrapd decoding the
// v2c traps with KURA-MIB, and snmptranslate checking the MIB itself. Rules
// filter by severity; an event text with a line break cannot forge a second
// syslog message; a webhook URL's secret path and query never show (list,
// errors, server log).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KURA_EVENT_NOTIFICATION, KURA_OBJECTS } from '../../src/ops/alerts/snmp.js';
import { ROOT, expectCliError } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MIB_PATH = `${path.join(ROOT, 'test', 'fixtures', 'smi')}:${path.join(ROOT, 'mibs')}`;
const SECRET_PATH = 'hooks/T0PS3CR3T';
const SECRET_QUERY = 'sig=QU3RYS3CR3T';

let srv: TestServer;
let tmp: string;
const hookBodies: Array<{ status: number; body: string; contentType: string }> = [];
let hookFailNext = 1;
let hook: http.Server;
let hookPort: number;
const udpMessages: Buffer[] = [];
let udp: dgram.Socket;
const tcpData: Buffer[] = [];
let tcp: net.Server;
let trapd: ChildProcess;
let trapdOut = '';
let trapPort: number;

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-alerts-'));
  srv = await startServer({ args: ['--no-demo'] });
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = hookFailNext > 0 ? 500 : 200;
      if (hookFailNext > 0) hookFailNext--;
      hookBodies.push({ status, body, contentType: String(req.headers['content-type']) });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookPort = (hook.address() as net.AddressInfo).port;
  udp = dgram.createSocket('udp4');
  udp.on('message', (m) => udpMessages.push(m));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  tcp = net.createServer((s) => s.on('data', (c: Buffer) => tcpData.push(c)));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  trapPort = await freeUdpPort();
  fs.writeFileSync(path.join(tmp, 'snmptrapd.conf'), 'authCommunity log c0mm\n');
  trapd = spawn('snmptrapd', ['-f', '-Lo', '-C', '-c', path.join(tmp, 'snmptrapd.conf'), '-M', MIB_PATH, '-m', 'KURA-MIB', '-n', `udp:127.0.0.1:${trapPort}`], {
    env: { ...process.env, SNMP_PERSISTENT_DIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trapd.on('error', (e) => (trapdOut += `snmptrapd could not run (Debian package snmptrapd): ${e.message}`));
  trapd.stdout!.on('data', (c: Buffer) => (trapdOut += c.toString()));
  trapd.stderr!.on('data', (c: Buffer) => (trapdOut += c.toString()));
  await until('snmptrapd to start', () => /NET-SNMP version/.test(trapdOut));
});

after(async () => {
  trapd?.kill('SIGKILL');
  hook?.closeAllConnections();
  hook?.close();
  udp?.close();
  tcp?.close();
  await srv?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('snmptranslate reads KURA-MIB without a warning, and its OIDs are those the traps carry', () => {
  const run = (...args: string[]) =>
    spawnSync('snmptranslate', ['-M', MIB_PATH, '-m', 'KURA-MIB', '-PW', ...args], { encoding: 'utf8', env: { ...process.env, SNMP_PERSISTENT_DIR: tmp } });
  const n = run('-On', 'KURA-MIB::kuraEventNotification');
  assert.equal(n.error, undefined, 'snmptranslate runs (Debian package snmp)');
  assert.equal(n.stderr, '', 'no MIB warning');
  assert.equal(n.stdout.trim(), `.${KURA_EVENT_NOTIFICATION}`);
  for (const [name, oid] of Object.entries(KURA_OBJECTS)) {
    const r = run('-On', `KURA-MIB::${name}`);
    assert.equal(r.stderr, '', name);
    assert.equal(r.stdout.trim(), `.${oid}`, name);
  }
  const tree = run('-Tp', '-IR', 'kuraMIB');
  assert.equal(tree.stderr, '');
  assert.match(tree.stdout, /kuraEventSeverity\(2\)[\s\S]*Values: info\(1\), warning\(2\), error\(3\)/);
});

test('kura alert add, list, test and delete; events reach a webhook (after a failed try), syslog over UDP and TCP, and snmptrapd', async () => {
  const url = `http://127.0.0.1:${hookPort}/${SECRET_PATH}?${SECRET_QUERY}`;
  srv.cli.ok('alert', 'add', 'hook', '--webhook', url, '--min-severity', 'info');
  srv.cli.ok('alert', 'add', 'sys-udp', '--syslog', `127.0.0.1:${(udp.address() as net.AddressInfo).port}`, '--min-severity', 'info');
  srv.cli.ok('alert', 'add', 'sys-tcp', '--syslog', `127.0.0.1:${(tcp.address() as net.AddressInfo).port}`, '--transport', 'tcp');
  srv.cli.ok('alert', 'add', 'trap', '--snmp', `127.0.0.1:${trapPort}`, '--community', 'c0mm', '--min-severity', 'warning', '--event', 'KURA-W*');
  expectCliError(srv.cli.run('alert', 'add', 'hook', '--syslog', '127.0.0.1:514'), 1, 'KURA-E8300', 'a second alert of the same name');
  expectCliError(srv.cli.run('alert', 'add', 'bad', '--webhook', 'file:///etc/passwd'), 1, 'KURA-E8303', 'a file: URL');
  expectCliError(srv.cli.run('alert', 'add', 'bad', '--webhook', url, '--syslog', '127.0.0.1:514'), 1, 'KURA-E8302', 'two destinations');
  expectCliError(srv.cli.run('alert', 'add', 'bad', '--snmp', '127.0.0.1:99999'), 1, 'KURA-E8304', 'a port out of range');

  const list = srv.cli.json<Array<{ name: string; kind: string; target: string; community?: string; minSeverity: string }>>('alert', 'list');
  assert.deepEqual(
    list.map((a) => [a.name, a.kind, a.minSeverity]),
    [
      ['hook', 'webhook', 'info'],
      ['sys-udp', 'syslog', 'info'],
      ['sys-tcp', 'syslog', 'warning'],
      ['trap', 'snmp', 'warning'],
    ],
  );
  const listed = JSON.stringify(list) + srv.cli.ok('alert', 'list');
  assert.ok(!listed.includes('T0PS3CR3T') && !listed.includes('QU3RYS3CR3T') && !listed.includes('c0mm'), 'no secret in the list');
  assert.equal(list[0]!.target, `http://127.0.0.1:${hookPort}/…`);

  // An info event, then a warning whose text tries to start a second syslog message.
  await srv.api('POST', '/events', { id: 'KURA-I7001', severity: 'info', host: 'h1', text: 'path 2 is back' });
  await srv.api('POST', '/events', {
    id: 'KURA-W7002',
    severity: 'warning',
    host: 'h1',
    text: 'path 1 failed\n<11>1 2026-01-01T00:00:00Z forged kura 1 KURA-E0000 - fake',
  });

  // The webhook: the first POST failed with 500, then each event arrived once, in order, as JSON.
  // (The configuration changes are info events too: the alerts' own creation reached the webhook first.)
  const fromH1 = () =>
    hookBodies
      .filter((b) => b.status === 200)
      .map((b) => JSON.parse(b.body) as Record<string, unknown>)
      .filter((d) => d['source'] === 'host:h1');
  await until('both events at the webhook', () => fromH1().length >= 2);
  assert.equal(hookBodies[0]!.status, 500);
  const delivered = fromH1();
  assert.equal(hookBodies[1]!.body, hookBodies[0]!.body, 'the failed POST was retried with the same event');
  assert.deepEqual(
    delivered.map((d) => [d['id'], d['severity'], d['source']]),
    [
      ['KURA-I7001', 'info', 'host:h1'],
      ['KURA-W7002', 'warning', 'host:h1'],
    ],
  );
  for (const d of delivered) {
    assert.equal(typeof d['text'], 'string');
    assert.ok(!Number.isNaN(Date.parse(String(d['time']))), 'time is a date');
  }
  assert.match(hookBodies[0]!.contentType, /^application\/json/);

  // Syslog over UDP: one RFC 5424 message per datagram, both events (min severity info).
  const h1 = () => udpMessages.map((b) => b.toString('utf8')).filter((t) => t.includes('source="host:h1"'));
  await until('two syslog datagrams', () => h1().length >= 2);
  const first = h1()[0]!;
  assert.match(
    first,
    /^<134>1 \d{4}-\d\d-\d\dT\S+Z \S+ kura \d+ KURA-I7001 \[kura@32473 array="[^"]+" source="host:h1" severity="info" seq="\d+"\] \uFEFFpath 2 is back$/,
  );
  const second = h1()[1]!;
  assert.match(second, /^<132>1 \S+ \S+ kura \d+ KURA-W7002 \[kura@32473 /);
  assert.ok(!second.includes('\n'), 'the line break is gone: no second message');

  // Syslog over TCP: octet-counted frames, only the warning (min severity warning).
  await until('a syslog frame over TCP', () => Buffer.concat(tcpData).length > 0 && /^(\d+) /.test(Buffer.concat(tcpData).toString()));
  await until('the whole frame', () => {
    const t = Buffer.concat(tcpData);
    const m = /^(\d+) /.exec(t.toString('latin1'))!;
    return t.length >= m[0].length + Number(m[1]);
  });
  const frame = Buffer.concat(tcpData);
  const m = /^(\d+) /.exec(frame.toString('latin1'))!;
  const msg = frame.subarray(m[0].length, m[0].length + Number(m[1])).toString('utf8');
  assert.match(msg, /^<132>1 \S+ \S+ kura \d+ KURA-W7002 /);
  assert.equal(frame.length, m[0].length + Number(m[1]), 'exactly one message over TCP: the info event was filtered out');

  // snmptrapd decoded the warning's trap with KURA-MIB (the info event did not match the rule).
  await until('the trap at snmptrapd', () => /kuraEventId\.0 = STRING: KURA-W7002/.test(trapdOut));
  assert.match(trapdOut, /OID: KURA-MIB::kuraEventNotification/);
  assert.match(trapdOut, /KURA-MIB::kuraEventSeverity\.0 = INTEGER: warning\(2\)/);
  assert.match(trapdOut, /KURA-MIB::kuraEventSource\.0 = STRING: host:h1/);
  assert.ok(!trapdOut.includes('KURA-I7001'), 'the info event sent no trap');

  // kura alert test: delivered now; with the receiver gone, an error with the reason and no secret.
  const t = await srv.cli.spawn('alert', 'test', 'hook');
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /Test event delivered to alert hook/);
  assert.equal(JSON.parse(hookBodies.at(-1)!.body).id, 'KURA-I8300');
  const t2 = await srv.cli.spawn('alert', 'test', 'trap');
  assert.equal(t2.status, 0, t2.stderr);
  await until('the test trap', () => /kuraEventId\.0 = STRING: KURA-I8300/.test(trapdOut));
  hook.closeAllConnections();
  await new Promise<void>((r) => hook.close(() => r()));
  const down = await srv.cli.spawn('alert', 'test', 'hook');
  expectCliError(down, 1, 'KURA-E8306', 'a webhook receiver that is gone', /ECONNREFUSED/);
  assert.ok(!down.stderr.includes('T0PS3CR3T') && !down.stderr.includes('QU3RYS3CR3T'));

  srv.cli.ok('alert', 'delete', 'trap');
  expectCliError(srv.cli.run('alert', 'delete', 'trap'), 1, 'KURA-E8301', 'deleting it again');
  assert.deepEqual(
    srv.cli.json<Array<{ name: string }>>('alert', 'list').map((a) => a.name),
    ['hook', 'sys-udp', 'sys-tcp'],
  );
  // The alerts file is private to the server's user; nothing secret reached its log.
  assert.equal(fs.statSync(path.join(srv.dataDir, 'alerts.json')).mode & 0o777, 0o600);
  assert.ok(!srv.stderr().includes('T0PS3CR3T') && !srv.stderr().includes('QU3RYS3CR3T'), 'the server log holds no secret');
});
