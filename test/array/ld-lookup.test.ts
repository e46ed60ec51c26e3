// LD lookups by name and number and the number a new LD gets, as users see them,
// across deletions and a restart: the engine keeps name and number indexes (so a
// lookup or create does not scan every LD), and these must say exactly what a
// scan of the LDs would; an iSCSI command resolves its LUN without a map of every LD.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ld-lookup-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function notFound(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2030' && /does not exist/.test(e.message));
}

test('LD numbers: lowest free after deletions, names and numbers resolve (and stop resolving) the same before and after a restart', async () => {
  let a = await KuraArray.open({ dataDir: dir });
  try {
    await a.pools.createPool({ name: 'p', size: 64 * MiB, raid: 'RAID0', pds: 1 });
    const made: number[] = [];
    for (let i = 0; i < 6; i++) made.push((await a.lds.createLd({ name: `v${i}`, pool: 'p', size: MiB })).number);
    assert.deepEqual(made, [0, 1, 2, 3, 4, 5]);
    await a.lds.deleteLd('v1');
    await a.lds.deleteLd(4);
    notFound(() => a.lds.getLd('v1'));
    notFound(() => a.lds.getLd(4));
    notFound(() => a.lds.getLd('0004h'));
    // The lowest free number comes back first, then the next gap, then past the end.
    assert.equal((await a.lds.createLd({ name: 'n1', pool: 'p', size: MiB })).number, 1);
    assert.equal((await a.lds.createLd({ name: 'n4', pool: 'p', size: MiB })).number, 4);
    assert.equal((await a.lds.createLd({ name: 'n6', pool: 'p', size: MiB })).number, 6);
    // A deleted name may be taken again, by another LD with its own number.
    await a.lds.deleteLd('v3');
    assert.equal((await a.lds.createLd({ name: 'v1', pool: 'p', size: MiB })).number, 3);
    await assert.rejects(
      a.lds.createLd({ name: 'v1', pool: 'p', size: MiB }),
      (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2031' && /LD v1 already exists/.test(e.message),
    );
    await a.close();
    a = await KuraArray.open({ dataDir: dir });
    const byName = new Map(a.lds.listLds().map((l) => [l.name, l.number]));
    assert.deepEqual(Object.fromEntries(byName), { v0: 0, n1: 1, v2: 2, v1: 3, n4: 4, v5: 5, n6: 6 });
    for (const [name, number] of byName) {
      assert.equal(a.lds.getLd(name).number, number);
      assert.equal(a.lds.getLd(number).name, name);
      assert.ok(a.frontEnd.exports().open(name), `export ${name}`);
    }
    notFound(() => a.lds.getLd('v3'));
    assert.equal(a.frontEnd.exports().open('v3'), undefined);
    await a.lds.deleteLd('v0');
    assert.equal((await a.lds.createLd({ name: 'z', pool: 'p', size: MiB })).number, 0);
    assert.equal((await a.lds.createLd({ name: 'y', pool: 'p', size: MiB })).number, 7);
  } finally {
    await a.close();
  }
});

test('the LD at one LUN (what an iSCSI command resolves) is the one the initiator LUN list shows, open and with host entries', async () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-ld-lun-'));
  const a = await KuraArray.open({ dataDir: d });
  const IQN_A = 'iqn.2026-12.io.kura:lookup-a';
  const IQN_B = 'iqn.2026-12.io.kura:lookup-b';
  const agree = (iqn: string, want: Array<[number, string]>) => {
    const luns = a.frontEnd.lunsFor(iqn);
    assert.deepEqual(
      [...luns.entries()].map(([l, x]): [number, string] => [l, x.name]).sort((p, q) => p[0] - q[0]),
      want,
    );
    for (let lun = 0; lun < 12; lun++) assert.equal(a.frontEnd.ldAtLun(iqn, lun)?.name, luns.get(lun)?.name, `${iqn} LUN ${lun}`);
  };
  try {
    await a.pools.createPool({ name: 'p', size: 64 * MiB, raid: 'RAID0', pds: 1 });
    for (const n of ['a0', 'a1', 'a2', 'a3']) await a.lds.createLd({ name: n, pool: 'p', size: MiB });
    await a.lds.deleteLd('a1');
    agree(IQN_A, [
      [0, 'a0'],
      [2, 'a2'],
      [3, 'a3'],
    ]);
    await a.hosts.createHost('hostA', [IQN_A]);
    agree(IQN_A, []);
    await a.hosts.mapLun('hostA', 'a3', 7);
    await a.hosts.mapLun('hostA', 'a0');
    agree(IQN_A, [
      [0, 'a0'],
      [7, 'a3'],
    ]);
    agree(IQN_B, []);
  } finally {
    await a.close();
    fs.rmSync(d, { recursive: true, force: true });
  }
});
