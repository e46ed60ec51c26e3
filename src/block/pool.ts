// A pool: RAID groups of PDs cut into fixed-size chunks, with the chunk
// allocator, chunk refcounts and the map pages of the pool's LDs. All metadata
// lives in memory and reaches the store through the engine's group commit.
import type { MapPage } from './map-page.js';
import { PAGE_ENTRIES } from './map-page.js';
import type { MetaBatch } from './meta-store.js';
import { entriesToBlob } from './map-page.js';
import type { PhysicalDisk } from './pd.js';
import type { Raid, RaidGroup } from './raid-group.js';
import { CHUNK_OUTSIDE_POOL, POOL_NO_FREE_SPACE } from '../catalogue/block.js';

/** Pristine chunks are handed out in reservations of this many, each persisted first. */
const HWM_RESERVATION = 256;

export interface PoolHooks {
  /** Persists a new high-water mark at once (before chunks below it are used). */
  persistHwm(pool: Pool, hwm: number): void;
  /** Usage crossed the threshold (up: true) or fell back below it. */
  thresholdCrossed(pool: Pool, up: boolean): void;
  pdFailed(pool: Pool, pd: PhysicalDisk, e: unknown): void;
  /** Page ids are unique across the array. */
  nextPageId(): number;
}

export interface AllocatedChunk {
  chunk: number;
  /** True when the chunk was never written since the PD was created: it reads as zeros. */
  pristine: boolean;
}

export class Pool {
  readonly id: number;
  readonly number: number;
  readonly name: string;
  readonly raid: Raid;
  readonly chunkSize: number;
  readonly pdsPerGroup: number;
  readonly created: string;
  threshold: number;
  readonly groups: RaidGroup[] = [];
  capacityChunks = 0;
  usedChunks = 0;
  overThreshold = false;

  private refs = new Uint32Array(0);
  private hwm: number;
  private reservedHwm: number;
  private freeStack: number[] = [];
  private pendingFree: Array<{ chunk: number; barrier: Promise<unknown> }> = [];
  readonly pages = new Map<number, MapPage>();
  private dirtyPages = new Set<MapPage>();
  /** Pages whose refcount alone changed (a snapshot or clone shared them): no need to rewrite entries. */
  private refDirtyPages = new Set<MapPage>();
  private deletedPages: number[] = [];
  private dirtyChunks = new Set<number>();
  private readonly hooks: PoolHooks;
  private readonly onPdFail: (pd: PhysicalDisk, e: unknown) => void;

  constructor(
    row: { id: number; number: number; name: string; raid: Raid; chunkSize: number; pdsPerGroup: number; threshold: number; hwm: number; created: string },
    hooks: PoolHooks,
  ) {
    this.id = row.id;
    this.number = row.number;
    this.name = row.name;
    this.raid = row.raid;
    this.chunkSize = row.chunkSize;
    this.pdsPerGroup = row.pdsPerGroup;
    this.threshold = row.threshold;
    this.created = row.created;
    this.hwm = row.hwm;
    this.reservedHwm = row.hwm;
    this.hooks = hooks;
    this.onPdFail = (pd, e) => {
      if (pd.state === 'ready') {
        pd.state = 'failed';
        hooks.pdFailed(this, pd, e);
      }
    };
  }

  /** Adds a group's chunks to the space (at load or on expansion). */
  addGroup(g: RaidGroup): void {
    this.groups.push(g);
    const end = g.firstChunk + g.chunkCount;
    if (end > this.capacityChunks) {
      const refs = new Uint32Array(end);
      refs.set(this.refs);
      this.refs = refs;
      this.capacityChunks = end;
    }
    this.checkThreshold();
  }

  /** Loads refcounts and rebuilds the free list (chunks below the HWM with no references). */
  loadRefs(rows: Array<{ chunk: number; refcount: number }>): void {
    for (const r of rows) {
      if (r.chunk < this.capacityChunks) {
        this.refs[r.chunk] = r.refcount;
        if (r.refcount > 0) this.usedChunks++;
      }
    }
    const top = Math.min(this.hwm, this.capacityChunks);
    for (let c = top - 1; c >= 0; c--) if (this.refs[c] === 0) this.freeStack.push(c);
    this.overThreshold = this.usagePercent() >= this.threshold;
  }

