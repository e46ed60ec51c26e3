// Replication pairs (MV → RV) on the data path: a device layer that mirrors
// writes of an MV to its RVs, tracks differences in a per-chunk bitmap while a
// pair is separated, and a background copier that copies the chunks the bitmap
// names (MV → RV for replicate, RV → MV for restore). The bitmap and the copy's
// progress live in the metadata store, so a copy resumes after a restart.
//
// Crash safety: while separated, a chunk's bit reaches the store before the
// write that changes the chunk is issued (a write-intent bitmap), so no change
// goes untracked. A copied chunk's bit is cleared in the store only after the
// engine committed the copy. A mirrored write first stores its region (16
// chunks) in the bitmap too; a region leaves it once no mirrored write is under
// way there and a commit has made the last ones durable. After an unclean
// shutdown a mirrored pair therefore copies only the regions that may differ.
import { KuraError } from '../errors.js';
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from './device.js';
import type { LogicalDisk } from './logical-disk.js';
import type { MetaStore } from './meta-store.js';
import { ChunkBitmap, ChunkLocks } from './chunk-bitmap.js';

export type Activity = 'replicate' | 'separate' | 'restore';
/** The seed's sync states: copying, in sync (mirroring), separating, separated, restoring, restored, fault. */
export type SyncState = 'rpl/exec' | 'rpl/sync' | 'sep/exec' | 'sep/end' | 'rst/exec' | 'rst/sync' | 'fault';
export type RvAccess = 'rw' | 'ro' | 'nr';

export interface PairState {
  activity: Activity;
  sync: SyncState;
  previous: SyncState | null;
  rvAccess: RvAccess;
  /** What the RV's access becomes when a pending separate completes. */
  sepAccess: 'rw' | 'ro';
  direction: 'mv-to-rv' | 'rv-to-mv';
  sepStart: string | null;
  sepEnd: string | null;
  /** Chunks the current (or last) copy had to copy, and has copied. */
  copyTotal: number;
  copied: number;
  /** The target of the last copy holds a complete image (false while copying, after a stopped copy, before the first). */
  complete: boolean;
  /** A mirrored write to the RV failed: the RV lacks writes the MV has, whatever the direction. */
  rvBroken?: boolean;
  created: string;
  fault: string | null;
}

export type ReplicationEvent =
  | { kind: 'copy-done'; pair: Pair }
  | { kind: 'copy-failed'; pair: Pair; error: unknown }
  | { kind: 'mirror-failed'; pair: Pair; error: unknown }
  | { kind: 'resumed'; pair: Pair; unclean: boolean };

export interface ReplicatorHooks {
  commit(): Promise<void>;
  ld(id: number): LogicalDisk | undefined;
  event(e: ReplicationEvent): void;
}

const MIRRORING: ReadonlySet<SyncState> = new Set(['rpl/exec', 'rpl/sync', 'sep/exec', 'rst/exec', 'rst/sync']);
const COPYING: ReadonlySet<SyncState> = new Set(['rpl/exec', 'sep/exec', 'rst/exec']);
/** Chunks copied between two commits of the copier (its persisted cursor moves by this much). */
const BATCH = 16;
/** Chunks copied at once within a batch. */
const PARALLEL = 4;
const CLEAN_KEY = 'rpl_clean';
/** Chunks per region of the mirrored-write intent log. */
const INTENT_REGION = 16;
/** How often idle regions are looked at for dropping from the intent log. */
const INTENT_CLEAR_MS = 2000;
/**
 * Idle regions leave the log after the next commit that started once they were idle:
 * a FLUSH, a FUA write or a copy checkpoint. Without one for this long the log forces a
 * commit itself (rarely, so a streaming writer is not made to fdatasync every few seconds).
 */
const INTENT_FORCE_MS = 30_000;

function nowIso(): string {
  return new Date().toISOString();
}

