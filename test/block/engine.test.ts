// Storage engine behaviour through the KuraArray and the block device contract.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { ArrayEvent } from '../../src/array/agent.js';
import { checkDataDir } from '../../src/block/check.js';
import { BlockEngine } from '../../src/block/engine.js';
import { KuraError } from '../../src/errors.js';

const MiB = 1 << 20;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-engine-'));
  dirs.push(d);
  return d;
}

async function withArray<T>(dir: string, fn: (a: KuraArray) => Promise<T>): Promise<T> {
  const a = await KuraArray.open({ dataDir: dir });
  try {
    return await fn(a);
  } finally {
    await a.close();
  }
}

function dev(a: KuraArray, name: string) {
  const d = a.frontEnd.exports().open(name);
  assert.ok(d, `export ${name}`);
  return d;
}

test('thin LD: holes read as zeros, data round-trips across chunk boundaries and restarts', async () => {
  const dir = tmpDir();
  const pattern = crypto.randomBytes(3 * MiB);
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 64 * MiB, raid: 'RAID1' });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 1024 * MiB });
    const d = dev(a, 'ld');
    assert.deepEqual(await d.read(0, 16), Buffer.alloc(16 * 512));
    // Starts 1 KiB before a chunk boundary so the write spans 4 chunks.
    await d.write(2048 - 2, pattern);
    assert.deepEqual(await d.read(2048 - 2, pattern.length / 512), pattern);
    assert.deepEqual(await d.read(0, 2046), Buffer.alloc(2046 * 512), 'bytes before the write stay zero');
    await d.flush();
    assert.equal(a.lds.getLd('ld').allocated, 4 * MiB);
    assert.equal(a.pools.getPool('p').used, 4 * MiB);
  });
  assert.deepEqual(checkDataDir(dir).faults, []);
  await withArray(dir, async (a) => {
    const d = dev(a, 'ld');
    assert.deepEqual(await d.read(2048 - 2, pattern.length / 512), pattern);
    assert.equal(a.pools.getPool('p').used, 4 * MiB);
  });
});

test('RAID0, RAID1 and RAID10 pools store and return data', async () => {
  for (const [raid, pds] of [
    ['RAID0', 3],
    ['RAID1', 2],
    ['RAID10', 4],
  ] as const) {
    const dir = tmpDir();
    const data = crypto.randomBytes(8 * MiB);
    await withArray(dir, async (a) => {
      await a.pools.createPool({ name: 'p', size: 32 * MiB, raid, pds });
      await a.lds.createLd({ name: 'ld', pool: 'p', size: 64 * MiB });
      await dev(a, 'ld').write(0, data, { fua: true });
      assert.equal(a.pools.getPool('p').pds.length, pds);
    });
    await withArray(dir, async (a) => assert.deepEqual(await dev(a, 'ld').read(0, data.length / 512), data, raid));
    assert.deepEqual(checkDataDir(dir).faults, [], raid);
  }
});

test('RAID1 keeps serving reads when one PD file is lost', async () => {
  const dir = tmpDir();
  const data = crypto.randomBytes(4 * MiB);
  let pdPath = '';
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB, raid: 'RAID1' });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 16 * MiB });
    await dev(a, 'ld').write(0, data, { fua: true });
    pdPath = a.pools.getPool('p').pds[0]!.path;
  });
  fs.rmSync(pdPath);
  await withArray(dir, async (a) => {
    assert.equal(a.pools.getPool('p').state, 'degraded');
    assert.deepEqual(await dev(a, 'ld').read(0, data.length / 512), data);
  });
});

test('RAID10 is offline when both PDs of one mirror pair are lost, degraded with one PD of each pair lost', async () => {
  for (const [lost, want] of [
    [[2, 3], 'offline'],
    [[0, 3], 'degraded'],
  ] as const) {
    const dir = tmpDir();
    let paths: string[] = [];
    await withArray(dir, async (a) => {
      await a.pools.createPool({ name: 'p', size: 32 * MiB, raid: 'RAID10', pds: 4 });
      paths = a.pools.getPool('p').pds.map((d) => d.path);
    });
    for (const i of lost) fs.rmSync(paths[i]!);
    await withArray(dir, async (a) => {
      assert.equal(a.pools.getPool('p').state, want, `PDs ${lost.join(', ')} lost`);
    });
  }
});

