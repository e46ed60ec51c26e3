// The manager in process over a real KuraArray: the REST API's routes, auth,
// input checking (bodies, queries, paths, methods), the OpenAPI document built
// from the same route table, and the event store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { KuraArray } from '../../src/array/array.js';
import { EventStore } from '../../src/manager/events.js';
import { Manager, ensureToken } from '../../src/manager/manager.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

let dir: string;
let array: KuraArray;
let mgr: Manager;
let base: string;
let token: string;

interface ApiError {
  id: string;
  code: string;
  message: string;
  action: string;
}
interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  error?: ApiError;
}

async function api(method: string, route: string, body?: unknown, opts: { token?: string | null; raw?: boolean } = {}): Promise<Reply> {
  const t = opts.token === undefined ? token : opts.token;
  const res = await fetch(`${base}${route.startsWith('/api/') ? '' : '/api/v1'}${route}`, {
    method,
    headers: { ...(t !== null ? { authorization: `Bearer ${t}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' && opts.raw !== false ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    assert.fail(`${method} ${route} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  const error = (json as { error?: ApiError } | undefined)?.error;
  return { status: res.status, headers: res.headers, body: json, error };
}

/** An error reply: the status, the id, and a sentence and an action. */
function assertError(r: Reply, status: number, id: string | RegExp, what = ''): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
  assert.ok(r.error, `${what}: no error body`);
  if (typeof id === 'string') assert.equal(r.error.id, id, `${what}: ${JSON.stringify(r.error)}`);
  else assert.match(r.error.id, id, what);
  assert.match(r.error.code, /^E[A-Z]+$/);
  assert.ok(r.error.message.length > 5 && r.error.action.length > 5, `${what}: ${JSON.stringify(r.error)}`);
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-mgr-'));
  array = await KuraArray.open({ dataDir: dir });
  mgr = new Manager({ dataDir: dir, agent: array });
  await mgr.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${mgr.address().port}`;
  token = fs.readFileSync(path.join(dir, 'admin.token'), 'utf8').trim();
});

after(async () => {
  await mgr.close();
  await array.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('token', () => {
  test('admin.token is made once, random, mode 0600, and reused', () => {
    const st = fs.statSync(path.join(dir, 'admin.token'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
    assert.deepEqual(ensureToken(dir), { token, created: false });
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-tok-'));
    try {
      const t = ensureToken(other);
      assert.equal(t.created, true);
      assert.notEqual(t.token, token);
      fs.writeFileSync(path.join(other, 'admin.token'), '\n');
      assert.throws(
        () => ensureToken(other),
        (e: { id?: string }) => e.id === 'KURA-E4008',
      );
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('every route but the API document needs the token: 401 KURA-E4001', async () => {
    for (const r of mgr.router.routes) {
      const p = r.path.replace(/\{\w+\}/g, 'x');
      for (const t of [null, 'wrong', token.slice(1), `${token}x`]) {
        const res = await api(r.method, p, r.method === 'POST' ? '{not json' : undefined, { token: t });
        if (r.public) {
          assert.equal(res.status, 200, `${r.method} ${r.path} is public`);
          continue;
        }
        assertError(res, 401, 'KURA-E4001', `${r.method} ${r.path} token=${t}`);
      }
    }
    // Not a bearer token at all.
    const basic = await fetch(`${base}/api/v1/array`, { headers: { authorization: `Basic ${Buffer.from(`admin:${token}`).toString('base64')}` } });
    assert.equal(basic.status, 401);
    await basic.text();
    assert.equal((await api('GET', '/array')).status, 200);
  });
});

describe('the OpenAPI document', () => {
  test('is public, parses, and lists exactly the routes the router serves', async () => {
    const r = await api('GET', '/openapi.json', undefined, { token: null });
    assert.equal(r.status, 200);
    const doc = r.body as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            operationId: string;
            parameters: Array<{ name: string; in: string }>;
            security?: unknown[];
            requestBody?: unknown;
            responses: Record<string, unknown>;
          }
        >
      >;
      components: { securitySchemes: Record<string, unknown> };
    };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.components.securitySchemes['bearer']);
    const served = new Set(mgr.router.routes.map((x) => `${x.method.toLowerCase()} ${x.path}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)));
    assert.deepEqual([...documented].sort(), [...served].sort());
    const required = [
      'get /api/v1/array',
      'get /api/v1/pools',
      'post /api/v1/pools',
      'get /api/v1/pools/{ref}',
      'patch /api/v1/pools/{ref}',
      'delete /api/v1/pools/{ref}',
      'post /api/v1/pools/{ref}/expand',
      'get /api/v1/lds',
      'post /api/v1/lds',
      'get /api/v1/lds/{ref}',
      'delete /api/v1/lds/{ref}',
      'post /api/v1/lds/{ref}/expand',
      'get /api/v1/events',
      'get /api/v1/openapi.json',
    ];
    for (const k of required) assert.ok(served.has(k), k);
    const ids = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      const names = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [m, op] of Object.entries(ops)) {
        assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
        ids.add(op.operationId);
        assert.deepEqual(
          op.parameters.filter((x) => x.in === 'path').map((x) => x.name),
          names,
          `${m} ${p} path parameters`,
        );
        assert.ok(op.responses['default'], `${m} ${p} documents its error body`);
        const route = mgr.router.routes.find((x) => x.path === p && x.method.toLowerCase() === m)!;
        assert.equal(op.requestBody !== undefined, route.body !== undefined, `${m} ${p} request body`);
        assert.deepEqual(
          op.parameters
            .filter((x) => x.in === 'query')
            .map((x) => x.name)
            .sort(),
          Object.keys(route.query ?? {}).sort(),
          `${m} ${p} query`,
        );
      }
    }
    assert.deepEqual(doc.paths['/api/v1/openapi.json']!['get']!.security, []);
  });
});

