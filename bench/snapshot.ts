// Snapshot and clone creation time against LD size, and the cost of the first
// overwrite after a snapshot (copy-on-write of a chunk) against a plain overwrite.
//
//   node dist/bench/snapshot.js
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KuraArray } from '../src/array/array.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const WORK = process.env.KURA_BENCH_DIR ?? '/var/tmp/kura-bench';
const dir = path.join(WORK, 'snapshot');
fs.rmSync(dir, { recursive: true, force: true });
const a = await KuraArray.open({ dataDir: dir });
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
try {
  await a.licenses.unlockLicense('DynamicSnapVolume');
  await a.licenses.unlockLicense('VolumeClone');
  await a.pools.createPool({ name: 'p', size: 24 * GiB, raid: 'RAID0', pds: 1 });
  await a.lds.createLd({ name: 'ssv', pool: 'p', size: 0, attr: 'ssv' });
  console.log('creation time with 1 GiB written (1 MiB chunks), median of 5');
  console.log('  LD size    snapshot    clone');
  const chunk = crypto.randomBytes(MiB);
  for (const [label, size] of [
    ['1 GiB', GiB],
    ['64 GiB', 64 * GiB],
    ['1 TiB', 1024 * GiB],
  ] as const) {
    const name = `v${label.replace(' ', '')}`;
    await a.lds.createLd({ name, pool: 'p', size });
    const d = a.frontEnd.exports().open(name)!;
    // 1 GiB written, spread evenly over the LD.
    const step = size / GiB;
    for (let i = 0; i < 1024; i++) await d.write((i * step * MiB) / 512, chunk);
    await d.flush();
    const snapTimes: number[] = [];
    const cloneTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      let t = process.hrtime.bigint();
      await a.snapshots.createSnapshot(name, `s${i}`);
      snapTimes.push(ms(t));
      t = process.hrtime.bigint();
      await a.clones.createClone(name, `${name}c${i}`);
      cloneTimes.push(ms(t));
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[2]!.toFixed(2);
    console.log(`  ${label.padEnd(9)}  ${med(snapTimes).padStart(6)} ms  ${med(cloneTimes).padStart(6)} ms`);
  }

  // First overwrite after a snapshot copies the 1 MiB chunk; later overwrites do not.
  await a.lds.createLd({ name: 'w', pool: 'p', size: GiB });
  const w = a.frontEnd.exports().open('w')!;
  for (let i = 0; i < 1024; i++) await w.write(i * 2048, chunk);
  await w.flush();
  const block = crypto.randomBytes(4096);
  const run = async () => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 1024; i++) await w.write(i * 2048 + 8, block);
    return ms(t) / 1024;
  };
  const plain = await run();
  await a.snapshots.createSnapshot('w', 'before');
  const first = await run();
  const second = await run();
  console.log('\n4 KiB write latency (queue depth 1, one write per chunk, page cache)');
  console.log(`  plain overwrite                ${(plain * 1000).toFixed(0).padStart(6)} us`);
  console.log(`  first overwrite after snapshot ${(first * 1000).toFixed(0).padStart(6)} us  (${(first / plain).toFixed(1)}x: copies the 1 MiB chunk)`);
  console.log(`  second overwrite               ${(second * 1000).toFixed(0).padStart(6)} us`);
} finally {
  await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
