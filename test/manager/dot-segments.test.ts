// "." and ".." never name anything (issue 8, item 1). Against a real `kura
// serve`: the CLI refuses them before sending (fetch would resolve them and
// reach the parent), the API refuses them as path parameters, raw or
// percent-encoded, before any handler runs and matches other dot segments
// literally, and no object can be created with such a name. Each time the
// parent object (LD, host) is checked to be still there, with its data.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const MiB = 2 ** 20;
const IQN = 'iqn.2026-01.test.example:ha';
let srv: TestServer;
let cwd: string;
let pattern: Buffer;
const { run: kura, json: kuraJson } = kuraCli(() => ({ env: srv.env, cwd }));

const raw = (method: string, p: string, body?: unknown) => rawRequest(srv.url, { method, path: p, token: srv.token, body });

/** The LD and the host the dot segments would reach are still there, the LD with its data. */
async function parentsSurvive(what: string): Promise<void> {
  const ld = await raw('GET', '/api/v1/lds/victim');
  assert.equal(ld.status, 200, `${what}: LD victim is gone: ${ld.text}`);
  const hosts = (await raw('GET', '/api/v1/hosts')).json as Array<{ name: string; initiators: string[] }>;
  assert.deepEqual(hosts.find((h) => h.name === 'hA')?.initiators, [IQN], `${what}: host hA or its initiator is gone`);
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'victim' });
  try {
    assert.ok((await c.read(0, MiB)).equals(pattern), `${what}: the data of LD victim changed`);
  } finally {
    c.destroy();
  }
}

before(async () => {
  srv = await startServer();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-cwd-'));
  kuraJson('ld', 'create', 'victim', '--pool', 'pool0', '--size', '64MiB');
  kuraJson('host', 'create', 'hA', '--initiator', IQN);
  // Access control is on from here: NBD reaches victim only once it is opened to plain clients.
  kuraJson('ld', 'set-nbd-plain', 'victim', 'on');
  pattern = crypto.randomBytes(MiB);
  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'victim' });
  await c.write(0, pattern, { fua: true });
  c.destroy();
});
after(async () => {
  await srv.cleanup();
  fs.rmSync(cwd, { recursive: true, force: true });
});

describe('the CLI never sends a dot segment', () => {
  test('snapshot delete/restore, host remove-initiator, ld/pool show and delete with "." or ".." exit 2 with KURA-E4030', async () => {
    const cases = [
      ['snapshot', 'delete', 'victim', '..'],
      ['snapshot', 'delete', 'victim', '.'],
      ['snapshot', 'restore', 'victim', '..'],
      ['snapshot', 'list', '..'],
      ['host', 'remove-initiator', 'hA', '..'],
      ['host', 'remove-initiator', 'hA', '.'],
      ['host', 'delete', '..'],
      ['host', 'unmap', '..', '0'],
      ['ld', 'delete', '..'],
      ['ld', 'show', '.'],
      ['ld', 'expand', '..', '--size', '1GiB'],
      ['pool', 'show', '..'],
      ['pool', 'delete', '.'],
      ['clone', 'create', '..', 'c1'],
      ['pair', 'show', 'victim', '..'],
    ];
    for (const args of cases) {
      const r = kura(...args);
      assert.equal(r.status, 2, `kura ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '', `kura ${args.join(' ')}: stdout`);
      assert.match(r.stderr, /^KURA-E4030: .*"\.\.?".*\n {2}\S/, `kura ${args.join(' ')}: ${r.stderr}`);
      await parentsSurvive(`kura ${args.join(' ')}`);
    }
  });

  test('names "." and ".." are refused at creation before anything is sent', async () => {
    for (const args of [
      ['ld', 'create', '..', '--pool', 'pool0', '--size', '1GiB'],
      ['pool', 'create', '.', '--size', '1GiB'],
      ['host', 'create', '..'],
      ['snapshot', 'create', 'victim', '--name', '..'],
      ['clone', 'create', 'victim', '.'],
    ]) {
      const r = kura(...args);
      assert.equal(r.status, 2, `kura ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, /^KURA-E4030: /, `kura ${args.join(' ')}: ${r.stderr}`);
    }
    const lds = kuraJson<Array<{ name: string }>>('ld', 'list');
    assert.deepEqual(lds.map((l) => l.name).sort(), ['demo0', 'victim']);
  });
});

