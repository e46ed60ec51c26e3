// CHAP secrets at rest: a secret that was cleared or replaced (or whose host
// entry was deleted) is gone from every file of the data directory, while the
// server runs and after it stops; and one secret never serves both directions
// of CHAP (RFC 7143 12.1.3).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { walk } from '../helpers/files.js';
import { startServer } from '../helpers/server.js';

/** Files under `dir` whose raw bytes hold `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const want = Buffer.from(needle);
  return walk(dir).filter((p) => fs.lstatSync(p).isFile() && fs.readFileSync(p).includes(want));
}

test('CHAP secrets cleared or replaced are gone from every file of the data directory', { timeout: 120_000 }, async () => {
  const srv = await startServer({ args: ['--no-demo'] });
  try {
    const hostSecret1 = `hostsecret-${crypto.randomBytes(8).toString('hex')}`;
    const hostSecret2 = `hostsecret-${crypto.randomBytes(8).toString('hex')}`;
    const targetSecret = `tgtsecret-${crypto.randomBytes(8).toString('hex')}`;
    const doomedSecret = `doomed-${crypto.randomBytes(8).toString('hex')}`;
    srv.cli.ok('host', 'create', 'web', '--initiator', 'iqn.2026-01.test:web');
    srv.cli.ok('host', 'create', 'doomed', '--initiator', 'iqn.2026-01.test:doomed');
    srv.cli.ok('host', 'set-chap', 'web', '--user', 'web', '--secret', hostSecret1);
    srv.cli.ok('host', 'set-chap', 'doomed', '--user', 'doomed', '--secret', doomedSecret);
    srv.cli.ok('target', 'set-chap', '--user', 'array', '--secret', targetSecret);
    // While set, the secret is in the files (the test would prove nothing otherwise).
    assert.ok(filesHolding(srv.dataDir, hostSecret1).length > 0, 'a set secret is stored');
    srv.cli.ok('host', 'set-chap', 'web', '--user', 'web', '--secret', hostSecret2);
    srv.cli.ok('target', 'clear-chap');
    srv.cli.ok('host', 'delete', 'doomed');
    for (const s of [hostSecret1, targetSecret, doomedSecret]) assert.deepEqual(filesHolding(srv.dataDir, s), [], `${s} is gone while the server runs`);
    srv.cli.ok('host', 'clear-chap', 'web');
    assert.deepEqual(filesHolding(srv.dataDir, hostSecret2), [], 'a cleared secret is gone while the server runs');
    assert.equal(await srv.stop(), 0);
    for (const s of [hostSecret1, hostSecret2, targetSecret, doomedSecret]) assert.deepEqual(filesHolding(srv.dataDir, s), [], `${s} is gone after the stop`);
  } finally {
    await srv.cleanup();
  }
});

test(
  'one CHAP secret never serves both directions: target set-chap refuses a host secret (KURA-E2522), host set-chap the target secret (KURA-E2523)',
  { timeout: 60_000 },
  async () => {
    const srv = await startServer({ args: ['--no-demo'] });
    try {
      srv.cli.ok('host', 'create', 'web', '--initiator', 'iqn.2026-01.test:web');
      srv.cli.ok('host', 'create', 'db', '--initiator', 'iqn.2026-01.test:db');
      srv.cli.ok('host', 'set-chap', 'web', '--user', 'web', '--secret', 'shared-secret-123');
      const t = srv.cli.run('target', 'set-chap', '--user', 'array', '--secret', 'shared-secret-123');
      assert.equal(t.status, 1, t.stdout + t.stderr);
      assert.match(t.stderr, /^KURA-E2522: .*host web/m);
      assert.match(srv.cli.run('target', 'show').stdout, /Mutual CHAP\s+: off/);
      srv.cli.ok('target', 'set-chap', '--user', 'array', '--secret', 'target-secret-456');
      const h = srv.cli.run('host', 'set-chap', 'db', '--user', 'db', '--secret', 'target-secret-456');
      assert.equal(h.status, 1, h.stdout + h.stderr);
      assert.match(h.stderr, /^KURA-E2523: /m);
      const hosts = JSON.parse(srv.cli.run('host', 'list', '--json').stdout) as Array<{ name: string; chap: unknown }>;
      assert.equal(hosts.find((x) => x.name === 'db')?.chap, null, 'the refused secret was not stored');
      // Two hosts may share a secret (each is one direction: initiator to target).
      srv.cli.ok('host', 'set-chap', 'db', '--user', 'db', '--secret', 'shared-secret-123');
    } finally {
      await srv.cleanup();
    }
  },
);

test('NBD pre-shared keys replaced, cleared or deleted with their host are gone from every file of the data directory', { timeout: 120_000 }, async () => {
  const srv = await startServer({ args: ['--no-demo'] });
  const keys = fs.mkdtempSync(path.join(srv.dataDir, '..', 'kura-psk-'));
  try {
    /** Sets a new random key for `host` and returns it as stored (hex). */
    const newKey = (host: string): string => {
      const f = path.join(keys, `${host}-${crypto.randomBytes(4).toString('hex')}.psk`);
      srv.cli.ok('host', 'set-nbd-psk', host, '--psk-file', f, '--generate');
      return fs.readFileSync(f, 'utf8').trim().split(':')[1]!;
    };
    srv.cli.ok('host', 'create', 'web', '--initiator', 'iqn.2026-01.test:web');
    srv.cli.ok('host', 'create', 'doomed', '--initiator', 'iqn.2026-01.test:doomed');
    const web1 = newKey('web');
    const doomed = newKey('doomed');
    assert.ok(filesHolding(srv.dataDir, web1).length > 0, 'a set key is stored');
    const web2 = newKey('web');
    srv.cli.ok('host', 'delete', 'doomed');
    for (const k of [web1, doomed]) assert.deepEqual(filesHolding(srv.dataDir, k), [], 'a replaced key or the key of a deleted host is gone');
    srv.cli.ok('host', 'clear-nbd-psk', 'web');
    assert.deepEqual(filesHolding(srv.dataDir, web2), [], 'a cleared key is gone while the server runs');
    assert.equal(await srv.stop(), 0);
    for (const k of [web1, web2, doomed]) assert.deepEqual(filesHolding(srv.dataDir, k), [], 'gone after the stop');
  } finally {
    fs.rmSync(keys, { recursive: true, force: true });
    await srv.cleanup();
  }
});
