// The pair state machine: the transition table holds the moves of the seed's
// pair operations (docs/replication.md "States"), every sync change goes through
// transition(), and a move the table lacks is refused loudly with the state kept.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { PairInfo } from '../../src/array/agent.js';
import { nextState, SYNC_STATES, transition } from '../../src/block/replication.js';
import type { PairEvent, PairState, SyncState } from '../../src/block/replication.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;

/** The moves the pair operations make, by operation. */
const MOVES: Array<[SyncState, PairEvent, SyncState]> = [
  // replicate: a separated or faulted pair starts copying MV → RV; a restored pair in sync mirrors as a replicate.
  ['sep/end', 'replicate', 'rpl/exec'],
  ['fault', 'replicate', 'rpl/exec'],
  ['rst/sync', 'replicate', 'rpl/sync'],
  // restore: the same, RV → MV.
  ['sep/end', 'restore', 'rst/exec'],
  ['fault', 'restore', 'rst/exec'],
  ['rpl/sync', 'restore', 'rst/sync'],
  // separate: at once when in sync, after the copy (sep/exec) while one runs.
  ['rpl/sync', 'separate', 'sep/end'],
  ['rst/sync', 'separate', 'sep/end'],
  ['rpl/exec', 'separate', 'sep/exec'],
  ['rst/exec', 'separate', 'sep/exec'],
  // separate --force during a copy: the copy stops, the pair is in fault (also when a failure got there first).
  ['rpl/exec', 'separate-force', 'fault'],
  ['rst/exec', 'separate-force', 'fault'],
  ['sep/exec', 'separate-force', 'fault'],
  ['fault', 'separate-force', 'fault'],
  // The copier reaches its end.
  ['rpl/exec', 'copy-done', 'rpl/sync'],
  ['rst/exec', 'copy-done', 'rst/sync'],
  ['sep/exec', 'copy-done', 'sep/end'],
  // The copier fails (in fault already when a mirrored write failed while it copied).
  ['rpl/exec', 'copy-failed', 'fault'],
  ['rst/exec', 'copy-failed', 'fault'],
  ['sep/exec', 'copy-failed', 'fault'],
  ['fault', 'copy-failed', 'fault'],
  // A mirrored write to the RV fails: from every state but fault (a write under way may fail after a separate).
  ['rpl/exec', 'mirror-failed', 'fault'],
  ['rpl/sync', 'mirror-failed', 'fault'],
  ['sep/exec', 'mirror-failed', 'fault'],
  ['sep/end', 'mirror-failed', 'fault'],
  ['rst/exec', 'mirror-failed', 'fault'],
  ['rst/sync', 'mirror-failed', 'fault'],
  // A start after an unclean shutdown: a pair in sync copies again what mirrored writes may have left different.
  ['rpl/sync', 'recopy-after-crash', 'rpl/exec'],
  ['rst/sync', 'recopy-after-crash', 'rst/exec'],
];
const EVENTS: PairEvent[] = ['replicate', 'separate', 'separate-force', 'restore', 'copy-done', 'copy-failed', 'mirror-failed', 'recopy-after-crash'];

function state(sync: SyncState, previous: SyncState | null = null): PairState {
  return {
    activity: 'separate',
    sync,
    previous,
    rvAccess: 'rw',
    sepAccess: 'rw',
    direction: 'mv-to-rv',
    sepStart: null,
    sepEnd: null,
    copyTotal: 0,
    copied: 0,
    complete: false,
    created: '2026-01-01T00:00:00.000Z',
    fault: null,
  };
}

test('the transition table holds the moves of the pair operations and no other', () => {
  for (const from of SYNC_STATES) {
    for (const event of EVENTS) {
      const move = MOVES.find(([f, e]) => f === from && e === event);
      assert.equal(nextState(from, event), move?.[2], `${from} on ${event}`);
    }
  }
});