describe('the API matches dot segments literally and refuses them as parameters', () => {
  test('a path parameter "." or "..", raw or percent-encoded, is 400 KURA-E4030 and reaches no handler', async () => {
    const paths: Array<[string, string]> = [
      ['DELETE', '/api/v1/lds/victim/snapshots/..'],
      ['DELETE', '/api/v1/lds/victim/snapshots/%2e%2e'],
      ['DELETE', '/api/v1/lds/victim/snapshots/%2E%2e'],
      ['DELETE', '/api/v1/lds/victim/snapshots/.%2e'],
      ['DELETE', '/api/v1/lds/victim/snapshots/.'],
      ['DELETE', '/api/v1/lds/victim/snapshots/%2e'],
      ['POST', '/api/v1/lds/victim/snapshots/../restore'],
      ['DELETE', '/api/v1/hosts/hA/initiators/..'],
      ['DELETE', '/api/v1/hosts/hA/initiators/%2e%2e'],
      ['DELETE', '/api/v1/hosts/hA/luns/..'],
      ['DELETE', '/api/v1/hosts/..'],
      ['DELETE', '/api/v1/lds/..'],
      ['DELETE', '/api/v1/lds/%2E'],
      ['GET', '/api/v1/pools/..'],
      ['DELETE', '/api/v1/pairs/victim/..'],
      ['DELETE', '/api/v1/lds/victim%2F..'],
      ['DELETE', '/api/v1/lds/..%2Fvictim'],
      ['POST', '/api/v1/licenses/../unlock'],
    ];
    for (const [m, p] of paths) {
      const r = await raw(m, p);
      assert.equal(r.status, 400, `${m} ${p}: ${r.status} ${r.text}`);
      assert.equal(r.error?.id, 'KURA-E4030', `${m} ${p}: ${r.text}`);
      assert.ok(r.error.message.length > 10 && r.error.action.length > 10);
    }
    await parentsSurvive('path parameters');
  });

  test('dot segments elsewhere are not resolved: the path matches no route (404)', async () => {
    for (const [m, p] of [
      ['DELETE', '/api/v1/lds/victim/snapshots/../..'],
      ['DELETE', '/api/v1/hosts/hA/initiators/../..'],
      ['GET', '/api/v1/../v1/lds'],
      ['DELETE', '/api/v1/lds/victim/x/..'],
      ['DELETE', '/api/v1/lds/victim/%2e%2e/%2e%2e/lds/victim'],
      ['DELETE', '/api/v1/lds/victim/./'],
    ] as Array<[string, string]>) {
      const r = await raw(m, p);
      assert.equal(r.status, 404, `${m} ${p}: ${r.status} ${r.text}`);
      assert.equal(r.error?.id, 'KURA-E4006', `${m} ${p}: ${r.text}`);
    }
    await parentsSurvive('literal paths');
  });

  test('the absolute form of a request target is matched the same way', async () => {
    const r = await raw('DELETE', `${srv.url}/api/v1/lds/victim/snapshots/..`);
    assert.equal(r.error?.id, 'KURA-E4030', r.text);
    assert.equal((await raw('GET', `${srv.url}/api/v1/lds/victim`)).status, 200);
    await parentsSurvive('absolute form');
  });
});

