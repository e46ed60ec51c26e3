// Kill -9 the server at random points of a write/flush/trim workload, with
// snapshots taken and dropped throughout (so writes copy on write), 50 times;
// restart it each time, and prove that every flushed unit of the LD reads back
// intact (or as a later write), nothing reads as garbage, and `kura check` is clean.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { runKura } from '../helpers/cli.js';
import { checkUnits, crashWorkload, rand } from '../helpers/crash-workload.js';
import type { WorkloadShape } from '../helpers/crash-workload.js';
import { CrashModel, UNIT } from '../helpers/versioned-blocks.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const ROUNDS = Number(process.env.KURA_CRASH_ROUNDS ?? 50);
const MiB = 1 << 20;
/** The workload covers 24 MiB: 6144 units over 24 chunks, so allocation, reuse and in-place writes all happen. */
const UNITS = (24 * MiB) / UNIT;
/** Units per chunk of the demo pool (1 MiB chunks). */
const CHUNK_UNITS = MiB / UNIT;

/** 24 MiB of 4 KiB units: writes of 1-8 units (1-64 one time in four), one op in six a trim of 1-3 chunks. */
const SHAPE: WorkloadShape = {
  units: UNITS,
  chunkUnits: CHUNK_UNITS,
  writers: 4,
  trimOneIn: 6,
  maxTrimChunks: 3,
  writeUnits: () => 1 + rand(rand(4) === 0 ? 64 : 8),
  fuaOneIn: 200,
  flushJitterMs: 20,
};

/** Takes and drops snapshots throughout, so that writes copy on write while the server dies. */
async function snapshotter(running: () => boolean): Promise<void> {
  while (running()) {
    await new Promise((r) => setTimeout(r, 20 + rand(60)));
    try {
      await api('POST', '/lds/demo0/snapshots');
      snapshotsTaken++;
      if (rand(3) === 0) await api('POST', '/lds/demo0/snapshots/delete-oldest', { count: 1 + rand(2) });
    } catch {
      return; // the server is gone
    }
  }
}

let snapshotsTaken = 0;
/** The server of the round running now. */
let server: TestServer;
const api = (method: string, route: string, body?: unknown) => server.api(method, route, body);

async function crashRounds(rounds: number, withSnapshots: boolean): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-crash-'));
  const model = new CrashModel(UNITS);
  let flushesSeen = 0;
  for (let round = 0; round < rounds; round++) {
    model.round = round;
    server = await startServer({ dataDir });
    try {
      await oneRound(round);
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
      await server.exited;
    }
    flushesSeen++;
  }
  assert.equal(flushesSeen, rounds);
  if (withSnapshots) assert.ok(snapshotsTaken >= rounds, `only ${snapshotsTaken} snapshots were taken during the workload`);
  // Kept only when a round failed, for the post-mortem.
  fs.rmSync(dataDir, { recursive: true, force: true });

  async function oneRound(round: number): Promise<void> {
    if (round === 0 && withSnapshots) {
      // Snapshots need their licence and an SSV (4 GiB, thick), which gets a pool of its own.
      await api('POST', '/licenses/DynamicSnapVolume/unlock');
      await api('POST', '/pools', { name: 'sys', size: '5GiB', raid: 'RAID0', pds: 1 });
      await api('POST', '/lds', { name: 'ssv', pool: 'sys', attr: 'ssv' });
    }
    const client = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'demo0' });
    // Verify what survived the previous crash, unit by unit.
    const problems = checkUnits(model, await client.read(0, UNITS * UNIT));
    assert.deepEqual(problems.slice(0, 10), [], `round ${round}: ${problems.length} units wrong (data kept in ${dataDir})`);
    // Every snapshot that survived is readable to the end; keep their number bounded.
    const snaps = !withSnapshots ? [] : ((await api('GET', '/lds/demo0/snapshots')) as Array<{ name: string; ld: string }>);
    if (snaps.length > 0) {
      const last = snaps[snaps.length - 1]!;
      const sc = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: last.ld });
      assert.equal((await sc.read(0, UNITS * UNIT)).length, UNITS * UNIT);
      sc.destroy();
    }
    if (snaps.length > 100) await api('POST', '/lds/demo0/snapshots/delete-oldest', { count: 50 });
    // Run the workload and kill the server at a random moment of it.
    const killAt = 50 + rand(400);
    const timer = setTimeout(() => server.proc.kill('SIGKILL'), killAt);
    await crashWorkload(client, model, SHAPE, 5000, withSnapshots ? [snapshotter] : []);
    clearTimeout(timer);
    await server.exited;
    client.destroy();
    const check = runKura(['check', '--data', dataDir], { timeoutMs: 300_000 });
    assert.equal(check.status, 0, `round ${round}: kura check failed:\n${check.stdout}${check.stderr}`);
  }
}

test(`crash consistency: ${ROUNDS} kill -9 during write/flush/trim`, { timeout: 30 * 60 * 1000 }, () => crashRounds(ROUNDS, false));

// With snapshots taken and dropped during the workload, writes copy on write while
// the server dies. (This once failed about one run in four: a write that reached one
// RAID1 mirror only made reads after the restart alternate between two versions. The
// array now resyncs the mirrors after an unclean shutdown.)
test(`crash consistency with snapshots: ${ROUNDS} kill -9 during write/flush/trim and snapshot create/delete`, { timeout: 30 * 60 * 1000 }, () =>
  crashRounds(ROUNDS, true),
);
