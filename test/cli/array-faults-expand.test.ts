// Smaller items of issue 8 (item 12) against a real `kura serve`: `kura array
// show` (which the KURA-E2051 hint names), strict fault bodies, and expand
// with explicit --add SIZE / --size TOTAL on both pools and LDs (and the API's
// add / total fields, the older "size" keeping its meaning per route).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { expectCliError, kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const GiB = 2 ** 30;
let srv: TestServer;
let cwd: string;
const { run: kura, json: kuraJson } = kuraCli(() => ({ env: srv.env, cwd }));

const api = (method: string, p: string, body?: unknown) => rawRequest(srv.url, { method, path: `/api/v1${p}`, token: srv.token, body });

before(async () => {
  srv = await startServer();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cwd-'));
});
after(async () => {
  await srv.cleanup();
  fs.rmSync(cwd, { recursive: true, force: true });
});

test('kura array show: identity, controllers and their host ports; the E2051 hint names it', () => {
  const a = kuraJson<{
    name: string;
    serial: string;
    version: string;
    controllers: Array<{ number: number; state: string; ports: Array<{ host: string; port: number }> }>;
  }>('array', 'show');
  assert.match(a.name, /^kura-/);
  assert.deepEqual(
    a.controllers.map((c) => [c.number, c.state]),
    [
      [0, 'online'],
      [1, 'online'],
    ],
  );
  assert.deepEqual(
    a.controllers.map((c) => c.ports[0]?.port),
    srv.iscsiPorts,
  );
  const human = kura('array', 'show');
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^Array Name +: ${a.name}$`, 'm'));
  assert.match(human.stdout, new RegExp(`^Serial Number +: ${a.serial}$`, 'm'));
  for (const [i, port] of srv.iscsiPorts.entries()) assert.match(human.stdout, new RegExp(`^0${i} +online +127\\.0\\.0\\.1:${port} +up`, 'm'));

  const r = kura('fault', 'port-down', '127.0.0.1:1');
  expectCliError(r, 1, 'KURA-E2051', 'no such port');
  const hint = /kura [a-z]+ [a-z]+/.exec(r.stderr.split('\n')[1]!)?.[0];
  assert.equal(hint, 'kura array show');
  assert.equal(kura(...hint!.split(' ').slice(1)).status, 0, 'the command the hint names exists');
});

test('POST /faults: the target must fit the action, checked with API ids', async () => {
  const cases: Array<[unknown, string]> = [
    [{ action: 'controller-down', target: 0 }, 'KURA-E4013'],
    [{ action: 'port-down', target: 3260 }, 'KURA-E4013'],
    [{ action: 5, target: '0' }, 'KURA-E4013'],
    [{ action: 'controller-down', target: `127.0.0.1:${srv.iscsiPorts[0]}` }, 'KURA-E4032'],
    [{ action: 'controller-down', target: '1.5' }, 'KURA-E4032'],
    [{ action: 'controller-down', target: '-1' }, 'KURA-E4032'],
    [{ action: 'controller-down', target: '' }, 'KURA-E4032'],
    [{ action: 'port-down', target: '1' }, 'KURA-E4020'],
    [{ action: 'port-down', target: '127.0.0.1:0' }, 'KURA-E4020'],
    [{ action: 'port-down', target: '127.0.0.1:70000' }, 'KURA-E4020'],
    [{ action: 'port-down', target: ':3260' }, 'KURA-E4020'],
    [{ action: 'explode', target: '0' }, 'KURA-E4021'],
    [{ action: 'controller-down' }, 'KURA-E4012'],
  ];
  for (const [body, id] of cases) {
    const r = await api('POST', '/faults', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.error?.id, id, `${JSON.stringify(body)}: ${r.text}`);
  }
  const cs = (await api('GET', '/controllers')).json as Array<{ state: string; ports: Array<{ state: string }> }>;
  assert.ok(
    cs.every((c) => c.state === 'online' && c.ports.every((p) => p.state === 'up')),
    'nothing was faulted',
  );
  // LUN path parameters likewise answer with an API id.
  assert.equal((await api('DELETE', '/hosts/h/luns/one')).error?.id, 'KURA-E4035');
  // The real thing still works.
  assert.equal((await api('POST', '/faults', { action: 'controller-down', target: '1' })).status, 200);
  assert.equal((await api('POST', '/faults', { action: 'controller-up', target: '1' })).status, 200);
});

test('pool expand and ld expand: --add SIZE adds, --size TOTAL sets the total, exactly one', () => {
  const pool0 = kuraJson<{ capacity: number }>('pool', 'show', 'pool0').capacity;
  expectCliError(kura('pool', 'expand', 'pool0'), 2, 'KURA-E5043', 'pool expand without a size');
  expectCliError(kura('pool', 'expand', 'pool0', '--add', '1GiB', '--size', '8GiB'), 2, 'KURA-E5043', 'pool expand with both');
  expectCliError(kura('ld', 'expand', 'demo0'), 2, 'KURA-E5043', 'ld expand without a size');
  expectCliError(kura('ld', 'expand', 'demo0', '--add', '1GiB', '--size', '8GiB'), 2, 'KURA-E5043', 'ld expand with both');

  assert.equal(kuraJson<{ capacity: number }>('pool', 'expand', 'pool0', '--add', '1GiB').capacity, pool0 + GiB);
  assert.equal(kuraJson<{ capacity: number }>('pool', 'expand', 'pool0', '--size', `${pool0 + 3 * GiB}`).capacity, pool0 + 3 * GiB);
  expectCliError(kura('pool', 'expand', 'pool0', '--size', `${pool0 + 3 * GiB}`), 1, 'KURA-E4034', 'pool total not larger');

  const demo = kuraJson<{ capacity: number }>('ld', 'show', 'demo0').capacity;
  assert.equal(kuraJson<{ capacity: number }>('ld', 'expand', 'demo0', '--add', '1GiB').capacity, demo + GiB);
  assert.equal(kuraJson<{ capacity: number }>('ld', 'expand', 'demo0', '--size', `${demo + 3 * GiB}`).capacity, demo + 3 * GiB);
  expectCliError(kura('ld', 'expand', 'demo0', '--size', '1GiB'), 1, 'KURA-E1015', 'ld shrink');
  expectCliError(kura('ld', 'expand', 'demo0', '--add', '0'), 1, 'KURA-E4034', 'ld add nothing');

  for (const noun of ['pool', 'ld']) {
    const help = kura(noun, 'expand', '--help').stdout;
    assert.match(help, /--add <size> +capacity to add/);
    assert.match(help, /--size <total> +the new total/);
  }
});

test('the expand API: add and total on both routes, "size" keeps its old meaning per route', async () => {
  const pool = async () => ((await api('GET', '/pools/pool0')).json as { capacity: number }).capacity;
  const ld = async () => ((await api('GET', '/lds/demo0')).json as { capacity: number }).capacity;
  let p = await pool();
  assert.equal(((await api('POST', '/pools/pool0/expand', { size: '1GiB' })).json as { capacity: number }).capacity, p + GiB, 'pool size adds');
  p += GiB;
  assert.equal(((await api('POST', '/pools/pool0/expand', { add: '1GiB' })).json as { capacity: number }).capacity, p + GiB);
  p += GiB;
  assert.equal(((await api('POST', '/pools/pool0/expand', { total: p + GiB })).json as { capacity: number }).capacity, p + GiB);
  const l = await ld();
  assert.equal(((await api('POST', '/lds/demo0/expand', { size: l + GiB })).json as { capacity: number }).capacity, l + GiB, 'LD size is the total');
  assert.equal(((await api('POST', '/lds/demo0/expand', { add: '1GiB' })).json as { capacity: number }).capacity, l + 2 * GiB);
  assert.equal(((await api('POST', '/lds/demo0/expand', { total: l + 3 * GiB })).json as { capacity: number }).capacity, l + 3 * GiB);
  for (const [route, body] of [
    ['/pools/pool0/expand', {}],
    ['/pools/pool0/expand', { add: '1GiB', total: '100GiB' }],
    ['/pools/pool0/expand', { size: '1GiB', add: '1GiB' }],
    ['/lds/demo0/expand', {}],
    ['/lds/demo0/expand', { add: '1GiB', size: '100GiB' }],
  ] as Array<[string, unknown]>) {
    const r = await api('POST', route, body);
    assert.equal(r.error?.id, 'KURA-E4033', `${route} ${JSON.stringify(body)}: ${r.text}`);
  }
  assert.equal(await ld(), l + 3 * GiB, 'the refused requests changed nothing');
});