export class Pair {
  /** Replaced (grown) when either LD is expanded while separated. */
  diff: ChunkBitmap;
  readonly chunkSize: number;
  readonly locks = new ChunkLocks();
  /** Copied chunks whose bits are clear in memory but whose copy no commit has covered yet. */
  readonly uncommitted = new Set<number>();
  /** Regions stored in the bitmap because mirrored writes may be under way there (intent log). */
  readonly intent = new Set<number>();
  /** Mirrored writes under way per region, and how many have started (a region idle across a commit is clean). */
  readonly intentBusy = new Map<number, number>();
  readonly intentStarts = new Map<number, number>();
  /** Host I/O under way through the pair's devices. */
  readonly inflight = new Set<Promise<unknown>>();
  copier: Promise<void> | null = null;
  stop = false;
  /** Rate of the running copy, for the remaining time. */
  rateStart = 0;
  rateStartCopied = 0;

  constructor(
    readonly mv: LogicalDisk,
    readonly rv: LogicalDisk,
    public state: PairState,
    bitmap?: Uint8Array,
  ) {
    this.chunkSize = mv.pool.chunkSize;
    this.diff = new ChunkBitmap(this.chunks(), bitmap);
  }

  /** Chunks the bitmap covers: the larger volume's (an LD may grow while separated). */
  chunks(): number {
    return Math.ceil(Math.max(this.mv.rec.capacity, this.rv.rec.capacity) / this.chunkSize);
  }

  /**
   * The RV holds a whole image: after a finished replicate, or as the source of a
   * restore (which writes the RV only with mirrored host writes), even one cut short.
   */
  get rvValid(): boolean {
    if (this.state.rvBroken) return false;
    if (this.state.direction === 'rv-to-mv') return true;
    return this.state.complete && this.state.sync !== 'fault';
  }

  get mirroring(): boolean {
    return MIRRORING.has(this.state.sync);
  }
  get copying(): boolean {
    return COPYING.has(this.state.sync);
  }
  /** Separated (or faulted): changes to either volume are recorded in the bitmap. */
  get tracking(): boolean {
    return !this.mirroring;
  }
  /** A restore is running: MV chunks still to come from the RV are copied before I/O touches them. */
  get restoring(): boolean {
    return this.copying && this.state.direction === 'rv-to-mv';
  }

  /** Bytes the bitmap names (the last chunk may be short). */
  diffBytes(): number {
    const cap = this.mv.rec.capacity;
    let n = this.diff.count * this.chunkSize;
    const last = this.diff.size - 1;
    if (last >= 0 && this.diff.get(last)) n -= this.diff.size * this.chunkSize - cap;
    return n;
  }

  /** Seconds the running copy still needs at its rate so far, or null before a rate is known. */
  remainingSeconds(): number | null {
    if (!this.copying) return 0;
    const done = this.state.copied - this.rateStartCopied;
    const secs = (Date.now() - this.rateStart) / 1000;
    if (done <= 0 || secs <= 0) return null;
    return Math.ceil(this.diff.count / (done / secs));
  }

  progress(): number {
    const t = this.state.copyTotal;
    if (t === 0) return 100;
    return Math.min(100, Math.floor((Math.min(this.state.copied, t) * 100) / t));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Runs I/O with the chunks [first, last] held shared. */
  withShared<T>(first: number, last: number, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      for (let c = first; c <= last; c++) await this.locks.acquire(c, false);
      try {
        return await fn();
      } finally {
        for (let c = first; c <= last; c++) this.locks.release(c, false);
      }
    };
    return this.track(run());
  }

