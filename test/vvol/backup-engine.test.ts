// The backup engine against a disk array double whose pair copies move only
// when the test says: at most four backups run and the fifth waits its turn,
// a cancel mid-copy ends as "Backup failed" with the seed's message, a backup
// is refused while a restore runs, the guest-quiesce seam is called around the
// separate, the target generation follows the seed's order, and a restart finds
// a cut-short backup failed (its RV invalid, the other generation kept) and a
// restore's background copy watched to its end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { BackupEngine, type EngineEvent } from '../../src/vvol/backup/engine.js';
import type { BackupArrayPort, BackupLd, BackupPairState } from '../../src/vvol/backup/port.js';
import type { GuestQuiescer } from '../../src/vvol/backup/quiesce.js';
import { BackupStore, type RvRecord } from '../../src/vvol/backup/store.js';
import { newVvolRecord, type VvolType, type VvolView } from '../../src/vvol/model.js';

interface FakePair extends BackupPairState {
  forced: boolean;
}

/** Pairs whose copies end when the test calls finish(). */
class FakePort implements BackupArrayPort {
  readonly pairs = new Map<string, FakePair>();
  readonly calls: string[] = [];
  identity() {
    return { name: 'kura0', serial: '000000000001', wwn: '2000000000000001', model: 'Kura' };
  }
  ld(n: number): BackupLd {
    return { number: n, name: `ld${n}`, pool: n >= 100 ? 1 : 0, poolName: n >= 100 ? 'vvolbackup1' : 'sc0', vmwareType: 'vmdk-VVOL', capacity: 2 ** 30 };
  }
  backupPoolLds(): BackupLd[] {
    return [];
  }
  vvolLds(): BackupLd[] {
    return [];
  }
  private k = (mv: number, rv: number) => `${mv}>${rv}`;
  pair(mv: number, rv: number): BackupPairState | undefined {
    const p = this.pairs.get(this.k(mv, rv));
    return p && { ...p };
  }
  async createPair(mv: number, rv: number) {
    this.calls.push(`create ${mv} ${rv}`);
    this.pairs.set(this.k(mv, rv), { sync: 'sep/end', progress: 0, remainingSeconds: 0, copyDiffBytes: 0, fault: null, forced: false });
  }
  async replicate(mv: number, rv: number) {
    this.calls.push(`replicate ${mv} ${rv}`);
    Object.assign(this.pairs.get(this.k(mv, rv))!, { sync: 'rpl/exec', progress: 0, remainingSeconds: null });
  }
  async separate(mv: number, rv: number, force: boolean) {
    this.calls.push(`separate ${mv} ${rv}${force ? ' force' : ''}`);
    const p = this.pairs.get(this.k(mv, rv))!;
    p.sync = force && p.sync.endsWith('/exec') ? 'fault' : 'sep/end';
    p.forced = force;
  }
  async restore(mv: number, rv: number) {
    this.calls.push(`restore ${mv} ${rv}`);
    Object.assign(this.pairs.get(this.k(mv, rv))!, { sync: 'rst/exec', progress: 0 });
  }
  /** Moves a copy on: a percentage, or to its end. */
  step(mv: number, rv: number, progress: number) {
    const p = this.pairs.get(this.k(mv, rv))!;
    p.progress = progress;
    p.remainingSeconds = 100 - progress;
    if (progress >= 100) p.sync = p.sync === 'rst/exec' ? 'rst/sync' : 'rpl/sync';
  }
}

function vvol(vm: string, type: VvolType, ld: number, backups: number[], dc = 'dc0'): VvolView {
  const rec = newVvolRecord({
    id: `naa.6000000000000000000000000000${ld.toString(16).padStart(4, '0')}`,
    ld,
    type,
    vm,
    container: 0,
    size: 2 ** 30,
    created: '',
  });
  rec.backups = backups.map((b, i) => ({ ld: b, pool: 1, generation: i + 1 }));
  return {
    ...rec,
    metadata: { VMW_VmID: `id-${vm}`, VMW_Datacenter: dc, VMW_VVolName: `${vm}.${type === 'data' ? 'vmdk' : 'vmx'}` },
    boundPes: [],
    allocated: 0,
  };
}

