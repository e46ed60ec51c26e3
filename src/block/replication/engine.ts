// The replication engine: the pairs of an array, persisted in the metadata store
// (state and difference bitmap per pair), the operator's commands on them
// (create, replicate, separate, restore, remove), and the start and clean close
// that decide what a restart copies again. The data path is replicated-device.ts,
// the background copy copier.ts, the mirrored-write intent log intent-log.ts, the
// states and their moves pair-states.ts.
//
// Crash safety: while separated, a chunk's bit reaches the store before the
// write that changes the chunk is issued (a write-intent bitmap), so no change
// goes untracked. A copied chunk's bit is cleared in the store only after the
// engine committed the copy. A mirrored write first stores its region (16
// chunks) in the bitmap too; a region leaves it once no mirrored write is under
// way there and a commit has made the last ones durable. After an unclean
// shutdown a mirrored pair therefore copies only the regions that may differ.
import { KuraError } from '../../errors.js';
import type { BlockDevice } from '../device.js';
import type { LogicalDisk } from '../logical-disk.js';
import type { MetaStore } from '../meta-store.js';
import { ChunkBitmap } from '../chunk-bitmap.js';
import type { Layer } from '../stack.js';
import { Copier } from './copier.js';
import { IntentLog } from './intent-log.js';
import { nowIso, Pair } from './pair.js';
import type { ReplicationEvent } from './pair.js';
import type { PairState } from './pair-states.js';
import { ReplicatedDevice } from './replicated-device.js';
import { PAIR_COPYING, PAIR_NOT_SEPARATED, PAIR_SEPARATED_ALREADY, PAIR_SEPARATING, RV_INCOMPLETE } from '../../catalogue/array.js';

export interface ReplicatorHooks {
  commit(): Promise<void>;
  ld(id: number): LogicalDisk | undefined;
  event(e: ReplicationEvent): void;
}

const CLEAN_KEY = 'rpl_clean';

/** The replication layer of an LD's stack (see stack.ts): sits on the LD, below QoS. */
export function replicationLayer(rep: Replicator): Layer<LogicalDisk> {
  return (below, ld) => rep.device(ld, below);
}

export class Replicator {
  private readonly pairs: Pair[] = [];
  private readonly unclean: boolean;
  private closed = false;
  private readonly intent: IntentLog;
  private readonly copier = new Copier({
    paired: (p) => this.pairs.includes(p),
    persist: (p) => this.persist(p),
    commit: () => this.commit(),
    event: (e) => this.hooks.event(e),
  });

  constructor(
    private readonly store: MetaStore,
    private readonly hooks: ReplicatorHooks,
  ) {
    const db = store.db;
    db.exec('CREATE TABLE IF NOT EXISTS rpl_pair (rv INTEGER PRIMARY KEY, mv INTEGER NOT NULL, state TEXT NOT NULL, bitmap BLOB NOT NULL)');
    this.unclean = store.getMeta(CLEAN_KEY) === '0';
    store.setMeta(CLEAN_KEY, '0');
    for (const row of db.prepare('SELECT rv, mv, state, bitmap FROM rpl_pair').all() as Array<{ rv: number; mv: number; state: string; bitmap: Buffer }>) {
      const mv = hooks.ld(row.mv);
      const rv = hooks.ld(row.rv);
      if (!mv || !rv) {
        db.prepare('DELETE FROM rpl_pair WHERE rv = ?').run(row.rv);
        continue;
      }
      this.pairs.push(new Pair(mv, rv, JSON.parse(row.state) as PairState, row.bitmap));
    }
    this.intent = new IntentLog({
      pairs: () => this.pairs,
      closed: () => this.closed,
      persist: (p) => this.persist(p),
      commit: () => this.hooks.commit(),
    });
  }

  /**
   * Starts what the last run left: copies resume from their persisted bitmap. After
   * an unclean shutdown the bitmap of a mirrored pair also names the regions where
   * mirrored writes were under way, which may differ: they are copied again.
   */
  async start(): Promise<void> {
    for (const p of this.pairs) {
      const wasMirroring = p.mirroring;
      if (this.unclean && wasMirroring && p.diff.count > 0) {
        if (p.state.sync === 'rpl/sync' || p.state.sync === 'rst/sync') p.move('recopy-after-crash');
        p.state.complete = false;
        p.state.copyTotal = p.diff.count;
        p.state.copied = 0;
        this.persist(p);
      }
      if (p.copying) {
        this.copier.start(p);
        // Raised on the next turn, so that the opener can subscribe to events first.
        const e: ReplicationEvent = { kind: 'resumed', pair: p, unclean: this.unclean && wasMirroring };
        setImmediate(() => this.hooks.event(e));
      }
    }
  }

  list(): Pair[] {
    return [...this.pairs];
  }

  find(mv: LogicalDisk, rv: LogicalDisk): Pair | undefined {
    return this.pairs.find((p) => p.mv === mv && p.rv === rv);
  }

  pairsOf(ld: LogicalDisk): Pair[] {
    return this.pairs.filter((p) => p.mv === ld || p.rv === ld);
  }

