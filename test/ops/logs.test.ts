// kura logs collect against a real server holding secrets (CHAP secrets of a
// host and of the target, an NBD PSK, a webhook URL whose path is its secret,
// the API token, a password in a relation file): the archive is a .tar.gz
// real tar reads, its table of contents has every part support asks for
// (VVM 5.1), and no secret is anywhere inside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { scrubText } from '../../src/ops/logs/scrub.js';

let srv: TestServer;
let tmp: string;

before(async () => {
  srv = await startServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-logs-'));
});
after(async () => {
  await srv?.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const HOST_SECRET = 'HostChapS3cretXYZ';
const TARGET_SECRET = 'TargetChapS3cretQW';
const HOOK_SECRET = 'H00KPATHS3CRET';
const FILE_PASSWORD = 'Relat1onPassw0rd';

function tar(...args: string[]): string {
  const r = spawnSync('tar', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('kura logs collect writes a .tar.gz with every part, and no secret inside', () => {
  srv.cli.ok('host', 'create', 'h1', '--initiator', 'iqn.1994-05.com.example:h1');
  srv.cli.ok('host', 'set-chap', 'h1', '--user', 'u1', '--secret', HOST_SECRET);
  const pskFile = path.join(tmp, 'h1.psk');
  srv.cli.ok('host', 'set-nbd-psk', 'h1', '--psk-file', pskFile, '--generate');
  const psk = fs.readFileSync(pskFile, 'utf8').trim().split(':')[1]!;
  assert.match(psk, /^[0-9a-f]{64}$/);
  srv.cli.ok('target', 'set-chap', '--user', 't1', '--secret', TARGET_SECRET);
  srv.cli.ok('alert', 'add', 'chat', '--webhook', `https://chat.example.com/services/${HOOK_SECRET}`, '--min-severity', 'error');
  // A relation file (as VM backups leave them) with a password in it, and a path event from a host agent.
  fs.mkdirSync(path.join(srv.dataDir, 'latestRelationBetweenVMandVVOL', 'array0'), { recursive: true });
  fs.writeFileSync(
    path.join(srv.dataDir, 'latestRelationBetweenVMandVVOL', 'array0', 'vm1.xml'),
    `<relation vm="vm1"><provider password="${FILE_PASSWORD}"/></relation>\n`,
  );
  srv.cli.ok('events'); // the token in a request header, never in a file
  spawnSync('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-X',
    'POST',
    '-H',
    `authorization: Bearer ${srv.token}`,
    '-H',
    'content-type: application/json',
    '-d',
    JSON.stringify({ id: 'KURA-W7002', severity: 'warning', host: 'esx1', text: 'path 1 to LUN 0 failed' }),
    `${srv.url}/api/v1/events`,
  ]);

  const out = path.join(tmp, 'support.tar.gz');
  const r = srv.cli.run('logs', 'collect', '--output', out, '--data', srv.dataDir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Wrote .*support\.tar\.gz \(\d+ bytes, \d+ files\)\.$/m);
  assert.match(r.stderr, /collecting: configuration/, 'progress is shown on stderr');
  assert.match(r.stderr, /collecting: done 100%/);
  assert.equal(fs.statSync(out).mode & 0o777, 0o600, 'the archive is private to its user');

  const toc = tar('-tzf', out).trim().split('\n');
  for (const f of [
    'kura-logs/version.json',
    'kura-logs/config/array.json',
    'kura-logs/config/pools.json',
    'kura-logs/config/lds.json',
    'kura-logs/config/hosts.json',
    'kura-logs/config/target.json',
    'kura-logs/config/alerts.json',
    'kura-logs/events.json',
    'kura-logs/logs/pathd-events.json',
    'kura-logs/logs/server/kura.log',
    'kura-logs/relation/array0/vm1.xml',
    'kura-logs/check.txt',
  ])
    assert.ok(toc.includes(f), `${f} is in the archive:\n${toc.join('\n')}`);

  const x = path.join(tmp, 'x');
  fs.mkdirSync(x);
  tar('-xzf', out, '-C', x);
  const root = path.join(x, 'kura-logs');
  const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');
  const version = JSON.parse(read('version.json')) as { cli: { version: string }; server: { version: string; name: string } };
  assert.equal(version.cli.version, version.server.version);
  assert.deepEqual(
    (JSON.parse(read('config/lds.json')) as Array<{ name: string }>).map((l) => l.name),
    ['demo0'],
  );
  const pathd = JSON.parse(read('logs/pathd-events.json')) as Array<{ id: string; source: string }>;
  assert.deepEqual(
    pathd.map((e) => [e.id, e.source]),
    [['KURA-W7002', 'host:esx1']],
  );
  assert.match(read('logs/server/kura.log'), /ready: API http:/);
  assert.match(read('check.txt'), /KURA-E2520/, 'kura check refused the running server directory, and says so');
  assert.match(read('relation/array0/vm1.xml'), /<relation vm="vm1">/);

  // No secret in any file.
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(root);
  assert.equal(files.length, toc.filter((f) => !f.endsWith('/')).length);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const [what, secret] of [
      ['API token', srv.token],
      ['host CHAP secret', HOST_SECRET],
      ['target CHAP secret', TARGET_SECRET],
      ['NBD PSK', psk],
      ['webhook secret', HOOK_SECRET],
      ['relation file password', FILE_PASSWORD],
    ])
      assert.ok(!text.includes(secret!), `${what} in ${path.relative(root, f)}`);
  }
});

test('the scrubber removes secrets by key, bearer tokens, URL passwords, long hex keys and known strings', () => {
  const t = scrubText(
    [
      '{"secret": "a\\"b", "chapSecret":"x1", "name":"keep"}',
      'psk=0123456789abcdef0123456789abcdef0123456789abcdef password: hunter2 user=keep',
      'Authorization: Bearer abc.def-ghi',
      'https://user:pa55@host/x naa.60000000000000000000000000000001',
      'token KNOWNSECRET here',
    ].join('\n'),
    ['KNOWNSECRET'],
  );
  for (const s of ['a\\"b', 'x1', '0123456789abcdef0123', 'hunter2', 'abc.def', 'pa55', 'KNOWNSECRET']) assert.ok(!t.includes(s), `${s} in ${t}`);
  for (const s of ['"name":"keep"', 'user=keep', 'naa.60000000000000000000000000000001', 'https://user:']) assert.ok(t.includes(s), `${s} kept in ${t}`);
});