const until = async <T>(what: string, fn: () => T | undefined | false | null): Promise<T> => {
  for (let i = 0; i < 2000; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
};

function rig(vvols: VvolView[], quiescer?: GuestQuiescer, db = new Database(':memory:')) {
  const port = new FakePort();
  const events: EngineEvent[] = [];
  let t = Date.UTC(2026, 0, 1);
  const store = new BackupStore(db);
  const engine = new BackupEngine({ vvols: () => vvols, port, store, quiescer, emit: (e) => events.push(e), now: () => new Date((t += 1000)), pollMs: 2 });
  return { port, events, store, engine, db };
}

test('four backups run at once, the fifth waits in order and starts when one ends', { timeout: 30_000 }, async () => {
  const vvols = [1, 2, 3, 4, 5].map((i) => vvol(`vm${i}`, 'data', i, [100 + i]));
  const { port, engine } = rig(vvols);
  const jobs = [1, 2, 3, 4, 5].map((i) => engine.startBackup(`vm${i}`, 'dc0'));
  await until('four replicating', () => port.calls.filter((c) => c.startsWith('replicate')).length === 4);
  const fifth = engine.getJob(jobs[4]!.id);
  assert.equal(fifth.state, 'queued');
  assert.equal(fifth.queuePosition, 1);
  assert.equal(engine.show('vm5', 'dc0').state, 'Configuration checking');
  assert.equal(engine.show('vm1', 'dc0').state, 'Backing up');
  port.step(1, 101, 40);
  await until('progress', () => engine.getJob(jobs[0]!.id).progress === 40);
  assert.equal(engine.getJob(jobs[0]!.id).remainingSeconds, 60);
  port.step(2, 102, 100);
  await until('the fifth to start', () => port.calls.includes('replicate 5 105'));
  assert.equal((await engine.waitJob(jobs[1]!.id)).state, 'success');
  for (const i of [1, 3, 4, 5]) port.step(i, 100 + i, 100);
  for (const j of jobs) assert.equal((await engine.waitJob(j.id)).state, 'success');
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((i) => engine.show(`vm${i}`, 'dc0').state),
    Array(5).fill('Backup completed'),
  );
});

test('cancel mid-copy ends as "Backup failed" with the seed message; the pair stops, the RV is invalid', { timeout: 30_000 }, async () => {
  const { port, engine, events, store } = rig([vvol('vm1', 'config', 1, [101]), vvol('vm1', 'data', 2, [102])]);
  const job = engine.startBackup('vm1', 'dc0');
  await until('replicating', () => port.calls.includes('replicate 2 102'));
  port.step(2, 102, 50);
  engine.cancel('vm1', 'dc0');
  const done = await engine.waitJob(job.id);
  assert.equal(done.state, 'failed');
  assert.equal(done.error!.message, 'Failed to back up VM(dc0/vm1).Backup is interrupted.');
  assert.ok(port.calls.includes('separate 2 102 force') && port.calls.includes('separate 1 101 force'));
  assert.equal(store.rv(102)!.valid, false);
  assert.equal(store.rv(102)!.state, 'Backup failed');
  const s = engine.show('vm1', 'dc0');
  assert.equal(s.state, 'Backup failed');
  assert.ok(events.some((e) => e.id === 'KURA-E3713' && e.severity === 'error'));
  assert.throws(() => engine.cancel('vm1', 'dc0'), { id: 'KURA-E3714' });
  // A queued backup cancels at once.
  const many = [3, 4, 5, 6, 7].map((i) => vvol(`q${i}`, 'data', i, [100 + i]));
  const r2 = rig(many);
  const js = [3, 4, 5, 6, 7].map((i) => r2.engine.startBackup(`q${i}`, 'dc0'));
  await until('four running', () => r2.port.calls.filter((c) => c.startsWith('replicate')).length === 4);
  const c = r2.engine.cancel('q7', 'dc0');
  assert.equal(c.state, 'failed');
  assert.equal(c.error!.id, 'KURA-E3713');
  for (const i of [3, 4, 5, 6]) r2.port.step(i, 100 + i, 100);
  for (const j of js.slice(0, 4)) assert.equal((await r2.engine.waitJob(j.id)).state, 'success');
  assert.ok(!r2.port.calls.includes('replicate 7 107'), 'the cancelled backup never copied');
});

