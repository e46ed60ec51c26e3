// Map sharing in the engine: snapshots and clones share pages and chunks,
// writes copy on write, revert swaps maps, deletions free exactly what is unshared.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BlockEngine } from '../../src/block/engine.js';
import type { LogicalDisk } from '../../src/block/logical-disk.js';
import { checkDataDir } from '../../src/block/check.js';

const MiB = 1 << 20;
let n = 0;
function spec(engine: BlockEngine, name: string, capacity: number) {
  const pool = [...engine.pools.values()][0]!;
  return { number: n++, name, pool, capacity, defaultOwner: 0, naa: '6'.padEnd(32, '0'), serial: `s${n}` };
}

test('snapshot and clone share data, copy on write, revert, and free everything on delete', async (t) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-share-'));
  t.after(() => fs.rmSync(data, { recursive: true, force: true }));
  const dir = path.join(data, 'array');
  fs.mkdirSync(dir);
  let e = BlockEngine.open(dir);
  e.createPool({ number: 0, name: 'p', size: 64 * MiB, raid: 'RAID1' });
  const base = await e.createLd(spec(e, 'base', 16 * MiB));
  const A = crypto.randomBytes(4 * MiB);
  await base.write(0, A, { fua: true });
  const pool = base.pool;
  assert.equal(pool.usedChunks, 4);

  const snap = await e.createLd(spec(e, 'base@s1', 16 * MiB), base, true);
  assert.equal(pool.usedChunks, 4, 'a snapshot costs no chunks');
  await assert.rejects(snap.write(0, Buffer.alloc(512)), /read-only/);
  // Overwrite 4 KiB in chunk 1: one chunk is copied.
  const B = Buffer.alloc(4096, 0xbb);
  await base.write(2048 + 8, B);
  assert.equal(pool.usedChunks, 5);
  assert.deepEqual(await snap.read(0, 8192), A, 'snapshot keeps the old data');
  const expect = Buffer.from(A);
  B.copy(expect, MiB + 4096);
  assert.deepEqual(await base.read(0, 8192), expect);

  // A writable clone of the snapshot, then of the clone: 3 layers.
  const clone = await e.createLd(spec(e, 'clone', 16 * MiB), snap);
  const clone2 = await e.createLd(spec(e, 'clone2', 16 * MiB), clone);
  await clone2.write(0, Buffer.alloc(MiB, 0xcc));
  assert.deepEqual(await clone.read(0, 8192), A);
  assert.deepEqual(
    (await clone2.read(0, 2048)).every((x) => x === 0xcc),
    true,
  );
  assert.deepEqual(await clone2.read(2048, 6144), A.subarray(MiB));

  // Revert the base to the snapshot.
  await e.revertLd(base, snap);
  assert.deepEqual(await base.read(0, 8192), A);
  await e.commit();
  assert.equal(pool.usedChunks, 5, 'A (4 chunks) + clone2 chunk 0');
  await e.close();
  assert.deepEqual(checkDataDir(data).faults, []);

  e = BlockEngine.open(dir);
  const byName = (name: string): LogicalDisk => [...e.lds.values()].find((l) => l.name === name)!;
  assert.deepEqual(await byName('base@s1').read(0, 8192), A);
  assert.deepEqual(await byName('clone2').read(2048, 6144), A.subarray(MiB));
  for (const name of ['base', 'base@s1', 'clone', 'clone2']) await e.deleteLd(byName(name));
  await e.commit();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal([...e.pools.values()][0]!.usedChunks, 0);
  assert.equal([...e.pools.values()][0]!.pages.size, 0);
  await e.close();
  const r = checkDataDir(data);
  assert.deepEqual(r.faults, []);
  assert.equal(r.pools[0]!.allocated, 0);
});

test('a chain of 64 clones each changing one chunk reads back every layer', async (t) => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-share-'));
  t.after(() => fs.rmSync(data, { recursive: true, force: true }));
  const dir = path.join(data, 'array');
  fs.mkdirSync(dir);
  const e = BlockEngine.open(dir);
  e.createPool({ number: 0, name: 'p', size: 128 * MiB, raid: 'RAID0', pds: 1 });
  let cur = await e.createLd(spec(e, 'l0', 64 * MiB));
  const layers: LogicalDisk[] = [cur];
  for (let i = 1; i <= 64; i++) {
    await cur.write((i - 1) * 2048, Buffer.alloc(4096, i));
    cur = await e.createLd(spec(e, `l${i}`, 64 * MiB), cur);
    layers.push(cur);
  }
  for (let i = 0; i <= 64; i++) {
    const got = await layers[i]!.read(0, 64 * 2048);
    for (let k = 1; k <= 64; k++) assert.equal(got[(k - 1) * MiB], k <= i + 1 ? k : 0, `layer ${i} chunk ${k - 1}`);
  }
  await e.close();
  assert.deepEqual(checkDataDir(data).faults, []);
});
