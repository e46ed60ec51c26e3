// Bugs the API fuzzer (fuzz.test.ts) found, each kept as a plain regression
// test against a real `kura serve` with the seed that found it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

let srv: TestServer;
const api = (method: string, p: string, body?: unknown) => rawRequest(srv.url, { method, path: `/api/v1${p}`, token: srv.token, body });

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.cleanup();
});

// Seed 20261203 (100,000 requests): 500 "UNIQUE constraint failed: host_initiator.iqn".
test('a host created with the same initiator twice is refused with an id, and nothing is created', async () => {
  const r = await api('POST', '/hosts', { name: 'h1', initiators: ['iqn.2026-01.fuzz:a', 'naa.60014055aabbccdd', 'iqn.2026-01.fuzz:a'] });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.error?.id, 'KURA-E4037', r.text);
  assert.match(r.error.message, /iqn\.2026-01\.fuzz:a/);
  assert.deepEqual((await api('GET', '/hosts')).json, [], 'no host entry was left behind');
  // The same host with each initiator once is fine.
  const ok = await api('POST', '/hosts', { name: 'h1', initiators: ['iqn.2026-01.fuzz:a', 'naa.60014055aabbccdd'] });
  assert.equal(ok.status, 201, ok.text);
});
