// The kura CLI (node bin/kura.js ...) against a real `kura serve`: the first
// start, auth, pools, LDs (the ld list --json contract), NEC-style views, error
// ids and exit codes, events, and the API's answers to malformed requests.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { expectCliError, kuraCli, runKura } from '../helpers/cli.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** A directory without kura-data/, so the CLI finds no token file by accident. */
let cwd: string;
const { run: kura, json: kuraJson } = kuraCli(() => ({ env: srv.env, cwd, quiet: true }));

before(async () => {
  srv = await startServer();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cwd-'));
});
after(async () => {
  await srv.cleanup();
  fs.rmSync(cwd, { recursive: true, force: true });
});

// A fresh connection per request: the CLI tests between API calls block this process's event
// loop (spawnSync) for longer than the server's keep-alive on a loaded machine, and a pooled
// socket the server closed meanwhile would fail the next request for the client's reasons.
async function api(method: string, route: string, body?: unknown, token: string | null = srv.token) {
  const r = await rawRequest(srv.url, { method, path: `/api/v1${route}`, token: token ?? undefined, body, headers: { 'content-type': 'application/json' } });
  return { status: r.status, body: r.text ? (JSON.parse(r.text) as Record<string, unknown>) : undefined };
}

test('first start: a 0600 token, pool0 (4 GiB RAID1, 2 PDs) with demo0 (1 GiB), and how to connect', () => {
  const st = fs.statSync(path.join(srv.dataDir, 'admin.token'));
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(srv.token.length >= 32);
  const out = srv.stdout();
  assert.ok(out.includes(`nbd://127.0.0.1:${srv.nbdPort}/demo0`), out);
  assert.ok(out.includes(`${srv.url}/api/v1`), out);
  assert.match(out, /KURA_URL=.* KURA_TOKEN=.* kura ld list/);
  assert.ok(out.includes(`iSCSI:    target ${srv.iqn}, controller 00 on 127.0.0.1:${srv.iscsiPorts[0]}, controller 01 on 127.0.0.1:${srv.iscsiPorts[1]}`), out);
  assert.ok(out.includes(`iscsi://127.0.0.1:${srv.iscsiPorts[0]}/${srv.iqn}/0`), out);
  assert.match(out, /admin\.token \(new, mode 0600\)/);
  assert.match(out, /^ready$/m);
  const lds = kuraJson<Array<{ name: string; pool: string; capacity: number; number: number }>>('ld', 'list');
  assert.deepEqual(
    lds.map((l) => [l.name, l.pool, l.capacity, l.number]),
    [['demo0', 'pool0', GiB, 0]],
  );
  const pool = kuraJson<{ name: string; raid: string; capacity: number; pds: unknown[]; number: number }>('pool', 'show', 'pool0');
  assert.deepEqual([pool.name, pool.raid, pool.capacity, pool.pds.length, pool.number], ['pool0', 'RAID1', 4 * GiB, 2, 0]);
});

test('without a valid token the API answers 401 with an id, and the CLI says so', async () => {
  for (const token of [null, 'wrong']) {
    const r = await api('GET', '/lds', undefined, token);
    assert.equal(r.status, 401);
    assert.equal((r.body!['error'] as { id: string }).id, 'KURA-E4001');
  }
  assert.equal((await api('GET', '/openapi.json', undefined, null)).status, 200, 'the API document is public');
  expectCliError(runKura(['ld', 'list'], { env: { ...srv.env, KURA_TOKEN: 'wrong' }, cwd }), 1, 'KURA-E4001', 'wrong token');
  expectCliError(runKura(['ld', 'list'], { env: { ...srv.env, KURA_TOKEN: '' }, cwd }), 1, 'KURA-E5013', 'no token anywhere');
  // --token and --url override the environment.
  const ok = runKura(['--url', srv.url, '--token', srv.token, 'pool', 'list', '--json'], {
    env: { ...process.env, KURA_URL: 'http://127.0.0.1:9', KURA_TOKEN: 'wrong' },
    cwd,
  });
  assert.equal(ok.status, 0, ok.stderr);
  // The token file in ./kura-data is the last fallback.
  const here = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cwd-'));
  try {
    fs.mkdirSync(path.join(here, 'kura-data'));
    fs.writeFileSync(path.join(here, 'kura-data', 'admin.token'), srv.token + '\n');
    const r = runKura(['ld', 'list', '--json'], { env: { ...process.env, KURA_URL: srv.url, KURA_TOKEN: '' }, cwd: here });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(here, { recursive: true, force: true });
  }
});

