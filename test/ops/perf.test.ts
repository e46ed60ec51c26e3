// The performance history: the ring files' size and bounds with a fake clock
// and counters (a day of 10-second samples, a week of minutes, rates and
// latencies from counter differences, a restart's baseline), then a real
// server: I/O over NBD shows up in kura perf show (table, --csv, --json), and
// the samples survive a restart of the server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ArrayIoStats, IoSnapshot, PoolInfo } from '../../src/array/agent.js';
import { LATENCY_BUCKETS } from '../../src/io/io-counters.js';
import { PerfHistory, parseSince } from '../../src/ops/perf/history.js';
import { RING_FILE_BYTES } from '../../src/ops/perf/ring.js';
import { expectCliError } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';

function io(ops: number, bytesPerOp: number, latencySecPerOp: number): IoSnapshot {
  const h = { buckets: LATENCY_BUCKETS.map(() => 0), sumSeconds: ops * latencySecPerOp };
  return {
    readOps: ops,
    writeOps: 2 * ops,
    otherOps: 0,
    readBytes: ops * bytesPerOp,
    writeBytes: 2 * ops * bytesPerOp,
    errors: 0,
    inflight: 3,
    readLatency: h,
    writeLatency: { ...h },
  };
}

test('the rings: 10-second samples for a day, minutes for a week, rates and latencies from counter differences, a fixed file size', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-perf-'));
  try {
    let now = Date.UTC(2026, 0, 1, 0, 0, 0);
    let ops = 0;
    const agent = {
      ioStats: (): ArrayIoStats => ({ lds: [{ ld: 'v1', number: 1, pool: 'p0', io: io(ops, 4096, 0.002) }], ports: [] }),
      pools: { listPools: () => [{ name: 'p0', used: 1000, capacity: 5000 } as PoolInfo] },
    };
    const make = () => new PerfHistory({ dataDir: dir, agent, now: () => now });
    let h = make();
    // Eight days of samples every 10 s, 100 reads (and 200 writes) each.
    const tick = () => {
      now += 10_000;
      ops += 100;
      h.sample();
    };
    h.sample();
    for (let i = 0; i < 8 * 8640; i++) tick();
    const file = path.join(dir, 'perf', 'ld-v1.ring');
    assert.equal(fs.statSync(file).size, RING_FILE_BYTES, 'the file never grows past its two rings');
    assert.equal(RING_FILE_BYTES, 599_104);
    const day = h.series('ld', 'v1', 86_400);
    assert.equal(day.resolution, '10s');
    assert.equal(day.samples.length, 8640 - 1, 'a day of 10-second samples (the newest interval is still open)');
    const s = day.samples.at(-1)!;
    assert.equal(s['readIops'], 10);
    assert.equal(s['writeIops'], 20);
    assert.equal(s['readBytesPerSec'], 40_960);
    assert.equal(s['readLatencyMs'], 2);
    assert.equal(s['queueDepth'], 3);
    const week = h.series('ld', 'v1', 7 * 86_400);
    assert.equal(week.resolution, '1m');
    assert.equal(week.samples.length, 10_080 - 1, 'a week of minutes');
    assert.equal(week.samples.at(-1)!['writeIops'], 20);
    const pool = h.series('pool', 'p0', 3600);
    assert.deepEqual([pool.samples.at(-1)!['usedBytes'], pool.samples.at(-1)!['capacityBytes'], pool.samples.at(-1)!['readIops']], [1000, 5000, 10]);
    // A restart: counters start from zero; the first sample is only the baseline, the history stays.
    h.close();
    h = make();
    ops = 0;
    h.sample();
    tick();
    tick();
    const after = h.series('ld', 'v1', 600);
    assert.equal(after.samples.at(-1)!['readIops'], 10);
    assert.ok(after.samples.length >= 58, `${after.samples.length} samples in 10 minutes across the restart`);
    h.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(parseSince('90s'), 90);
  assert.equal(parseSince('2d'), 172_800);
  assert.throws(() => parseSince('8d'), { id: 'KURA-E8311' } as object);
  assert.throws(() => parseSince('soon'), { id: 'KURA-E8311' } as object);
});

