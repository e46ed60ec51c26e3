// Array rules as the seed's Virtual Volume manual (VVM, ../shared/seeds/
// virtual-volume-manual.txt; L = its line numbers) defines them: the SSV's
// licences, snapshots of snapshots, ESV access modes and status, pairs of ESVs
// and expansion of paired LDs, the per-LD lock, the pool's I/O control mode and
// the I/O limits of new clones.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { KuraError } from '../../src/errors.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function rejectsWith(id: string, text?: RegExp) {
  return (e: unknown) => {
    if (!(e instanceof KuraError)) throw e;
    assert.equal(e.id, id, `${e.id}: ${e.message}`);
    if (text) assert.match(e.message, text);
    return true;
  };
}

type After = { after(fn: () => void | Promise<void>): void };

/** A new array with a pool `p` (sparse PDs, so 8 GiB cost nothing); closed and removed after the test. */
async function array(t: After, opts: { licences?: string[]; ssv?: boolean; chunk?: number } = {}): Promise<{ a: KuraArray; dir: string; reopen(): Promise<KuraArray> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-seed-'));
  const box = { a: await KuraArray.open({ dataDir: dir }) };
  t.after(async () => {
    // A test may have closed it already.
    await box.a.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await box.a.createPool({ name: 'p', size: 8 * GiB, raid: 'RAID0', pds: 1, chunkSize: opts.chunk });
  for (const l of opts.licences ?? []) await box.a.unlockLicense(l);
  if (opts.ssv) await box.a.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  return {
    get a() {
      return box.a;
    },
    dir,
    async reopen() {
      await box.a.close();
      box.a = await KuraArray.open({ dataDir: dir });
      return box.a;
    },
  };
}

test('SSV (L239): refused while VolumeClone and DynamicSnapVolume are both locked; either one suffices; shown as fully allocated', async (t) => {
  const { a } = await array(t);
  await assert.rejects(a.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' }), rejectsWith('KURA-E2600', /VolumeClone or DynamicSnapVolume/));
  assert.equal(a.listLds().length, 0, 'nothing was created');
  assert.equal(a.getPool('p').used, 0, 'no space was taken');
  await a.unlockLicense('VolumeClone');
  const ssv = await a.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  assert.equal(ssv.allocated, ssv.capacity);
  assert.equal(ssv.capacityAllocation, 'actual', 'the SSV is thick: not a virtual allocation');
  await a.createLd({ name: 'thin', pool: 'p', size: 64 * MiB });
  assert.equal(a.getLd('thin').capacityAllocation, 'virtual');

  const other = await array(t, { licences: ['DynamicSnapVolume'] });
  const s2 = await other.a.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  assert.equal(s2.capacityAllocation, 'actual');
});
