// Kill -9 the server while a replication pair copies (replicate MV → RV) and while
// it restores (RV → MV), with a write/flush/trim workload on the MV throughout.
// After each restart: every flushed unit of the MV reads back intact (or as a
// later write), the pair reports the copy it was in and resumes it to the end,
// MV and RV are then byte for byte the same, and `kura check` is clean.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { runKura } from '../helpers/cli.js';
import { checkUnits, crashWorkload, rand } from '../helpers/crash-workload.js';
import type { WorkloadShape } from '../helpers/crash-workload.js';
import { readAll, writeAll } from '../helpers/nbd-io.js';
import { CrashModel, UNIT } from '../helpers/versioned-blocks.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const ROUNDS = Number(process.env.KURA_CRASH_PAIR_ROUNDS ?? 6);
const MiB = 1 << 20;
/** The model covers the first 16 MiB of the MV; MiB 16-80 hold bulk data that gives the copies work. */
const UNITS = (16 * MiB) / UNIT;
const CHUNK_UNITS = MiB / UNIT;
const BULK_OFF = 16 * MiB;
const BULK_LEN = 64 * MiB;
const REGION = BULK_OFF + BULK_LEN;

interface PairInfo {
  activity: string;
  sync: string;
  progress: number;
  rvComplete: boolean;
  copyDiffBytes: number;
}

function pairOf(srv: TestServer): Promise<PairInfo> {
  return srv.api<PairInfo>('GET', '/pairs/demo0/rv0');
}

/** Polls until the pair's copy is over (bounded, so a stuck copy fails the test instead of hanging it). */
async function settled(srv: TestServer): Promise<PairInfo> {
  const end = Date.now() + 40_000;
  for (;;) {
    const p = await pairOf(srv);
    if (!p.sync.endsWith('/exec')) return p;
    if (Date.now() > end) throw new Error(`the pair's copy did not finish: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first 16 MiB of the MV: writes of 1-16 units, one op in eight a trim of one chunk. */
const SHAPE: WorkloadShape = {
  units: UNITS,
  chunkUnits: CHUNK_UNITS,
  writers: 3,
  trimOneIn: 8,
  maxTrimChunks: 1,
  writeUnits: () => 1 + rand(16),
  fuaOneIn: 100,
  flushJitterMs: 15,
};

test(`replication pairs survive kill -9 during replicate and restore copies (${ROUNDS} rounds)`, { timeout: 5 * 60_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-crash-pairs-'));
  const model = new CrashModel(UNITS);
  /** What MV MiB 16-80 must hold (the bulk region is written only while no kill can come). */
  let bulk = crypto.randomBytes(BULK_LEN);
  let killedDuringCopy = 0;
  let resumed = 0;
  let previous: 'replicate' | 'restore' | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    model.round = round;
    const server = await startServer({ dataDir });
    try {
      const mv = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'demo0' });
      if (round === 0) {
        await server.api('POST', '/licenses/DynamicDataReplication/unlock');
        await server.api('POST', '/lds', { name: 'rv0', pool: 'pool0', size: '1GiB' });
        await writeAll(mv, BULK_OFF, bulk);
        await server.api('POST', '/pairs', { mv: 'demo0', rv: 'rv0' });
        await server.api('POST', '/pairs/demo0/rv0/replicate');
      } else {
        // The pair reports the copy the kill interrupted, and takes it up again.
        const p = await pairOf(server);
        assert.equal(p.activity, previous, `round ${round}: activity after restart`);
        assert.ok(['rpl/exec', 'rpl/sync', 'rst/exec', 'rst/sync'].includes(p.sync), `round ${round}: sync state ${p.sync}`);
        if (p.sync.endsWith('/exec')) {
          // An unfinished replicate never shows its RV as complete; a restore's source RV stays whole.
          assert.equal(p.rvComplete, p.sync === 'rst/exec', `round ${round}: rvComplete in ${p.sync}`);
          const events = await server.api<Array<{ id: string }>>('GET', '/events?limit=50&order=desc');
          assert.ok(
            events.some((e) => e.id === 'KURA-W2344'),
            `round ${round}: no event says the copy resumed`,
          );
          resumed++;
        }
      }
      // Flushed data on the MV survived (reads of chunks a restore has not reached yet come from the RV).
      const problems = checkUnits(model, await readAll(mv, 0, UNITS * UNIT));
      assert.deepEqual(problems.slice(0, 10), [], `round ${round}: ${problems.length} units wrong (data kept in ${dataDir})`);
      assert.ok((await readAll(mv, BULK_OFF, BULK_LEN)).equals(bulk), `round ${round}: the MV's bulk region is wrong`);
      // The copy completes, and then both volumes are the same.
      const done = await settled(server);
      assert.ok(done.sync === 'rpl/sync' || done.sync === 'rst/sync', `round ${round}: ended in ${done.sync}`);
      assert.deepEqual([done.progress, done.copyDiffBytes], [100, 0]);
      await server.api('POST', '/pairs/demo0/rv0/separate');
      const rv = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'rv0' });
      const mvAll = await readAll(mv, 0, REGION);
      assert.ok((await readAll(rv, 0, REGION)).equals(mvAll), `round ${round}: RV differs from MV after the copy`);
      rv.destroy();

      // This round's copy: replicate new bulk data, or restore the RV's bulk data over junk.
      const phase = round % 2 === 0 ? 'replicate' : 'restore';
      const changed = crypto.randomBytes(BULK_LEN);
      await writeAll(mv, BULK_OFF, changed);
      if (phase === 'replicate') {
        bulk = changed;
        await server.api('POST', '/pairs/demo0/rv0/replicate');
      } else {
        await server.api('POST', '/pairs/demo0/rv0/restore');
      }
      previous = phase;
      const killAt = 10 + rand(120);
      const timer = setTimeout(() => {
        pairOf(server)
          .then((p) => {
            if (p.sync.endsWith('/exec')) killedDuringCopy++;
          })
          .catch(() => undefined)
          .finally(() => server.proc.kill('SIGKILL'));
      }, killAt);
      await crashWorkload(mv, model, SHAPE, 5000);
      clearTimeout(timer);
      await server.exited;
      mv.destroy();
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
      await server.exited;
    }
    const check = runKura(['check', '--data', dataDir]);
    assert.equal(check.status, 0, `round ${round}: kura check failed:\n${check.stdout}${check.stderr}`);
  }
  // The last kill is verified by one more start.
  const server = await startServer({ dataDir });
  try {
    const mv = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'demo0' });
    const back = await readAll(mv, 0, UNITS * UNIT);
    for (let u = 0; u < UNITS; u++) assert.equal(model.verify(u, back.subarray(u * UNIT, (u + 1) * UNIT)), null);
    assert.ok((await readAll(mv, BULK_OFF, BULK_LEN)).equals(bulk));
    await settled(server);
    mv.destroy();
  } finally {
    await server.stop();
  }
  assert.ok(killedDuringCopy >= 1, `no kill landed while a copy ran (${killedDuringCopy} of ${ROUNDS})`);
  assert.ok(resumed >= 1, 'no copy was resumed after a restart');
  fs.rmSync(dataDir, { recursive: true, force: true });
});
