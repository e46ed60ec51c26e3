// A thin logical disk: a two-level map (top array of page ids → refcounted map
// pages → physical chunks). A read of a mapped chunk is a map lookup and one
// positional read; an overwrite of an unshared chunk touches no metadata.
// Writes to holes or shared chunks allocate (and copy) under a per-chunk lock.
import { KuraError } from '../errors.js';
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from './device.js';
import type { MapPage } from './map-page.js';
import { PAGE_ENTRIES, newEntries } from './map-page.js';
import type { Pool } from './pool.js';
import { BLOCKS_BEYOND_END, LD_DELETED, LD_READ_ONLY, WRITE_NOT_WHOLE_BLOCKS } from '../catalogue/block.js';
import { Inflight } from './inflight.js';
import { ioBuffers } from '../io/buffer-pool.js';

export const BLOCK_SIZE = 512;

/** Shared source of zeros for filling reused chunks and holes. */
let zeroBuf = Buffer.alloc(1 << 20);
function zeros(n: number): Buffer {
  if (zeroBuf.length < n) zeroBuf = Buffer.alloc(n);
  return zeroBuf;
}

export interface LdRecord {
  id: number;
  number: number;
  name: string;
  capacity: number;
  blockSize: number;
  defaultOwner: number;
  naa: string;
  serial: string;
  created: string;
  attrs: Record<string, unknown>;
  /** Internal id of the LD whose map this one started from (snapshot or clone source). */
  sharedFrom?: number;
}

export interface LdHooks {
  /** Group commit of the whole engine: data synced, then metadata. */
  commit(): Promise<void>;
  /** Called on ENOSPC so that the array can raise an event. */
  noSpace(ld: LogicalDisk, e: KuraError): void;
}

export class LogicalDisk implements BlockDevice {
  readonly rec: LdRecord;
  readonly pool: Pool;
  readonly blockSize: number;
  readOnly = false;
  top: Uint32Array;
  topDirty = false;
  deleted = false;
  private readonly chunkSize: number;
  private readonly hooks: LdHooks;
  /** I/O in flight, so that freed chunks are reused only after it completes. */
  private readonly inflight = new Inflight();
  /** Logical chunks being allocated or copied; later writers wait for them. */
  private readonly locks = new Map<number, Promise<void>>();

  constructor(rec: LdRecord, pool: Pool, top: Uint32Array, hooks: LdHooks) {
    this.rec = rec;
    this.pool = pool;
    this.blockSize = rec.blockSize;
    this.chunkSize = pool.chunkSize;
    this.top = top;
    this.hooks = hooks;
  }

  static topLength(capacity: number, chunkSize: number): number {
    return Math.ceil(Math.ceil(capacity / chunkSize) / PAGE_ENTRIES);
  }

  get name(): string {
    return this.rec.name;
  }
  get blockCount(): number {
    return Math.floor(this.rec.capacity / this.blockSize);
  }
  get optimalIoSize(): number {
    return this.chunkSize;
  }

  /** Bytes of pool space mapped by this LD. */
  allocatedBytes(): number {
    let n = 0;
    for (let t = 0; t < this.top.length; t++) {
      const pid = this.top[t]!;
      if (pid === 0) continue;
      const page = this.pool.pages.get(pid);
      if (!page) continue;
      for (let i = 0; i < PAGE_ENTRIES; i++) if (page.entries[i] !== 0) n++;
    }
    return n * this.chunkSize;
  }

