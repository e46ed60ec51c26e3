// Kill -9 the server while a replication pair copies (replicate MV → RV) and while
// it restores (RV → MV), with a write/flush/trim workload on the MV throughout.
// After each restart: every flushed unit of the MV reads back intact (or as a
// later write), the pair reports the copy it was in and resumes it to the end,
// MV and RV are then byte for byte the same, and `kura check` is clean.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NbdClient } from '../../src/nbd/client.js';
import { CrashModel, UNIT, unitContent } from '../helpers/versioned-blocks.js';
import { KURA, startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const ROUNDS = Number(process.env.KURA_CRASH_PAIR_ROUNDS ?? 6);
const MiB = 1 << 20;
/** The model covers the first 16 MiB of the MV; MiB 16-80 hold bulk data that gives the copies work. */
const UNITS = (16 * MiB) / UNIT;
const CHUNK_UNITS = MiB / UNIT;
const BULK_OFF = 16 * MiB;
const BULK_LEN = 64 * MiB;
const REGION = BULK_OFF + BULK_LEN;

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

interface PairInfo {
  activity: string;
  sync: string;
  progress: number;
  rvComplete: boolean;
  copyDiffBytes: number;
}

class Api {
  constructor(private readonly srv: TestServer) {}
  async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.srv.url}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.srv.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  pair(): Promise<PairInfo> {
    return this.call<PairInfo>('GET', '/pairs/demo0/rv0');
  }
  /** Polls until the pair's copy is over (bounded, so a stuck copy fails the test instead of hanging it). */
  async settled(): Promise<PairInfo> {
    const end = Date.now() + 40_000;
    for (;;) {
      const p = await this.pair();
      if (!p.sync.endsWith('/exec')) return p;
      if (Date.now() > end) throw new Error(`the pair's copy did not finish: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function readAll(c: NbdClient, off: number, len: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let o = 0; o < len; o += 4 * MiB) parts.push(await c.read(off + o, Math.min(4 * MiB, len - o)));
  return Buffer.concat(parts);
}

async function writeAll(c: NbdClient, off: number, data: Buffer): Promise<void> {
  for (let o = 0; o < data.length; o += 4 * MiB) await c.write(off + o, data.subarray(o, Math.min(o + 4 * MiB, data.length)));
  await c.flush();
}

/** Writes, trims and flushes on the modelled region until the connection dies or time is up. */
async function workload(client: NbdClient, model: CrashModel, ms: number): Promise<void> {
  const busy = new Uint8Array(UNITS);
  let acked = new Map<number, number>();
  const end = Date.now() + ms;
  let dead = false;
  async function writer(): Promise<void> {
    while (!dead && Date.now() < end) {
      const trim = rand(8) === 0;
      const len = trim ? CHUNK_UNITS : 1 + rand(16);
      const first = trim ? CHUNK_UNITS * rand(UNITS / CHUNK_UNITS) : rand(UNITS - len);
      let free = true;
      for (let u = first; u < first + len; u++) if (busy[u]) free = false;
      if (!free) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      for (let u = first; u < first + len; u++) busy[u] = 1;
      const versions: number[] = [];
      const buf = Buffer.allocUnsafe(len * UNIT);
      for (let i = 0; i < len; i++) {
        const v = model.newVersion(trim);
        versions.push(v);
        model.issued(first + i, v);
        if (!trim) unitContent(first + i, v).copy(buf, i * UNIT);
      }
      try {
        if (trim) await client.trim(first * UNIT, len * UNIT);
        else await client.write(first * UNIT, buf, { fua: rand(100) === 0 });
        for (let i = 0; i < len; i++) {
          acked.set(first + i, versions[i]!);
          model.acked(first + i, versions[i]!);
        }
      } catch {
        dead = true;
      } finally {
        for (let u = first; u < first + len; u++) busy[u] = 0;
      }
    }
  }
  async function flusher(): Promise<void> {
    while (!dead && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2 + rand(15)));
      const covered = acked;
      acked = new Map();
      try {
        await client.flush();
        model.flushed(covered);
      } catch {
        dead = true;
      }
    }
  }
  await Promise.all([writer(), writer(), writer(), flusher()]);
}

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
      const api = new Api(server);
      const mv = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'demo0' });
      if (round === 0) {
        await api.call('POST', '/licenses/DynamicDataReplication/unlock');
        await api.call('POST', '/lds', { name: 'rv0', pool: 'pool0', size: '1GiB' });
        await writeAll(mv, BULK_OFF, bulk);
        await api.call('POST', '/pairs', { mv: 'demo0', rv: 'rv0' });
        await api.call('POST', '/pairs/demo0/rv0/replicate');
      } else {
        // The pair reports the copy the kill interrupted, and takes it up again.
        const p = await api.pair();
        assert.equal(p.activity, previous, `round ${round}: activity after restart`);
        assert.ok(['rpl/exec', 'rpl/sync', 'rst/exec', 'rst/sync'].includes(p.sync), `round ${round}: sync state ${p.sync}`);
        if (p.sync.endsWith('/exec')) {
          // An unfinished replicate never shows its RV as complete; a restore's source RV stays whole.
          assert.equal(p.rvComplete, p.sync === 'rst/exec', `round ${round}: rvComplete in ${p.sync}`);
          const events = await api.call<Array<{ id: string }>>('GET', '/events?limit=50&order=desc');
          assert.ok(events.some((e) => e.id === 'KURA-W2344'), `round ${round}: no event says the copy resumed`);
          resumed++;
        }
      }
      // Flushed data on the MV survived (reads of chunks a restore has not reached yet come from the RV).
      const back = await readAll(mv, 0, UNITS * UNIT);
      const problems: string[] = [];
      for (let u = 0; u < UNITS; u++) {
        const b = back.subarray(u * UNIT, (u + 1) * UNIT);
        const bad = model.verify(u, b);
        if (bad) problems.push(bad);
        else model.settle(u, b);
      }
      assert.deepEqual(problems.slice(0, 10), [], `round ${round}: ${problems.length} units wrong (data kept in ${dataDir})`);
      assert.ok((await readAll(mv, BULK_OFF, BULK_LEN)).equals(bulk), `round ${round}: the MV's bulk region is wrong`);
      // The copy completes, and then both volumes are the same.
      const done = await api.settled();
      assert.ok(done.sync === 'rpl/sync' || done.sync === 'rst/sync', `round ${round}: ended in ${done.sync}`);
      assert.deepEqual([done.progress, done.copyDiffBytes], [100, 0]);
      await api.call('POST', '/pairs/demo0/rv0/separate');
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
        await api.call('POST', '/pairs/demo0/rv0/replicate');
      } else {
        await api.call('POST', '/pairs/demo0/rv0/restore');
      }
      previous = phase;
      const killAt = 10 + rand(120);
      const timer = setTimeout(() => {
        api
          .pair()
          .then((p) => {
            if (p.sync.endsWith('/exec')) killedDuringCopy++;
          })
          .catch(() => undefined)
          .finally(() => server.proc.kill('SIGKILL'));
      }, killAt);
      await workload(mv, model, 5000);
      clearTimeout(timer);
      await server.exited;
      mv.destroy();
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
      await server.exited;
    }
    const check = spawnSync(process.execPath, [KURA, 'check', '--data', dataDir], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(check.status, 0, `round ${round}: kura check failed:\n${check.stdout}${check.stderr}`);
  }
  // The last kill is verified by one more start.
  const server = await startServer({ dataDir });
  try {
    const api = new Api(server);
    const mv = await NbdClient.connect({ host: '127.0.0.1', port: server.nbdPort, exportName: 'demo0' });
    const back = await readAll(mv, 0, UNITS * UNIT);
    for (let u = 0; u < UNITS; u++) assert.equal(model.verify(u, back.subarray(u * UNIT, (u + 1) * UNIT)), null);
    assert.ok((await readAll(mv, BULK_OFF, BULK_LEN)).equals(bulk));
    await api.settled();
    mv.destroy();
  } finally {
    await server.stop();
  }
  assert.ok(killedDuringCopy >= 1, `no kill landed while a copy ran (${killedDuringCopy} of ${ROUNDS})`);
  assert.ok(resumed >= 1, 'no copy was resumed after a restart');
  fs.rmSync(dataDir, { recursive: true, force: true });
});
