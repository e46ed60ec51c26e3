// A RAID group: a set of PDs that together hold a contiguous range of a pool's
// physical chunks. The group's level (src/block/raid/) says where each chunk lives;
// the group does the I/O, the mirror read rotation and the resync after a crash.
import { KuraError } from '../errors.js';
import type { PhysicalDisk } from './pd.js';
import { raidLevel } from './raid/index.js';
import type { Raid, RaidLevel } from './raid/index.js';
import { NO_READABLE_COPY, NO_WRITABLE_COPY, RAID_PD_COUNT } from '../catalogue/block.js';

export type { Raid, RaidLevel } from './raid/index.js';
export { parseRaid } from './raid/index.js';

export function validatePdCount(raid: Raid, pds: number): void {
  const level = raidLevel(raid);
  const ok = Number.isInteger(pds) && level.acceptsPdCount(pds);
  if (!ok || pds > 64) {
    throw RAID_PD_COUNT({ raid, pds, pdCountRule: level.pdCountRule });
  }
}

/** Chunks laid side by side across the group (how many distinct chunks one "row" holds). */
export function stripeWidth(raid: Raid, pds: number): number {
  return raidLevel(raid).stripeWidth(pds);
}

export function defaultPdCount(raid: Raid): number {
  return raidLevel(raid).defaultPdCount;
}

export class RaidGroup {
  readonly number: number;
  readonly raid: Raid;
  readonly firstChunk: number;
  readonly chunkCount: number;
  readonly chunkSize: number;
  readonly pds: PhysicalDisk[];
  readonly level: RaidLevel;
  private readCursor = 0;
  /**
   * Mirrors agree on every chunk below this index (relative to firstChunk). After an
   * unclean shutdown a write may have reached one mirror and not the other, so until
   * resync has passed a chunk its reads come from one mirror only: otherwise two reads
   * of the same block could return different data.
   */
  private syncedBelow: number;
  /** Writes in flight per chunk, so that resync copies a chunk only when none is. */
  private readonly inflight = new Map<number, number>();
  /** The chunk resync is copying now; writes to it wait for the copy. */
  private resyncing: { chunk: number; done: Promise<void> } | null = null;
  private drained: { chunk: number; resolve: () => void } | null = null;

  constructor(number: number, raid: Raid, firstChunk: number, chunkCount: number, chunkSize: number, pds: PhysicalDisk[]) {
    this.number = number;
    this.raid = raid;
    this.firstChunk = firstChunk;
    this.chunkCount = chunkCount;
    this.chunkSize = chunkSize;
    this.pds = pds;
    this.level = raidLevel(raid);
    this.syncedBelow = chunkCount;
  }

  /** Whether copies of a chunk can disagree after an unclean shutdown (the group needs resync then). */
  get mirrored(): boolean {
    return this.level.needsResync;
  }

  /** Whether the group still serves all its data with its failed PDs. */
  get survives(): boolean {
    const failed = new Set<number>();
    this.pds.forEach((p, i) => {
      if (p.state !== 'ready') failed.add(i);
    });
    return this.level.survives(this.pds.length, failed);
  }

  /** After an unclean shutdown: no chunk is known to have equal mirrors. */
  beginResync(): void {
    if (this.mirrored) this.syncedBelow = 0;
  }

  get inSync(): boolean {
    return this.syncedBelow >= this.chunkCount;
  }

  /** Chunks of this group that resync has passed. */
  get resyncedChunks(): number {
    return Math.min(this.syncedBelow, this.chunkCount);
  }

  /** Resync skipped or finished this chunk (it is unallocated, or its mirrors now agree). */
  markSynced(chunk: number): void {
    const i = chunk - this.firstChunk + 1;
    if (i > this.syncedBelow) this.syncedBelow = i;
  }