  /** After an unclean shutdown: every mirrored group must be resynced. Returns whether any is. */
  beginResync(): boolean {
    let any = false;
    for (const g of this.groups) {
      if (!g.mirrored) continue;
      g.beginResync();
      any = true;
    }
    return any;
  }

  /** Resync progress in chunks, or null when every mirror is known to agree. */
  resyncProgress(): { done: number; total: number } | null {
    let done = 0;
    let total = 0;
    let pending = false;
    for (const g of this.groups) {
      if (!g.mirrored) continue;
      total += g.chunkCount;
      done += g.resyncedChunks;
      if (!g.inSync) pending = true;
    }
    return pending ? { done, total } : null;
  }

  /**
   * Makes the mirrors of every allocated chunk agree, chunk by chunk, in the
   * background. Free chunks are skipped: a chunk is written whole (data plus
   * zeros, or a full copy) on every mirror when it is next allocated.
   */
  async resync(stop: () => boolean): Promise<{ copied: number; checked: number }> {
    let copied = 0;
    let checked = 0;
    for (const g of this.groups) {
      if (!g.mirrored) continue;
      for (let c = g.firstChunk + g.resyncedChunks; c < g.firstChunk + g.chunkCount; c++) {
        if (stop()) return { copied, checked };
        if (c >= this.hwm || this.refs[c] === 0) {
          g.markSynced(c);
          continue;
        }
        checked++;
        if ((await g.resyncChunk(c)) === 'copied') copied++;
      }
    }
    return { copied, checked };
  }

  get pds(): PhysicalDisk[] {
    return this.groups.flatMap((g) => g.pds);
  }

  get state(): 'ready' | 'degraded' | 'offline' {
    let degraded = false;
    for (const g of this.groups) {
      if (g.pds.every((p) => p.state === 'ready')) continue;
      if (!g.survives) return 'offline';
      degraded = true;
    }
    return degraded ? 'degraded' : 'ready';
  }

  usagePercent(): number {
    return this.capacityChunks === 0 ? 0 : (this.usedChunks * 100) / this.capacityChunks;
  }

  refcount(chunk: number): number {
    return this.refs[chunk]!;
  }

  get hasPendingFrees(): boolean {
    return this.pendingFree.length > 0;
  }

  /**
   * Takes a free chunk with refcount 1, or throws ENOSPC. The new count is not yet
   * dirty: a commit running while the data is written must not record a chunk that
   * no map points at. The caller calls chunkMapped() when it sets the map entry.
   */
  allocChunk(): AllocatedChunk {
    let chunk: number;
    let pristine: boolean;
    if (this.hwm < this.capacityChunks) {
      if (this.hwm >= this.reservedHwm) {
        this.reservedHwm = Math.min(this.capacityChunks, this.hwm + HWM_RESERVATION);
        this.hooks.persistHwm(this, this.reservedHwm);
      }
      chunk = this.hwm++;
      pristine = true;
    } else if (this.freeStack.length > 0) {
      chunk = this.freeStack.pop()!;
      pristine = false;
    } else {
      throw POOL_NO_FREE_SPACE({ name: this.name, capacityChunks: this.capacityChunks, chunkSize: this.chunkSize });
    }
    this.refs[chunk] = 1;
    this.usedChunks++;
    this.checkThreshold();
    return { chunk, pristine };
  }

  /** The chunk from allocChunk() is now in a map page: its refcount goes with the next commit. */
  chunkMapped(chunk: number): void {
    this.dirtyChunks.add(chunk);
  }

  /** Returns a chunk that was allocated but never referenced by committed metadata. */
  unallocChunk(chunk: number): void {
    this.refs[chunk] = 0;
    this.usedChunks--;
    this.dirtyChunks.add(chunk);
    this.freeStack.push(chunk);
    this.checkThreshold();
  }

  incRef(chunk: number): void {
    this.refs[chunk]!++;
    this.dirtyChunks.add(chunk);
  }

  /**
   * Drops a reference. A chunk whose count reaches zero is reused only after the
   * commit that records it free, and after the I/O in flight at the time (barrier).
   */
  decRef(chunk: number, barrier: Promise<unknown>): void {
    const n = --this.refs[chunk]!;
    this.dirtyChunks.add(chunk);
    if (n === 0) {
      this.usedChunks--;
      this.pendingFree.push({ chunk, barrier });
      this.checkThreshold();
    }
  }

