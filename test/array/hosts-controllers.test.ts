// Access control (host entries, LUN maps) and controller ownership on the array.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { ArrayEvent } from '../../src/array/agent.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;
const IQN_A = 'iqn.1994-05.com.redhat:host-a';
const IQN_B = 'iqn.1994-05.com.redhat:host-b';

async function fresh(): Promise<{ a: KuraArray; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-array-'));
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'p', size: 16 * MiB });
  await a.lds.createLd({ name: 'ld0', pool: 'p', size: 4 * MiB });
  await a.lds.createLd({ name: 'ld1', pool: 'p', size: 4 * MiB });
  return { a, dir };
}

test('every initiator sees every LD at LUN = LD number until the first host entry, then only its own, until access control is stopped', async (t) => {
  const { a, dir } = await fresh();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(
    [...a.frontEnd.lunsFor(IQN_A).entries()].map(([l, d]) => [l, d.name]),
    [
      [0, 'ld0'],
      [1, 'ld1'],
    ],
  );
  await a.hosts.createHost('hostA', [IQN_A]);
  assert.equal(a.frontEnd.lunsFor(IQN_A).size, 0);
  assert.equal(a.frontEnd.lunsFor(IQN_B).size, 0, 'an unknown initiator sees nothing once hosts exist');
  await a.hosts.mapLun('hostA', 'ld1', 5);
  await a.hosts.mapLun('hostA', 'ld0');
  assert.deepEqual([...a.frontEnd.lunsFor(IQN_A).entries()].map(([l, d]) => [l, d.name]).sort(), [
    [0, 'ld0'],
    [5, 'ld1'],
  ]);
  await assert.rejects(a.hosts.mapLun('hostA', 'ld1', 6), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2048');
  await assert.rejects(a.hosts.createHost('hostB', [IQN_A]), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2044');
  await assert.rejects(a.hosts.createHost('hostB', ['not-an-iqn']), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2043');
  await a.close();
  // Persisted across restart; deleting an LD (mapped: with force) removes its mappings.
  const b = await KuraArray.open({ dataDir: dir });
  assert.deepEqual(b.hosts.listHosts(), [
    {
      name: 'hostA',
      initiators: [IQN_A],
      luns: [
        { lun: 0, ld: 'ld0', ldNumber: 0 },
        { lun: 5, ld: 'ld1', ldNumber: 1 },
      ],
      chap: null,
      nbdPsk: null,
    },
  ]);
  await b.lds.deleteLd('ld1', { force: true });
  assert.deepEqual(b.hosts.listHosts()[0]!.luns, [{ lun: 0, ld: 'ld0', ldNumber: 0 }]);
  await b.hosts.unmapLun('hostA', 0);
  await b.hosts.deleteHost('hostA');
  assert.equal(b.frontEnd.lunsFor(IQN_B).size, 0, 'no hosts left: access control stays on, nobody sees anything');
  assert.deepEqual(b.hosts.accessControl(), { enabled: true, hosts: 0 });
  await assert.rejects(b.hosts.setAccessControl(false), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2524');
  await b.hosts.setAccessControl(false, true);
  assert.equal(b.frontEnd.lunsFor(IQN_B).size, 1, 'stopped explicitly: open again');
  await b.close();
});

test('a controller going down moves its LDs to the survivor and back', async (t) => {
  const { a, dir } = await fresh();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const events: ArrayEvent[] = [];
  a.events.onEvent((e) => events.push(e));
  const changed: number[][] = [];
  const portEvents: string[] = [];
  a.frontEnd.registerFrontEnd({
    portDown: (h, p) => portEvents.push(`down ${h}:${p}`),
    portUp: async (h, p) => void portEvents.push(`up ${h}:${p}`),
    aluaChanged: (lds) => changed.push(lds),
  });
  assert.deepEqual(
    a.lds.listLds().map((l) => [l.name, l.defaultOwner, l.currentOwner]),
    [
      ['ld0', 0, 0],
      ['ld1', 1, 1],
    ],
  );
  await a.controllers.setControllerState(0, 'down');
  assert.deepEqual(
    a.lds.listLds().map((l) => l.currentOwner),
    [1, 1],
  );
  assert.deepEqual(portEvents, ['down 127.0.0.1:3260']);
  assert.deepEqual(changed, [[0, 1]]);
  assert.ok(events.some((e) => e.id === 'KURA-E2052' && /1 LD\(s\) moved/.test(e.text)));
  assert.deepEqual(
    a.controllerTable.portGroups(0).map((g) => g.state),
    ['unavailable', 'active/optimized'],
  );
  await assert.rejects(a.controllers.setPortState('127.0.0.1', 3260, 'up'), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2054');
  await a.controllers.setControllerState(0, 'online');
  assert.deepEqual(
    a.lds.listLds().map((l) => l.currentOwner),
    [0, 1],
  );
  assert.deepEqual(
    a.controllerTable.portGroups(0).map((g) => g.state),
    ['active/optimized', 'active/non-optimized'],
  );
  await a.controllers.setPortState('127.0.0.1', 3261, 'down');
  assert.equal(a.controllers.listControllers()[1]!.ports[0]!.state, 'down');
  await assert.rejects(a.controllers.setControllerState(2, 'down'), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2050');
  await a.close();
});