describe('one name rule at creation', () => {
  test('pools, LDs and hosts named ".", ".." or "a/b" are refused; IQNs with "/" too', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/v1/pools', { name: '..', size: '1GiB' }, 'KURA-E4030'],
      ['POST', '/api/v1/pools', { name: '.', size: '1GiB' }, 'KURA-E4030'],
      ['POST', '/api/v1/pools', { name: 'a/b', size: '1GiB' }, 'KURA-E2010'],
      ['POST', '/api/v1/lds', { name: '..', pool: 'pool0', size: '1GiB' }, 'KURA-E4030'],
      ['POST', '/api/v1/lds', { name: '.', pool: 'pool0', size: '1GiB' }, 'KURA-E4030'],
      ['POST', '/api/v1/lds', { name: 'a/b', pool: 'pool0', size: '1GiB' }, 'KURA-E2010'],
      ['POST', '/api/v1/hosts', { name: '..' }, 'KURA-E4030'],
      ['POST', '/api/v1/hosts', { name: '.' }, 'KURA-E4030'],
      ['POST', '/api/v1/hosts', { name: 'a/b' }, 'KURA-E2041'],
      ['POST', '/api/v1/hosts', { name: 'hB', initiators: ['iqn.2026-01.a/../b'] }, 'KURA-E2043'],
      ['POST', '/api/v1/hosts/hA/initiators', { iqn: '..' }, 'KURA-E2043'],
      ['POST', '/api/v1/hosts/hA/initiators', { iqn: 'iqn.2026-01.x:a/..' }, 'KURA-E2043'],
      ['POST', '/api/v1/hosts/hA/initiators', { iqn: 'iqn.2026-01.x:a b' }, 'KURA-E2043'],
    ];
    for (const [m, p, body, id] of cases) {
      const r = await raw(m, p, body);
      assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.error?.id, id, `${m} ${p} ${JSON.stringify(body)}: ${r.text}`);
    }
    const pools = (await raw('GET', '/api/v1/pools')).json as Array<{ name: string }>;
    assert.deepEqual(
      pools.map((p) => p.name),
      ['pool0'],
    );
    const hosts = (await raw('GET', '/api/v1/hosts')).json as Array<{ name: string }>;
    assert.deepEqual(
      hosts.map((h) => h.name),
      ['hA'],
    );
  });

  test('snapshots and clones named "." or ".." (or a number) are refused', async () => {
    for (const l of ['DynamicSnapVolume', 'VolumeClone']) assert.equal((await raw('POST', `/api/v1/licenses/${l}/unlock`)).status, 200);
    assert.equal((await raw('POST', '/api/v1/pools', { name: 'sys', size: '5GiB', raid: 'RAID0', pds: 1 })).status, 201);
    assert.equal((await raw('POST', '/api/v1/lds', { name: 'ssv', pool: 'sys', attr: 'ssv' })).status, 201);
    for (const [p, body, id] of [
      ['/api/v1/lds/victim/snapshots', { name: '..' }, 'KURA-E4030'],
      ['/api/v1/lds/victim/snapshots', { name: '.' }, 'KURA-E4030'],
      ['/api/v1/lds/victim/snapshots', { name: 'a/b' }, 'KURA-E2074'],
      // A snapshot named "2" could not be told from generation 2.
      ['/api/v1/lds/victim/snapshots', { name: '2' }, 'KURA-E2074'],
      ['/api/v1/lds/victim/clones', { name: '..' }, 'KURA-E4030'],
      ['/api/v1/lds/victim/clones', { name: '.' }, 'KURA-E4030'],
    ] as Array<[string, unknown, string]>) {
      const r = await raw('POST', p, body);
      assert.equal(r.status, 400, `${p} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.error?.id, id, `${p} ${JSON.stringify(body)}: ${r.text}`);
    }
    assert.deepEqual((await raw('GET', '/api/v1/lds/victim/snapshots')).json, []);
    // A real snapshot, then the dot segments again: the snapshot and the LD both stay.
    assert.equal((await raw('POST', '/api/v1/lds/victim/snapshots', { name: 's1' })).status, 201);
    assert.equal(kura('snapshot', 'delete', 'victim', '..').status, 2);
    assert.equal((await raw('DELETE', '/api/v1/lds/victim/snapshots/..')).error?.id, 'KURA-E4030');
    const snaps = (await raw('GET', '/api/v1/lds/victim/snapshots')).json as Array<{ name: string }>;
    assert.deepEqual(
      snaps.map((s) => s.name),
      ['s1'],
    );
    await parentsSurvive('with a snapshot');
  });
});
