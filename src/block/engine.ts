// The block engine: owns the metadata store, the pools and their LDs, and the
// group commit that makes writes durable. Configuration changes commit at once;
// data-path metadata (new mappings, frees) rides on the next group commit,
// which a FLUSH, a FUA write or the periodic timer triggers.
import fs from 'node:fs';
import path from 'node:path';
import { DATA_FILE_SYSTEM_FULL, KuraError } from '../errors.js';
import { humanSize } from '../units.js';
import { LogicalDisk, BLOCK_SIZE } from './logical-disk.js';
import type { LdRecord } from './logical-disk.js';
import { PAGE_ENTRIES, entriesFromBlob, topFromBlob, topToBlob } from './map-page.js';
import { MetaStore, batchIsEmpty, emptyBatch } from './meta-store.js';
import type { LdRow } from './meta-store.js';
import { PhysicalDisk } from './pd.js';
import { Pool } from './pool.js';
import { RaidGroup, defaultPdCount, stripeWidth, validatePdCount } from './raid-group.js';
import type { Raid } from './raid-group.js';
import {
  CHUNK_SIZE_NOT_ALLOWED,
  LD_CANNOT_SHRINK,
  LD_CAPACITY_NOT_ALLOWED,
  METADATA_COMMIT_FAILED,
  POOL_HOLDS_LD,
  POOL_SIZE_TOO_SMALL,
  RESTORE_ACROSS_POOLS,
  THRESHOLD_NOT_PERCENTAGE,
} from '../catalogue/block.js';
import { PD_TOO_LARGE_FOR_FILE_SYSTEM, POOL_CHUNKS_TOO_MANY, POOL_SIZE_TOO_LARGE } from '../catalogue/manager.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const DEFAULT_THRESHOLD = 80;
/**
 * A pool's chunk refcounts are held in memory, 4 bytes a chunk: 2^26 chunks
 * keep them at 256 MiB (64 TiB of 1 MiB chunks, 4 PiB of 64 MiB chunks).
 * Without a bound one request for a huge sparse pool allocated gigabytes.
 */
export const MAX_POOL_CHUNKS = 2 ** 26;
/** Metadata of completed writes is committed at least this often without a flush. */
const PERIODIC_COMMIT_MS = 1000;
/** Rough per-page cost beyond its entries: the object, typed-array header, map slot. */
const PAGE_OVERHEAD = 160;

export type EngineEvent =
  | { kind: 'threshold'; pool: Pool; over: boolean }
  | { kind: 'no-space'; pool: Pool; ld: LogicalDisk; error: KuraError }
  | { kind: 'pd-failed'; pool: Pool; pd: PhysicalDisk; error: unknown }
  | { kind: 'commit-failed'; error: unknown }
  | { kind: 'resync-started'; pool: Pool }
  | { kind: 'resync-finished'; pool: Pool; checked: number; copied: number }
  | { kind: 'resync-failed'; pool: Pool; error: unknown };

export interface CreatePoolSpec {
  number: number;
  name: string;
  size: number;
  raid: Raid;
  pds?: number;
  chunkSize?: number;
  threshold?: number;
}

export interface CreateLdSpec {
  number: number;
  name: string;
  pool: Pool;
  capacity: number;
  defaultOwner: number;
  naa: string;
  serial: string;
  attrs?: Record<string, unknown>;
}

function nowIso(): string {
  return new Date().toISOString();
}

export class BlockEngine {
  readonly dir: string;
  readonly store: MetaStore;
  readonly pools = new Map<number, Pool>();
  readonly lds = new Map<number, LogicalDisk>();
  /** The same LDs by name and by number (neither changes after creation): lookups cost the same at 10 or 10,000 LDs. */
  private readonly ldsByName = new Map<string, LogicalDisk>();
  private readonly ldsByNumber = new Map<number, LogicalDisk>();
  /** Every LD number below this is taken (the lowest free one is found from here, not from 0). */
  private numbersTakenBelow = 0;
  private nextPage: number;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listeners: Array<(e: EngineEvent) => void> = [];
  private closed = false;
  private closing = false;
  private resyncing: Promise<void> | null = null;
  private deletedLds: number[] = [];
  private newLds = new Set<LogicalDisk>();
  private updatedLds = new Set<LogicalDisk>();
  private nextLdId: number;

