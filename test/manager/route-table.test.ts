// The REST route descriptions (src/api) against what the manager serves: every
// description has a handler and is served in the descriptions' order, each one
// is the route its own paths reach, and the OpenAPI document lists exactly the
// described operations. pathOf builds the request paths the CLI sends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { allRoutes } from '../../src/api/index.js';
import { POOLS } from '../../src/api/pools.js';
import { API_PREFIX, paramNames, pathOf } from '../../src/api/route.js';
import type { ApiRoute } from '../../src/api/route.js';
import { KuraArray } from '../../src/array/array.js';
import { Manager } from '../../src/manager/manager.js';

let dir: string;
let array: KuraArray;
let mgr: Manager;
let base: string;
let token: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-routes-'));
  array = await KuraArray.open({
    dataDir: dir,
    portals: [
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 0 },
    ],
  });
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

const key = (r: Pick<ApiRoute, 'method' | 'path'>) => `${r.method} ${r.path}`;

/** The description's fields, without the handler the manager adds. */
function described(r: ApiRoute): ApiRoute {
  const { method, path: p, summary, tag, body, query, status, public: pub, lockExempt } = r;
  return JSON.parse(JSON.stringify({ method, path: p, summary, tag, body, query, status, public: pub, lockExempt })) as ApiRoute;
}

test('every route description is unique, under the API prefix, and says what it does', () => {
  const routes = allRoutes();
  assert.ok(routes.length >= 50, `${routes.length} routes`);
  assert.equal(new Set(routes.map(key)).size, routes.length, 'one description per method and path');
  for (const r of routes) {
    assert.ok(r.path.startsWith(`${API_PREFIX}/`), key(r));
    assert.ok(r.summary.length > 5 && r.tag.length > 0, key(r));
  }
});

test('the manager serves every description, in order, each with a handler', () => {
  const served = mgr.router.routes;
  assert.deepEqual(served.map(described), allRoutes().map(described));
  for (const r of served) assert.equal(typeof r.handler, 'function', `${key(r)} has a handler`);
});

test('each route is the one its own paths reach (no description shadows another)', () => {
  for (const r of allRoutes()) {
    const params = Object.fromEntries(paramNames(r.path).map((n) => [n, `x-${n}`]));
    const m = mgr.router.match(r.method, pathOf(r, params));
    assert.equal(key(m.route), key(r));
    assert.deepEqual(m.params, params);
  }
});

test('the OpenAPI document lists exactly the described operations', async () => {
  const res = await fetch(`${base}${pathOf(allRoutes()[0]!)}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, { summary: string; tags: string[] }>> };
  const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  assert.deepEqual(listed.sort(), allRoutes().map(key).sort());
  for (const r of allRoutes()) {
    const op = doc.paths[r.path]![r.method.toLowerCase()]!;
    assert.equal(op.summary, r.summary, key(r));
    assert.deepEqual(op.tags, [r.tag], key(r));
  }
});

test('pathOf encodes path parameters, appends described query parameters, and refuses what the route does not describe', () => {
  assert.equal(pathOf(POOLS.list), '/api/v1/pools');
  assert.equal(pathOf(POOLS.show, { ref: 'a b/c' }), '/api/v1/pools/a%20b%2Fc');
  assert.equal(pathOf(POOLS.show, { ref: 1 }), '/api/v1/pools/1');
  const del = allRoutes().find((r) => r.method === 'DELETE' && r.path === '/api/v1/lds/{ref}')!;
  assert.equal(pathOf(del, { ref: 'v' }, { fcvforce: true, force: undefined }), '/api/v1/lds/v?fcvforce=true');
  assert.equal(pathOf(del, { ref: 'v' }, { fcvforce: undefined, force: undefined }), '/api/v1/lds/v');
  assert.throws(() => pathOf(POOLS.show), /needs a value for \{ref\}/);
  assert.throws(() => pathOf(POOLS.show, { ref: 'p', name: 'x' }), /no path parameter \{name\}/);
  assert.throws(() => pathOf(POOLS.show, { ref: 'p' }, { force: true }), /takes no query parameter force/);
});