test('pool lifecycle: RAID10 with a chunk size, iSMview -pln view by hex number, expand, threshold, delete refused while LDs exist', () => {
  const p = kuraJson<{ name: string; raid: string; capacity: number; chunkSize: number; threshold: number; number: number }>(
    'pool',
    'create',
    'fast',
    '--size',
    '8GiB',
    '--raid',
    '10',
    '--pds',
    '4',
    '--chunk',
    '256KiB',
    '--threshold',
    '75',
  );
  assert.deepEqual([p.raid, p.capacity, p.chunkSize, p.threshold, p.number], ['RAID10', 8 * GiB, 256 * 1024, 75, 1]);
  const show = kura('pool', 'show', '0001h');
  assert.equal(show.status, 0, show.stderr);
  for (const line of [
    /^--- Pool Detail Information ---$/m,
    /^Pool No\.\(h\) +: 0001$/m,
    /^Pool Name +: fast$/m,
    /^Pool Type +: dynamic\(virtual\)$/m,
    /^RAID Type +: RAID10$/m,
    /^Pool State +: ready$/m,
    /^Pool Capacity +: 8\.0GB\(8,589,934,592Bytes\)$/m,
    /^Used Pool Capacity +: 0\.0GB\(0Bytes\)$/m,
    /^Free Pool Capacity +: 8\.0GB\(8,589,934,592Bytes\)$/m,
    /^Threshold +: 75%$/m,
    /^Chunk Size +: 256 KiB$/m,
    /^PD List\(h\) +: 00-0000,0001,0002,0003$/m,
  ]) {
    assert.match(show.stdout, line);
  }
  const list = kura('pool', 'list');
  assert.match(list.stdout, /^Pool No\.\(h\) +Pool Name +Pool Type +RAID +State/m);
  assert.match(list.stdout, /^0001 +fast +dynamic\(virtual\) +RAID10 +ready +8\.0 GiB/m);
  assert.deepEqual(
    kuraJson<Array<{ name: string }>>('pool', 'list').map((x) => x.name),
    ['pool0', 'fast'],
  );
  const ex = kuraJson<{ capacity: number; pds: unknown[] }>('pool', 'expand', 'fast', '--add', '4GiB');
  assert.equal(ex.capacity, 12 * GiB, '--add adds SIZE');
  assert.equal(ex.pds.length, 8);
  assert.equal(kuraJson<{ threshold: number }>('pool', 'set', 'fast', '--threshold', '90').threshold, 90);
  expectCliError(kura('pool', 'set', 'fast'), 1, 'KURA-E4014', 'pool set with nothing to set');
  // Over-commit: LDs bigger together than the pool (12 GiB).
  kuraJson('ld', 'create', 'big1', '--pool', 'fast', '--size', '10GiB');
  kuraJson('ld', 'create', 'big2', '--pool', '0001h', '--size', '0x300000000');
  kuraJson('ld', 'create', 'big3', '--pool', 'fast', '--size', '1TiB');
  const after = kuraJson<{ virtualCapacity: number; capacity: number; ldCount: number }>('pool', 'show', 'fast');
  assert.equal(after.virtualCapacity, 22 * GiB + 1024 * GiB);
  assert.ok(after.virtualCapacity > after.capacity);
  assert.equal(after.ldCount, 3);
  expectCliError(kura('pool', 'delete', 'fast'), 1, /^KURA-E1014: Pool fast still holds LD big1\./, 'delete a pool with LDs');
  for (const l of ['big1', 'big2', 'big3']) assert.deepEqual(kuraJson('ld', 'delete', l), { deleted: l });
  assert.deepEqual(kuraJson('pool', 'delete', 'fast'), { deleted: 'fast' });
  expectCliError(kura('pool', 'show', 'fast'), 1, /^KURA-E2020: Pool fast does not exist\./, 'deleted pool');
});