  private constructor(dir: string, store: MetaStore) {
    this.dir = dir;
    this.store = store;
    this.nextPage = store.maxPageId() + 1;
    // Internal LD ids are never reused: state keyed by an id (reservations, pairs)
    // must not pass to a later LD. The counter covers ids of LDs deleted since.
    this.nextLdId = Math.max(store.maxLdId() + 1, Number(store.getMeta(NEXT_LD_ID_KEY) ?? 0));
  }

  /** Opens (or creates) the engine in `dir` (the array's data directory). */
  static open(dir: string): BlockEngine {
    fs.mkdirSync(path.join(dir, 'pools'), { recursive: true, mode: 0o700 });
    const store = new MetaStore(path.join(dir, 'meta.db'));
    const engine = new BlockEngine(dir, store);
    engine.load();
    // A shutdown that did not get to close() (kill -9, crash, power loss) may have
    // left a write on one mirror only: resync the mirrors in the background.
    const clean = store.getMeta(CLEAN_SHUTDOWN_KEY) === '1';
    store.setMeta(CLEAN_SHUTDOWN_KEY, '0');
    if (!clean) {
      const pools = [...engine.pools.values()].filter((p) => p.beginResync());
      // Started on the next turn so that the opener can subscribe to its events first.
      if (pools.length > 0) setImmediate(() => (engine.resyncing = engine.runResync(pools)));
    }
    // The timer commits new mappings that nobody flushed. Data written in place needs
    // no metadata, so it is left to FLUSH/FUA (and the kernel's own write-back),
    // rather than forcing an fdatasync every second under a streaming writer.
    engine.timer = setInterval(() => {
      if (engine.hasDirtyMetadata()) engine.commit().catch(() => undefined);
    }, PERIODIC_COMMIT_MS);
    engine.timer.unref();
    return engine;
  }

  private async runResync(pools: Pool[]): Promise<void> {
    for (const pool of pools) {
      if (this.closing) return;
      this.emit({ kind: 'resync-started', pool });
      try {
        const r = await pool.resync(() => this.closing || !this.pools.has(pool.id));
        if (!this.closing && this.pools.has(pool.id)) this.emit({ kind: 'resync-finished', pool, ...r });
      } catch (e) {
        this.emit({ kind: 'resync-failed', pool, error: e });
      }
    }
  }

  private hasDirtyMetadata(): boolean {
    if (this.newLds.size > 0 || this.updatedLds.size > 0 || this.deletedLds.length > 0) return true;
    for (const ld of this.lds.values()) if (ld.topDirty) return true;
    for (const pool of this.pools.values()) if (pool.hasDirtyMetadata()) return true;
    return false;
  }

