// Bind and unbind: reference counted per host and per PE, many-to-many, the
// binding (and its subsidiary LU id) destroyed only at count 0, unbind from
// all hosts, batch results per VVOL, and the seed's messages when the array
// step fails (VVM L1932, L1980).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BindingTable } from '../../src/vvol/bindings.js';
import { MAX_BIND_PER_REQUEST } from '../../src/vvol/limits.js';
import { GiB, fixture, hostSeeing, rejectsWith } from './fixture.js';

test('binding table: counts per host, destroyed at 0, lowest free subsidiary id', () => {
  const t = new BindingTable();
  const a = t.bind('v1', 7, 'h1', t.freeSlu(7)!);
  assert.deepEqual([a.created, a.hostAdded, a.binding.slu], [true, true, 1]);
  assert.deepEqual([t.bind('v1', 7, 'h1', 99).hostAdded, t.bind('v1', 7, 'h2', 99).hostAdded], [false, true]);
  assert.equal(t.get('v1', 7)!.slu, 1, 'an existing binding keeps its id');
  assert.equal(t.bind('v2', 7, 'h1', t.freeSlu(7)!).binding.slu, 2);
  const b = t.get('v1', 7)!;
  assert.deepEqual(t.unbind(b, 'h1'), { binding: b, hostRemoved: false, destroyed: false });
  assert.equal(t.unbind(b, 'h1').hostRemoved, true);
  assert.equal(t.unbind(b, 'h2').destroyed, true);
  assert.equal(t.freeSlu(7), 1, 'a destroyed binding frees its id');
  const round = BindingTable.fromRows(t.all().flatMap((x) => t.rows(x)));
  assert.deepEqual(
    round.all().map((x) => [x.vvol, x.pe, x.slu, [...x.hosts]]),
    [['v2', 7, 2, [['h1', 1]]]],
  );
});

test('bind: reference counted per host, many hosts share one subsidiary LU, gone at count 0', async (t) => {
  const f = fixture(t);
  const pe0 = await f.provider.createPe({ name: 'pe0', pool: 'sc0', owner: 0 });
  const pe1 = await f.provider.createPe({ name: 'pe1', pool: 'sc0', owner: 1 });
  hostSeeing(f, 'esx1', [pe0.ld, pe1.ld]);
  hostSeeing(f, 'esx2', [pe0.ld, pe1.ld]);
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  const w = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;

  const [r1] = await f.provider.bind([v.id], 'esx1');
  assert.ok(r1!.ok);
  assert.deepEqual({ ...r1!.value, pe: undefined }, { vvol: v.id, pe: undefined, peLd: pe0.ld, lun: 0, slu: 1, count: 1 });
  assert.deepEqual([...f.array.seenBehind('esx1', pe0.ld)], [[1, v.ld]], 'esx1 sees the VVOL as subsidiary LU 1 of pe0');
  // The second VVOL goes to the PE carrying fewer bindings.
  const [r2] = await f.provider.bind([w.id], 'esx1');
  assert.deepEqual(r2!.ok && [r2!.value.peLd, r2!.value.lun, r2!.value.slu], [pe1.ld, 1, 1]);
  // A second bind by the same host counts; another host joins the same binding.
  const [again] = await f.provider.bind([v.id], 'esx1');
  assert.equal(again!.ok && again!.value.count, 2);
  const [other] = await f.provider.bind([v.id], 'esx2');
  assert.deepEqual(other!.ok && [other!.value.peLd, other!.value.slu, other!.value.count], [pe0.ld, 1, 1]);
  assert.deepEqual(f.provider.bindingsOf(v.id), [{ pe: pe0.id, peLd: pe0.ld, slu: 1, hosts: { esx1: 2, esx2: 1 } }]);
  assert.deepEqual(f.provider.getVvol(v.id).boundPes, [pe0.ld], "iSMview's Bound PE List");

  let [u] = await f.provider.unbind([v.id], 'esx1');
  assert.deepEqual(u!.ok && u!.value, { count: 1, destroyed: false });
  assert.deepEqual([...f.array.seenBehind('esx1', pe0.ld)], [[1, v.ld]], 'still bound once by esx1');
  [u] = await f.provider.unbind([v.id], 'esx1');
  assert.deepEqual(u!.ok && u!.value, { count: 0, destroyed: false });
  assert.deepEqual([...f.array.seenBehind('esx1', pe0.ld)], [], 'esx1 no longer sees it');
  assert.deepEqual([...f.array.seenBehind('esx2', pe0.ld)], [[1, v.ld]], 'esx2 still does');
  [u] = await f.provider.unbind([v.id], 'esx2');
  assert.deepEqual(u!.ok && u!.value, { count: 0, destroyed: true });
  assert.deepEqual(f.provider.bindingsOf(v.id), []);
  [u] = await f.provider.unbind([v.id], 'esx2');
  assert.ok(!u!.ok && u!.error.id === 'KURA-E3106');
});