describe('pools and LDs', () => {
  test('create a pool with sizes as strings or bytes, show it by name, number and 000Nh', async () => {
    const p = await api('POST', '/pools', { name: 'p1', size: '2GiB', pds: 2, raid: '1', chunk: 262144, threshold: 70 });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const pool = p.body as { number: number; name: string; capacity: number; chunkSize: number; threshold: number; raid: string; pds: unknown[] };
    assert.deepEqual([pool.name, pool.capacity, pool.chunkSize, pool.threshold, pool.raid, pool.pds.length], ['p1', 2 * GiB, 256 * 1024, 70, 'RAID1', 2]);
    for (const ref of ['p1', String(pool.number), `${pool.number.toString(16).padStart(4, '0')}h`, `0x${pool.number.toString(16)}`]) {
      const r = await api('GET', `/pools/${ref}`);
      assert.equal(r.status, 200, ref);
      assert.equal((r.body as { name: string }).name, 'p1');
    }
    assertError(await api('GET', '/pools/nope'), 404, 'KURA-E2020');
    assertError(await api('POST', '/pools', { name: 'p1', size: GiB }), 409, 'KURA-E2021');
    assertError(await api('POST', '/pools', { name: 'p5', size: GiB, raid: '5' }), 400, 'KURA-E1010');
  });

  test('expand, threshold, over-commit, and delete refused (409 EBUSY) while LDs exist', async () => {
    const ex = await api('POST', '/pools/p1/expand', { size: '1GiB' });
    assert.equal(ex.status, 200);
    assert.equal((ex.body as { capacity: number }).capacity, 3 * GiB);
    const th = await api('PATCH', '/pools/p1', { threshold: 90 });
    assert.equal((th.body as { threshold: number }).threshold, 90);
    assertError(await api('PATCH', '/pools/p1', {}), 400, 'KURA-E4014');
    // Thin LDs whose sizes together exceed the pool (3 GiB).
    for (const [name, size] of [
      ['a', '2GiB'],
      ['b', 2 * GiB],
      ['c', '1TiB'],
    ] as const) {
      const r = await api('POST', '/lds', { name, pool: 'p1', size });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const pool = (await api('GET', '/pools/p1')).body as { virtualCapacity: number; capacity: number; ldCount: number };
    assert.equal(pool.virtualCapacity, 4 * GiB + 1024 * GiB);
    assert.ok(pool.virtualCapacity > pool.capacity);
    assert.equal(pool.ldCount, 3);
    const refused = await api('DELETE', '/pools/p1');
    assertError(refused, 409, 'KURA-E1014');
    assert.equal(refused.error!.code, 'EBUSY');
    assert.equal((await api('GET', '/pools/p1')).status, 200, 'still there');
  });

  test('LDs: list contract, show by number, expand, refuse shrink, delete; then the pool goes', async () => {
    const lds = (await api('GET', '/lds')).body as Array<{ name: string; pool: string; capacity: number; number: number }>;
    const c = lds.find((l) => l.name === 'c')!;
    assert.deepEqual([c.pool, c.capacity, typeof c.number], ['p1', 1024 * GiB, 'number']);
    const byHex = await api('GET', `/lds/${c.number.toString(16).padStart(4, '0')}h`);
    assert.equal((byHex.body as { name: string }).name, 'c');
    const grown = await api('POST', '/lds/a/expand', { size: '3GiB' });
    assert.equal((grown.body as { capacity: number }).capacity, 3 * GiB);
    assertError(await api('POST', '/lds/a/expand', { size: MiB }), 400, 'KURA-E1015');
    assertError(await api('POST', '/lds', { name: 'd', pool: 'nope', size: GiB }), 404, 'KURA-E2020');
    assertError(await api('POST', '/lds', { name: 'a', pool: 'p1', size: GiB }), 409, 'KURA-E2031');
    for (const n of ['a', 'b', 'c']) assert.equal((await api('DELETE', `/lds/${n}`)).status, 204, n);
    assertError(await api('GET', '/lds/a'), 404, 'KURA-E2030');
    assert.equal((await api('DELETE', '/pools/p1')).status, 204);
    assertError(await api('GET', '/pools/p1'), 404, 'KURA-E2020');
  });
});

describe('input checking', () => {
  test('bodies: bad JSON, not an object, unknown, missing and mistyped fields', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/pools', '{not json', 400, 'KURA-E4002'],
      ['POST', '/pools', '"a string"', 400, 'KURA-E4010'],
      ['POST', '/pools', '[1,2]', 400, 'KURA-E4010'],
      ['POST', '/pools', 'null', 400, 'KURA-E4010'],
      ['POST', '/pools', '', 400, 'KURA-E4012'],
      ['POST', '/pools', { name: 'q' }, 400, 'KURA-E4012'],
      ['POST', '/pools', { name: 'q', size: '1GiB', colour: 'red' }, 400, 'KURA-E4011'],
      ['POST', '/pools', { name: 'q', size: true }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: -5 }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: 1.5 }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: '1e300' }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: { gib: 1 } }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 7, size: '1GiB' }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: '1GiB', pds: '2' }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: 'q', size: '1GiB', pds: 2.5 }, 400, 'KURA-E4013'],
      ['POST', '/pools', { name: '../../etc', size: '1GiB' }, 400, 'KURA-E2010'],
      ['POST', '/lds', { name: 'q', pool: 'pool0', size: -5 }, 400, 'KURA-E4013'],
      ['POST', '/lds', { name: 'q', pool: 'x' }, 400, 'KURA-E4012'],
      ['POST', '/hosts', { name: 'h', initiators: 'iqn.x' }, 400, 'KURA-E4013'],
      ['POST', '/hosts', { name: 'h', initiators: [1] }, 400, 'KURA-E4013'],
      ['PATCH', '/pools/x', { threshold: 'high' }, 400, 'KURA-E4013'],
      ['POST', '/licenses/VolumeClone/unlock', { please: true }, 400, 'KURA-E4011'],
    ];
    for (const [m, route, body, status, id] of cases) assertError(await api(m, route, body), status, id, `${m} ${route} ${JSON.stringify(body)}`);
  });

  test('queries: unknown, repeated, mistyped and out-of-range parameters', async () => {
    assertError(await api('GET', '/events?foo=1'), 400, 'KURA-E4015');
    assertError(await api('GET', '/lds?limit=1'), 400, 'KURA-E4015');
    assertError(await api('GET', '/events?limit=1&limit=2'), 400, 'KURA-E4016');
    assertError(await api('GET', '/events?limit=abc'), 400, 'KURA-E4016');
    assertError(await api('GET', '/events?limit=0'), 400, 'KURA-E4022');
    assertError(await api('GET', '/events?limit=10001'), 400, 'KURA-E4022');
    assertError(await api('GET', '/events?severity=fatal'), 400, 'KURA-E4017');
    assertError(await api('GET', '/events?order=sideways'), 400, 'KURA-E4017');
    assertError(await api('DELETE', '/lds/x?force=maybe'), 400, 'KURA-E4016');
  });

  test('paths and methods: 404, 405 with Allow, bad percent-encoding, trailing slash', async () => {
    assertError(await api('GET', '/nothing/here'), 404, 'KURA-E4006');
    assertError(await api('GET', '/api/v2/lds'), 404, 'KURA-E4006');
    assertError(await api('GET', '/'), 404, 'KURA-E4006');
    const put = await api('PUT', '/lds', {});
    assertError(put, 405, 'KURA-E4005');
    assert.equal(put.headers.get('allow'), 'GET, POST');
    assertError(await api('DELETE', '/events'), 405, 'KURA-E4005');
    assertError(await api('GET', '/lds/%E0%A4%A'), 400, 'KURA-E4004');
    assert.equal((await api('GET', '/lds/')).status, 200);
  });

  test('a body over 1 MiB is refused with 413 and the server goes on', async () => {
    const r = await api('POST', '/pools', JSON.stringify({ name: 'x'.repeat(2 * MiB), size: 1 }));
    assertError(r, 413, 'KURA-E4003');
    assert.equal((await api('GET', '/array')).status, 200);
  });

  test('garbage sent to every route gets 4xx with an id, never a 5xx, and the server stays up', async () => {
    const bodies: unknown[] = [
      '{',
      '[]',
      '"x"',
      '123',
      'true',
      '{"a":1}',
      { size: 'huge' },
      { name: null },
      { name: 'x'.repeat(1000), size: 1, pool: 'p' },
      { count: -1 },
      { size: 2 ** 62 },
      { lun: 'one', ld: 5 },
      { action: 'explode', target: 'x' },
      { iqn: 42 },
      { threshold: 1e9 },
      { upper: -1 },
      '{"__proto__": {"x": 1}}',
    ];
    const refs = ['x', '0', 'ffffh', '%20', '..', 'demo0@nope', '0x'];
    let n = 0;
    for (const r of mgr.router.routes) {
      for (const ref of refs) {
        const p = r.path.replace(/\{\w+\}/g, encodeURIComponent(ref));
        for (const b of r.method === 'GET' || r.method === 'DELETE' ? [undefined] : bodies) {
          const res = await api(r.method, p, b);
          n++;
          assert.ok(res.status < 500, `${r.method} ${p} ${JSON.stringify(b)} → ${res.status} ${JSON.stringify(res.body)}`);
          if (res.status >= 400) assertError(res, res.status, /^KURA-E\d{4}$/, `${r.method} ${p} ${JSON.stringify(b)}`);
        }
      }
    }
    assert.ok(n > 300);
    assert.equal((await api('GET', '/array')).status, 200);
  });
});