test('LD lifecycle: the ld list --json contract, the iSMview -ln view, expand, refusal to shrink, delete', () => {
  const l = kuraJson<Record<string, unknown>>('ld', 'create', 'data1', '--pool', 'pool0', '--size', '512MiB');
  for (const k of [
    'name',
    'pool',
    'capacity',
    'number',
    'purpose',
    'rplAttribute',
    'snapshotAttribute',
    'cloneAttribute',
    'currentOwner',
    'defaultOwner',
    'blockSize',
    'allocated',
    'naa',
    'serial',
  ])
    assert.ok(k in l, k);
  assert.equal(l['capacity'], 512 * MiB);
  const list = kuraJson<unknown[]>('ld', 'list');
  assert.ok(Array.isArray(list));
  for (const x of list as Array<Record<string, unknown>>) {
    assert.equal(typeof x['name'], 'string');
    assert.equal(typeof x['pool'], 'string');
    assert.equal(typeof x['capacity'], 'number');
    assert.equal(typeof x['number'], 'number');
  }
  assert.deepEqual(
    (list as Array<{ name: string }>).map((x) => x.name),
    ['demo0', 'data1'],
  );
  const human = kura('ld', 'show', `${(l['number'] as number).toString(16).padStart(4, '0')}h`);
  assert.equal(human.status, 0, human.stderr);
  for (const line of [
    /^--- LD Detail Information ---$/m,
    /^LDN\(h\) +: 0001$/m,
    /^LD Name +: data1$/m,
    /^LD Capacity +: 0\.5GB\(536,870,912Bytes\)$/m,
    /^Pool No\.\(h\) +: 0000$/m,
    /^Pool Name +: pool0$/m,
    /^RaidType +: RAID1\/10$/m,
    /^LD State +: ready$/m,
    /^Capacity Allocation +: virtual$/m,
    /^Access Mode +: ReadWrite$/m,
    /^Purpose +: ---$/m,
    /^RPL Attribute +: IV$/m,
    /^Snapshot Attribute +: ---$/m,
    /^Clone Attribute +: ---$/m,
    /^Current Owner +: 0\d$/m,
    /^Default Owner +: 0\d$/m,
    /^PD List\(h\) +: 00-0000,0001$/m,
    /^Block Size +: 512byte$/m,
    /^Allocated Capacity +: 0\.0GB\(0Bytes\)$/m,
  ]) {
    assert.match(human.stdout, line);
  }
  const table = kura('ld', 'list');
  assert.match(table.stdout, /^LDN\(h\) +OS Type +LD Name +PD Type +Conf\.Chg +LD State +Threshold +VMware Type$/m);
  assert.match(table.stdout, /^0001 +data1 +FILE +ready +--- +---$/m);
  assert.equal(kuraJson<{ capacity: number }>('ld', 'expand', 'data1', '--size', '1GiB').capacity, GiB);
  assert.match(kura('ld', 'show', 'data1').stdout, /^LD Capacity +: 1\.0GB\(1,073,741,824Bytes\)$/m);
  expectCliError(kura('ld', 'expand', 'data1', '--size', '1MiB'), 1, 'KURA-E1015', 'shrink');
  expectCliError(kura('ld', 'create', 'data1', '--pool', 'pool0', '--size', '1GiB'), 1, 'KURA-E2031', 'duplicate LD');
  expectCliError(kura('ld', 'create', 'data2', '--pool', 'nope', '--size', '1GiB'), 1, 'KURA-E2020', 'no such pool');
  assert.equal(kura('ld', 'delete', 'data1').stdout, 'LD data1 deleted.\n');
  const gone = kura('ld', 'show', 'data1');
  expectCliError(gone, 1, 'KURA-E2030', 'deleted LD');
  assert.equal(gone.stderr, 'KURA-E2030: LD data1 does not exist.\n  List LDs with kura ld list.\n');
});