test('unmap and write-zeroes free whole chunks and zero partial ones', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 32 * MiB, raid: 'RAID0', pds: 1 });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 32 * MiB });
    const d = dev(a, 'ld');
    const data = crypto.randomBytes(4 * MiB);
    await d.write(0, data);
    assert.equal(a.pools.getPool('p').used, 4 * MiB);
    // Frees chunk 1 whole, zeroes the second half of chunk 0.
    await d.unmap([{ lba: 1024, blocks: 3072 }]);
    await d.writeZeroes(3 * 2048, 2048);
    await d.flush();
    assert.equal(a.pools.getPool('p').used, 2 * MiB);
    const back = await d.read(0, 8192);
    const expect = Buffer.from(data);
    expect.fill(0, 512 * 1024, 2 * MiB);
    expect.fill(0, 3 * MiB, 4 * MiB);
    assert.deepEqual(back, expect);
    const map = await d.allocation(0, 8192);
    assert.deepEqual(map, [
      { blocks: 2048, hole: false, zero: false },
      { blocks: 2048, hole: true, zero: true },
      { blocks: 2048, hole: false, zero: false },
      { blocks: 2048, hole: true, zero: true },
    ]);
  });
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('a reused chunk never shows its old contents', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 2 * MiB, raid: 'RAID0', pds: 1 });
    await a.lds.createLd({ name: 'a', pool: 'p', size: 2 * MiB });
    await a.lds.createLd({ name: 'b', pool: 'p', size: 2 * MiB });
    const da = dev(a, 'a');
    const db = dev(a, 'b');
    await da.write(0, Buffer.alloc(2 * MiB, 0xaa));
    await da.unmap([{ lba: 0, blocks: 4096 }]);
    await da.flush();
    await db.write(8, Buffer.alloc(512, 0xbb));
    const got = await db.read(0, 2048);
    const expect = Buffer.alloc(MiB);
    expect.fill(0xbb, 8 * 512, 9 * 512);
    assert.deepEqual(got, expect);
  });
});

test('a full pool fails writes with ENOSPC and an event, keeps old data, and recovers after expansion', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    const events: ArrayEvent[] = [];
    a.events.onEvent((e) => events.push(e));
    await a.pools.createPool({ name: 'p', size: 4 * MiB, raid: 'RAID1', threshold: 50 });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 64 * MiB });
    const d = dev(a, 'ld');
    const data = crypto.randomBytes(4 * MiB);
    await d.write(0, data);
    assert.ok(
      events.some((e) => e.id === 'KURA-W2001'),
      'threshold event',
    );
    await assert.rejects(d.write(8 * 2048, Buffer.alloc(4096, 1)), (e: unknown) => e instanceof KuraError && e.code === 'ENOSPC' && e.id === 'KURA-E1001');
    assert.ok(
      events.some((e) => e.id === 'KURA-E2003' && e.severity === 'error'),
      'no-space event',
    );
    assert.deepEqual(await d.read(0, data.length / 512), data);
    await a.pools.expandPool('p', 8 * MiB);
    await d.write(8 * 2048, Buffer.alloc(4096, 1), { fua: true });
    assert.equal(a.pools.getPool('p').capacity, 12 * MiB);
    assert.equal(a.pools.getPool('p').pds.length, 4);
  });
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('concurrent writes into one unallocated chunk are all kept', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB, raid: 'RAID0', pds: 1 });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 16 * MiB });
    const d = dev(a, 'ld');
    const writes = [];
    for (let i = 0; i < 64; i++) writes.push(d.write(i * 8, Buffer.alloc(4096, i + 1)));
    await Promise.all(writes);
    const got = await d.read(0, 64 * 8);
    for (let i = 0; i < 64; i++) assert.equal(got[i * 4096], i + 1, `block ${i}`);
    assert.equal(a.pools.getPool('p').used, MiB);
  });
});

test('deleting LDs returns every chunk; pools with LDs refuse deletion', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 16 * MiB });
    await dev(a, 'ld').write(0, crypto.randomBytes(8 * MiB));
    await assert.rejects(a.pools.deletePool('p'), (e: unknown) => e instanceof KuraError && e.code === 'EBUSY');
    await a.lds.deleteLd('ld');
    assert.equal(a.pools.getPool('p').used, 0);
  });
  assert.deepEqual(checkDataDir(dir).faults, []);
  await withArray(dir, async (a) => {
    assert.equal(a.pools.getPool('p').used, 0);
    await a.pools.deletePool('p');
    assert.deepEqual(a.pools.listPools(), []);
  });
});