describe('events', () => {
  test('every configuration change is recorded with its id; limit, severity, since and order filter', async () => {
    const before = (await api('GET', '/events?order=desc&limit=1')).body as Array<{ seq: number }>;
    const since = before[0]?.seq ?? 0;
    await api('POST', '/pools', { name: 'ev', size: '1GiB', raid: '0', pds: 1 });
    await api('POST', '/lds', { name: 'ev1', pool: 'ev', size: '100MiB' });
    await api('POST', '/lds/ev1/expand', { size: '200MiB' });
    await api('PATCH', '/pools/ev', { threshold: 50 });
    await api('POST', '/pools/ev/expand', { size: '1GiB' });
    await api('DELETE', '/lds/ev1');
    await api('DELETE', '/pools/ev');
    await api('POST', '/pools', { name: 'ev', size: 'nonsense' }); // refused: no event
    const evs = (await api('GET', `/events?since=${since}`)).body as Array<{
      seq: number;
      id: string;
      severity: string;
      source: string;
      text: string;
      time: string;
    }>;
    assert.deepEqual(
      evs.map((e) => [e.id, e.source]),
      [
        ['KURA-I4001', 'pool/ev'],
        ['KURA-I4010', 'ld/ev1'],
        ['KURA-I4011', 'ld/ev1'],
        ['KURA-I4002', 'pool/ev'],
        ['KURA-I4003', 'pool/ev'],
        ['KURA-I4012', 'ld/ev1'],
        ['KURA-I4004', 'pool/ev'],
      ],
    );
    assert.ok(evs.every((e) => e.severity === 'info' && !Number.isNaN(Date.parse(e.time))));
    assert.match(evs[1]!.text, /LD ev1 .*created in pool ev \(100 MiB \(104,857,600 bytes\)\)/);
    assert.ok(
      evs.every((e, i) => i === 0 || e.seq > evs[i - 1]!.seq),
      'oldest first',
    );
    const two = (await api('GET', `/events?since=${since}&limit=2`)).body as Array<{ id: string }>;
    assert.deepEqual(
      two.map((e) => e.id),
      ['KURA-I4012', 'KURA-I4004'],
      'the newest two, oldest first',
    );
    const desc = (await api('GET', `/events?since=${since}&limit=2&order=desc`)).body as Array<{ id: string }>;
    assert.deepEqual(
      desc.map((e) => e.id),
      ['KURA-I4004', 'KURA-I4012'],
    );
  });

  test('events the array raises itself are stored (controller down: error, up: info)', async () => {
    await api('POST', '/pools', { name: 'own', size: '1GiB', raid: '0', pds: 1 });
    const down = await api('POST', '/faults', { action: 'controller-down', target: '1' });
    assert.equal(down.status, 200, JSON.stringify(down.body));
    const up = await api('POST', '/faults', { action: 'controller-up', target: '1' });
    assert.equal(up.status, 200);
    const errors = (await api('GET', '/events?severity=error&limit=10')).body as Array<{ id: string; source: string }>;
    assert.ok(
      errors.some((e) => e.id === 'KURA-E2052'),
      JSON.stringify(errors),
    );
    const all = (await api('GET', '/events?limit=10')).body as Array<{ id: string }>;
    const ids = all.map((e) => e.id);
    assert.ok(ids.includes('KURA-I2053'), ids.join(','));
    assert.ok(ids.indexOf('KURA-E2052') < ids.indexOf('KURA-I2053'));
    assert.ok(ids.includes('KURA-I4040'), 'the fault injection itself is a recorded change');
  });

  test('the store is SQLite in WAL mode at DATA/manager.db and outlives the manager', () => {
    const file = path.join(dir, 'manager.db');
    assert.equal(mgr.events.journalMode(), 'wal');
    const db = new Database(file, { readonly: true });
    const n = (db.prepare('SELECT count(*) AS n FROM event').get() as { n: number }).n;
    db.close();
    assert.ok(n >= 10);
    const again = new EventStore(file);
    try {
      const last = again.list({ limit: 1 });
      assert.equal(last.length, 1);
      assert.deepEqual(last, mgr.events.list({ limit: 1 }));
    } finally {
      again.close();
    }
  });

  test('old events are pruned beyond the retention', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ev-'));
    const s = new EventStore(path.join(d, 'm.db'), 500);
    try {
      for (let i = 0; i < 2000; i++) s.record({ id: 'KURA-I4999', severity: 'info', source: 'test', text: `e${i}` });
      const all = s.list({ limit: 10000 });
      assert.ok(all.length <= 1500 && all.length >= 500, String(all.length));
      assert.equal(all[all.length - 1]!.text, 'e1999');
      assert.deepEqual(s.list({ limit: 3, severity: 'warning' }), []);
    } finally {
      s.close();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
