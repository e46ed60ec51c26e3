// The data-service commands through the CLI, as the contracts name them:
// snapshot create/list/restore/delete/delete-oldest, clone create, ld delete
// --fcvforce, ld set-qos, license unlock, and reading a snapshot over NBD.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { kuraCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
const { run: kura, json } = kuraCli(() => ({ env: srv.env, timeoutMs: 120_000 }));
const MiB = 2 ** 20;

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

test('snapshots, clones and I/O limits through the CLI, data checked over NBD', async () => {
  const refused = kura('snapshot', 'create', 'demo0');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^KURA-E2061: .*DynamicSnapVolume licence/m);
  for (const l of ['DynamicSnapVolume', 'VolumeClone', 'IOLoadManager']) json('license', 'unlock', l);
  json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
  const ssv = json<{ capacity: number; purpose: string }>('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
  assert.deepEqual([ssv.capacity, ssv.purpose], [4 * 2 ** 30, 'Solution Reserved Volume']);

  const c = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'demo0' });
  const v1 = crypto.randomBytes(2 * MiB);
  await c.write(0, v1, { fua: true });
  json('snapshot', 'create', 'demo0', '--name', 'one');
  await c.write(0, Buffer.alloc(MiB, 7), { fua: true });
  json('snapshot', 'create', 'demo0');
  const list = json<Array<{ name: string; generation: number; created: string; state: string }>>('snapshot', 'list', 'demo0');
  assert.deepEqual(
    list.map((s) => [s.name, s.generation, s.state]),
    [
      ['one', 1, 'active'],
      ['gen2', 2, 'active'],
    ],
  );
  assert.ok(list.every((s) => !Number.isNaN(Date.parse(s.created))));

  const snap = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'demo0@one' });
  assert.ok((await snap.read(0, 2 * MiB)).equals(v1), 'the snapshot holds the data of its time');
  snap.destroy();

  const ld = json<Record<string, string>>('ld', 'show', 'demo0');
  assert.equal(ld['snapshotAttribute'], 'EBV');
  assert.equal(ld['purpose'], 'Snapshot');
  assert.equal(ld['rplAttribute'], 'IV');

  json('clone', 'create', 'demo0@one', 'copy1');
  assert.equal(json<Record<string, string>>('ld', 'show', 'copy1')['cloneAttribute'], 'FCV');
  const cc = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'copy1' });
  assert.ok((await cc.read(0, 2 * MiB)).equals(v1), 'the clone starts with the snapshot data');
  cc.destroy();
  const noForce = kura('ld', 'delete', 'copy1');
  assert.equal(noForce.status, 1);
  assert.match(noForce.stderr, /^KURA-E2036: LD copy1 is a fast clone \(FCV\)\./m);
  assert.equal(kura('ld', 'delete', 'copy1', '--fcvforce').status, 0);

  json('snapshot', 'restore', 'demo0', 'one');
  assert.ok((await c.read(0, 2 * MiB)).equals(v1), 'restore brings the old data back');
  c.destroy();
  assert.deepEqual(
    json<Array<{ generation: number }>>('snapshot', 'delete-oldest', 'demo0', '--count', '1').map((s) => s.generation),
    [1],
  );
  assert.equal(kura('snapshot', 'delete', 'demo0', 'gen2').status, 0);
  assert.equal(json<Record<string, string>>('ld', 'show', 'demo0')['snapshotAttribute'], '---');

  const q = json<{ qos: { upper: number; lower: number } }>('ld', 'set-qos', 'demo0', '--upper', '5000', '--lower', '100');
  assert.deepEqual(q.qos, { upper: 5000, lower: 100 });
  const bad = kura('ld', 'set-qos', 'demo0', '--upper', '50', '--lower', '100');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^KURA-E2091/m);
});
