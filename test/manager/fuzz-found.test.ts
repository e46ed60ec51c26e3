// Bugs the API fuzzer (fuzz.test.ts) found, each kept as a plain regression
// test against a real `kura serve` with the seed that found it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runKura } from '../helpers/cli.js';
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

/** PD files under the data directory's pools/, as relative paths. */
function pdFiles(): string[] {
  const root = path.join(srv.dataDir, 'array', 'pools');
  return fs.existsSync(root)
    ? fs
        .readdirSync(root, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.img'))
        .sort()
    : [];
}

// Found probing the fuzzer's size values: pools larger than a file may be
// (EFBIG from ftruncate) or than a safe integer once rounded were 500s, left
// PD files behind, and a pool's chunk refcounts (4 bytes a chunk, held in
// memory) could be asked to take gigabytes.
test('pools too large for the file system or the refcount table are refused with ids, leaving no files', async () => {
  const before = pdFiles();
  for (const [p, body, id] of [
    ['/pools', { name: 'big1', size: Number.MAX_SAFE_INTEGER }, 'KURA-E4038'],
    ['/pools', { name: 'big2', size: '1PiB' }, 'KURA-E4038'],
    ['/pools', { name: 'big3', size: '16TiB', chunk: '64KiB' }, 'KURA-E4038'],
    ['/pools/pool0/expand', { add: Number.MAX_SAFE_INTEGER }, 'KURA-E4038'],
    ['/pools/pool0/expand', { add: '1PiB' }, 'KURA-E4038'],
  ] as Array<[string, unknown, string]>) {
    const r = await api('POST', p, body);
    assert.equal(r.status, 400, `${p} ${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.error?.id, id, `${p} ${JSON.stringify(body)}: ${r.text}`);
  }
  // 16 TiB in 1 MiB chunks is within the table; whether a 16 TiB PD file fits depends on the file system (ext4: no).
  for (const [p, body] of [
    ['/pools', { name: 'big4', size: '16TiB' }],
    ['/pools/pool0/expand', { add: '16TiB' }],
  ] as Array<[string, unknown]>) {
    const r = await api('POST', p, body);
    assert.ok(r.status < 500 && (r.status < 300 || r.error?.id), `${p} ${JSON.stringify(body)}: ${r.text}`);
    if (r.status >= 400) assert.equal(r.error?.id, 'KURA-E4039', r.text);
  }
  const pools = (await api('GET', '/pools')).json as Array<{ name: string }>;
  if (!pools.some((x) => x.name === 'big4'))
    assert.deepEqual(
      pools.map((x) => x.name),
      ['pool0'],
    );
  if (pools.length === 1 && ((await api('GET', '/pools/pool0')).json as { capacity: number }).capacity === 4 * 2 ** 30) {
    assert.deepEqual(pdFiles(), before, 'no PD file is left from a refused request');
  }
  assert.equal(await srv.stop(), 0);
  const check = runKura(['check', '--data', srv.dataDir], { timeoutMs: 120_000 });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
