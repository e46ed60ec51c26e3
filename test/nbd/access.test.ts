// NBD access control with real clients (nbdinfo, nbdcopy, qemu-img): which
// exports a client is offered and may open, with access control off, on for
// plain (unidentified) clients, on for TLS-PSK clients identified as a host,
// with a wrong key, for LDs the operator opened to plain clients, with TLS
// required, and with the NBD listener switched off.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { ok, run } from '../helpers/tools.js';
import * as P from '../../src/nbd/protocol.js';
import { ask, go, openWire, readAt } from '../helpers/nbd-wire.js';

const MiB = 2 ** 20;
let tmp: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbd-acl-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Export names nbdinfo --list is offered (plain, or over TLS with a PSK file and identity). */
function listed(srv: TestServer, tls?: { user: string; pskFile: string }): string[] {
  const r = run('nbdinfo', ['--list', '--json', uri(srv, '', tls)], { timeout: 20_000 });
  assert.equal(r.status, 0, `nbdinfo --list: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { exports: Array<{ 'export-name': string }> };
  return j.exports.map((e) => e['export-name']).sort();
}

function uri(srv: TestServer, name: string, tls?: { user: string; pskFile: string }): string {
  return tls ? `nbds://${tls.user}@127.0.0.1:${srv.nbdPort}/${name}?tls-psk-file=${encodeURIComponent(tls.pskFile)}` : `nbd://127.0.0.1:${srv.nbdPort}/${name}`;
}

/** libnbd prints the server's error text only in its debug log. */
const DEBUG = { ...process.env, LIBNBD_DEBUG: '1' };

function pskFile(name: string, identity: string, key = crypto.randomBytes(32)): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, `${identity}:${key.toString('hex')}\n`, { mode: 0o600 });
  return f;
}

describe('access control off (no host entries)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
    srv.cli.json('ld', 'create', 'vol', '--pool', 'pool0', '--size', '16MiB');
  });
  after(() => srv.cleanup());

  test('every LD is offered to every client, and the banner says so', () => {
    assert.deepEqual(listed(srv), ['demo0', 'vol']);
    ok('nbdinfo', [uri(srv, 'vol')]);
    assert.match(srv.stdout(), /NBD.*every LD to every client \(access control off/);
  });
});