  onEvent(fn: (e: EngineEvent) => void): void {
    this.listeners.push(fn);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's failure must not disturb I/O.
      }
    }
  }

  private poolHooks() {
    return {
      persistHwm: (pool: Pool, hwm: number) => this.store.setHwm(pool.id, hwm),
      thresholdCrossed: (pool: Pool, over: boolean) => this.emit({ kind: 'threshold', pool, over }),
      pdFailed: (pool: Pool, pd: PhysicalDisk, error: unknown) => this.emit({ kind: 'pd-failed', pool, pd, error }),
      nextPageId: () => this.nextPage++,
    };
  }

  private ldHooks() {
    return {
      commit: () => this.commit(),
      noSpace: (ld: LogicalDisk, error: KuraError) => this.emit({ kind: 'no-space', pool: ld.pool, ld, error }),
    };
  }

  private load(): void {
    const s = this.store;
    for (const row of s.pools()) {
      const pool = new Pool(
        {
          id: row.id,
          number: row.number,
          name: row.name,
          raid: row.raid as Raid,
          chunkSize: row.chunk_size,
          pdsPerGroup: row.pds_per_group,
          threshold: row.threshold,
          hwm: row.hwm,
          created: row.created,
        },
        this.poolHooks(),
      );
      const pds = s.pds(row.id);
      for (const g of s.raidGroups(row.id)) {
        const members = pds
          .filter((p) => p.grp === g.grp)
          .sort((a, b) => a.idx - b.idx)
          .map((p) => PhysicalDisk.open(p.number, this.pdPath(p.path), p.size));
        pool.addGroup(new RaidGroup(g.grp, g.raid as Raid, g.first_chunk, g.chunk_count, row.chunk_size, members));
      }
      for (const p of s.pages(row.id)) pool.pages.set(p.id, { id: p.id, refcount: p.refcount, entries: entriesFromBlob(p.entries) });
      pool.loadRefs(s.chunkRefs(row.id));
      this.pools.set(row.id, pool);
    }
    for (const row of s.lds()) {
      const pool = this.pools.get(row.pool_id)!;
      const rec: LdRecord = {
        id: row.id,
        number: row.number,
        name: row.name,
        capacity: row.capacity,
        blockSize: row.block_size,
        defaultOwner: row.default_owner,
        naa: row.naa,
        serial: row.serial,
        created: row.created,
        attrs: JSON.parse(row.attrs) as Record<string, unknown>,
        ...(row.shared_from !== null && row.shared_from !== undefined ? { sharedFrom: row.shared_from } : {}),
      };
      const top = topFromBlob(row.top, LogicalDisk.topLength(row.capacity, pool.chunkSize));
      const ld = new LogicalDisk(rec, pool, top, this.ldHooks());
      ld.readOnly = row.read_only === 1;
      this.addLd(ld);
    }
  }

  private addLd(ld: LogicalDisk): void {
    this.lds.set(ld.rec.id, ld);
    this.ldsByName.set(ld.rec.name, ld);
    this.ldsByNumber.set(ld.rec.number, ld);
  }

  private removeLd(ld: LogicalDisk): void {
    this.lds.delete(ld.rec.id);
    this.ldsByName.delete(ld.rec.name);
    this.ldsByNumber.delete(ld.rec.number);
    this.numbersTakenBelow = Math.min(this.numbersTakenBelow, ld.rec.number);
  }

  ldByName(name: string): LogicalDisk | undefined {
    return this.ldsByName.get(name);
  }

  ldByNumber(n: number): LogicalDisk | undefined {
    return this.ldsByNumber.get(n);
  }

  /** The lowest LD number no LD has; amortised O(1): a scan never passes a number twice between deletions. */
  lowestFreeLdNumber(): number {
    let n = this.numbersTakenBelow;
    while (this.ldsByNumber.has(n)) n++;
    this.numbersTakenBelow = n;
    return n;
  }

  /** PD paths are stored relative to the data dir so that the dir can move. */
  private pdPath(p: string): string {
    return path.isAbsolute(p) ? p : path.join(this.dir, p);
  }

  /**
   * Group commit. Captures the dirty metadata first, then syncs the PDs, then
   * writes the captured metadata in one transaction: a mapping reaches the store
   * only after the data it points at is on the PD. Callers arriving while a
   * commit runs share the next one.
   */
  commit(): Promise<void> {
    if (this.running === null) {
      this.running = this.runCommit().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (this.queued === null) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.commit();
        });
    }
    return this.queued;
  }

  private async runCommit(): Promise<void> {
    const batch = emptyBatch();
    const releases: Array<() => void> = [];
    for (const pool of this.pools.values()) releases.push(pool.collect(batch));
    batch.deletedLds.push(...this.deletedLds);
    this.deletedLds = [];
    const newLds = [...this.newLds].filter((l) => !l.deleted);
    this.newLds.clear();
    for (const ld of newLds) {
      batch.newLds.push(ldRow(ld));
      ld.topDirty = false;
    }
    for (const ld of this.updatedLds)
      if (!ld.deleted) batch.ldUpdates.push({ id: ld.rec.id, capacity: ld.rec.capacity, attrs: JSON.stringify(ld.rec.attrs), readOnly: ld.readOnly ? 1 : 0 });
    const updated = [...this.updatedLds];
    this.updatedLds.clear();
    for (const ld of this.lds.values()) {
      if (ld.topDirty && !ld.deleted) {
        batch.tops.push({ ldId: ld.rec.id, top: topToBlob(ld.top) });
        ld.topDirty = false;
      }
    }
    const syncs: Promise<void>[] = [];
    for (const pool of this.pools.values()) for (const pd of pool.pds) if (pd.dirty && pd.state === 'ready') syncs.push(pd.sync());
    try {
      await Promise.all(syncs);
      if (!batchIsEmpty(batch)) this.store.applyBatch(batch);
    } catch (e) {
      // Nothing was written: hand the changes back so the next commit carries them.
      for (const pool of this.pools.values()) pool.recollect(batch);
      this.deletedLds.push(...batch.deletedLds);
      for (const l of newLds) this.newLds.add(l);
      for (const l of updated) this.updatedLds.add(l);
      for (const t of batch.tops) {
        const ld = this.lds.get(t.ldId);
        if (ld) ld.topDirty = true;
      }
      this.emit({ kind: 'commit-failed', error: e });
      throw METADATA_COMMIT_FAILED({ reason: (e as Error).message });
    }
    for (const r of releases) r();
  }

  /** What the in-memory metadata costs: pages, top-level maps, refcount arrays. */
  metadataMemory(): { mapPages: number; metadataBytes: number } {
    let pages = 0;
    let bytes = 0;
    for (const pool of this.pools.values()) {
      pages += pool.pages.size;
      bytes += pool.pages.size * (PAGE_ENTRIES * 4 + PAGE_OVERHEAD) + pool.capacityChunks * 4;
    }
    for (const ld of this.lds.values()) bytes += ld.top.byteLength;
    return { mapPages: pages, metadataBytes: bytes };
  }

  // ---- configuration (each commits at once) ----

  createPool(spec: CreatePoolSpec): Pool {
    const chunkSize = spec.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 64 * 1024 || chunkSize > 64 * 1024 * 1024 || (chunkSize & (chunkSize - 1)) !== 0) {
      throw CHUNK_SIZE_NOT_ALLOWED({ chunkSize });
    }
    const threshold = spec.threshold ?? DEFAULT_THRESHOLD;
    validateThreshold(threshold);
    const pds = spec.pds ?? defaultPdCount(spec.raid);
    validatePdCount(spec.raid, pds);
    const row = this.store.transaction(() => {
      const info = this.store.db
        .prepare('INSERT INTO pool (number, name, raid, chunk_size, pds_per_group, threshold, hwm, created) VALUES (?, ?, ?, ?, ?, ?, 0, ?)')
        .run(spec.number, spec.name, spec.raid, chunkSize, pds, threshold, nowIso());
      return this.store.db.prepare('SELECT * FROM pool WHERE id = ?').get(info.lastInsertRowid) as { id: number; created: string };
    });
    const pool = new Pool(
      { id: row.id, number: spec.number, name: spec.name, raid: spec.raid, chunkSize, pdsPerGroup: pds, threshold, hwm: 0, created: row.created },
      this.poolHooks(),
    );
    try {
      this.addGroup(pool, spec.size);
    } catch (e) {
      this.store.db.prepare('DELETE FROM pool WHERE id = ?').run(row.id);
      throw e;
    }
    pool.loadRefs([]);
    this.pools.set(pool.id, pool);
    return pool;
  }

  /** Adds a RAID group of new PDs holding at least `size` usable bytes. */
  private addGroup(pool: Pool, size: number): void {
    const cs = pool.chunkSize;
    if (typeof size === 'number' && size > Number.MAX_SAFE_INTEGER) {
      throw POOL_SIZE_TOO_LARGE({ size, arg: humanSize(MAX_POOL_CHUNKS * cs), arg2: humanSize(cs) });
    }
    if (!Number.isSafeInteger(size) || size < cs) {
      throw POOL_SIZE_TOO_SMALL({ size, cs });
    }
    const width = stripeWidth(pool.raid, pool.pdsPerGroup);
    const rows = Math.ceil(Math.ceil(size / cs) / width);
    const chunkCount = rows * width;
    const pdSize = rows * cs;
    if (pool.capacityChunks + chunkCount > MAX_POOL_CHUNKS) {
      const max = humanSize(MAX_POOL_CHUNKS * cs);
      throw POOL_CHUNKS_TOO_MANY({ pool: pool.name, arg: pool.capacityChunks + chunkCount, maxPoolChunks: MAX_POOL_CHUNKS, max, arg2: humanSize(cs) });
    }
    const grp = pool.groups.length;
    const first = pool.capacityChunks;
    const firstPd = pool.pds.length;
    const dir = path.join(this.dir, 'pools', String(pool.id));
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created: PhysicalDisk[] = [];
    try {
      for (let i = 0; i < pool.pdsPerGroup; i++) {
        const rel = path.join('pools', String(pool.id), `pd${String(firstPd + i).padStart(4, '0')}.img`);
        const abs = this.pdPath(rel);
        // A leftover file from an interrupted create is not ours to keep.
        fs.rmSync(abs, { force: true });
        try {
          created.push(PhysicalDisk.create(firstPd + i, abs, pdSize));
        } catch (e) {
          // The file may exist, short: it is not in `created`, so remove it here.
          fs.rmSync(abs, { force: true });
          throw e;
        }
      }
      this.store.transaction(() => {
        this.store.db
          .prepare('INSERT INTO raid_group (pool_id, grp, raid, pd_count, first_chunk, chunk_count) VALUES (?, ?, ?, ?, ?, ?)')
          .run(pool.id, grp, pool.raid, pool.pdsPerGroup, first, chunkCount);
        const ins = this.store.db.prepare('INSERT INTO pd (pool_id, number, grp, idx, path, size) VALUES (?, ?, ?, ?, ?, ?)');
        created.forEach((pd, i) => ins.run(pool.id, pd.number, grp, i, path.relative(this.dir, pd.path), pdSize));
      });
    } catch (e) {
      for (const pd of created) {
        pd.close();
        fs.rmSync(pd.path, { force: true });
      }
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOSPC') throw DATA_FILE_SYSTEM_FULL();
      if (err.code === 'EFBIG') {
        throw PD_TOO_LARGE_FOR_FILE_SYSTEM({ arg: humanSize(pdSize) });
      }
      throw e;
    }
    fsyncDir(dir);
    pool.addGroup(new RaidGroup(grp, pool.raid, first, chunkCount, cs, created));
  }

  expandPool(pool: Pool, addBytes: number): void {
    this.addGroup(pool, addBytes);
  }

  setThreshold(pool: Pool, threshold: number): void {
    validateThreshold(threshold);
    this.store.db.prepare('UPDATE pool SET threshold = ? WHERE id = ?').run(threshold, pool.id);
    pool.threshold = threshold;
    pool.recheckThreshold();
  }

  async deletePool(pool: Pool): Promise<void> {
    for (const ld of this.lds.values()) {
      if (ld.pool === pool) throw POOL_HOLDS_LD({ pool: pool.name, ld: ld.name });
    }
    await this.commit();
    this.store.transaction(() => {
      for (const t of ['raid_group', 'pd', 'map_page', 'chunk_ref']) this.store.db.prepare(`DELETE FROM ${t} WHERE pool_id = ?`).run(pool.id);
      this.store.db.prepare('DELETE FROM pool WHERE id = ?').run(pool.id);
    });
    this.pools.delete(pool.id);
    for (const pd of pool.pds) {
      pd.close();
      fs.rmSync(pd.path, { force: true });
    }
    fs.rmSync(path.join(this.dir, 'pools', String(pool.id)), { recursive: true, force: true });
  }

  /**
   * Creates an LD. With `source` it starts as a copy of that LD's map sharing every
   * page (a snapshot or clone: metadata cost O(size/GiB)); the row and the page
   * refcounts it takes reach the store in one commit.
   */
  async createLd(spec: CreateLdSpec, source?: LogicalDisk, readOnly = false): Promise<LogicalDisk> {
    validateCapacity(spec.capacity);
    const pool = source ? source.pool : spec.pool;
    const top = new Uint32Array(LogicalDisk.topLength(spec.capacity, pool.chunkSize));
    if (source) this.shareMap(source, top);
    const id = this.nextLdId++;
    // Stored before the LD's row can be: a crash leaves a gap, never a reused id.
    this.store.setMeta(NEXT_LD_ID_KEY, String(this.nextLdId));
    const rec: LdRecord = {
      id,
      number: spec.number,
      name: spec.name,
      capacity: spec.capacity,
      blockSize: BLOCK_SIZE,
      defaultOwner: spec.defaultOwner,
      naa: spec.naa,
      serial: spec.serial,
      created: nowIso(),
      attrs: spec.attrs ?? {},
      ...(source ? { sharedFrom: source.rec.id } : {}),
    };
    const ld = new LogicalDisk(rec, pool, top, this.ldHooks());
    ld.readOnly = readOnly;
    this.addLd(ld);
    this.newLds.add(ld);
    await this.commit();
    return ld;
  }

  /** Fills `top` with the source's page ids, taking a reference on each page. */
  private shareMap(source: LogicalDisk, top: Uint32Array): void {
    const n = Math.min(top.length, source.top.length);
    for (let t = 0; t < n; t++) {
      const pid = source.top[t]!;
      if (pid === 0) continue;
      source.pool.pageIncRef(source.pool.pages.get(pid)!);
      top[t] = pid;
    }
  }

  /** Makes `target` hold exactly what `source` holds (snapshot restore). */
  async revertLd(target: LogicalDisk, source: LogicalDisk): Promise<void> {
    if (target.pool !== source.pool) throw RESTORE_ACROSS_POOLS({ target: target.name, source: source.name });
    const top = new Uint32Array(target.top.length);
    this.shareMap(source, top);
    target.replaceMap(top);
    await this.commit();
  }

  /** Allocates every chunk of an LD (thick provisioning, e.g. the SSV). */
  async preallocate(ld: LogicalDisk): Promise<void> {
    await ld.preallocate();
    await this.commit();
  }

  /** Makes an LD read-only (or read-write) durably, before this returns. */
  async setReadOnly(ld: LogicalDisk, readOnly: boolean): Promise<void> {
    ld.readOnly = readOnly;
    await this.updateLd(ld);
  }

  /** Records changed attributes of an LD in the next commit, and commits. */
  async updateLd(ld: LogicalDisk): Promise<void> {
    this.updatedLds.add(ld);
    await this.commit();
  }

  async expandLd(ld: LogicalDisk, capacity: number): Promise<void> {
    validateCapacity(capacity);
    if (capacity < ld.rec.capacity) {
      throw LD_CANNOT_SHRINK({ ld: ld.name, capacity: ld.rec.capacity, capacity2: capacity });
    }
    ld.expand(capacity);
    this.updatedLds.add(ld);
    await this.commit();
  }

  async deleteLd(ld: LogicalDisk): Promise<void> {
    // The row goes in the same transaction as the freed pages and chunks.
    ld.release();
    this.deletedLds.push(ld.rec.id);
    this.removeLd(ld);
    await this.commit();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.closing = true;
    await this.resyncing?.catch(() => undefined);
    let committed = true;
    await this.commit().catch(() => {
      committed = false;
    });
    this.closed = true;
    // Clean only if every mirror agrees and the last metadata reached the store.
    if (committed && [...this.pools.values()].every((p) => p.resyncProgress() === null)) this.store.setMeta(CLEAN_SHUTDOWN_KEY, '1');
    for (const pool of this.pools.values()) for (const pd of pool.pds) pd.close();
    this.store.close();
  }
}