  newPage(entries: Uint32Array): MapPage {
    const page: MapPage = { id: this.hooks.nextPageId(), refcount: 1, entries };
    this.pages.set(page.id, page);
    this.dirtyPages.add(page);
    return page;
  }

  markPageDirty(page: MapPage): void {
    this.dirtyPages.add(page);
  }

  pageIncRef(page: MapPage): void {
    page.refcount++;
    this.refDirtyPages.add(page);
  }

  /** Drops a page reference; the last one releases every chunk the page maps. */
  pageDecRef(page: MapPage, barrier: Promise<unknown>): void {
    page.refcount--;
    if (page.refcount > 0) {
      this.refDirtyPages.add(page);
      return;
    }
    for (let i = 0; i < PAGE_ENTRIES; i++) {
      const e = page.entries[i]!;
      if (e !== 0) this.decRef(e - 1, barrier);
    }
    this.pages.delete(page.id);
    this.dirtyPages.delete(page);
    this.refDirtyPages.delete(page);
    this.deletedPages.push(page.id);
  }

  hasDirtyMetadata(): boolean {
    return this.dirtyPages.size > 0 || this.refDirtyPages.size > 0 || this.deletedPages.length > 0 || this.dirtyChunks.size > 0 || this.pendingFree.length > 0;
  }

  /** Moves the dirty metadata into a batch; returns what to do once it is durable. */
  collect(batch: MetaBatch): () => void {
    for (const p of this.dirtyPages) batch.pages.push({ id: p.id, poolId: this.id, refcount: p.refcount, entries: entriesToBlob(p.entries) });
    for (const p of this.refDirtyPages) if (!this.dirtyPages.has(p)) batch.pageRefs.push({ id: p.id, refcount: p.refcount });
    for (const id of this.deletedPages) batch.deletedPages.push(id);
    for (const c of this.dirtyChunks) batch.chunks.push({ poolId: this.id, chunk: c, refcount: this.refs[c]! });
    this.dirtyPages.clear();
    this.refDirtyPages.clear();
    this.deletedPages = [];
    this.dirtyChunks.clear();
    const release = this.pendingFree;
    this.pendingFree = [];
    return () => {
      for (const { chunk, barrier } of release) {
        void barrier.then(() => {
          if (this.refs[chunk] === 0) this.freeStack.push(chunk);
        });
      }
    };
  }

  /** After a failed commit the captured changes must be written again by the next one. */
  recollect(batch: MetaBatch): void {
    for (const p of batch.pages) {
      const page = this.pages.get(p.id);
      if (page) this.dirtyPages.add(page);
    }
    for (const p of batch.pageRefs) {
      const page = this.pages.get(p.id);
      if (page) this.refDirtyPages.add(page);
    }
    this.deletedPages.push(...batch.deletedPages);
    for (const c of batch.chunks) if (c.poolId === this.id) this.dirtyChunks.add(c.chunk);
  }

  private group(chunk: number): RaidGroup {
    const gs = this.groups;
    for (let i = 0; i < gs.length; i++) if (gs[i]!.contains(chunk)) return gs[i]!;
    throw CHUNK_OUTSIDE_POOL({ chunk, name: this.name });
  }

  readChunk(chunk: number, offset: number, buf: Buffer, bufOffset: number, length: number): Promise<void> {
    return this.group(chunk).read(chunk, offset, buf, bufOffset, length, this.onPdFail);
  }

  writeChunk(chunk: number, offset: number, buf: Buffer, bufOffset: number, length: number): Promise<void> {
    return this.group(chunk).write(chunk, offset, buf, bufOffset, length, this.onPdFail);
  }

  private checkThreshold(): void {
    const over = this.usagePercent() >= this.threshold;
    if (over !== this.overThreshold) {
      this.overThreshold = over;
      this.hooks.thresholdCrossed(this, over);
    }
  }

  /** Forces a threshold re-evaluation (after the threshold itself changed). */
  recheckThreshold(): void {
    this.checkThreshold();
  }
}
