// The NBD access rule on the array, in-process: who may list and open which LD
// as access control, keys, mappings and plain access change, across a restart,
// and when an LD number is reused after a delete.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;
const PLAIN = { identity: null };
const WEB = { identity: 'web' };

function names(a: KuraArray, peer: { identity: string | null }): string[] {
  return a.frontEnd
    .nbdExports()
    .list(peer)
    .map((e) => e.name)
    .sort();
}

test('NBD exports by peer: all without hosts; mapped LDs for a keyed host; plain LDs for everybody; kept across restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-nbdacl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'p', size: 32 * MiB });
  for (const n of ['web1', 'db1', 'pub']) await a.lds.createLd({ name: n, pool: 'p', size: 4 * MiB });
  assert.deepEqual(names(a, PLAIN), ['db1', 'pub', 'web1']);

  await a.hosts.createHost('web', []);
  await a.hosts.mapLun('web', 'web1');
  assert.deepEqual(names(a, PLAIN), [], 'plain clients see nothing once access control is on');
  assert.deepEqual(names(a, WEB), [], 'an identity without a key is nobody');
  assert.equal(a.frontEnd.nbdExports().open('web1', WEB), undefined);
  assert.equal(a.frontEnd.nbdPsk('web'), undefined);

  const key = crypto.randomBytes(32);
  await a.hosts.setHostNbdPsk('web', key.toString('hex'));
  assert.ok(a.frontEnd.nbdPsk('web')!.equals(key));
  assert.equal(a.frontEnd.nbdPsk('nobody'), undefined);
  assert.deepEqual(names(a, WEB), ['web1']);
  assert.ok(a.frontEnd.nbdExports().open('web1', WEB));
  assert.equal(a.frontEnd.nbdExports().open('db1', WEB), undefined);

  await a.hosts.setLdNbdPlain('pub', true);
  assert.deepEqual(names(a, PLAIN), ['pub']);
  assert.deepEqual(names(a, WEB), ['pub', 'web1']);
  assert.equal(a.lds.getLd('pub').nbdPlain, true);
  assert.deepEqual(a.hosts.listHosts()[0]!.nbdPsk, { identity: 'web' });
  assert.ok(!JSON.stringify(a.hosts.listHosts()).includes(key.toString('hex')), 'the key is not in HostInfo');
  await a.close();

  const b = await KuraArray.open({ dataDir: dir });
  t.after(() => b.close());
  assert.ok(b.frontEnd.nbdPsk('web')!.equals(key), 'the key survives a restart');
  assert.deepEqual(names(b, PLAIN), ['pub']);
  assert.deepEqual(names(b, WEB), ['pub', 'web1']);

  // A deleted LD takes its plain access with it: an LD that reuses its number starts closed.
  const pubNumber = b.lds.getLd('pub').number;
  await b.lds.deleteLd('pub');
  const again = await b.lds.createLd({ name: 'fresh', pool: 'p', size: 4 * MiB });
  if (again.number === pubNumber) assert.equal(again.nbdPlain, false);
  assert.deepEqual(names(b, PLAIN), []);

  // Keys: hex, 16 to 256 bytes, one per host.
  await b.hosts.createHost('db', []);
  const refused = (id: string) => (e: unknown) => e instanceof KuraError && e.id === id;
  await assert.rejects(b.hosts.setHostNbdPsk('db', 'xyz'), refused('KURA-E6120'));
  await assert.rejects(b.hosts.setHostNbdPsk('db', crypto.randomBytes(8).toString('hex')), refused('KURA-E6121'));
  await assert.rejects(b.hosts.setHostNbdPsk('db', key.toString('hex')), refused('KURA-E6123'));
  await assert.rejects(b.hosts.clearHostNbdPsk('db'), refused('KURA-E6124'));
  await b.hosts.clearHostNbdPsk('web');
  assert.deepEqual(names(b, WEB), []);
});
