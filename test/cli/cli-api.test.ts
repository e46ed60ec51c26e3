// The kura CLI and REST API against a real server: first start, auth, pools,
// LDs, errors with ids, events, OpenAPI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { KURA, startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { run } from '../helpers/tools.js';

let srv: TestServer;
const GiB = 2 ** 30;

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

function kura(...args: string[]) {
  return run(process.execPath, [KURA, ...args], { env: srv.env });
}
function kuraJson<T>(...args: string[]): T {
  const r = kura(...args, '--json');
  assert.equal(r.status, 0, `kura ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
async function api(method: string, route: string, body?: unknown, token: string | null = srv.token) {
  const res = await fetch(`${srv.url}/api/v1${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

test('first start creates a 0600 token, pool0 and demo0, and says how to connect', () => {
  const st = fs.statSync(path.join(srv.dataDir, 'admin.token'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.match(srv.output(), /nbd:\/\/127\.0\.0\.1:\d+\/demo0/);
  const lds = kuraJson<Array<{ name: string; pool: string; capacity: number; number: number }>>('ld', 'list');
  assert.deepEqual(lds.map((l) => [l.name, l.pool, l.capacity, l.number]), [['demo0', 'pool0', GiB, 0]]);
  const pool = kuraJson<{ raid: string; capacity: number; pds: unknown[] }>('pool', 'show', 'pool0');
  assert.equal(pool.raid, 'RAID1');
  assert.equal(pool.pds.length, 2);
});

test('the API refuses requests without a valid token (401 with an id)', async () => {
  for (const token of [null, 'wrong']) {
    const r = await api('GET', '/lds', undefined, token);
    assert.equal(r.status, 401);
    assert.equal((r.body!['error'] as { id: string }).id, 'KURA-E4001');
  }
  const doc = await api('GET', '/openapi.json', undefined, null);
  assert.equal(doc.status, 200, 'the API document is public');
});

test('pool lifecycle: create with RAID10, show in NEC style, expand, threshold, delete refused while LDs exist', () => {
  const p = kuraJson<{ name: string; raid: string; capacity: number; chunkSize: number }>('pool', 'create', 'fast', '--size', '8GiB', '--raid', '10', '--pds', '4', '--chunk', '256KiB');
  assert.deepEqual([p.raid, p.capacity, p.chunkSize], ['RAID10', 8 * GiB, 256 * 1024]);
  const show = kura('pool', 'show', '0001h');
  assert.equal(show.status, 0);
  assert.match(show.stdout, /Pool No\.\(h\)\s+: 0001/);
  assert.match(show.stdout, /Pool Capacity\s+: 8\.0GB\(8,589,934,592Bytes\)/);
  const ex = kuraJson<{ capacity: number; pds: unknown[] }>('pool', 'expand', 'fast', '--size', '4GiB');
  assert.equal(ex.capacity, 12 * GiB);
  assert.equal(ex.pds.length, 8);
  assert.equal(kuraJson<{ threshold: number }>('pool', 'set', 'fast', '--threshold', '90').threshold, 90);
  // Over-commit: LDs bigger together than the pool.
  kuraJson('ld', 'create', 'big1', '--pool', 'fast', '--size', '10GiB');
  kuraJson('ld', 'create', 'big2', '--pool', 'fast', '--size', '0x300000000');
  assert.equal(kuraJson<{ virtualCapacity: number }>('pool', 'show', 'fast').virtualCapacity, 22 * GiB);
  const refused = kura('pool', 'delete', 'fast');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^KURA-E1014: Pool fast still holds LD big1\./m);
  for (const l of ['big1', 'big2']) assert.equal(kura('ld', 'delete', l).status, 0);
  assert.equal(kura('pool', 'delete', 'fast').status, 0);
  assert.equal(kura('pool', 'show', 'fast').status, 1);
});

test('LD lifecycle with the seed attributes, expansion, and refusal to shrink', () => {
  const l = kuraJson<Record<string, unknown>>('ld', 'create', 'data1', '--pool', 'pool0', '--size', '512MiB');
  for (const k of ['purpose', 'rplAttribute', 'snapshotAttribute', 'cloneAttribute', 'currentOwner', 'defaultOwner', 'naa', 'serial']) assert.ok(k in l, k);
  assert.equal(l['capacity'], 512 * 2 ** 20);
  const human = kura('ld', 'show', 'data1');
  for (const label of ['LDN(h)', 'LD Capacity', 'RaidType', 'Purpose', 'RPL Attribute', 'Snapshot Attribute', 'Clone Attribute', 'Current Owner']) assert.match(human.stdout, new RegExp(label.replace(/[()]/g, '\\$&')));
  assert.equal(kuraJson<{ capacity: number }>('ld', 'expand', 'data1', '--size', '1GiB').capacity, GiB);
  const shrink = kura('ld', 'expand', 'data1', '--size', '1MiB');
  assert.equal(shrink.status, 1);
  assert.match(shrink.stderr, /KURA-E1015/);
  assert.equal(kura('ld', 'delete', 'data1').status, 0);
  const gone = kura('ld', 'show', 'data1');
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /^KURA-E2030: LD data1 does not exist\.\n {2}List LDs with kura ld list\./);
});

test('bad CLI arguments exit 2 with an id', () => {
  for (const args of [['pool', 'create', 'x', '--size', 'lots'], ['ld', 'create', 'y', '--pool', 'pool0'], ['pool', 'frobnicate'], ['ld', 'create']]) {
    const r = kura(...args);
    assert.ok(r.status === 2 || r.status === 1, `${args.join(' ')} → ${r.status}`);
    assert.match(r.stderr, /^KURA-E\d{4}: /, args.join(' '));
  }
  assert.equal(kura('pool', 'create', 'x', '--size', 'lots').status, 2);
  assert.equal(kura('pool', 'frobnicate').status, 2);
});

test('malformed API bodies get 400s with ids and the server stays up', async () => {
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', '/pools', '{not json', 'KURA-E4002'],
    ['POST', '/pools', '[1,2]', 'KURA-E4010'],
    ['POST', '/pools', { name: 'q' }, 'KURA-E4012'],
    ['POST', '/pools', { name: 'q', size: '1GiB', colour: 'red' }, 'KURA-E4011'],
    ['POST', '/pools', { name: 'q', size: true }, 'KURA-E4013'],
    ['POST', '/lds', { name: 'q', pool: 'pool0', size: -5 }, 'KURA-E4013'],
    ['POST', '/lds', { name: '../../etc', pool: 'pool0', size: 4096 }, 'KURA-E2010'],
    ['DELETE', '/lds', undefined, 'KURA-E4005'],
    ['GET', '/nothing/here', undefined, 'KURA-E4006'],
  ];
  for (const [m, route, body, id] of cases) {
    if (srv.proc.exitCode !== null) assert.fail(srv.output());
    const r = await api(m, route, body).catch((e: Error) => assert.fail(`${m} ${route} ${JSON.stringify(body)}: ${e.message} ${String((e as { cause?: Error }).cause?.message)}`));
    assert.ok(r.status >= 400 && r.status < 500, `${m} ${route} → ${r.status}`);
    assert.equal((r.body!['error'] as { id: string }).id, id, `${m} ${route} ${JSON.stringify(body)}`);
    assert.ok((r.body!['error'] as { action: string }).action.length > 0);
  }
  assert.equal((await api('GET', '/array')).status, 200);
});

test('events record configuration changes; the OpenAPI document lists every route', async () => {
  const evs = kuraJson<Array<{ id: string; text: string; severity: string; time: string }>>('events', '--limit', '500');
  assert.ok(evs.some((e) => e.id === 'KURA-I4001' && /pool0/.test(e.text)));
  assert.ok(evs.some((e) => e.id === 'KURA-I4004' && /fast/.test(e.text)), 'pool deletion recorded');
  assert.ok(evs.every((e) => e.time && e.severity));
  const api1 = await api('GET', '/events?limit=2');
  assert.equal((api1.body as unknown as unknown[]).length, 2);
  const doc = (await api('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  for (const p of ['/api/v1/pools', '/api/v1/pools/{ref}', '/api/v1/pools/{ref}/expand', '/api/v1/lds', '/api/v1/lds/{ref}', '/api/v1/lds/{ref}/expand', '/api/v1/events', '/api/v1/array']) {
    assert.ok(doc.paths[p], p);
  }
  assert.ok(doc.paths['/api/v1/pools']!['post']);
  assert.ok(doc.paths['/api/v1/lds/{ref}']!['delete']);
});
