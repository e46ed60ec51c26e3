// RAID1 mirrors after an unclean shutdown: a write that reached one mirror and not
// the other must not make two reads of the same block disagree, and the array
// resyncs the mirrors of allocated chunks in the background.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { ArrayEvent } from '../../src/array/agent.js';
import { checkDataDir } from '../../src/block/check.js';
import { MetaStore } from '../../src/block/meta-store.js';

const MiB = 1 << 20;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function pdFile(dataDir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(dataDir, 'array', p);
}

/** What an unclean shutdown leaves behind: the clean-shutdown mark is not set. */
function markUnclean(dataDir: string): void {
  const s = new MetaStore(path.join(dataDir, 'array', 'meta.db'));
  s.setMeta('clean_shutdown', '0');
  s.close();
}

function waitFor(events: ArrayEvent[], id: string): Promise<ArrayEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      const e = events.find((x) => x.id === id);
      if (e) return resolve(e);
      if (Date.now() - t0 > 30_000) return reject(new Error(`no ${id} event; saw ${events.map((x) => x.id).join(', ')}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

test('after an unclean shutdown, diverged RAID1 mirrors read the same every time and resync makes them equal', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-resync-'));
  dirs.push(dir);
  const a = await KuraArray.open({ dataDir: dir });
  await a.pools.createPool({ name: 'm', size: 64 * MiB, raid: 'RAID1' });
  await a.lds.createLd({ name: 'ld', pool: 'm', size: 16 * MiB });
  const first = crypto.randomBytes(2 * MiB);
  const d = a.frontEnd.exports().open('ld')!;
  await d.write(0, first);
  await d.flush();
  const pds = a.pools.getPool('m').pds.map((p) => pdFile(dir, p.path));
  await a.close();
  assert.equal(pds.length, 2);

  // A clean shutdown needs no resync.
  let b = await KuraArray.open({ dataDir: dir });
  let events: ArrayEvent[] = [];
  b.events.onEvent((e) => events.push(e));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(b.pools.getPool('m').resyncProgress, null);
  assert.deepEqual(
    events.filter((e) => e.id === 'KURA-W2006'),
    [],
  );
  await b.close();

  // A write that reached the second mirror only, then the process died.
  const torn = crypto.randomBytes(MiB);
  const fd = fs.openSync(pds[1]!, 'r+');
  fs.writeSync(fd, torn, 0, torn.length, 0);
  fs.closeSync(fd);
  markUnclean(dir);

  b = await KuraArray.open({ dataDir: dir });
  events = [];
  b.events.onEvent((e) => events.push(e));
  const dev = b.frontEnd.exports().open('ld')!;
  // Before resync reaches the chunk, every read comes from the same mirror.
  const reads = await Promise.all(Array.from({ length: 6 }, () => dev.read(0, 2048)));
  for (const r of reads) assert.ok(r.equals(reads[0]!), 'two reads of the same blocks returned different data');
  const finished = await waitFor(events, 'KURA-I2007');
  assert.match(finished.text, /2 allocated chunks checked, 1 copied/);
  assert.ok(
    events.some((e) => e.id === 'KURA-W2006'),
    'the resync was announced',
  );
  assert.equal(b.pools.getPool('m').resyncProgress, null);
  const m0 = fs.readFileSync(pds[0]!).subarray(0, 2 * MiB);
  const m1 = fs.readFileSync(pds[1]!).subarray(0, 2 * MiB);
  assert.ok(m0.equals(m1), 'the mirrors agree after resync');
  assert.ok((await dev.read(0, 4096)).equals(Buffer.concat([reads[0]!, first.subarray(MiB)])));
  // Writes during and after resync go to both mirrors as before.
  const later = crypto.randomBytes(MiB);
  await dev.write(2048, later);
  await dev.flush();
  await b.close();
  assert.deepEqual(checkDataDir(dir).faults, []);

  // The resync finished and the shutdown was clean: no resync on the next start.
  const c = await KuraArray.open({ dataDir: dir });
  const ev3: ArrayEvent[] = [];
  c.events.onEvent((e) => ev3.push(e));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    ev3.filter((e) => e.id === 'KURA-W2006'),
    [],
  );
  assert.ok((await c.frontEnd.exports().open('ld')!.read(2048, 2048)).equals(later));
  await c.close();
});