  /**
   * The LD's data path with replication: mirroring, difference tracking, RV access, restore
   * on demand; over `below`, the LD itself unless layers sit between (replicationLayer).
   */
  device(ld: LogicalDisk, below: BlockDevice = ld): BlockDevice {
    return new ReplicatedDevice(below, ld, this);
  }

  /** MV's pairs (as MV) and the pair whose RV it is, for the device layer. */
  rolesOf(ld: LogicalDisk): { asMv: Pair[]; asRv: Pair | undefined } {
    const asMv: Pair[] = [];
    let asRv: Pair | undefined;
    for (const p of this.pairs) {
      if (p.mv === ld) asMv.push(p);
      else if (p.rv === ld) asRv = p;
    }
    return { asMv, asRv };
  }

  persist(p: Pair): void {
    if (this.closed) return;
    const extra: number[] = [...p.uncommitted, ...this.intent.chunks(p)];
    this.store.db.prepare('UPDATE rpl_pair SET state = ?, bitmap = ? WHERE rv = ?').run(JSON.stringify(p.state), p.diff.union(extra), p.rv.rec.id);
  }

  /** Before a mirrored write: its regions reach the store first, so that a crash shows where MV and RV may differ. */
  beginMirrored(p: Pair, first: number, last: number): void {
    this.intent.begin(p, first, last);
  }

  endMirrored(p: Pair, first: number, last: number): void {
    this.intent.end(p, first, last);
  }

  /** An LD's FLUSH (one engine commit), noted for the intent log. */
  flush(ld: BlockDevice): Promise<void> {
    return this.intent.noteCommit(() => ld.flush());
  }

  /** Runs an engine commit and notes when it started (intent regions idle before that are clean after it). */
  commit(): Promise<void> {
    return this.intent.noteCommit(() => this.hooks.commit());
  }

  report(e: ReplicationEvent): void {
    this.hooks.event(e);
  }

  /** Records chunks as different ahead of the write that changes them (write-intent). */
  markDirty(p: Pair, first: number, last: number): void {
    let changed = false;
    for (let c = first; c <= last; c++) if (p.diff.set(c)) changed = true;
    if (changed) this.persist(p);
  }

  /** Every chunk that either volume has allocated. */
  private async markAllocated(p: Pair): Promise<void> {
    for (const ld of [p.mv, p.rv]) {
      const ext = await ld.allocation(0, ld.blockCount);
      const bpc = p.chunkSize / ld.blockSize;
      let b = 0;
      for (const e of ext) {
        if (!e.hole) for (let c = Math.floor(b / bpc); c <= Math.floor((b + e.blocks - 1) / bpc); c++) p.diff.set(c);
        b += e.blocks;
      }
    }
  }

  /** A new pair, separated, with every allocated chunk to copy on the first replicate. */
  async create(mv: LogicalDisk, rv: LogicalDisk): Promise<Pair> {
    const state: PairState = {
      activity: 'separate',
      sync: 'sep/end',
      previous: null,
      rvAccess: 'rw',
      sepAccess: 'rw',
      direction: 'mv-to-rv',
      sepStart: null,
      sepEnd: null,
      copyTotal: 0,
      copied: 0,
      complete: false,
      created: nowIso(),
      fault: null,
    };
    const p = new Pair(mv, rv, state);
    await this.markAllocated(p);
    this.store.db
      .prepare('INSERT INTO rpl_pair (rv, mv, state, bitmap) VALUES (?, ?, ?, ?)')
      .run(rv.rec.id, mv.rec.id, JSON.stringify(state), Buffer.from(p.diff.bits));
    this.pairs.push(p);
    return p;
  }

  /** Starts copying the differences MV → RV; writes are mirrored from now on. */
  async replicate(p: Pair): Promise<void> {
    if (await this.previousCopierEnded(p)) return this.replicate(p);
    const s = p.state;
    if (s.sync === 'rpl/exec' || s.sync === 'rpl/sync') return;
    if (s.sync === 'rst/sync') {
      s.activity = 'replicate';
      s.direction = 'mv-to-rv';
      p.move('replicate');
      this.persist(p);
      return;
    }
    if (p.copying) throw busy(p, 'replicate');
    // Writes to the RV made while it was separated must be over before it is overwritten.
    s.rvAccess = 'nr';
    await p.quiesce();
    s.activity = 'replicate';
    s.direction = 'mv-to-rv';
    s.fault = null;
    p.move('replicate');
    this.beginCopy(p);
  }

  /**
   * Waits for the copier of the pair's previous copy if it is still ending although the pair
   * no longer copies: told to stop by a failed mirrored write (fault), or finishing a separate
   * behind host writes under way (sep/end). Left running, it would keep the new copy from
   * starting and then act on the new copy's state (a separate's RV access over it). True when
   * it waited: the command then decides again on the state that copier left.
   */
  private async previousCopierEnded(p: Pair): Promise<boolean> {
    if (p.copying || !p.copier) return false;
    await this.copier.stop(p);
    return true;
  }

  private beginCopy(p: Pair): void {
    p.state.copyTotal = p.diff.count;
    p.state.copied = 0;
    p.state.complete = false;
    this.persist(p);
    this.copier.start(p);
  }

