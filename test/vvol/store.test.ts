// The provider's state survives a reopen of its SQLite store: PEs, policies,
// VVOL records with metadata and I/O limits, bindings with their counts and
// subsidiary ids, tasks (one cut short by the stop ends in error); sessions
// limit requests in flight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GiB, fixture, hostSeeing, rejectsWith, succeeded } from './fixture.js';

test('state survives a reopen: PEs, policies, VVOLs, metadata, bindings, tasks', async (t) => {
  const f = fixture(t);
  f.array.addPool('vvolbackup0');
  const pe = await f.provider.createPe({ name: 'pe0', pool: 'sc0' });
  hostSeeing(f, 'esx1', [pe.ld]);
  hostSeeing(f, 'esx2', [pe.ld]);
  await f.provider.createPolicy({ name: 'gold', iopsUpper: 2000, backup: { generations: 1 } });
  const v = (await f.provider.createVvol({ container: 'sc0', type: 'data', size: 2 * GiB, vm: 'vm1', policy: 'gold', metadata: { VMW_VmID: '7' } })).vvol;
  const w = (await f.provider.createVvol({ container: 'sc0', type: 'config', size: GiB, vm: 'vm1' })).vvol;
  await f.provider.bind([v.id, w.id], 'esx1');
  await f.provider.bind([v.id], 'esx1');
  await f.provider.bind([v.id], 'esx2');
  const [{ snapshot: s }] = await succeeded<Array<{ snapshot: string }>>(f, f.provider.snapshot((await f.provider.prepareSnapshot([v.id])).prepareId!));
  f.array.holdCopies = true;
  f.array.write(w.ld, 0, 'x');
  const cut = f.provider.clone(w.id, { vm: 'vm2' });
  await new Promise((r) => setImmediate(r));
  const before = { vvols: f.provider.queryVvols(), pes: f.provider.listPes(), policies: f.provider.listPolicies(), bindings: f.provider.bindingsOf(v.id) };

  const p = f.reopen();
  assert.deepEqual(p.queryVvols(), before.vvols);
  assert.deepEqual(p.listPes(), before.pes);
  assert.deepEqual(p.listPolicies(), before.policies);
  assert.deepEqual(p.bindingsOf(v.id), [{ pe: pe.id, peLd: pe.ld, slu: 1, hosts: { esx1: 2, esx2: 1 } }]);
  assert.deepEqual(p.getVvol(v.id).metadata, { VMW_VmID: '7' });
  assert.equal(p.getVvol(s!).snapshotOf, v.id);
  assert.ok(
    p.vvolCompliance(v.id).every((r) => r.compliant),
    'the I/O limits and backups it set are remembered',
  );
  const interrupted = p.getTask(cut.id);
  assert.deepEqual([interrupted.state, interrupted.error?.id], ['error', 'KURA-E3203']);
  // Reference counts go on from where they were: two more unbinds for esx1.
  await p.unbind([v.id], 'esx1');
  const [last] = await p.unbind([v.id], 'esx1');
  assert.ok(last!.ok && last!.value.count === 0 && !last!.value.destroyed);
  // Ids of new tasks do not repeat old ones.
  const next = p.fastClone(w.id, { vm: 'vm3' });
  assert.notEqual(next.id, cut.id);
  await p.waitTask(next.id);
  // The first provider's copy stays held: that provider is gone.
});

test('sessions: at most N requests in flight per session, others unaffected', async (t) => {
  const f = fixture(t);
  const gate = f.provider.sessions;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const running = Array.from({ length: gate.max }, () => gate.run('vc1', () => held));
  await assert.rejects(
    gate.run('vc1', async () => 1),
    rejectsWith('KURA-E3300'),
  );
  assert.equal(await gate.run('vc2', async () => 2), 2);
  release();
  await Promise.all(running);
  assert.equal(gate.active('vc1'), 0);
  assert.equal(await gate.run('vc1', async () => 3), 3);
  assert.equal(f.provider.limits().maxConcurrentRequestsPerSession, gate.max);
});
