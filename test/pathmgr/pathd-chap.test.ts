// kura pathd with CHAP: --chap-user and --chap-secret-file log pathd's
// initiator in to a host entry that requires CHAP (and --chap-target-user /
// --chap-target-secret-file check the array's mutual CHAP answer); the device
// is exported and I/O works through it. A wrong secret is logged as a login
// failure with KURA-E5052, and no device appears.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { KURA, startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const INITIATOR = 'iqn.2026-11.io.kura:pathd-chap';
let srv: TestServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pathd-chap-'));
const procs: ChildProcess[] = [];

function kura(...args: string[]): string {
  const r = spawnSync(process.execPath, [KURA, ...args], { env: srv.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `kura ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function secretFile(name: string, secret: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, `${secret}\n`, { mode: 0o600 });
  return f;
}

/** Starts pathd and waits for its ready line; resolves with the NBD port, the device count and its output so far. */
async function pathd(extra: string[]): Promise<{ proc: ChildProcess; nbdPort: number; devices: number; output: () => string; stop: () => Promise<void> }> {
  const proc = spawn(
    process.execPath,
    [KURA, 'pathd', '--portal', `127.0.0.1:${srv.iscsiPorts[0]}`, '--portal', `127.0.0.1:${srv.iscsiPorts[1]}`, '--nbd', '127.0.0.1:0', '--control', '127.0.0.1:0', '--initiator', INITIATOR, '--no-syslog', '--queue-if-no-path', '5', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pathd did not print ready within 30 s:\n${out}`)), 30_000);
    proc.stdout!.on('data', () => {
      const r = /ready nbd=127\.0\.0\.1:(\d+) control=\S+ devices=(\d+)/.exec(out);
      if (r) {
        clearTimeout(t);
        resolve(r);
      }
    });
    proc.once('exit', () => {
      clearTimeout(t);
      reject(new Error(`pathd exited:\n${out}`));
    });
  });
  return {
    proc,
    nbdPort: Number(m[1]),
    devices: Number(m[2]),
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

before(async () => {
  srv = await startServer();
  kura('host', 'create', 'pathhost', '--initiator', INITIATOR);
  kura('host', 'map', 'pathhost', 'demo0', '--lun', '0');
  kura('host', 'set-chap', 'pathhost', '--user', 'pathuser', '--secret', 'path-secret-0123');
  kura('target', 'set-chap', '--user', 'array1', '--secret', 'array-secret-4567');
});

after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await srv.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('pathd with the right CHAP secret (and the target\'s mutual secret) exports the device and I/O works', { timeout: 60_000 }, async () => {
  const p = await pathd([
    '--chap-user', 'pathuser', '--chap-secret-file', secretFile('good', 'path-secret-0123'),
    '--chap-target-user', 'array1', '--chap-target-secret-file', secretFile('target', 'array-secret-4567'),
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
  const q = await pathd(['--chap-user', 'pathuser', '--chap-secret-file', secretFile('good2', 'path-secret-0123'), '--chap-target-user', 'array1', '--chap-target-secret-file', secretFile('badtarget', 'not-the-array-99')]);
  try {
    assert.equal(q.devices, 0, q.output());
    assert.match(q.output(), /KURA-E5052 .*mutual CHAP/);
  } finally {
    await q.stop();
  }
});

test('pathd refuses a missing or unreadable secret file and half-given options', () => {
  const r1 = spawnSync(process.execPath, [KURA, 'pathd', '--portal', '127.0.0.1:1', '--chap-user', 'u'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r1.status, 2, r1.stderr);
  assert.match(r1.stderr, /^KURA-E5050: /m);
  const r2 = spawnSync(process.execPath, [KURA, 'pathd', '--portal', '127.0.0.1:1', '--chap-user', 'u', '--chap-secret-file', path.join(tmp, 'nope')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r2.status, 2, r2.stderr);
  assert.match(r2.stderr, /^KURA-E5051: .*nope/m);
});