test('LD expansion keeps data and grows the export; shrinking is refused', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 4 * MiB });
    const d = dev(a, 'ld');
    await d.write(0, Buffer.alloc(4096, 7));
    await a.lds.expandLd('ld', 2048 * MiB);
    assert.equal(d.blockCount, 2048 * 2048);
    await d.write(d.blockCount - 8, Buffer.alloc(4096, 9), { fua: true });
    await assert.rejects(a.lds.expandLd('ld', MiB), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E1015');
  });
  await withArray(dir, async (a) => {
    const d = dev(a, 'ld');
    assert.equal((await d.read(0, 1))[0], 7);
    assert.equal((await d.read(d.blockCount - 1, 1))[0], 9);
  });
  assert.deepEqual(checkDataDir(dir).faults, []);
});

test('out-of-range and bad requests are rejected with ids, never crash', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 4 * MiB });
    const d = dev(a, 'ld');
    await assert.rejects(d.read(8192, 1), (e: unknown) => e instanceof KuraError && e.code === 'ERANGE');
    await assert.rejects(d.write(8191, Buffer.alloc(1024)), (e: unknown) => e instanceof KuraError && e.code === 'ERANGE');
    await assert.rejects(d.write(0, Buffer.alloc(100)), (e: unknown) => e instanceof KuraError && e.code === 'EINVAL');
    await assert.rejects(a.lds.createLd({ name: '12', pool: 'p', size: MiB }), (e: unknown) => e instanceof KuraError && e.id === 'KURA-E2010');
    await assert.rejects(
      a.pools.createPool({ name: 'q', size: 16 * MiB, raid: 'RAID10', pds: 3 }),
      (e: unknown) => e instanceof KuraError && e.id === 'KURA-E1011',
    );
    assert.equal(a.lds.getLd('0000h').name, 'ld');
  });
});

test('kura check finds corrupted metadata', async () => {
  const dir = tmpDir();
  await withArray(dir, async (a) => {
    await a.pools.createPool({ name: 'p', size: 16 * MiB });
    await a.lds.createLd({ name: 'ld', pool: 'p', size: 16 * MiB });
    await dev(a, 'ld').write(0, crypto.randomBytes(2 * MiB), { fua: true });
  });
  assert.equal(checkDataDir(dir).ok, true);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dir, 'array', 'meta.db'));
  db.prepare('UPDATE chunk_ref SET refcount = 5 WHERE chunk = 0').run();
  db.prepare('INSERT INTO chunk_ref (pool_id, chunk, refcount) VALUES (1, 7, 1)').run();
  db.close();
  const r = checkDataDir(dir);
  assert.equal(r.ok, false);
  assert.ok(
    r.faults.some((f) => f.includes('chunk 0 has refcount 5 but 1 references')),
    r.faults.join('\n'),
  );
  assert.ok(
    r.faults.some((f) => f.includes('chunk 7 is allocated (refcount 1) but not mapped (leaked)')),
    r.faults.join('\n'),
  );
});

test('internal LD ids are never handed out twice, across a restart too (state keyed by id must not pass to a later LD)', async () => {
  const dir = tmpDir();
  const spec = (e: BlockEngine, n: number) => ({
    number: n,
    name: `l${n}`,
    pool: [...e.pools.values()][0]!,
    capacity: MiB,
    defaultOwner: 0,
    naa: '6'.padEnd(32, '0'),
    serial: `s${n}`,
  });
  const e = BlockEngine.open(dir);
  e.createPool({ number: 0, name: 'p', size: 64 * MiB, raid: 'RAID0', pds: 1 });
  await e.createLd(spec(e, 0));
  const last = await e.createLd(spec(e, 1));
  await e.deleteLd(last);
  const next = await e.createLd(spec(e, 1));
  assert.ok(next.rec.id > last.rec.id, `id ${next.rec.id} after deleted ${last.rec.id}`);
  await e.deleteLd(next);
  await e.close();
  const again = BlockEngine.open(dir);
  const after = await again.createLd(spec(again, 1));
  assert.ok(after.rec.id > next.rec.id, `after a restart: id ${after.rec.id} after deleted ${next.rec.id}`);
  await again.close();
});