  /**
   * Makes the mirrors of one chunk equal: the first healthy member is the source.
   * Runs while no write to the chunk is in flight and holds new writes back, so a
   * write cannot land on the copy's target between the read and the write of it.
   */
  async resyncChunk(chunk: number): Promise<'equal' | 'copied' | 'skipped'> {
    const { write: members, base } = this.place(chunk);
    const ready = members.filter((pd) => pd.state === 'ready');
    if (ready.length < 2) {
      this.markSynced(chunk);
      return 'skipped';
    }
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    this.resyncing = { chunk, done };
    try {
      if ((this.inflight.get(chunk) ?? 0) > 0) await new Promise<void>((resolve) => (this.drained = { chunk, resolve }));
      const src = Buffer.allocUnsafe(this.chunkSize);
      await ready[0]!.read(src, 0, this.chunkSize, base);
      let copied = false;
      const other = Buffer.allocUnsafe(this.chunkSize);
      for (const pd of ready.slice(1)) {
        await pd.read(other, 0, this.chunkSize, base);
        if (!other.equals(src)) {
          await pd.write(src, 0, this.chunkSize, base);
          copied = true;
        }
      }
      this.markSynced(chunk);
      return copied ? 'copied' : 'equal';
    } finally {
      this.resyncing = null;
      this.drained = null;
      release();
    }
  }

  contains(chunk: number): boolean {
    return chunk >= this.firstChunk && chunk < this.firstChunk + this.chunkCount;
  }

  /** The PDs a read of a chunk may use, those a write goes to, and the chunk's byte offset on them. */
  private place(chunk: number): { read: PhysicalDisk[]; write: PhysicalDisk[]; base: number } {
    const p = this.level.place(chunk - this.firstChunk, this.pds.length);
    const read = p.read.map((i) => this.pds[i]!);
    // Mirrors read from and write to the same PDs: map them once (this is on every I/O).
    const write = p.write === p.read ? read : p.write.map((i) => this.pds[i]!);
    return { read, write, base: p.row * this.chunkSize };
  }

  async read(chunk: number, offset: number, buf: Buffer, bufOffset: number, length: number, onPdFail: (pd: PhysicalDisk, e: unknown) => void): Promise<void> {
    const { read: members, base } = this.place(chunk);
    // Alternate between healthy mirrors to spread reads, once they are known to agree.
    const start = members.length > 1 && chunk - this.firstChunk < this.syncedBelow ? this.readCursor++ % members.length : 0;
    let lastErr: unknown;
    for (let k = 0; k < members.length; k++) {
      const pd = members[(start + k) % members.length]!;
      if (pd.state !== 'ready') continue;
      try {
        await pd.read(buf, bufOffset, length, base + offset);
        return;
      } catch (e) {
        lastErr = e;
        onPdFail(pd, e);
      }
    }
    throw NO_READABLE_COPY({ chunk, number: this.number, arg: lastErr ? `: ${(lastErr as Error).message}` : '' });
  }

  async write(chunk: number, offset: number, buf: Buffer, bufOffset: number, length: number, onPdFail: (pd: PhysicalDisk, e: unknown) => void): Promise<void> {
    const { write: members, base } = this.place(chunk);
    if (members.length > 1 && !this.inSync) {
      while (this.resyncing?.chunk === chunk) await this.resyncing.done;
      this.inflight.set(chunk, (this.inflight.get(chunk) ?? 0) + 1);
      try {
        return await this.writeMirrors(chunk, members, base, offset, buf, bufOffset, length, onPdFail);
      } finally {
        const n = this.inflight.get(chunk)! - 1;
        if (n === 0) this.inflight.delete(chunk);
        else this.inflight.set(chunk, n);
        if (n === 0 && this.drained?.chunk === chunk) this.drained.resolve();
      }
    }
    if (members.length === 1) {
      const pd = members[0]!;
      if (pd.state === 'ready') {
        try {
          return await pd.write(buf, bufOffset, length, base + offset);
        } catch (e) {
          onPdFail(pd, e);
        }
      }
      throw this.noWritableCopy(chunk);
    }
    return this.writeMirrors(chunk, members, base, offset, buf, bufOffset, length, onPdFail);
  }

  private async writeMirrors(
    chunk: number,
    members: PhysicalDisk[],
    base: number,
    offset: number,
    buf: Buffer,
    bufOffset: number,
    length: number,
    onPdFail: (pd: PhysicalDisk, e: unknown) => void,
  ): Promise<void> {
    let ok = 0;
    await Promise.all(
      members.map(async (pd) => {
        if (pd.state !== 'ready') return;
        try {
          await pd.write(buf, bufOffset, length, base + offset);
          ok++;
        } catch (e) {
          onPdFail(pd, e);
        }
      }),
    );
    if (ok === 0) throw this.noWritableCopy(chunk);
  }

  private noWritableCopy(chunk: number): KuraError {
    return NO_WRITABLE_COPY({ chunk, number: this.number });
  }
}