test('bad command lines exit 2 with an id and what to do', () => {
  const cases: Array<[string[], string]> = [
    [['pool', 'create', 'x', '--size', 'lots'], 'KURA-E5001'],
    [['pool', 'create', 'x'], 'KURA-E5003'],
    [['pool', 'create', 'x', '--size', '1GiB', '--raid', '5'], 'KURA-E5007'],
    [['pool', 'create', 'x', '--size', '1GiB', '--pds', 'two'], 'KURA-E5002'],
    [['pool', 'create', 'x', '--size', '1GiB', '--threshold', '150'], 'KURA-E5005'],
    [['pool', 'create', 'x', '--size', '1GiB', '--colour', 'red'], 'KURA-E5003'],
    [['pool', 'frobnicate'], 'KURA-E5003'],
    [['ld', 'create'], 'KURA-E5003'],
    [['ld', 'create', 'y', '--pool', 'pool0'], 'KURA-E5008'],
    [['ld', 'create', 'y', '--size', '1GiB'], 'KURA-E5003'],
    [['ld', 'expand', 'demo0', '--size', '1.5.5G'], 'KURA-E5001'],
    [['ld', 'show'], 'KURA-E5003'],
    [['events', '--limit', 'many'], 'KURA-E5002'],
    [['events', '--limit', '0'], 'KURA-E5002'],
    [['events', '--severity', 'fatal'], 'KURA-E5009'],
    [['--url', 'ftp://x', 'ld', 'list'], 'KURA-E5014'],
    [['serve', '--http', 'nowhere'], 'KURA-E5006'],
    [['serve', '--iscsi', '127.0.0.1:3260'], 'KURA-E5006'],
    [['nonsense'], 'KURA-E5003'],
  ];
  for (const [args, id] of cases) expectCliError(kura(...args), 2, id, args.join(' '));
  // A noun alone prints its help (to stderr) and is a usage error too.
  const noun = kura('pool');
  assert.equal(noun.status, 2);
  assert.match(noun.stderr, /Usage: kura pool/);
  const help = kura('ld', '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /create \[options\] <name>/);
});

test('an unreachable API is a failure (exit 1) that says where it looked', async () => {
  const { freePort } = await import('../helpers/server.js');
  const port = await freePort();
  expectCliError(
    runKura(['ld', 'list'], { env: { ...srv.env, KURA_URL: `http://127.0.0.1:${port}` }, cwd }),
    1,
    new RegExp(`^KURA-E5010: Cannot reach the Kura API at http://127\\.0\\.0\\.1:${port}`),
    'unreachable',
  );
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
    ['POST', '/lds/demo0/expand', { size: '2 lots' }, 'KURA-E4013'],
    ['PATCH', '/pools/pool0', { threshold: '80%' }, 'KURA-E4013'],
    ['DELETE', '/lds', undefined, 'KURA-E4005'],
    ['GET', '/nothing/here', undefined, 'KURA-E4006'],
    ['GET', '/events?limit=lots', undefined, 'KURA-E4016'],
  ];
  for (const [m, route, body, id] of cases) {
    const r = await api(m, route, body);
    assert.ok(r.status >= 400 && r.status < 500, `${m} ${route} → ${r.status}`);
    assert.equal((r.body!['error'] as { id: string }).id, id, `${m} ${route} ${JSON.stringify(body)}`);
    assert.ok((r.body!['error'] as { action: string }).action.length > 0);
    assert.equal(srv.proc.exitCode, null, srv.output());
  }
  assert.equal((await api('GET', '/array')).status, 200);
  assert.equal(kuraJson<unknown[]>('ld', 'list').length, 1, 'nothing was created by the refused requests');
});

test('events list the configuration changes, oldest first, with filters', async () => {
  const evs = kuraJson<Array<{ seq: number; id: string; text: string; severity: string; source: string; time: string }>>('events', '--limit', '500');
  const ids = evs.map((e) => `${e.id} ${e.source}`);
  for (const want of [
    'KURA-I4001 pool/pool0',
    'KURA-I4010 ld/demo0',
    'KURA-I4000 array',
    'KURA-I4001 pool/fast',
    'KURA-I4003 pool/fast',
    'KURA-I4002 pool/fast',
    'KURA-I4010 ld/big1',
    'KURA-I4012 ld/big1',
    'KURA-I4004 pool/fast',
    'KURA-I4010 ld/data1',
    'KURA-I4011 ld/data1',
    'KURA-I4012 ld/data1',
  ]) {
    assert.ok(ids.includes(want), `${want} in ${ids.join(', ')}`);
  }
  assert.ok(ids.indexOf('KURA-I4001 pool/fast') < ids.indexOf('KURA-I4004 pool/fast'), 'oldest first');
  assert.ok(evs.every((e) => e.time && e.severity === 'info'));
  assert.ok(!ids.includes('KURA-I4010 ld/q'), 'refused requests are not events');
  const newest = kuraJson<Array<{ id: string; source: string }>>('events', '--limit', '2', '--newest-first');
  assert.deepEqual(
    newest.map((e) => `${e.id} ${e.source}`),
    [ids[ids.length - 1], ids[ids.length - 2]],
  );
  assert.deepEqual(kuraJson<unknown[]>('events', '--severity', 'error'), []);
  const human = kura('events', '--limit', '3');
  assert.equal(human.status, 0);
  assert.match(human.stdout, /^Seq +Time +Id +Severity +Source +Text$/m);
  assert.match(human.stdout, /KURA-I4012 +info +ld\/data1 +LD data1 deleted\./);
  const viaApi = await api('GET', '/events?limit=2');
  assert.equal((viaApi.body as unknown as unknown[]).length, 2);
});

test('the OpenAPI document lists the routes the CLI uses', async () => {
  const doc = (await api('GET', '/openapi.json', undefined, null)).body as { paths: Record<string, Record<string, unknown>> };
  for (const [p, ms] of Object.entries({
    '/api/v1/array': ['get'],
    '/api/v1/pools': ['get', 'post'],
    '/api/v1/pools/{ref}': ['get', 'patch', 'delete'],
    '/api/v1/pools/{ref}/expand': ['post'],
    '/api/v1/lds': ['get', 'post'],
    '/api/v1/lds/{ref}': ['get', 'delete'],
    '/api/v1/lds/{ref}/expand': ['post'],
    '/api/v1/events': ['get'],
  })) {
    for (const m of ms) assert.ok(doc.paths[p]?.[m], `${m} ${p}`);
  }
});
