// A pair command that starts a copy while the copier of the previous copy is still
// ending: a copier told to stop by a failed mirrored write, or one finishing a
// separate that waits for host writes under way. The new copy must run (the pair
// reaches rpl/sync or rst/sync with MV and RV equal) and the old copier must not act
// on the new copy's state (the RV stays not ready while mirrored).
//
// Writes below the LDs are held or failed per chunk, so the copier and the mirrored
// writes stop exactly where the race needs them.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BlockEngine } from '../../src/block/engine.js';
import type { LogicalDisk } from '../../src/block/logical-disk.js';
import { Replicator } from '../../src/block/replication.js';
import { Copier } from '../../src/block/replication/copier.js';
import { KuraError } from '../../src/errors.js';
import type { Pair, SyncState } from '../../src/block/replication.js';

const MiB = 1 << 20;
const BS = 512;
const CHUNK_BLOCKS = MiB / BS;
/** MV chunks that hold data when the pair is created: what the first copy copies. */
const DATA_CHUNKS = [0, 1, 2, 3, 4, 5, 6, 7];
/** A chunk outside the data, where host writes race the copier without waiting for its chunk locks. */
const SIDE_CHUNK = 12;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes to an LD, held (until released) or failed per chunk: a faulty device below the pair. */
class FaultyWrites {
  private readonly gates = new Map<number, { open: Promise<void>; release: () => void }>();
  private readonly failing = new Set<number>();
  /** Chunks with a write waiting at a gate. */
  readonly waiting = new Set<number>();

  constructor(ld: LogicalDisk) {
    const write = ld.write.bind(ld);
    ld.write = async (lba, data, opts) => {
      const c = Math.floor(lba / CHUNK_BLOCKS);
      if (this.failing.has(c)) throw new Error(`injected write error in chunk ${c}`);
      const g = this.gates.get(c);
      if (g) {
        this.waiting.add(c);
        await g.open;
        this.waiting.delete(c);
      }
      return write(lba, data, opts);
    };
  }

  hold(chunks: number[]): void {
    for (const c of chunks) {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      this.gates.set(c, { open, release });
    }
  }

  release(chunks: number[]): void {
    for (const c of chunks) {
      this.gates.get(c)?.release();
      this.gates.delete(c);
    }
  }

  fail(chunk: number, on: boolean): void {
    if (on) this.failing.add(chunk);
    else this.failing.delete(chunk);
  }

  /** Waits until a write to the chunk is held at its gate. */
  async held(chunk: number): Promise<void> {
    for (const t0 = Date.now(); !this.waiting.has(chunk); await delay(2)) {
      if (Date.now() - t0 > 10_000) throw new Error(`no write reached the gate of chunk ${chunk}`);
    }
  }
}

/** Waits (10 s at most) for the pair to reach the state; the message says where it stayed. */
async function reaches(p: Pair, sync: SyncState): Promise<void> {
  for (const t0 = Date.now(); p.state.sync !== sync; await delay(5)) {
    if (Date.now() - t0 > 10_000) {
      assert.fail(
        `the pair stayed in ${p.state.sync} (${p.diff.count} chunk(s) to copy, copier ${p.copier ? 'running' : 'not running'}) instead of reaching ${sync}`,
      );
    }
  }
}

/** Every byte of the two LDs is the same. */
async function assertSameBytes(mv: LogicalDisk, rv: LogicalDisk): Promise<void> {
  const a = await mv.read(0, mv.blockCount);
  const b = await rv.read(0, rv.blockCount);
  for (let c = 0; c * MiB < a.length; c++) {
    assert.ok(a.subarray(c * MiB, (c + 1) * MiB).equals(b.subarray(c * MiB, (c + 1) * MiB)), `MV and RV differ in chunk ${c}`);
  }
}

/** An engine with two 16 MiB LDs, the MV holding data in DATA_CHUNKS, a pair of them, and faults below both. */
async function setUp(t: { after(fn: () => Promise<void> | void): void }) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-copier-restart-'));
  const dir = path.join(data, 'array');
  fs.mkdirSync(dir);
  const engine = BlockEngine.open(dir);
  const pool = engine.createPool({ number: 0, name: 'p', size: 128 * MiB, raid: 'RAID1' });
  const ld = (number: number, name: string) =>
    engine.createLd({ number, name, pool, capacity: 16 * MiB, defaultOwner: 0, naa: '6'.padEnd(32, '0'), serial: `s${number}` });
  const mv = await ld(0, 'mv');
  const rv = await ld(1, 'rv');
  await mv.write(0, crypto.randomBytes(DATA_CHUNKS.length * MiB));
  const rep = new Replicator(engine.store, { commit: () => engine.commit(), ld: (id) => engine.lds.get(id), event: () => undefined });
  await rep.start();
  const p = await rep.create(mv, rv);
  const mvFaults = new FaultyWrites(mv);
  const rvFaults = new FaultyWrites(rv);
  t.after(async () => {
    // Nothing may stay held if an assertion failed half-way.
    mvFaults.release([...DATA_CHUNKS, SIDE_CHUNK]);
    rvFaults.release([...DATA_CHUNKS, SIDE_CHUNK]);
    await rep.close();
    await engine.close();
    fs.rmSync(data, { recursive: true, force: true });
  });
  return { rep, p, mv, rv, mvDev: rep.device(mv), mvFaults, rvFaults };
}