test('the quiesce seam wraps the separate; generations follow the seed order; busy messages', { timeout: 30_000 }, async () => {
  const seen: string[] = [];
  const q: GuestQuiescer = {
    quiesce: async (vm) => {
      seen.push(`freeze ${vm.datacenter}/${vm.name} ${vm.id}`);
      return 'quiesced';
    },
    thaw: async (vm) => void seen.push(`thaw ${vm.name}`),
  };
  const { port, engine } = rig([vvol('vm1', 'data', 1, [101, 102], 'dcA')], q);
  const run = async () => {
    const j = engine.startBackup('vm1', 'dcA');
    await until('replicate', () => engine.getJob(j.id).phase === 'Backing up' && [...port.pairs.values()].some((p) => p.sync === 'rpl/exec'));
    const target = [...port.pairs.entries()].find(([, p]) => p.sync === 'rpl/exec')![0];
    port.step(1, Number(target.split('>')[1]), 100);
    const done = await engine.waitJob(j.id);
    assert.equal(done.state, 'success', JSON.stringify(done.error));
    assert.equal(done.consistent, true);
    assert.equal(done.lines[2], 'Success to online backup VM(dcA/vm1).');
    return done.disks[0]!.rv;
  };
  assert.equal(await run(), 101, 'first: generation 1, never backed up');
  assert.equal(await run(), 102, 'then generation 2, never backed up');
  assert.equal(await run(), 101, 'then the oldest');
  assert.deepEqual(seen.slice(0, 2), ['freeze dcA/vm1 id-vm1', 'thaw vm1']);
  const i = port.calls.indexOf('separate 1 101');
  assert.ok(i > 0);
  // A failed generation is chosen before the oldest.
  const rvs: RvRecord[] = [
    {
      ld: 1,
      vvol: 'x',
      mvLd: 9,
      vm: 'v',
      datacenter: 'd',
      vmId: '',
      type: 'data',
      disk: 'd',
      generation: 1,
      backupTime: '2026-01-01',
      valid: true,
      state: 'Backup completed',
    },
    {
      ld: 2,
      vvol: 'x',
      mvLd: 9,
      vm: 'v',
      datacenter: 'd',
      vmId: '',
      type: 'data',
      disk: 'd',
      generation: 2,
      backupTime: '2026-01-02',
      valid: false,
      state: 'Backup failed',
    },
  ];
  assert.equal(BackupEngine.chooseTarget(rvs)!.ld, 2);

  // A restore runs: a backup is refused with the seed's message, a second restore too.
  const r = await engine.startRestore('vm1', 'dcA', { from: 'previous' });
  assert.equal(r.disks[0]!.rv, 102);
  assert.equal(engine.show('vm1', 'dcA').state, 'Restore completed (copying in background)');
  assert.throws(() => engine.startBackup('vm1', 'dcA'), { id: 'KURA-E3712', message: 'Failed to back up for VM(dcA/vm1).Restoring is still running.' });
  await assert.rejects(engine.startRestore('vm1', 'dcA', { from: 'last' }), { id: 'KURA-E3734' });
  port.step(1, 102, 100);
  assert.equal((await engine.waitJob(r.id)).phase, 'Restore completed');
  assert.equal(engine.show('vm1', 'dcA').state, 'Restore completed');
  assert.throws(() => engine.startBackup('vm1', 'nodc'), { id: 'KURA-E3700', message: 'Specified VM(nodc/vm1) does not exist.' });

  // A hook that fails fails the backup, and the RV stays invalid.
  const bad = rig([vvol('vm9', 'data', 9, [109])], { quiesce: async () => Promise.reject(new Error('freeze exited with 3')), thaw: async () => undefined });
  const j = bad.engine.startBackup('vm9', 'dc0');
  await until('replicate', () => bad.port.calls.includes('replicate 9 109'));
  bad.port.step(9, 109, 100);
  const f = await bad.engine.waitJob(j.id);
  assert.equal(f.error!.id, 'KURA-E3718');
  assert.equal(bad.store.rv(109)!.valid, false);
});