  private check(lba: number, blocks: number, write: boolean): void {
    if (this.deleted) throw LD_DELETED({ name: this.rec.name });
    if (write && this.readOnly) throw LD_READ_ONLY({ name: this.rec.name });
    if (!Number.isSafeInteger(lba) || !Number.isSafeInteger(blocks) || lba < 0 || blocks < 0 || lba + blocks > this.blockCount) {
      throw BLOCKS_BEYOND_END({ lba, blocks, name: this.rec.name, blockCount: this.blockCount });
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    return this.inflight.track(p);
  }

  /** Resolves once every I/O in flight now has completed. */
  private barrier(): Promise<unknown> {
    return this.inflight.settled();
  }

  /**
   * Read-only view of the map: the physical chunk + 1 mapped at a logical chunk,
   * 0 for a hole. Two LDs sharing a chunk (snapshot, clone) give the same value
   * (the VVOL provider's allocated and unshared bitmaps).
   */
  mappedChunk(lchunk: number): number {
    return this.entry(lchunk);
  }

  /** Physical chunk + 1 mapped at a logical chunk, 0 for a hole. */
  private entry(lchunk: number): number {
    const pid = this.top[Math.floor(lchunk / PAGE_ENTRIES)]!;
    if (pid === 0) return 0;
    return this.pool.pages.get(pid)!.entries[lchunk % PAGE_ENTRIES]!;
  }

  read(lba: number, blocks: number): Promise<Buffer> {
    try {
      this.check(lba, blocks, false);
    } catch (e) {
      return Promise.reject(e);
    }
    const len = blocks * this.blockSize;
    // Large reads reuse buffers the front end gave back once sent (src/io/buffer-pool.ts).
    const buf = ioBuffers.take(len);
    const start = lba * this.blockSize;
    const cs = this.chunkSize;
    const first = Math.floor(start / cs);
    const off = start - first * cs;
    if (off + len <= cs) {
      // Fast path: the whole request lies in one chunk.
      const e = this.entry(first);
      if (e === 0) return Promise.resolve(buf.fill(0));
      return this.track(this.pool.readChunk(e - 1, off, buf, 0, len).then(() => buf));
    }
    const parts: Promise<void>[] = [];
    this.pieces(start, len, (lchunk, o, pos, n) => {
      const e = this.entry(lchunk);
      if (e === 0) buf.fill(0, pos, pos + n);
      else parts.push(this.pool.readChunk(e - 1, o, buf, pos, n));
    });
    return this.track(Promise.all(parts).then(() => buf));
  }

  /** Splits the byte range [start, start+len) at chunk boundaries: (logical chunk, offset in it, offset in the request, length). */
  private pieces(start: number, len: number, fn: (lchunk: number, off: number, pos: number, n: number) => void): void {
    const cs = this.chunkSize;
    let pos = 0;
    while (pos < len) {
      const abs = start + pos;
      const lchunk = Math.floor(abs / cs);
      const o = abs - lchunk * cs;
      const n = Math.min(cs - o, len - pos);
      fn(lchunk, o, pos, n);
      pos += n;
    }
  }

  write(lba: number, data: Buffer, opts?: WriteOptions): Promise<void> {
    if (data.length % this.blockSize !== 0) {
      return Promise.reject(WRITE_NOT_WHOLE_BLOCKS({ length: data.length, blockSize: this.blockSize }));
    }
    try {
      this.check(lba, data.length / this.blockSize, true);
    } catch (e) {
      return Promise.reject(e);
    }
    const start = lba * this.blockSize;
    const cs = this.chunkSize;
    const len = data.length;
    let p: Promise<unknown>;
    const first = Math.floor(start / cs);
    const off = start - first * cs;
    if (off + len <= cs) {
      p = this.writePiece(first, off, data, 0, len);
    } else {
      const parts: Promise<void>[] = [];
      this.pieces(start, len, (lchunk, o, pos, n) => parts.push(this.writePiece(lchunk, o, data, pos, n)));
      p = Promise.all(parts);
    }
    const tracked = this.track(p);
    if (opts?.fua) return tracked.then(() => this.hooks.commit());
    return tracked.then(() => undefined);
  }

  /**
   * All-or-nothing write (WRITE ATOMIC): the touched chunks are rebuilt whole in new
   * chunks, and the map switches to them in one step, so neither a reader nor a crash
   * (the next commit captures the map at one instant) sees part of the data.
   * Writes to those chunks wait meanwhile; the old chunks go back to the pool.
   */
  async writeAtomic(lba: number, data: Buffer, opts?: WriteOptions): Promise<void> {
    if (data.length % this.blockSize !== 0) {
      throw WRITE_NOT_WHOLE_BLOCKS({ length: data.length, blockSize: this.blockSize });
    }
    this.check(lba, data.length / this.blockSize, true);
    if (data.length === 0) return;
    const cs = this.chunkSize;
    const start = lba * this.blockSize;
    const first = Math.floor(start / cs);
    const last = Math.floor((start + data.length - 1) / cs);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held: number[] = [];
    const fresh: number[] = [];
    try {
      // Ascending order, so two atomic writes over the same chunks cannot deadlock.
      for (let c = first; c <= last; c++) {
        for (let l = this.locks.get(c); l !== undefined; l = this.locks.get(c)) await l.catch(() => undefined);
        this.locks.set(c, gate);
        held.push(c);
      }
      // In-place writes already under way finish before the chunks are copied.
      await this.barrier();
      const built: Array<{ lchunk: number; chunk: number }> = [];
      for (let c = first; c <= last; c++) {
        const whole = Buffer.alloc(cs);
        const old = this.entry(c);
        if (old !== 0) await this.pool.readChunk(old - 1, 0, whole, 0, cs);
        const from = Math.max(start, c * cs);
        const to = Math.min(start + data.length, (c + 1) * cs);
        data.copy(whole, from - c * cs, from - start, to - start);
        const chunk = (await this.takeChunk()).chunk;
        fresh.push(chunk);
        await this.track(this.pool.writeChunk(chunk, 0, whole, 0, cs));
        built.push({ lchunk: c, chunk });
      }
      if (this.deleted) throw LD_DELETED({ name: this.rec.name });
      // The switch: no await between the first and the last map change.
      for (const b of built) {
        const page = this.writablePage(b.lchunk);
        const cur = page.entries[b.lchunk % PAGE_ENTRIES]!;
        page.entries[b.lchunk % PAGE_ENTRIES] = b.chunk + 1;
        this.pool.markPageDirty(page);
        this.pool.chunkMapped(b.chunk);
        if (cur !== 0) this.pool.decRef(cur - 1, this.barrier());
      }
      fresh.length = 0;
    } finally {
      for (const c of fresh) this.pool.unallocChunk(c);
      for (const c of held) if (this.locks.get(c) === gate) this.locks.delete(c);
      release();
    }
    if (opts?.fua) await this.hooks.commit();
  }

  private writePiece(lchunk: number, off: number, data: Buffer, pos: number, n: number): Promise<void> {
    const lock = this.locks.get(lchunk);
    if (lock !== undefined) return lock.then(() => this.writePiece(lchunk, off, data, pos, n));
    const e = this.entry(lchunk);
    if (e !== 0 && this.pool.refcount(e - 1) === 1 && this.pageOf(lchunk)!.refcount === 1) {
      return this.pool.writeChunk(e - 1, off, data, pos, n);
    }
    return this.locked(lchunk, () => this.allocateAndWrite(lchunk, e, off, data, pos, n));
  }

  private locked(lchunk: number, fn: () => Promise<void>): Promise<void> {
    const p = fn().finally(() => {
      if (this.locks.get(lchunk) === p) this.locks.delete(lchunk);
    });
    this.locks.set(lchunk, p);
    return p;
  }

  private pageOf(lchunk: number): MapPage | undefined {
    const pid = this.top[Math.floor(lchunk / PAGE_ENTRIES)]!;
    return pid === 0 ? undefined : this.pool.pages.get(pid);
  }

  /** A free chunk; when only frees waiting for a commit are left, commits first. */
  private async takeChunk(): Promise<{ chunk: number; pristine: boolean }> {
    const pool = this.pool;
    try {
      return pool.allocChunk();
    } catch (e) {
      // Frees that wait for a commit may be all the space there is: commit, then retry once.
      if (!(e instanceof KuraError) || e.code !== 'ENOSPC' || !pool.hasPendingFrees) {
        if (e instanceof KuraError && e.code === 'ENOSPC') this.hooks.noSpace(this, e);
        throw e;
      }
      await this.hooks.commit();
      await new Promise((r) => setImmediate(r));
      try {
        return pool.allocChunk();
      } catch (e2) {
        if (e2 instanceof KuraError) this.hooks.noSpace(this, e2);
        throw e2;
      }
    }
  }

  /** Writes into a new chunk: a hole gets zeros around the data, a shared chunk gets a copy. */
  private async allocateAndWrite(lchunk: number, old: number, off: number, data: Buffer, pos: number, n: number): Promise<void> {
    const pool = this.pool;
    const cs = this.chunkSize;
    const alloc = await this.takeChunk();
    const chunk = alloc.chunk;
    try {
      if (old !== 0) {
        // Copy-on-write: the old chunk is shared with a snapshot or clone.
        const whole = Buffer.allocUnsafe(cs);
        await pool.readChunk(old - 1, 0, whole, 0, cs);
        data.copy(whole, off, pos, pos + n);
        await pool.writeChunk(chunk, 0, whole, 0, cs);
      } else if (alloc.pristine || n === cs) {
        await pool.writeChunk(chunk, off, data, pos, n);
      } else {
        // A reused chunk holds old data: zero what this write does not cover.
        const z = zeros(cs);
        const parts = [pool.writeChunk(chunk, off, data, pos, n)];
        if (off > 0) parts.push(pool.writeChunk(chunk, 0, z, 0, off));
        if (off + n < cs) parts.push(pool.writeChunk(chunk, off + n, z, 0, cs - off - n));
        await Promise.all(parts);
      }
    } catch (e) {
      pool.unallocChunk(chunk);
      throw e;
    }
    if (this.deleted) {
      pool.unallocChunk(chunk);
      return;
    }
    // The data is in place; only now does the map point at it.
    const page = this.writablePage(lchunk);
    const cur = page.entries[lchunk % PAGE_ENTRIES]!;
    page.entries[lchunk % PAGE_ENTRIES] = chunk + 1;
    pool.markPageDirty(page);
    pool.chunkMapped(chunk);
    if (cur !== 0) pool.decRef(cur - 1, this.barrier());
  }

  /** The page for a logical chunk, created or un-shared so that it may be modified. */
  private writablePage(lchunk: number): MapPage {
    const t = Math.floor(lchunk / PAGE_ENTRIES);
    const pid = this.top[t]!;
    const pool = this.pool;
    if (pid === 0) {
      const page = pool.newPage(newEntries());
      this.top[t] = page.id;
      this.topDirty = true;
      return page;
    }
    const page = pool.pages.get(pid)!;
    if (page.refcount === 1) return page;
    // Copy-on-write of metadata: the page is shared with a snapshot or clone.
    const copy = pool.newPage(page.entries.slice());
    for (let i = 0; i < PAGE_ENTRIES; i++) {
      const e = copy.entries[i]!;
      if (e !== 0) pool.incRef(e - 1);
    }
    pool.pageDecRef(page, Promise.resolve());
    this.top[t] = copy.id;
    this.topDirty = true;
    return copy;
  }

  flush(): Promise<void> {
    if (this.deleted) return Promise.reject(LD_DELETED({ name: this.rec.name }));
    return this.hooks.commit();
  }

  async unmap(ranges: UnmapRange[]): Promise<void> {
    for (const r of ranges) this.check(r.lba, r.blocks, true);
    for (const r of ranges) await this.deallocate(r.lba, r.blocks, false);
  }

  async writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    this.check(lba, blocks, true);
    await this.deallocate(lba, blocks, opts?.noHole ?? false);
    if (opts?.fua) await this.hooks.commit();
  }

