// Request bodies against a real `kura serve` (issue 8, item 11): deep nesting
// is refused with an id before JSON.parse can overflow the stack, keys that
// name Object.prototype members are unknown fields like any other, and the
// size bound holds. The server answers every one with 4xx and an id and stays up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

let srv: TestServer;
const raw = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  rawRequest(srv.url, { method, path: p, token: srv.token, body, headers });

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.cleanup();
});

async function alive(): Promise<void> {
  const r = await raw('GET', '/api/v1/array');
  assert.equal(r.status, 200, r.text);
}

test('5,000 nested arrays or objects: 400 KURA-E4031, not a 500 stack overflow', async () => {
  const wrong: string[] = [];
  for (const [what, body] of [
    ['arrays in a field', `{"name":"h","initiators":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['arrays as a name', `{"name":${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['arrays', '['.repeat(5000) + ']'.repeat(5000)],
    ['objects', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)],
    ['unclosed arrays', '['.repeat(100_000)],
  ]) {
    for (const route of ['/api/v1/lds', '/api/v1/hosts', '/api/v1/pools/pool0']) {
      const r = await raw(route.endsWith('pool0') ? 'PATCH' : 'POST', route, body);
      if (r.status !== 400 || r.error?.id !== 'KURA-E4031') wrong.push(`${what} to ${route}: ${r.status} ${r.error?.id} ${r.error?.message}`);
    }
  }
  assert.deepEqual(wrong, []);
  await alive();
});

test('nesting within the bound, and brackets inside strings, are parsed and checked as usual', async () => {
  const nested = `{"name":"h1","initiators":${'['.repeat(31)}${']'.repeat(31)}}`;
  assert.equal((await raw('POST', '/api/v1/hosts', nested)).error?.id, 'KURA-E4013');
  const bracketsInString = JSON.stringify({ name: '['.repeat(5000) });
  assert.equal((await raw('POST', '/api/v1/hosts', bracketsInString)).error?.id, 'KURA-E2041');
  const escaped = `{"name":"a\\"${'['.repeat(100)}"}`;
  assert.equal((await raw('POST', '/api/v1/hosts', escaped)).error?.id, 'KURA-E2041');
  await alive();
});

test('keys naming Object.prototype members are unknown fields and parameters', async () => {
  for (const body of ['{"constructor":1}', '{"__proto__":{"admin":true}}', '{"toString":"x"}', '{"name":"h2","hasOwnProperty":1}']) {
    const r = await raw('POST', '/api/v1/hosts', body);
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.equal(r.error?.id, 'KURA-E4011', `${body}: ${r.text}`);
  }
  for (const q of ['constructor=1', '__proto__=1', 'toString=x', 'limit=5&valueOf=1']) {
    const r = await raw('GET', `/api/v1/events?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.error?.id, 'KURA-E4015', `${q}: ${r.text}`);
  }
  assert.deepEqual((await raw('GET', '/api/v1/hosts')).json, [], 'no host was created');
  await alive();
});

test('a body over 1 MiB is refused with 413 KURA-E4003', async () => {
  const r = await raw('POST', '/api/v1/hosts', JSON.stringify({ name: 'x'.repeat(1 << 20) }));
  assert.equal(r.status, 413);
  assert.equal(r.error?.id, 'KURA-E4003');
  await alive();
});