test('transition() moves the sync state and keeps the state it left as previous', () => {
  const s = state('sep/end');
  assert.equal(transition(s, 'replicate', 'mv → rv'), 'rpl/exec');
  assert.deepEqual([s.sync, s.previous], ['rpl/exec', 'sep/end']);
  transition(s, 'separate-force', 'mv → rv');
  assert.deepEqual([s.sync, s.previous], ['fault', 'rpl/exec']);
  transition(s, 'copy-failed', 'mv → rv');
  assert.deepEqual([s.sync, s.previous], ['fault', 'rpl/exec'], 'staying in fault keeps the previous state');
});

test('an illegal transition is refused with KURA-E1100 and the state is unchanged', () => {
  for (const [from, event] of [
    ['sep/end', 'copy-done'],
    ['sep/end', 'separate'],
    ['rpl/sync', 'copy-failed'],
    ['fault', 'mirror-failed'],
    ['sep/exec', 'restore'],
  ] as Array<[SyncState, PairEvent]>) {
    const s = state(from, 'rpl/sync');
    assert.throws(
      () => transition(s, event, 'db → db-copy'),
      (e: unknown) =>
        e instanceof KuraError && e.id === 'KURA-E1100' && e.message.includes('db → db-copy') && e.message.includes(event) && e.message.includes(from),
      `${from} on ${event}`,
    );
    assert.deepEqual([s.sync, s.previous], [from, 'rpl/sync']);
  }
});

/** Polls until the pair's copy is over (the state no longer ends in /exec). */
async function settled(a: KuraArray): Promise<PairInfo> {
  for (;;) {
    const p = a.pairs.getPair('mv', 'rv');
    if (!p.sync.endsWith('/exec')) return p;
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the pair commands walk a pair through the table (sync and previous as pair show gives them)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pair-states-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'p', size: 1 << 30, raid: 'RAID1', pds: 2 });
  await a.lds.createLd({ name: 'mv', pool: 'p', size: 64 * MiB });
  await a.lds.createLd({ name: 'rv', pool: 'p', size: 64 * MiB });
  await a.licenses.unlockLicense('DynamicDataReplication');
  const mv = a.frontEnd.exports().open('mv')!;
  await mv.write(0, crypto.randomBytes(64 * MiB));
  const seen = (p: PairInfo) => [p.sync, p.previousSync];

  assert.deepEqual(seen(await a.pairs.createPair('mv', 'rv')), ['sep/end', null]);
  assert.deepEqual(seen(await a.pairs.replicatePair('mv', 'rv')), ['rpl/exec', 'sep/end']);
  assert.deepEqual(seen(await a.pairs.separatePair('mv', 'rv', { force: true })), ['fault', 'rpl/exec']);
  assert.deepEqual(seen(await a.pairs.replicatePair('mv', 'rv')), ['rpl/exec', 'fault']);
  assert.deepEqual(seen(await settled(a)), ['rpl/sync', 'rpl/exec']);
  assert.deepEqual(seen(await a.pairs.restorePair('mv', 'rv')), ['rst/sync', 'rpl/sync']);
  assert.deepEqual(seen(await a.pairs.replicatePair('mv', 'rv')), ['rpl/sync', 'rst/sync']);
  assert.deepEqual(seen(await a.pairs.separatePair('mv', 'rv')), ['sep/end', 'rpl/sync']);
  await mv.write(0, crypto.randomBytes(64 * MiB));
  assert.deepEqual(seen(await a.pairs.restorePair('mv', 'rv')), ['rst/exec', 'sep/end']);
  assert.deepEqual(seen(await a.pairs.separatePair('mv', 'rv')), ['sep/exec', 'rst/exec']);
  assert.deepEqual(seen(await settled(a)), ['sep/end', 'sep/exec']);
  await mv.write(0, crypto.randomBytes(16 * MiB));
  assert.deepEqual(seen(await a.pairs.restorePair('mv', 'rv')), ['rst/exec', 'sep/end']);
  assert.deepEqual(seen(await settled(a)), ['rst/sync', 'rst/exec']);
  assert.deepEqual(seen(await a.pairs.separatePair('mv', 'rv')), ['sep/end', 'rst/sync']);
  await a.close();
});
