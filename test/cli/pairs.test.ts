// Replication pairs and the configuration lock through the CLI against a real
// `kura serve`: --json fields, --wait, errors with ids, the lock's refusals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { KURA, startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { run } from '../helpers/tools.js';

let srv: TestServer;

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
function json<T>(...args: string[]): T {
  const r = kura(...args, '--json');
  assert.equal(r.status, 0, `kura ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

test('configuration lock: the holder configures, another user is refused until a forced release', () => {
  assert.equal(json<{ held: boolean }>('lock', 'show').held, false);
  const l = json<{ held: boolean; owner: string; remainingSeconds: number }>('lock', 'acquire', '--owner', 'alice', '--ttl', '120');
  assert.deepEqual([l.held, l.owner], [true, 'alice']);
  assert.ok(l.remainingSeconds > 100 && l.remainingSeconds <= 120);
  json('pool', 'create', 'lockp', '--size', '1GiB', '--raid', '0', '--pds', '1', '--owner', 'alice');
  const refused = kura('ld', 'create', 'x1', '--pool', 'lockp', '--size', '16MiB', '--owner', 'bob');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^KURA-E2400: Another user \(alice\) is configuring the disk array/m);
  assert.equal(kura('ld', 'list', '--owner', 'bob').status, 0, 'reading is allowed while the lock is held');
  const notYours = kura('lock', 'release', '--owner', 'bob');
  assert.match(notYours.stderr, /^KURA-E2404: /m);
  assert.equal(json<{ held: boolean }>('lock', 'release', '--force', '--owner', 'bob').held, false);
  json('ld', 'create', 'x1', '--pool', 'lockp', '--size', '16MiB', '--owner', 'bob');
  const text = kura('lock', 'show');
  assert.match(text.stdout, /free/);
  json('ld', 'delete', 'x1');
  json('pool', 'delete', 'lockp');
});