function nbdcopy(src: string, dst: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('nbdcopy', [src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', (e) => reject(new Error(`nbdcopy could not run (Debian package libnbd-bin): ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nbdcopy exited ${code}: ${err}`))));
  });
}

interface Series {
  resolution: string;
  fields: string[];
  samples: Array<Record<string, number | string>>;
}

test('kura perf show: I/O over NBD in the history of the LD, its pool and the NBD port; the history survives a restart', { timeout: 180_000 }, async () => {
  let srv = await startServer();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-perf-src-'));
  try {
    const src = path.join(dataDir, 'data.bin');
    fs.writeFileSync(src, Buffer.alloc(32 * 2 ** 20, 0x5a));
    // Writes over NBD until a 10-second sample holds them.
    const written = async () => {
      const r = await srv.cli.spawn('perf', 'show', 'demo0', '--since', '10m', '--json');
      if (r.status !== 0) return undefined;
      const s = JSON.parse(r.stdout) as Series;
      return s.samples.some((x) => Number(x['writeBytesPerSec']) > 0) ? s : undefined;
    };
    let series: Series | undefined;
    const deadline = Date.now() + 90_000;
    while (!(series = await written())) {
      assert.ok(Date.now() < deadline, 'a sample with writes within 90 s');
      await nbdcopy(src, srv.nbdUri('demo0'));
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(series.resolution, '10s');
    assert.deepEqual(series.fields, ['readIops', 'writeIops', 'readBytesPerSec', 'writeBytesPerSec', 'readLatencyMs', 'writeLatencyMs', 'queueDepth']);
    const busy = series.samples.find((x) => Number(x['writeBytesPerSec']) > 0)!;
    assert.ok(Number(busy['writeIops']) > 0);
    assert.ok(Number(busy['writeLatencyMs']) > 0);
    const objects = srv.cli.json<Array<{ kind: string; name: string }>>('perf', 'list');
    for (const o of [
      { kind: 'ld', name: 'demo0' },
      { kind: 'pool', name: 'pool0' },
      { kind: 'port', name: 'nbd' },
    ])
      assert.ok(
        objects.some((x) => x.kind === o.kind && x.name === o.name),
        `${o.kind} ${o.name} has history`,
      );
    const pool = srv.cli.json<Series>('perf', 'show', 'pool0', '--kind', 'pool', '--since', '10m');
    assert.ok(pool.samples.some((x) => Number(x['capacityBytes']) === 4 * 2 ** 30));
    const csv = srv.cli.ok('perf', 'show', 'demo0', '--since', '10m', '--csv').trim().split('\n');
    assert.equal(csv[0], 'time,readIops,writeIops,readBytesPerSec,writeBytesPerSec,readLatencyMs,writeLatencyMs,queueDepth');
    assert.ok(csv.slice(1).some((l) => l.startsWith(`${busy['time']},`)));
    expectCliError(srv.cli.run('perf', 'show', 'nosuch', '--since', '1h'), 1, 'KURA-E8310', 'an LD without history');
    expectCliError(srv.cli.run('perf', 'show', 'demo0', '--since', '9d'), 1, 'KURA-E8311', 'more than a week back');

    // A restart keeps every sample taken before it.
    const dir = srv.dataDir;
    await srv.stop();
    srv = await startServer({ dataDir: dir });
    const again = srv.cli.json<Series>('perf', 'show', 'demo0', '--since', '10m');
    const same = again.samples.find((x) => x['time'] === busy['time']);
    assert.deepEqual(same, busy, 'the busy sample is still there after the restart');
  } finally {
    const dir = srv.dataDir;
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