  /** Frees whole chunks of the range (unless keep) and writes zeros over partial ones. */
  private async deallocate(lba: number, blocks: number, keep: boolean): Promise<void> {
    const cs = this.chunkSize;
    const start = lba * this.blockSize;
    const end = start + blocks * this.blockSize;
    let pos = start;
    const partial: Promise<void>[] = [];
    while (pos < end) {
      const lchunk = Math.floor(pos / cs);
      const o = pos - lchunk * cs;
      const n = Math.min(cs - o, end - pos);
      const lock = this.locks.get(lchunk);
      if (lock !== undefined) await lock.catch(() => undefined);
      const e = this.entry(lchunk);
      if (e !== 0) {
        if (n === cs && !keep) {
          const page = this.writablePage(lchunk);
          page.entries[lchunk % PAGE_ENTRIES] = 0;
          this.pool.markPageDirty(page);
          this.pool.decRef(e - 1, this.barrier());
        } else {
          partial.push(this.writePieceZero(lchunk, o, n));
        }
      }
      pos += n;
    }
    await this.track(Promise.all(partial));
  }

  private writePieceZero(lchunk: number, off: number, n: number): Promise<void> {
    const z = zeros(n);
    return this.writePiece(lchunk, off, z, 0, n);
  }

  async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    this.check(lba, blocks, false);
    const out: AllocationExtent[] = [];
    const bpc = this.chunkSize / this.blockSize;
    let b = lba;
    const end = lba + blocks;
    while (b < end) {
      const lchunk = Math.floor(b / bpc);
      const n = Math.min((lchunk + 1) * bpc, end) - b;
      const hole = this.entry(lchunk) === 0;
      const last = out[out.length - 1];
      if (last && last.hole === hole) last.blocks += n;
      else out.push({ blocks: n, hole, zero: hole });
      b += n;
    }
    return out;
  }

  /** Maps a chunk to every hole, so the whole LD is physically allocated (zeros). */
  async preallocate(): Promise<void> {
    const chunks = Math.ceil(this.rec.capacity / this.chunkSize);
    const z = zeros(this.chunkSize);
    for (let c = 0; c < chunks; c++) {
      if (this.entry(c) !== 0) continue;
      const alloc = this.pool.allocChunk();
      if (!alloc.pristine) await this.pool.writeChunk(alloc.chunk, 0, z, 0, this.chunkSize);
      const page = this.writablePage(c);
      page.entries[c % PAGE_ENTRIES] = alloc.chunk + 1;
      this.pool.markPageDirty(page);
      this.pool.chunkMapped(alloc.chunk);
    }
  }

  /** Grows the map for a larger capacity. */
  expand(newCapacity: number): void {
    const len = LogicalDisk.topLength(newCapacity, this.chunkSize);
    if (len > this.top.length) {
      const t = new Uint32Array(len);
      t.set(this.top);
      this.top = t;
      this.topDirty = true;
    }
    this.rec.capacity = newCapacity;
  }

  /** Swaps in a new map (whose page references the caller took) and drops the old one. */
  replaceMap(top: Uint32Array): void {
    const old = this.top;
    this.top = top;
    this.topDirty = true;
    this.dropPages(old);
  }

  /** Drops every page reference (the LD is being deleted). */
  release(): void {
    this.deleted = true;
    this.dropPages(this.top);
  }

  private dropPages(top: Uint32Array): void {
    const barrier = this.barrier();
    for (let t = 0; t < top.length; t++) {
      const pid = top[t]!;
      if (pid === 0) continue;
      const page = this.pool.pages.get(pid);
      if (page) this.pool.pageDecRef(page, barrier);
      top[t] = 0;
    }
  }
}