  async quiesce(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}

export class Replicator {
  private readonly pairs: Pair[] = [];
  private readonly unclean: boolean;
  private closed = false;
  private clearing = false;
  /** Orders intent snapshots and commit starts: a commit clears a snapshot's regions if it started after it. */
  private seq = 0;
  private lastCommitStart = 0;
  private pendingIntent: { seq: number; at: number; regions: Map<Pair, Array<[number, number]>> } | null = null;
  private readonly intentTimer: NodeJS.Timeout;

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
    this.intentTimer = setInterval(() => void this.clearIntent(), INTENT_CLEAR_MS);
    this.intentTimer.unref();
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
        if (p.state.sync === 'rpl/sync') this.setSync(p, 'rpl/exec');
        if (p.state.sync === 'rst/sync') this.setSync(p, 'rst/exec');
        p.state.complete = false;
        p.state.copyTotal = p.diff.count;
        p.state.copied = 0;
        this.persist(p);
      }
      if (p.copying) {
        this.startCopy(p);
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

  /** The LD's data path with replication: mirroring, difference tracking, RV access, restore on demand. */
  device(ld: LogicalDisk): BlockDevice {
    return new ReplicatedDevice(ld, this);
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

  private setSync(p: Pair, sync: SyncState): void {
    if (p.state.sync !== sync) p.state.previous = p.state.sync;
    p.state.sync = sync;
  }

  persist(p: Pair): void {
    if (this.closed) return;
    const extra: number[] = [...p.uncommitted];
    for (const r of p.intent) for (let c = r * INTENT_REGION; c < Math.min(p.diff.size, (r + 1) * INTENT_REGION); c++) extra.push(c);
    this.store.db.prepare('UPDATE rpl_pair SET state = ?, bitmap = ? WHERE rv = ?').run(JSON.stringify(p.state), p.diff.union(extra), p.rv.rec.id);
  }

  /** Before a mirrored write: its regions reach the store first, so that a crash shows where MV and RV may differ. */
  beginMirrored(p: Pair, first: number, last: number): void {
    let changed = false;
    for (let r = Math.floor(first / INTENT_REGION); r <= Math.floor(last / INTENT_REGION); r++) {
      p.intentBusy.set(r, (p.intentBusy.get(r) ?? 0) + 1);
      p.intentStarts.set(r, (p.intentStarts.get(r) ?? 0) + 1);
      if (!p.intent.has(r)) {
        p.intent.add(r);
        changed = true;
      }
    }
    if (changed) this.persist(p);
  }

  endMirrored(p: Pair, first: number, last: number): void {
    for (let r = Math.floor(first / INTENT_REGION); r <= Math.floor(last / INTENT_REGION); r++) {
      const n = (p.intentBusy.get(r) ?? 1) - 1;
      if (n > 0) p.intentBusy.set(r, n);
      else p.intentBusy.delete(r);
    }
  }

  /** An LD's FLUSH (one engine commit), noted for the intent log. */
  async flush(ld: LogicalDisk): Promise<void> {
    const started = ++this.seq;
    await ld.flush();
    this.lastCommitStart = Math.max(this.lastCommitStart, started);
  }

  /** Runs an engine commit and notes when it started (intent regions idle before that are clean after it). */
  async commit(): Promise<void> {
    const started = ++this.seq;
    await this.hooks.commit();
    this.lastCommitStart = Math.max(this.lastCommitStart, started);
  }

  /** Drops regions from the intent log that were idle across a commit: MV and RV agree there durably. */
  private async clearIntent(): Promise<void> {
    if (this.clearing || this.closed) return;
    this.clearing = true;
    try {
      const pending = this.pendingIntent;
      if (pending) {
        if (this.lastCommitStart <= pending.seq) {
          if (Date.now() - pending.at < INTENT_FORCE_MS) return;
          await this.commit();
        }
        this.pendingIntent = null;
        for (const [p, list] of pending.regions) {
          if (this.closed || !this.pairs.includes(p)) continue;
          let changed = false;
          for (const [r, starts] of list) {
            if (p.intentBusy.has(r) || (p.intentStarts.get(r) ?? 0) !== starts) continue;
            p.intent.delete(r);
            p.intentStarts.delete(r);
            changed = true;
          }
          if (changed) this.persist(p);
        }
      }
      const regions = new Map<Pair, Array<[number, number]>>();
      for (const p of this.pairs) {
        const list: Array<[number, number]> = [];
        for (const r of p.intent) if (!p.intentBusy.has(r)) list.push([r, p.intentStarts.get(r) ?? 0]);
        if (list.length > 0) regions.set(p, list);
      }
      if (regions.size > 0) this.pendingIntent = { seq: ++this.seq, at: Date.now(), regions };
    } catch {
      // The commit failed: keep the regions; a later round tries again.
    } finally {
      this.clearing = false;
    }
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
    this.store.db.prepare('INSERT INTO rpl_pair (rv, mv, state, bitmap) VALUES (?, ?, ?, ?)').run(rv.rec.id, mv.rec.id, JSON.stringify(state), Buffer.from(p.diff.bits));
    this.pairs.push(p);
    return p;
  }

  /** Starts copying the differences MV → RV; writes are mirrored from now on. */
  async replicate(p: Pair): Promise<void> {
    const s = p.state;
    if (s.sync === 'rpl/exec' || s.sync === 'rpl/sync') return;
    if (s.sync === 'rst/sync') {
      s.activity = 'replicate';
      s.direction = 'mv-to-rv';
      this.setSync(p, 'rpl/sync');
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
    this.setSync(p, 'rpl/exec');
    this.beginCopy(p);
  }

  private beginCopy(p: Pair): void {
    p.state.copyTotal = p.diff.count;
    p.state.copied = 0;
    p.state.complete = false;
    this.persist(p);
    this.startCopy(p);
  }

  /** Freezes the RV. With a copy still running it waits for it (sep/exec) unless forced. */
  async separate(p: Pair, access: 'rw' | 'ro', force: boolean): Promise<void> {
    const s = p.state;
    if (s.sync === 'sep/end' || s.sync === 'fault') {
      throw new KuraError('KURA-E2314', 'EINVAL', `Pair ${p.mv.name} → ${p.rv.name} is already separated.`, `Replicate it first (kura pair replicate ${p.mv.name} ${p.rv.name}).`);
    }
    if (s.sync === 'sep/exec' && !force) {
      throw new KuraError('KURA-E2315', 'EBUSY', `Pair ${p.mv.name} → ${p.rv.name} is already separating; its copy is ${p.progress()}% done.`, 'Wait for it (kura pair show), or give --force to separate at once with an incomplete RV.');
    }
    if (!p.copying) {
      // In sync: freeze at once; mirrored writes under way finish first.
      s.activity = 'separate';
      this.setSync(p, 'sep/end');
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
      this.setSync(p, 'sep/exec');
      this.persist(p);
      return;
    }
    await this.stopCopy(p);
    this.setSync(p, 'fault');
    await p.quiesce();
    s.sepStart = s.sepEnd = nowIso();
    s.rvAccess = access;
    s.fault = `separated by force with ${p.diffBytes()} bytes not copied to the ${s.direction === 'mv-to-rv' ? 'RV (replicate)' : 'MV (restore)'}`;
    this.persist(p);
  }

  /** Copies the differences RV → MV in the background; the MV stays usable. */
  async restore(p: Pair, others: Pair[]): Promise<void> {
    const s = p.state;
    if (s.sync === 'rpl/sync') {
      s.activity = 'restore';
      s.direction = 'rv-to-mv';
      this.setSync(p, 'rst/sync');
      this.persist(p);
      return;
    }
    if (s.sync === 'rst/sync' || s.sync === 'rst/exec') return;
    if (p.copying) throw busy(p, 'restore');
    if (!p.rvValid) {
      throw new KuraError('KURA-E2312', 'EINVAL', `RV ${p.rv.name} does not hold a complete copy of MV ${p.mv.name} (the last copy did not finish).`, `Replicate the pair first (kura pair replicate ${p.mv.name} ${p.rv.name}).`);
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
    this.setSync(p, 'rst/exec');
    this.beginCopy(p);
  }

  /** Unpairs. Only separated pairs unless forced (a running copy stops where it is). */
  async remove(p: Pair, force: boolean): Promise<{ incomplete: boolean }> {
    if (p.mirroring && !force) {
      throw new KuraError('KURA-E2316', 'EBUSY', `Pair ${p.mv.name} → ${p.rv.name} is not separated (${p.state.sync}).`, `Separate it first (kura pair separate ${p.mv.name} ${p.rv.name}), or give --force.`);
    }
    const incomplete = p.copying || p.state.sync === 'fault';
    await this.stopCopy(p);
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

  private startCopy(p: Pair): void {
    if (p.copier) return;
    p.stop = false;
    p.rateStart = Date.now();
    p.rateStartCopied = p.state.copied;
    p.copier = this.runCopy(p).finally(() => {
      p.copier = null;
    });
  }

  private async stopCopy(p: Pair): Promise<void> {
    p.stop = true;
    await p.copier;
  }

  private async runCopy(p: Pair): Promise<void> {
    let cursor = 0;
    try {
      while (!p.stop && p.copying && this.pairs.includes(p)) {
        const batch: number[] = [];
        for (let c = p.diff.next(cursor); c >= 0 && batch.length < BATCH; c = p.diff.next(c + 1)) batch.push(c);
        if (batch.length === 0) {
          if (p.diff.count === 0) break;
          cursor = 0;
          continue;
        }
        cursor = batch[batch.length - 1]! + 1;
        for (let i = 0; i < batch.length; i += PARALLEL) await Promise.all(batch.slice(i, i + PARALLEL).map((c) => this.copyChunk(p, c)));
        await this.checkpoint(p);
      }
    } catch (e) {
      if (!this.pairs.includes(p)) return;
      this.setSync(p, 'fault');
      p.state.fault = `copy stopped: ${(e as Error)?.message ?? e}`;
      p.state.rvAccess = 'nr';
      this.persist(p);
      this.hooks.event({ kind: 'copy-failed', pair: p, error: e });
      return;
    }
    if (p.stop || !p.copying || !this.pairs.includes(p) || p.diff.count > 0) return;
    const s = p.state;
    s.complete = true;
    if (s.direction === 'mv-to-rv') s.rvBroken = false;
    if (s.sync === 'rpl/exec') this.setSync(p, 'rpl/sync');
    else if (s.sync === 'rst/exec') this.setSync(p, 'rst/sync');
    else if (s.sync === 'sep/exec') {
      this.setSync(p, 'sep/end');
      await p.quiesce();
      s.sepEnd = nowIso();
      s.rvAccess = s.sepAccess;
    }
    this.persist(p);
    this.hooks.event({ kind: 'copy-done', pair: p });
  }

  /** Commits the copied chunks, then records their bits as clear. */
  private async checkpoint(p: Pair): Promise<void> {
    const covered = [...p.uncommitted];
    await this.commit();
    for (const c of covered) p.uncommitted.delete(c);
    if (this.pairs.includes(p)) this.persist(p);
  }

  /** Copies one chunk in the pair's direction (holes stay holes) unless it is already done. */
  async copyChunk(p: Pair, c: number): Promise<void> {
    await p.locks.acquire(c, true);
    try {
      if (!p.diff.get(c)) return;
      const [src, dst] = p.state.direction === 'mv-to-rv' ? [p.mv, p.rv] : [p.rv, p.mv];
      const bpc = p.chunkSize / src.blockSize;
      const lba = c * bpc;
      const blocks = Math.min(bpc, src.blockCount - lba);
      if (blocks > 0) {
        const ext = await src.allocation(lba, blocks);
        if (ext.every((e) => e.hole)) {
          const d = await dst.allocation(lba, blocks);
          if (d.some((e) => !e.hole)) await dst.unmap([{ lba, blocks }]);
        } else {
          await dst.write(lba, await src.read(lba, blocks));
        }
      }
      p.uncommitted.add(c);
      p.diff.clear(c);
      p.state.copied++;
    } finally {
      p.locks.release(c, true);
    }
  }

  /** Stops the copiers with their state persisted; a clean close needs no full recopy at the next start. */
  async close(): Promise<void> {
    clearInterval(this.intentTimer);
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
  return new KuraError(
    'KURA-E2310',
    'EBUSY',
    `Pair ${p.mv.name} → ${p.rv.name} cannot ${what} now: it is in ${p.state.sync} with a copy ${p.progress()}% done.`,
    'Wait for the copy to finish (kura pair show MV RV, or --wait), or separate it with --force.',
  );
}

/** The block device front ends see for an LD that may be in pairs. */
class ReplicatedDevice implements BlockDevice {
  constructor(
    private readonly ld: LogicalDisk,
    private readonly rep: Replicator,
  ) {}

  get name(): string {
    return this.ld.name;
  }
  get blockSize(): number {
    return this.ld.blockSize;
  }
  get blockCount(): number {
    return this.ld.blockCount;
  }
  get readOnly(): boolean {
    if (this.ld.readOnly) return true;
    const rv = this.rep.rolesOf(this.ld).asRv;
    return rv !== undefined && rv.state.rvAccess !== 'rw';
  }
  get optimalIoSize(): number {
    return this.ld.optimalIoSize;
  }

  private chunkRange(p: Pair, lba: number, blocks: number): [number, number] {
    const bpc = p.chunkSize / this.ld.blockSize;
    return [Math.floor(lba / bpc), Math.floor((lba + Math.max(blocks, 1) - 1) / bpc)];
  }

  private checkRv(p: Pair | undefined, write: boolean): void {
    if (!p) return;
    if (p.state.rvAccess === 'nr') {
      throw new KuraError('KURA-E2330', 'ENOTREADY', `LD ${this.ld.name} is the RV of a replication pair in ${p.state.sync} and is not ready (RV access nr).`, `Separate the pair (kura pair separate ${p.mv.name} ${p.rv.name}) to use the RV.`);
    }
    if (write && p.state.rvAccess === 'ro') {
      throw new KuraError('KURA-E2331', 'EROFS', `LD ${this.ld.name} is a separated RV with read-only access.`, 'Separate it with --rv-access rw to write to it.');
    }
  }

  /** Restores on demand every chunk of the range that a running restore has not reached yet. */
  private async restoreFirst(pairs: Pair[], lba: number, blocks: number): Promise<void> {
    for (const p of pairs) {
      if (!p.restoring) continue;
      const [first, last] = this.chunkRange(p, lba, blocks);
      for (let c = first; c <= last; c++) if (p.diff.get(c)) await this.rep.copyChunk(p, c);
    }
  }

  async read(lba: number, blocks: number): Promise<Buffer> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    if (asMv.length === 0 && !asRv) return this.ld.read(lba, blocks);
    this.checkRv(asRv, false);
    await this.restoreFirst(asMv, lba, blocks);
    return this.ld.read(lba, blocks);
  }

  /** Runs a change on this LD and, for mirrored pairs, on their RVs; records it in separated pairs' bitmaps. */
  private async change(lba: number, blocks: number, fua: boolean, op: (d: LogicalDisk) => Promise<void>): Promise<void> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    if (asMv.length === 0 && !asRv) {
      await op(this.ld);
      if (fua) await this.rep.flush(this.ld);
      return;
    }
    this.checkRv(asRv, true);
    if (asRv) {
      const [first, last] = this.chunkRange(asRv, lba, blocks);
      await asRv.withShared(first, last, async () => {
        // The access may have changed while waiting for the chunks.
        this.checkRv(asRv, true);
        this.rep.markDirty(asRv, first, last);
        await op(this.ld);
      });
      if (fua) await this.rep.flush(this.ld);
      return;
    }
    await this.mvChange(asMv, lba, blocks, op);
    if (fua) await this.rep.flush(this.ld);
  }

  private async mvChange(pairs: Pair[], lba: number, blocks: number, op: (d: LogicalDisk) => Promise<void>): Promise<void> {
    await this.restoreFirst(pairs, lba, blocks);
    // Take the chunks in every pair (pairs in a fixed order, chunks ascending), then decide per pair.
    const nested = pairs.reduceRight<() => Promise<void>>(
      (inner, p) => () => {
        const [first, last] = this.chunkRange(p, lba, blocks);
        return p.withShared(first, last, inner);
      },
      async () => {
        for (const p of pairs) {
          const [first, last] = this.chunkRange(p, lba, blocks);
          // A restore that started after restoreFirst looked: its chunks must come from the RV before this
          // write, and copying them here would wait on our own hold; let go and start over.
          if (p.restoring && rangeHasBits(p, first, last)) throw new RetryChange();
        }
        // Write-intent: separated pairs record the chunks, mirrored pairs the regions, before the MV changes.
        const mirrored = pairs.filter((p) => !p.tracking);
        for (const p of pairs) if (p.tracking) this.rep.markDirty(p, ...this.chunkRange(p, lba, blocks));
        for (const p of mirrored) this.rep.beginMirrored(p, ...this.chunkRange(p, lba, blocks));
        const ios: Promise<void>[] = [op(this.ld)];
        for (const p of mirrored) {
          const [first, last] = this.chunkRange(p, lba, blocks);
          ios.push(
            op(p.rv).catch((e: unknown) => {
              // The RV failed: the MV write still stands; the pair records the difference and faults.
              this.rep.markDirty(p, first, last);
              if (p.state.sync !== 'fault') {
                p.state.previous = p.state.sync;
                p.state.sync = 'fault';
                p.state.fault = `mirrored write to RV failed: ${(e as Error)?.message ?? e}`;
                p.state.rvAccess = 'nr';
                p.state.rvBroken = true;
                p.stop = true;
                this.rep.persist(p);
                this.rep.report({ kind: 'mirror-failed', pair: p, error: e });
              }
            }),
          );
        }
        // Every side settles before the regions count as idle; then the MV's error, if any, is the answer.
        const results = await Promise.allSettled(ios);
        for (const p of mirrored) this.rep.endMirrored(p, ...this.chunkRange(p, lba, blocks));
        if (results[0]!.status === 'rejected') throw results[0]!.reason;
      },
    );
    try {
      await nested();
    } catch (e) {
      if (e instanceof RetryChange) return this.mvChange(pairs, lba, blocks, op);
      throw e;
    }
  }

  write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const fast = this.rep.rolesOf(this.ld);
    if (fast.asMv.length === 0 && !fast.asRv) return this.ld.write(lba, buf, opts);
    return this.change(lba, Math.floor(buf.length / this.ld.blockSize), opts?.fua ?? false, (d) => d.write(lba, buf));
  }

  /** WRITE ATOMIC: atomic on the MV and on each mirrored RV. */
  writeAtomic(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const fast = this.rep.rolesOf(this.ld);
    if (fast.asMv.length === 0 && !fast.asRv) return this.ld.writeAtomic(lba, buf, opts);
    return this.change(lba, Math.floor(buf.length / this.ld.blockSize), opts?.fua ?? false, (d) => d.writeAtomic(lba, buf));
  }

  flush(): Promise<void> {
    // One engine commit syncs every PD of every pool: the RVs' copies too.
    return this.rep.flush(this.ld);
  }

  async unmap(ranges: UnmapRange[]): Promise<void> {
    for (const r of ranges) await this.change(r.lba, r.blocks, false, (d) => d.unmap([r]));
  }

  writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    return this.change(lba, blocks, opts?.fua ?? false, (d) => d.writeZeroes(lba, blocks, { noHole: opts?.noHole }));
  }

  async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    const { asMv, asRv } = this.rep.rolesOf(this.ld);
    this.checkRv(asRv, false);
    const p = asMv.find((x) => x.restoring);
    if (!p) return this.ld.allocation(lba, blocks);
    // Chunks the restore has not reached yet are described by the RV, whose data they will hold:
    // a status query must not wait for (or force) the copy of a whole range.
    const bpc = p.chunkSize / this.ld.blockSize;
    const out: AllocationExtent[] = [];
    for (let b = lba; b < lba + blocks; ) {
      const c = Math.floor(b / bpc);
      const n = Math.min((c + 1) * bpc, lba + blocks) - b;
      for (const e of await (p.diff.get(c) ? p.rv : this.ld).allocation(b, n)) {
        const last = out[out.length - 1];
        if (last && last.hole === e.hole && last.zero === e.zero) last.blocks += e.blocks;
        else out.push({ ...e });
      }
      b += n;
    }
    return out;
  }
}

class RetryChange extends Error {}

function rangeHasBits(p: Pair, first: number, last: number): boolean {
  for (let c = first; c <= last; c++) if (p.diff.get(c)) return true;
  return false;
}