  /** Freezes the RV. With a copy still running it waits for it (sep/exec) unless forced. */
  async separate(p: Pair, access: 'rw' | 'ro', force: boolean): Promise<void> {
    const s = p.state;
    if (s.sync === 'sep/end' || s.sync === 'fault') {
      throw PAIR_SEPARATED_ALREADY({ mv: p.mv.name, rv: p.rv.name });
    }
    if (s.sync === 'sep/exec' && !force) {
      throw PAIR_SEPARATING({ mv: p.mv.name, rv: p.rv.name, arg: p.progress() });
    }
    if (!p.copying) {
      // In sync: freeze at once; mirrored writes under way finish first.
      s.activity = 'separate';
      p.move('separate');
      await p.quiesce();
      s.sepStart = s.sepEnd = nowIso();
      s.rvAccess = access;
      s.complete = true;
      this.persist(p);
      return;
    }
    s.activity = 'separate';
    if (!force) {
      s.sepStart = nowIso();
      s.sepEnd = null;
      s.sepAccess = access;
      p.move('separate');
      this.persist(p);
      return;
    }
    await this.copier.stop(p);
    p.move('separate-force');
    await p.quiesce();
    s.sepStart = s.sepEnd = nowIso();
    s.rvAccess = access;
    s.fault = `separated by force with ${p.diffBytes()} bytes not copied to the ${s.direction === 'mv-to-rv' ? 'RV (replicate)' : 'MV (restore)'}`;
    this.persist(p);
  }

  /** Copies the differences RV → MV in the background; the MV stays usable. */
  async restore(p: Pair, others: Pair[]): Promise<void> {
    if (await this.previousCopierEnded(p)) return this.restore(p, others);
    const s = p.state;
    if (s.sync === 'rpl/sync') {
      s.activity = 'restore';
      s.direction = 'rv-to-mv';
      p.move('restore');
      this.persist(p);
      return;
    }
    if (s.sync === 'rst/sync' || s.sync === 'rst/exec') return;
    if (p.copying) throw busy(p, 'restore');
    if (!p.rvValid) {
      throw RV_INCOMPLETE({ rv: p.rv.name, mv: p.mv.name });
    }
    s.rvAccess = 'nr';
    await p.quiesce();
    // Other RVs of this MV will differ wherever the restore changes the MV.
    for (const o of others) {
      let changed = false;
      for (let c = p.diff.next(0); c >= 0; c = p.diff.next(c + 1)) if (o.diff.set(c)) changed = true;
      if (changed) this.persist(o);
    }
    s.activity = 'restore';
    s.direction = 'rv-to-mv';
    s.fault = null;
    p.move('restore');
    this.beginCopy(p);
  }

  /** Unpairs. Only separated pairs unless forced (a running copy stops where it is). */
  async remove(p: Pair, force: boolean): Promise<{ incomplete: boolean }> {
    if (p.mirroring && !force) {
      throw PAIR_NOT_SEPARATED({ mv: p.mv.name, rv: p.rv.name, sync: p.state.sync });
    }
    const incomplete = p.copying || p.state.sync === 'fault';
    await this.copier.stop(p);
    // No more mirroring or tracking once the pair is gone; I/O under way finishes first.
    this.pairs.splice(this.pairs.indexOf(p), 1);
    await p.quiesce();
    this.store.db.prepare('DELETE FROM rpl_pair WHERE rv = ?').run(p.rv.rec.id);
    return { incomplete };
  }

  /**
   * An LD of separated pairs grew: their bitmaps grow with it. The new region is zeros
   * on the grown LD and beyond the end of the other, so only later writes mark it.
   */
  resized(ld: LogicalDisk): void {
    for (const p of this.pairsOf(ld)) {
      if (p.chunks() <= p.diff.size) continue;
      p.diff = new ChunkBitmap(p.chunks(), p.diff.bits);
      this.persist(p);
    }
  }

  /** The LD's content changed outside the data path (snapshot restore): every chunk may differ. */
  markAll(p: Pair): void {
    p.diff.fill();
    this.persist(p);
  }

  /** Copies one chunk in the pair's direction unless it is already done (a restore's on-demand copy). */
  copyChunk(p: Pair, c: number): Promise<void> {
    return this.copier.copyChunk(p, c);
  }

  /** Stops the copiers with their state persisted; a clean close needs no full recopy at the next start. */
  async close(): Promise<void> {
    this.intent.stop();
    for (const p of this.pairs) p.stop = true;
    await Promise.all(this.pairs.map((p) => p.copier));
    await Promise.all(this.pairs.map((p) => p.quiesce()));
    await this.hooks.commit().catch(() => undefined);
    for (const p of this.pairs) {
      // Every write is over and committed: MV and RV agree wherever the pair mirrored.
      p.uncommitted.clear();
      p.intent.clear();
      this.persist(p);
    }
    this.closed = true;
    this.store.setMeta(CLEAN_KEY, '1');
  }
}

function busy(p: Pair, what: string): KuraError {
  return PAIR_COPYING({ mv: p.mv.name, rv: p.rv.name, what, sync: p.state.sync, arg: p.progress() });
}