/** Meta key: the next internal LD id (ids of deleted LDs are not handed out again). */
const NEXT_LD_ID_KEY = 'ld_id_next';

/** Set by close(), cleared at open: its absence at open means the last run did not end cleanly. */
const CLEAN_SHUTDOWN_KEY = 'clean_shutdown';

export const MAX_LD_CAPACITY = 256 * 2 ** 40; // 256 TiB

function ldRow(ld: LogicalDisk): LdRow {
  const r = ld.rec;
  return {
    id: r.id,
    number: r.number,
    name: r.name,
    pool_id: ld.pool.id,
    capacity: r.capacity,
    block_size: r.blockSize,
    default_owner: r.defaultOwner,
    naa: r.naa,
    serial: r.serial,
    created: r.created,
    attrs: JSON.stringify(r.attrs),
    top: topToBlob(ld.top),
    read_only: ld.readOnly ? 1 : 0,
    shared_from: r.sharedFrom ?? null,
  };
}

function validateCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity <= 0 || capacity % BLOCK_SIZE !== 0 || capacity > MAX_LD_CAPACITY) {
    throw LD_CAPACITY_NOT_ALLOWED({ capacity, blockSize: BLOCK_SIZE });
  }
}

function validateThreshold(t: number): void {
  if (!Number.isInteger(t) || t < 1 || t > 100) {
    throw THRESHOLD_NOT_PERCENTAGE({ t });
  }
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export { PAGE_ENTRIES };