describe('access control on, TLS allowed', () => {
  let srv: TestServer;
  let webKey: string;
  before(async () => {
    srv = await startServer();
    const { json } = srv.cli;
    for (const l of ['DynamicSnapVolume']) json('license', 'unlock', l);
    json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
    json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
    for (const ld of ['web1', 'web2', 'db1', 'pub']) json('ld', 'create', ld, '--pool', 'pool0', '--size', '16MiB');
    json('snapshot', 'create', 'web1', '--name', 's1');
    json('host', 'create', 'web', '--initiator', 'iqn.2024-01.test:web');
    json('host', 'create', 'db', '--initiator', 'iqn.2024-01.test:db');
    json('host', 'map', 'web', 'web1');
    json('host', 'map', 'web', 'web2');
    json('host', 'map', 'db', 'db1');
    json('host', 'set-chap', 'web', '--user', 'web', '--secret', 'web-secret-0123');
    webKey = path.join(tmp, 'web.psk');
  });
  after(() => srv.cleanup());

  test('a plain client is offered no export and cannot open a mapped LD', () => {
    assert.deepEqual(listed(srv), []);
    for (const name of ['web1', 'db1', 'demo0', 'nope']) {
      const r = run('nbdinfo', [uri(srv, name)], { env: DEBUG });
      assert.notEqual(r.status, 0, `${name} opened without TLS`);
      // The same answer whether or not the export exists: names do not leak.
      assert.match(r.stderr, new RegExp(`server error message: export "${name}" needs TLS`), 'the refusal tells the client that TLS is needed');
    }
    const src = path.join(tmp, 'plain.bin');
    fs.writeFileSync(src, Buffer.alloc(MiB, 0xa5));
    const w = run('nbdcopy', [src, uri(srv, 'web1')]);
    assert.notEqual(w.status, 0, 'nbdcopy wrote to a mapped LD without TLS');
    assert.match(w.stderr, /opt_go|Operation not supported/);
  });

  test('TLS as host web: only its LDs and their snapshots, and writes land', () => {
    const h = srv.cli.json<{ nbdPsk: { identity: string } | null }>('host', 'set-nbd-psk', 'web', '--psk-file', webKey, '--generate');
    assert.deepEqual(h.nbdPsk, { identity: 'web' });
    assert.match(fs.readFileSync(webKey, 'utf8'), /^web:[0-9a-f]{64}\n$/);
    assert.equal(fs.statSync(webKey).mode & 0o777, 0o600);
    const tls = { user: 'web', pskFile: webKey };
    assert.deepEqual(listed(srv, tls), ['web1', 'web1@s1', 'web2']);
    const first = path.join(tmp, 'web1-first.bin');
    ok('nbdcopy', [uri(srv, 'web1', tls), first]);
    assert.ok(
      fs.readFileSync(first).every((b) => b === 0),
      'the refused plain nbdcopy left no byte in web1',
    );
    const info = JSON.parse(ok('nbdinfo', ['--json', uri(srv, 'web2', tls)])) as { TLS: boolean; exports: Array<{ is_read_only: boolean }> };
    assert.equal(info.TLS, true);
    assert.equal(info.exports[0]!.is_read_only, false);
    const src = path.join(tmp, 'data.bin');
    const back = path.join(tmp, 'back.bin');
    const data = crypto.randomBytes(4 * MiB);
    fs.writeFileSync(src, data);
    ok('nbdcopy', [src, uri(srv, 'web2', tls)]);
    ok('nbdcopy', [uri(srv, 'web2', tls), back]);
    assert.ok(fs.readFileSync(back).subarray(0, data.length).equals(data), 'bytes written over TLS read back');
    // Another host's LD and an unmapped one stay closed, with TLS too.
    for (const name of ['db1', 'pub', 'demo0']) assert.notEqual(run('nbdinfo', [uri(srv, name, tls)]).status, 0, `${name} opened as host web`);
  });

  test('qemu-img with tls-creds-psk reads what was written, as host web', () => {
    const dir = path.join(tmp, 'qemu-web');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(webKey, path.join(dir, 'keys.psk'));
    const obj = `tls-creds-psk,id=tls0,endpoint=client,dir=${dir},username=web`;
    const img = path.join(tmp, 'q.raw');
    const data = crypto.randomBytes(MiB);
    fs.writeFileSync(img, data);
    ok('qemu-img', [
      'convert',
      '-n',
      '--object',
      obj,
      '-f',
      'raw',
      '--target-image-opts',
      img,
      `driver=nbd,host=127.0.0.1,port=${srv.nbdPort},export=web1,tls-creds=tls0`,
    ]);
    const out = path.join(tmp, 'q-out.raw');
    ok('qemu-img', ['convert', '--object', obj, '--image-opts', `driver=nbd,host=127.0.0.1,port=${srv.nbdPort},export=web1,tls-creds=tls0`, '-O', 'raw', out]);
    assert.ok(fs.readFileSync(out).subarray(0, MiB).equals(data));
    // db1 belongs to host db: qemu-img cannot open it as web.
    assert.notEqual(
      run('qemu-img', ['info', '--object', obj, '--image-opts', `driver=nbd,host=127.0.0.1,port=${srv.nbdPort},export=db1,tls-creds=tls0`]).status,
      0,
    );
  });

  test('a wrong key or an unknown identity fails the TLS handshake', () => {
    for (const tls of [
      { user: 'web', pskFile: pskFile('wrong.psk', 'web') },
      { user: 'nobody', pskFile: pskFile('nobody.psk', 'nobody') },
      { user: 'db', pskFile: pskFile('db-nokey.psk', 'db') },
    ]) {
      const r = run('nbdinfo', ['--list', uri(srv, '', tls)], { timeout: 20_000 });
      assert.notEqual(r.status, 0, `handshake as ${tls.user} succeeded`);
      assert.match(r.stderr, /handshake|TLS|alert/i);
    }
  });

  test('an LD opened to plain clients is offered to them (with its snapshots), and to hosts', () => {
    const { json, run: kura } = srv.cli;
    json('snapshot', 'create', 'pub', '--name', 'p1');
    const l = json<{ nbdPlain: boolean }>('ld', 'set-nbd-plain', 'pub', 'on');
    assert.equal(l.nbdPlain, true);
    assert.deepEqual(listed(srv), ['pub', 'pub@p1']);
    const src = path.join(tmp, 'pub.bin');
    const back = path.join(tmp, 'pub-back.bin');
    const data = crypto.randomBytes(MiB);
    fs.writeFileSync(src, data);
    ok('nbdcopy', [src, uri(srv, 'pub')]);
    ok('nbdcopy', [uri(srv, 'pub'), back]);
    assert.ok(fs.readFileSync(back).subarray(0, MiB).equals(data));
    assert.deepEqual(listed(srv, { user: 'web', pskFile: webKey }), ['pub', 'pub@p1', 'web1', 'web1@s1', 'web2']);
    assert.match(kura('ld', 'show', 'pub').stdout, /NBD Plain Access\s*:\s*on/);
    json('ld', 'set-nbd-plain', 'pub', 'off');
    assert.deepEqual(listed(srv), []);
  });

  test('a cleared key ends TLS access for the host; the key is never returned', async () => {
    const { json, run: kura } = srv.cli;
    const hosts = await fetch(`${srv.url}/api/v1/hosts`, { headers: { authorization: `Bearer ${srv.token}` } }).then((r) => r.text());
    const key = fs.readFileSync(webKey, 'utf8').trim().split(':')[1]!;
    assert.ok(!hosts.includes(key), 'GET /hosts holds the PSK');
    assert.ok(!kura('host', 'list').stdout.includes(key));
    json('host', 'clear-nbd-psk', 'web');
    assert.notEqual(run('nbdinfo', ['--list', uri(srv, '', { user: 'web', pskFile: webKey })], { timeout: 20_000 }).status, 0);
    json('host', 'set-nbd-psk', 'web', '--psk-file', webKey);
    assert.deepEqual(listed(srv, { user: 'web', pskFile: webKey }), ['web1', 'web1@s1', 'web2']);
  });

  test('open connections lose an export when the host loses its mapping, its key or the LD its plain access', async () => {
    const { json } = srv.cli;
    const key = Buffer.from(fs.readFileSync(webKey, 'utf8').trim().split(':')[1]!, 'hex');
    const tlsConn = async (name: string) => {
      const w = await openWire(srv.nbdPort);
      assert.equal((await ask(w, P.NBD_OPT_STARTTLS))!.last, P.NBD_REP_ACK);
      await w.upgrade('web', key);
      assert.ok(await go(w, name), `GO ${name} as web`);
      assert.equal(await readAt(w, 0, 4096), 0);
      return w;
    };
    // Unmapping web2 cuts web's connection on web2, not the one on web1.
    const on1 = await tlsConn('web1');
    const on2 = await tlsConn('web2');
    const web = json<Array<{ name: string; luns: Array<{ lun: number; ld: string }> }>>('host', 'list').find((h) => h.name === 'web')!;
    json('host', 'unmap', 'web', String(web.luns.find((l) => l.ld === 'web2')!.lun));
    assert.equal(await readAt(on2, 0, 4096), null, 'the connection on the unmapped LD still reads');
    assert.equal(await readAt(on1, 0, 4096), 0);
    json('host', 'map', 'web', 'web2');
    // Clearing the key cuts every TLS connection of the host.
    json('host', 'clear-nbd-psk', 'web');
    assert.equal(await readAt(on1, 0, 4096), null, 'the connection of a host without a key still reads');
    json('host', 'set-nbd-psk', 'web', '--psk-file', webKey);
    // Closing an LD to plain clients cuts their connections on it.
    json('ld', 'set-nbd-plain', 'pub', 'on');
    const plain = await openWire(srv.nbdPort);
    assert.ok(await go(plain, 'pub'));
    assert.equal(await readAt(plain, 0, 4096), 0);
    json('ld', 'set-nbd-plain', 'pub', 'off');
    assert.equal(await readAt(plain, 0, 4096), null, 'a plain connection on a closed LD still reads');
    assert.match(srv.stderr(), /nbd: closing a connection on export "web2" \(host "web"\): its access was withdrawn/);
  });

  test('bad keys are refused with an id', () => {
    const { run: kura } = srv.cli;
    const short = kura('host', 'set-nbd-psk', 'db', '--psk-file', pskFile('short.psk', 'db', crypto.randomBytes(8)));
    assert.equal(short.status, 1);
    assert.match(short.stderr, /^KURA-E612\d: /m);
    const other = kura('host', 'set-nbd-psk', 'db', '--psk-file', pskFile('other.psk', 'web'));
    assert.equal(other.status, 1);
    assert.match(other.stderr, /^KURA-E61[23]\d: .*identity/m);
    // One key per host: db may not reuse web's key (it could then pose as web).
    const reused = kura(
      'host',
      'set-nbd-psk',
      'db',
      '--psk-file',
      pskFile('reuse.psk', 'db', Buffer.from(fs.readFileSync(webKey, 'utf8').trim().split(':')[1]!, 'hex')),
    );
    assert.equal(reused.status, 1);
    assert.match(reused.stderr, /^KURA-E61[23]\d: /m);
  });
});

