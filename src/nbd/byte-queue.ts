// A receive queue over socket chunks: callers take exact byte counts without
// the chunks being concatenated each time data arrives. A take that lies inside
// one chunk returns a view of it (no copy).

export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Removes and returns exactly n bytes, or null when fewer are queued. */
  take(n: number): Buffer | null {
    if (n > this.length) return null;
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const m = Math.min(c.length - this.head, n - filled);
      c.copy(out, filled, this.head, this.head + m);
      filled += m;
      this.head += m;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.length -= n;
    return out;
  }

  /** Drops up to n bytes; returns how many were dropped. */
  skip(n: number): number {
    const m = Math.min(n, this.length);
    let left = m;
    while (left > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, left);
      left -= k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.length -= m;
    return m;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}