test('bind: many-to-many — a VVOL bound through different PEs for hosts that see different PEs', async (t) => {
  const f = fixture(t);
  const pe0 = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  const pe1 = await f.provider.createPe({ name: 'pe1', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe0.ld]);
  hostSeeing(f, 'esx2', [pe1.ld]);
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  await f.provider.bind([v.id], 'esx1');
  await f.provider.bind([v.id], 'esx2');
  assert.deepEqual(
    f.provider.bindingsOf(v.id).map((b) => [b.peLd, b.slu, b.hosts]),
    [
      [pe0.ld, 1, { esx1: 1 }],
      [pe1.ld, 1, { esx2: 1 }],
    ],
  );
  assert.deepEqual(f.provider.getVvol(v.id).boundPes, [pe0.ld, pe1.ld]);
  // Unbind from all hosts drops every reference at once.
  await f.provider.bind([v.id], 'esx1');
  const [all] = await f.provider.unbindAllHosts([v.id]);
  assert.deepEqual(all!.ok && all!.value, { hosts: ['esx1', 'esx2'] });
  assert.deepEqual(f.provider.bindingsOf(v.id), []);
  assert.equal(f.array.subsidiaries.size, 0);
});

test('bind: batch results per VVOL, request limits, hosts without PEs, array failures (VVM L1932, L1980)', async (t) => {
  const f = fixture(t);
  const pe0 = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe0.ld]);
  f.array.addHost('lonely');
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  const ghost = f.provider.ids().vvol(0x777);
  const r = await f.provider.bind([v.id, ghost], 'esx1');
  assert.deepEqual(
    r.map((x) => [x.id, x.ok, x.ok ? x.value.slu : x.error.id]),
    [
      [v.id, true, 1],
      [ghost, false, 'KURA-E3043'],
    ],
  );
  await assert.rejects(f.provider.bind([v.id], 'nobody'), rejectsWith('KURA-E3102'));
  await assert.rejects(f.provider.bind([v.id], 'lonely'), rejectsWith('KURA-E3103'));
  await assert.rejects(f.provider.bind(new Array(MAX_BIND_PER_REQUEST + 1).fill(v.id), 'esx1'), rejectsWith('KURA-E3104'));
  assert.equal(f.provider.limits().maxBindVirtualVolume, MAX_BIND_PER_REQUEST);

  f.array.addHost('esx2');
  f.array.mapLun('esx2', pe0.ld, 0);
  f.array.failNext.set('mapSubsidiary', new Error('controller 0 is down'));
  const [failed] = await f.provider.bind([v.id], 'esx2');
  assert.ok(!failed!.ok);
  assert.deepEqual([failed!.error.id, failed!.error.message], ['KURA-E3100', 'Failed to bind PE and VVOL.']);
  assert.deepEqual(f.provider.bindingsOf(v.id)[0]!.hosts, { esx1: 1 }, 'the failed bind left no reference');

  f.array.failNext.set('unmapSubsidiary', new Error('controller 0 is down'));
  const [uf] = await f.provider.unbind([v.id], 'esx1');
  assert.ok(!uf!.ok);
  assert.deepEqual([uf!.error.id, uf!.error.message], ['KURA-E3101', 'Failed to unbind PE and VVOL.']);
  assert.deepEqual(f.provider.bindingsOf(v.id)[0]!.hosts, { esx1: 1 }, 'the failed unbind kept the reference');
  const [ok] = await f.provider.unbind([v.id], 'esx1');
  assert.ok(ok!.ok && ok!.value.destroyed);
});

test('bind: many VVOLs on one PE get distinct subsidiary ids; a freed id is reused', async (t) => {
  const f = fixture(t);
  const pe0 = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe0.ld]);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: `vm${i}` })).vvol.id);
  const r = await f.provider.bind(ids, 'esx1');
  assert.deepEqual(
    r.map((x) => x.ok && x.value.slu),
    [1, 2, 3, 4, 5],
  );
  await f.provider.unbind([ids[1]!], 'esx1');
  const w = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vmx' })).vvol;
  const [n] = await f.provider.bind([w.id], 'esx1');
  assert.equal(n!.ok && n!.value.slu, 2);
  assert.equal(f.array.seenBehind('esx1', pe0.ld).size, 5);
});

test('a deleted host drops every bind it held; the other hosts keep theirs', async (t) => {
  const f = fixture(t);
  const pe0 = await f.provider.createPe({ name: 'pe0', pool: 'sc0', owner: 0 });
  hostSeeing(f, 'esx1', [pe0.ld]);
  hostSeeing(f, 'esx2', [pe0.ld]);
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  const w = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: GiB, vm: 'vm1' })).vvol;
  await f.provider.bind([v.id, w.id], 'esx1');
  await f.provider.bind([v.id], 'esx1');
  await f.provider.bind([v.id], 'esx2');
  const dropped = await f.provider.dropHost('esx1');
  assert.deepEqual(dropped, { vvols: [v.id, w.id].sort(), failed: [] });
  assert.deepEqual(
    f.provider.bindingsOf(v.id).map((b) => b.hosts),
    [{ esx2: 1 }],
    "esx1's two binds went, esx2's stays",
  );
  assert.deepEqual(f.provider.bindingsOf(w.id), [], 'a binding no host holds is destroyed');
  assert.deepEqual([...f.array.seenBehind('esx1', pe0.ld)], []);
  assert.deepEqual([...f.array.seenBehind('esx2', pe0.ld)], [[1, v.ld]]);
  assert.deepEqual(await f.provider.dropHost('esx1'), { vvols: [], failed: [] }, 'nothing left to drop');
  assert.ok(f.provider.getEvents().some((e) => e.id === 'KURA-I3102' && e.object === 'esx1'));
});
