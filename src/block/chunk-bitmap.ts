// A bitmap with one bit per chunk (difference and copy tracking of replication
// pairs), stored as a BLOB in the metadata store.

export class ChunkBitmap {
  readonly bits: Uint8Array;
  private setCount = 0;

  constructor(
    readonly size: number,
    from?: Uint8Array,
  ) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
    if (from) {
      this.bits.set(from.subarray(0, this.bits.length));
      for (let i = 0; i < size; i++) if (this.get(i)) this.setCount++;
    }
  }

  get count(): number {
    return this.setCount;
  }

  get(i: number): boolean {
    return (this.bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Sets bit i; true when it was clear. */
  set(i: number): boolean {
    if (this.get(i)) return false;
    this.bits[i >> 3]! |= 1 << (i & 7);
    this.setCount++;
    return true;
  }

  clear(i: number): boolean {
    if (!this.get(i)) return false;
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.setCount--;
    return true;
  }

  fill(): void {
    for (let i = 0; i < this.size; i++) this.set(i);
  }

  /** The first set bit at or after `from`, or -1. */
  next(from: number): number {
    for (let i = Math.max(0, from); i < this.size; i++) {
      if (this.bits[i >> 3] === 0) {
        i |= 7;
        continue;
      }
      if (this.get(i)) return i;
    }
    return -1;
  }

  /** This bitmap with the bits of `other` added (for what is persisted). */
  union(other: Iterable<number>): Buffer {
    const out = Buffer.from(this.bits);
    for (const i of other) out[i >> 3]! |= 1 << (i & 7);
    return out;
  }
}

/**
 * Per-chunk reader/writer locks: host writes hold chunks shared while they go to
 * both volumes; a copy holds its chunk exclusively, so a write never interleaves
 * with the copy of the same chunk (which would leave the older data on the target).
 */
export class ChunkLocks {
  private readonly state = new Map<number, { shared: number; excl: boolean; queue: Array<{ excl: boolean; go: () => void }> }>();

  async acquire(chunk: number, excl: boolean): Promise<void> {
    let s = this.state.get(chunk);
    if (!s) {
      s = { shared: 0, excl: false, queue: [] };
      this.state.set(chunk, s);
    }
    if (s.queue.length === 0 && !s.excl && (!excl || s.shared === 0)) {
      if (excl) s.excl = true;
      else s.shared++;
      return;
    }
    await new Promise<void>((go) => s.queue.push({ excl, go }));
  }

  release(chunk: number, excl: boolean): void {
    const s = this.state.get(chunk);
    if (!s) return;
    if (excl) s.excl = false;
    else s.shared--;
    while (s.queue.length > 0 && !s.excl) {
      const head = s.queue[0]!;
      if (head.excl && s.shared > 0) break;
      s.queue.shift();
      if (head.excl) s.excl = true;
      else s.shared++;
      head.go();
      if (head.excl) break;
    }
    if (!s.excl && s.shared === 0 && s.queue.length === 0) this.state.delete(chunk);
  }
}
