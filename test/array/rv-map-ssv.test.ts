// Two configuration rules: an RV of a replication pair is never mapped to a host,
// whichever comes first (pair create of a mapped LD, or host map of an RV); and the
// 4 GiB solution reserved volume is not created in a pool with less free space
// than that unless forced (array, REST API and CLI).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { KuraError } from '../../src/errors.js';
import { startServer } from '../helpers/server.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function rejectsWith(id: string, text?: RegExp) {
  return (e: unknown) => e instanceof KuraError && e.id === id && (text === undefined || text.test(e.message));
}

async function array(t: { after(fn: () => void | Promise<void>): void }, poolSize: number): Promise<KuraArray> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-rvmap-'));
  const a = await KuraArray.open({ dataDir: dir });
  t.after(async () => {
    await a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await a.pools.createPool({ name: 'p', size: poolSize, raid: 'RAID0', pds: 1 });
  return a;
}

test('an RV is never mapped to a host: host map after pair create and pair create after host map are both refused', async (t) => {
  const a = await array(t, 256 * MiB);
  await a.licenses.unlockLicense('DynamicDataReplication');
  for (const n of ['mv', 'rv', 'mv2', 'rv2']) await a.lds.createLd({ name: n, pool: 'p', size: 16 * MiB });
  await a.hosts.createHost('h', ['iqn.2026-11.io.kura:h']);

  // Pair first, then map.
  await a.pairs.createPair('mv', 'rv');
  await assert.rejects(a.hosts.mapLun('h', 'rv', 0), rejectsWith('KURA-E2505', /LD rv is the RV of replication pair mv → rv/));
  assert.deepEqual(a.hosts.listHosts()[0]!.luns, [], 'nothing was mapped');
  await a.pairs.replicatePair('mv', 'rv');
  await assert.rejects(a.hosts.mapLun('h', 'rv'), rejectsWith('KURA-E2505'), 'refused in every pair state');
  await a.pairs.separatePair('mv', 'rv');
  await assert.rejects(a.hosts.mapLun('h', 'rv'), rejectsWith('KURA-E2505'), 'refused while separated too');
  await a.hosts.mapLun('h', 'mv', 0);

  // Map first, then pair.
  await a.hosts.mapLun('h', 'rv2', 1);
  await assert.rejects(a.pairs.createPair('mv2', 'rv2'), rejectsWith('KURA-E2305'));
  await a.hosts.unmapLun('h', 1);
  await a.pairs.createPair('mv2', 'rv2');

  // Once unpaired it is an ordinary LD again.
  await a.pairs.deletePair('mv', 'rv');
  const h = await a.hosts.mapLun('h', 'rv', 2);
  assert.deepEqual(h.luns.map((l) => l.ld).sort(), ['mv', 'rv']);
});

test('the SSV needs 4 GiB free in its pool: refused with the free space named, created with force (array)', async (t) => {
  const a = await array(t, 2 * GiB);
  // The SSV needs one of its licences first (VVM L239).
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await assert.rejects(
    a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' }),
    rejectsWith('KURA-E2506', /Pool p has 2\.0 GiB free; the solution reserved volume needs 4\.0 GiB/),
  );
  assert.equal(a.lds.listLds().length, 0, 'nothing was created');
  assert.equal(a.pools.getPool('p').used, 0, 'no space was taken');
  const l = await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv', force: true });
  assert.equal(l.purpose, 'Solution Reserved Volume');
  assert.equal(l.capacity, 4 * GiB);
  assert.ok(a.pools.getPool('p').free > 0, "forced, the SSV does not take the pool's last free chunk");
  await a.lds.createLd({ name: 'v', pool: 'p', size: 16 * MiB });
  const w = a.frontEnd.exports().open('v')!;
  await w.write(0, Buffer.alloc(MiB, 1));
});

test('the SSV space check through the CLI and the API: a warning and exit 1, then --force', { timeout: 60_000 }, async (t) => {
  const srv = await startServer({ args: ['--no-demo'] });
  t.after(() => srv.cleanup());
  const kura = srv.cli.run;
  assert.equal(kura('pool', 'create', 'small', '--size', '1GiB', '--raid', '0', '--pds', '1').status, 0);
  assert.equal(kura('license', 'unlock', 'VolumeClone').status, 0);
  const refused = kura('ld', 'create', 'ssv', '--pool', 'small', '--attr', 'ssv');
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^KURA-E2506: Pool small has 1\.0 GiB free; the solution reserved volume needs 4\.0 GiB\./m);
  assert.match(refused.stderr, /--force/);
  const api = await fetch(`${srv.url}/api/v1/lds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'ssv', pool: 'small', attr: 'ssv' }),
  });
  assert.equal(api.status, 507);
  assert.equal(((await api.json()) as { error: { id: string } }).error.id, 'KURA-E2506');
  const forced = kura('ld', 'create', 'ssv', '--pool', 'small', '--attr', 'ssv', '--force', '--json');
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal((JSON.parse(forced.stdout) as { purpose: string }).purpose, 'Solution Reserved Volume');
  const events = kura('events', '--json').stdout;
  assert.match(events, /KURA-W2507/);
});