test('after a restart a cut-short backup is failed (the other generation kept) and a restore copy is followed to its end', { timeout: 30_000 }, async () => {
  const vvols = [vvol('vm1', 'data', 1, [101, 102]), vvol('vm2', 'data', 2, [103])];
  const db = new Database(':memory:');
  const a = rig(vvols, undefined, db);
  // vm1: one good backup, then a second cut short by the "crash".
  let j = a.engine.startBackup('vm1', 'dc0');
  await until('replicate', () => a.port.calls.includes('replicate 1 101'));
  a.port.step(1, 101, 100);
  await a.engine.waitJob(j.id);
  a.engine.startBackup('vm1', 'dc0');
  await until('replicate', () => a.port.calls.includes('replicate 1 102'));
  // vm2: backed up, then restoring.
  const k = a.engine.startBackup('vm2', 'dc0');
  await until('replicate', () => a.port.calls.includes('replicate 2 103'));
  a.port.step(2, 103, 100);
  await a.engine.waitJob(k.id);
  await a.engine.startRestore('vm2', 'dc0', { from: 'last' });
  a.engine.close();

  // The restarted provider: same store, the array as the crash left it.
  const events: EngineEvent[] = [];
  const b = new BackupEngine({ vvols: () => vvols, port: a.port, store: new BackupStore(db), emit: (e) => events.push(e), pollMs: 2 });
  await b.recover();
  const s1 = b.show('vm1', 'dc0');
  assert.equal(s1.state, 'Backup failed');
  assert.equal(s1.message, 'Failed to back up VM(dc0/vm1).Backup is interrupted.');
  assert.equal(s1.disks[0]!.backupState, 'backuped', 'the first generation is kept');
  assert.equal(s1.disks[0]!.last!.rv, 101);
  assert.equal(a.port.pair(1, 102)!.sync, 'fault', 'the cut-short copy was stopped');
  assert.ok(events.some((e) => e.id === 'KURA-W3701'));
  assert.equal(b.show('vm2', 'dc0').state, 'Restore completed (copying in background)');
  a.port.step(2, 103, 100);
  await until('the restore to complete', () => b.show('vm2', 'dc0').state === 'Restore completed');
  // vm1 backs up again: into the failed generation.
  j = b.startBackup('vm1', 'dc0');
  await until('replicate', () => a.port.calls.filter((c) => c === 'replicate 1 102').length === 2);
  a.port.step(1, 102, 100);
  assert.equal((await b.waitJob(j.id)).disks[0]!.rv, 102);
});

test('the seed messages of failures the array double provokes: unexpected error, VM information, refusals logged', { timeout: 30_000 }, async () => {
  const { port, engine, events } = rig([vvol('vm1', 'data', 1, [101])]);
  // An error the seed has no message for is "Unexpected error occurred.".
  port.replicate = async () => {
    throw new TypeError('boom');
  };
  const j = await engine.waitJob(engine.startBackup('vm1', 'dc0').id);
  assert.equal(j.error!.id, 'KURA-E3702');
  assert.equal(j.error!.message, 'Unexpected error occurred.');
  assert.match(j.error!.action, /boom/);
  assert.ok(events.some((e) => e.id === 'KURA-E3702' && e.severity === 'error'));
  // A refusal is logged as well as answered.
  assert.throws(() => engine.startBackup('vm9', 'dc0'), { id: 'KURA-E3700' });
  assert.ok(events.some((e) => e.id === 'KURA-E3700' && e.text === 'Specified VM(dc0/vm9) does not exist.'));
  // The provider cannot say what VVOLs there are.
  const broken = new BackupEngine({
    vvols: () => {
      throw new Error('store closed');
    },
    port,
    store: new BackupStore(new Database(':memory:')),
  });
  assert.throws(() => broken.startBackup('vm1', 'dc0'), { id: 'KURA-E3704', message: 'Failed to get information of specified VM(dc0/vm1).' });
});
