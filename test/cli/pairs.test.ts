// Replication pairs and the configuration lock through the CLI against a real
// `kura serve`: --json fields, --wait, errors with ids, the lock's refusals.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { kuraCli } from '../helpers/cli.js';
import { readAll } from '../helpers/nbd-io.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
const { run: kura, json } = kuraCli(() => ({ env: srv.env, timeoutMs: 120_000 }));

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

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

interface Pair {
  mv: string;
  rv: string;
  activity: string;
  sync: string;
  copyDiffBytes: number;
  separateDiffBytes: number;
  copiedBytes: number;
  progress: number;
  rvAccess: string;
  rvComplete: boolean;
}
const MiB = 2 ** 20;

test('pairs through the CLI: create, replicate --wait, separate, differences, restore, delete; data over NBD', async () => {
  json('pool', 'create', 'rp', '--size', '1GiB', '--raid', '1', '--pds', '2');
  json('ld', 'create', 'pmv', '--pool', 'rp', '--size', '64MiB');
  json('ld', 'create', 'prv', '--pool', 'rp', '--size', '64MiB');
  const locked = kura('pair', 'create', 'pmv', 'prv');
  assert.match(locked.stderr, /^KURA-E2061: Creating a replication pair needs the DynamicDataReplication licence/m);
  json('license', 'unlock', 'DynamicDataReplication');
  const missing = kura('pair', 'create', 'pmv', 'nope');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^KURA-E2030: LD nope does not exist/m);

  const mv = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'pmv' });
  const data = crypto.randomBytes(16 * MiB);
  await mv.write(0, data, { fua: true });
  const created = json<Pair>('pair', 'create', 'pmv', 'prv');
  assert.deepEqual([created.activity, created.sync, created.copyDiffBytes], ['separate', 'sep/end', 16 * MiB]);
  assert.equal(json<{ rplAttribute: string }>('ld', 'show', 'prv').rplAttribute, 'RV');
  assert.equal(json<{ rplAttribute: string }>('ld', 'show', 'pmv').rplAttribute, 'MV');

  const synced = json<Pair>('pair', 'replicate', 'pmv', 'prv', '--wait');
  assert.deepEqual([synced.activity, synced.sync, synced.progress, synced.copyDiffBytes, synced.copiedBytes], ['replicate', 'rpl/sync', 100, 0, 16 * MiB]);
  const notReady = kura('pair', 'delete', 'pmv', 'prv');
  assert.match(notReady.stderr, /^KURA-E2316: Pair pmv → prv is not separated \(rpl\/sync\)\.\n {2}Separate it first/m);

  const sep = json<Pair>('pair', 'separate', 'pmv', 'prv', '--rv-access', 'ro', '--wait');
  assert.deepEqual([sep.sync, sep.rvAccess, sep.rvComplete], ['sep/end', 'ro', true]);
  const rv = await NbdClient.connect({ host: '127.0.0.1', port: srv.nbdPort, exportName: 'prv' });
  assert.ok((await readAll(rv, 0, 16 * MiB)).equals(data), 'the RV holds the MV data');
  rv.destroy();
  assert.match(kura('pair', 'separate', 'pmv', 'prv').stderr, /^KURA-E2314: /m);

  const more = crypto.randomBytes(2 * MiB);
  await mv.write(32 * MiB, more, { fua: true });
  const shown = json<Pair>('pair', 'show', 'pmv', 'prv');
  assert.deepEqual([shown.separateDiffBytes, shown.copyDiffBytes], [2 * MiB, 2 * MiB]);
  const human = kura('pair', 'show', 'pmv', 'prv');
  // iSMrc_query's layout and spelling (VVM L1724-1739).
  assert.match(human.stdout, /^Activity State {9}separate$/m);
  assert.match(human.stdout, /^Sync State {13}separated$/m);
  assert.match(human.stdout, /^Separate Diff {10}2048KB$/m);
  assert.match(human.stdout, /^RV Access {14}ro$/m);

  // Without --json on a pipe, --wait prints plain progress lines, then the result.
  const again = kura('pair', 'replicate', 'pmv', 'prv', '--wait');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^pmv → prv rpl\/exec \d+% /m);
  assert.match(again.stdout, /in sync \(rpl\/sync\); 2\.0 MiB copied\./);

  json('pair', 'separate', 'pmv', 'prv');
  await mv.write(0, Buffer.alloc(4 * MiB, 0x5a), { fua: true });
  const restoring = json<Pair>('pair', 'restore', 'pmv', 'prv', '--wait');
  assert.deepEqual([restoring.activity, restoring.sync, restoring.progress], ['restore', 'rst/sync', 100]);
  const expect = Buffer.concat([data, Buffer.alloc(16 * MiB), more]);
  assert.ok((await readAll(mv, 0, 34 * MiB)).equals(expect), 'the restore brought the RV data back to the MV');
  mv.destroy();

  assert.equal(json<Pair[]>('pair', 'list').length, 1);
  assert.match(kura('pair', 'delete', 'prv', 'pmv').stderr, /^KURA-E2308: /m);
  const gone = json<Pair>('pair', 'delete', 'pmv', 'prv', '--force');
  assert.equal(gone.sync, 'rst/sync');
  assert.match(kura('pair', 'list').stdout, /No replication pairs/);
  assert.equal(json<{ rplAttribute: string }>('ld', 'show', 'prv').rplAttribute, 'IV');
  json('ld', 'delete', 'pmv');
  json('ld', 'delete', 'prv');
});