/** Runs the command; lets go of the held writes once it returned or had time to. */
async function issueThenRelease(cmd: Promise<void>, release: () => void): Promise<void> {
  // A fixed version may wait for the old copier, which waits for the release: do not wait for it first.
  await Promise.race([cmd, delay(200)]);
  release();
  await cmd;
}

for (const first of ['replicate', 'restore'] as const) {
  test(`replicate after a mirrored write failed during a ${first} copy starts a new copy that reaches rpl/sync`, async (t) => {
    const { rep, p, mv, rv, mvDev, mvFaults, rvFaults } = await setUp(t);
    // The copy's target: the RV for a replicate, the MV for a restore (after a full replicate and changes while separated).
    let target = rvFaults;
    if (first === 'restore') {
      await rep.replicate(p);
      await reaches(p, 'rpl/sync');
      await rep.separate(p, 'rw', false);
      await mvDev.write(0, crypto.randomBytes(DATA_CHUNKS.length * MiB));
      target = mvFaults;
    }
    target.hold(DATA_CHUNKS);
    if (first === 'replicate') await rep.replicate(p);
    else await rep.restore(p, []);
    assert.equal(p.state.sync, first === 'replicate' ? 'rpl/exec' : 'rst/exec');
    await target.held(0);

    // A mirrored write to the RV fails while the copier is held in the middle of a chunk copy: the pair faults.
    rvFaults.fail(SIDE_CHUNK, true);
    await mvDev.write(SIDE_CHUNK * CHUNK_BLOCKS, crypto.randomBytes(64 * 1024));
    assert.equal(p.state.sync, 'fault');
    rvFaults.fail(SIDE_CHUNK, false);

    // The RV is fixed; the operator replicates before the held copier has seen that it must stop.
    assert.ok(p.copier && p.stop, 'the old copier is told to stop and still running');
    await issueThenRelease(rep.replicate(p), () => target.release(DATA_CHUNKS));
    await reaches(p, 'rpl/sync');
    assert.equal(p.state.rvAccess, 'nr');
    await assertSameBytes(mv, rv);
  });
}

for (const next of ['replicate', 'restore'] as const) {
  test(`${next} right after a separate whose copy ends while a mirrored write is under way copies, with the RV not ready`, async (t) => {
    const { rep, p, mv, rv, mvDev, rvFaults } = await setUp(t);
    rvFaults.hold(DATA_CHUNKS);
    await rep.replicate(p);
    await rvFaults.held(0);
    await rep.separate(p, 'rw', false);
    assert.equal(p.state.sync, 'sep/exec');

    // A mirrored host write held at the RV: the separate, once the copy ends, waits for it.
    rvFaults.hold([SIDE_CHUNK]);
    const hostWrite = mvDev.write(SIDE_CHUNK * CHUNK_BLOCKS, crypto.randomBytes(64 * 1024));
    await rvFaults.held(SIDE_CHUNK);
    rvFaults.release(DATA_CHUNKS);
    await reaches(p, 'sep/end');
    assert.ok(p.copier, 'the copier finishes the separate behind the host write');

    // Separated: the MV changes, then the operator replicates (or restores) at once.
    await mvDev.write(3 * CHUNK_BLOCKS, crypto.randomBytes(MiB));
    await issueThenRelease(next === 'replicate' ? rep.replicate(p) : rep.restore(p, []), () => rvFaults.release([SIDE_CHUNK]));
    await hostWrite;
    assert.equal(p.state.rvAccess, 'nr', `the RV is not ready while the ${next} copies (${p.state.sync})`);
    await reaches(p, next === 'replicate' ? 'rpl/sync' : 'rst/sync');
    assert.equal(p.state.rvAccess, 'nr');
    await assertSameBytes(mv, rv);
  });
}

test('starting a copy while a copier of the pair runs is refused as a bug (KURA-E1150), the running copy unharmed', async (t) => {
  const { rep, p, mv, rv, rvFaults } = await setUp(t);
  rvFaults.hold(DATA_CHUNKS);
  await rep.replicate(p);
  await rvFaults.held(0);
  const second = new Copier({ paired: () => true, persist: () => undefined, commit: () => Promise.resolve(), event: () => undefined });
  assert.throws(
    () => second.start(p),
    (e: unknown) => e instanceof KuraError && e.id === 'KURA-E1150' && e.message.includes('mv → rv') && e.message.includes('rpl/exec'),
  );
  rvFaults.release(DATA_CHUNKS);
  await reaches(p, 'rpl/sync');
  await assertSameBytes(mv, rv);
});