describe('TLS required', () => {
  let srv: TestServer;
  let key: string;
  before(async () => {
    srv = await startServer({ args: ['--nbd-tls', 'required'] });
    const { json } = srv.cli;
    json('ld', 'create', 'pub', '--pool', 'pool0', '--size', '16MiB');
    json('host', 'create', 'web');
    json('host', 'map', 'web', 'demo0');
    json('ld', 'set-nbd-plain', 'pub', 'on');
    key = path.join(tmp, 'req.psk');
    json('host', 'set-nbd-psk', 'web', '--psk-file', key, '--generate');
  });
  after(() => srv.cleanup());

  test('a plain client is told TLS is required; a host over TLS gets its LDs', () => {
    const r = run('nbdinfo', ['--list', uri(srv, '')], { env: DEBUG });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /server error message: this server requires TLS/);
    assert.notEqual(run('nbdinfo', [uri(srv, 'pub')]).status, 0, 'plain access although TLS is required');
    assert.deepEqual(listed(srv, { user: 'web', pskFile: key }), ['demo0', 'pub']);
    assert.match(srv.stdout(), /NBD.*TLS-PSK required/);
  });
});

describe('--nbd off', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ args: ['--nbd', 'off'] });
  });
  after(() => srv.cleanup());

  test('no NBD listener: the banner says so, and the process listens only on the API and iSCSI ports', async () => {
    assert.match(srv.stdout(), /^listening api=\S+ nbd=off iscsi=/m);
    assert.equal(srv.nbdPort, 0);
    assert.match(srv.stdout(), /NBD:\s+off/);
    const lds = await fetch(`${srv.url}/api/v1/lds`, { headers: { authorization: `Bearer ${srv.token}` } });
    assert.equal(lds.status, 200);
    const ports = run('ss', ['-Hltnp'])
      .stdout.split('\n')
      .filter((l) => l.includes(`pid=${srv.proc.pid},`))
      .map((l) => Number(/:(\d+)\s/.exec(l)![1]));
    assert.deepEqual(
      ports.sort((a, b) => a - b),
      [srv.httpPort, ...srv.iscsiPorts].sort((a, b) => a - b),
    );
  });
});
