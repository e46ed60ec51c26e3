// APTPL: with it set, the persistent reservation state is saved through the
// PrStore on every change and comes back in a new LogicalUnit (power loss);
// without it nothing survives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { cdb, prOutParams } from '../../src/scsi/spec/index.js';
import { MemoryPrStore, NEXUS_A, NEXUS_B, clearUnitAttentions, expectConflict, expectGood, fixture } from './helpers.js';
import type { Fixture } from './helpers.js';

function restart(f: Fixture, store: MemoryPrStore): void {
  f.lu = new LogicalUnit(f.source, store);
  f.luns.set(0, f.lu);
}

test('APTPL: registrations and the reservation survive a new LogicalUnit built from the same PrStore', async (t) => {
  const store = new MemoryPrStore();
  const f = await fixture(t, { prStore: store });
  expectGood(await f.exec(cdb.persistentReserveOut(0), { dataOut: prOutParams(0n, 0xa1n, { aptpl: true }) }));
  // The APTPL bit of the latest REGISTER is the one that counts (SPC-4 5.12.5).
  expectGood(await f.exec(cdb.persistentReserveOut(0), { nexus: NEXUS_B, dataOut: prOutParams(0n, 0xb2n, { aptpl: true }) }));
  expectGood(await f.exec(cdb.persistentReserveOut(1, 3), { dataOut: prOutParams(0xa1n, 0n) }));
  const saves = store.saves;
  assert.ok(saves >= 3, 'saved on every change while APTPL is set');
  assert.equal(store.saved.size, 1);
  assert.ok(store.saved.has(f.source.naa), 'saved under the LU id (its NAA)');

  restart(f, store);
  await clearUnitAttentions(f, NEXUS_A);
  await clearUnitAttentions(f, NEXUS_B);
  const caps = (await f.exec(cdb.persistentReserveIn(2))).dataIn!;
  assert.equal(caps[3]! & 0x01, 0x01, 'PTPL_A');
  const keys = (await f.exec(cdb.persistentReserveIn(0))).dataIn!;
  assert.equal(keys.readUInt32BE(0), 2, 'generation restored (two REGISTERs; RESERVE does not count)');
  assert.deepEqual([keys.readBigUInt64BE(8), keys.readBigUInt64BE(16)], [0xa1n, 0xb2n]);
  const res = (await f.exec(cdb.persistentReserveIn(1))).dataIn!;
  assert.equal(res.readBigUInt64BE(8), 0xa1n);
  assert.equal(res[21], 3);
  expectConflict(await f.exec(cdb.read10(0, 1), { nexus: NEXUS_B }), 'the restored Exclusive Access reservation holds');
  expectGood(await f.exec(cdb.read10(0, 1)));

  // A REGISTER with APTPL clear turns persistence off: the store forgets the state.
  expectGood(await f.exec(cdb.persistentReserveOut(0), { nexus: NEXUS_B, dataOut: prOutParams(0xb2n, 0xb3n) }));
  restart(f, store);
  await clearUnitAttentions(f, NEXUS_A);
  const after = (await f.exec(cdb.persistentReserveIn(0))).dataIn!;
  assert.equal(after.readUInt32BE(4), 0, 'no registrations after a restart without APTPL');
  assert.equal((await f.exec(cdb.persistentReserveIn(2))).dataIn![3]! & 0x01, 0);
});

test('without APTPL the PrStore is never written', async (t) => {
  const store = new MemoryPrStore();
  const f = await fixture(t, { prStore: store });
  expectGood(await f.exec(cdb.persistentReserveOut(0), { dataOut: prOutParams(0n, 0x1n) }));
  expectGood(await f.exec(cdb.persistentReserveOut(1, 1), { dataOut: prOutParams(0x1n, 0n) }));
  assert.equal(store.saves, 0);
  restart(f, store);
  await clearUnitAttentions(f, NEXUS_A);
  assert.equal((await f.exec(cdb.persistentReserveIn(0))).dataIn!.readUInt32BE(4), 0);
});
