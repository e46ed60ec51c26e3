// kura pathd with CHAP: --chap-user and --chap-secret-file log pathd's
// initiator in to a host entry that requires CHAP (and --chap-target-user /
// --chap-target-secret-file check the array's mutual CHAP answer); the device
// is exported and I/O works through it. A wrong secret is logged as a login
// failure with KURA-E5052, and no device appears.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { kuraCli, runKura } from '../helpers/cli.js';
import { startPathd } from '../helpers/pathd.js';
import type { TestPathd } from '../helpers/pathd.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const INITIATOR = 'iqn.2026-11.io.kura:pathd-chap';
let srv: TestServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-chap-'));
const { ok: kura } = kuraCli(() => ({ env: srv.env }));

function secretFile(name: string, secret: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, `${secret}\n`, { mode: 0o600 });
  return f;
}

/** pathd on both controllers' portals with `extra` (CHAP) options. */
function pathd(extra: string[]): Promise<TestPathd> {
  return startPathd(
    [
      '--portal',
      `127.0.0.1:${srv.iscsiPorts[0]}`,
      '--portal',
      `127.0.0.1:${srv.iscsiPorts[1]}`,
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--initiator',
      INITIATOR,
      '--no-syslog',
      '--queue-if-no-path',
      '5',
      ...extra,
    ],
    { readyTimeoutMs: 30_000 },
  );
}

before(async () => {
  srv = await startServer();
  kura('host', 'create', 'pathhost', '--initiator', INITIATOR);
  kura('host', 'map', 'pathhost', 'demo0', '--lun', '0');
  kura('host', 'set-chap', 'pathhost', '--user', 'pathuser', '--secret', 'path-secret-0123');
  kura('target', 'set-chap', '--user', 'array1', '--secret', 'array-secret-4567');
});

after(async () => {
  await srv.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("pathd with the right CHAP secret (and the target's mutual secret) exports the device and I/O works", { timeout: 60_000 }, async () => {
  const p = await pathd([
    '--chap-user',
    'pathuser',
    '--chap-secret-file',
    secretFile('good', 'path-secret-0123'),
    '--chap-target-user',
    'array1',
    '--chap-target-secret-file',
    secretFile('target', 'array-secret-4567'),
  ]);
  try {
    assert.equal(p.devices, 1, p.output());
    const c = await NbdClient.connect({ host: '127.0.0.1', port: p.nbdPort, exportName: 'mpatha' });
    const data = crypto.randomBytes(256 << 10);
    await c.write(1 << 20, data, { fua: true });
    assert.ok((await c.read(1 << 20, data.length)).equals(data), 'read back through pathd');
    await c.disconnect();
    assert.doesNotMatch(p.output(), /path-secret-0123|array-secret-4567/, 'pathd never prints a secret');
  } finally {
    await p.stop();
  }
});

test('pathd with a wrong CHAP secret logs the login failure with KURA-E5052 and exports nothing', { timeout: 60_000 }, async () => {
  const p = await pathd(['--chap-user', 'pathuser', '--chap-secret-file', secretFile('bad', 'not-the-secret-99')]);
  try {
    assert.equal(p.devices, 0, p.output());
    assert.match(p.output(), /KURA-E5052 .*CHAP.*pathuser/);
  } finally {
    await p.stop();
  }
  const q = await pathd([
    '--chap-user',
    'pathuser',
    '--chap-secret-file',
    secretFile('good2', 'path-secret-0123'),
    '--chap-target-user',
    'array1',
    '--chap-target-secret-file',
    secretFile('badtarget', 'not-the-array-99'),
  ]);
  try {
    assert.equal(q.devices, 0, q.output());
    assert.match(q.output(), /KURA-E5052 .*mutual CHAP/);
  } finally {
    await q.stop();
  }
});

test('pathd refuses a missing or unreadable secret file and half-given options', () => {
  const r1 = runKura(['pathd', '--portal', '127.0.0.1:1', '--chap-user', 'u'], { timeoutMs: 20_000 });
  assert.equal(r1.status, 2, r1.stderr);
  assert.match(r1.stderr, /^KURA-E5050: /m);
  const r2 = runKura(['pathd', '--portal', '127.0.0.1:1', '--chap-user', 'u', '--chap-secret-file', path.join(tmp, 'nope')], { timeoutMs: 20_000 });
  assert.equal(r2.status, 2, r2.stderr);
  assert.match(r2.stderr, /^KURA-E5051: .*nope/m);
});
