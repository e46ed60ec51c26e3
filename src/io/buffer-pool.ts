// Reusable I/O buffers for large reads. A fresh 1 MiB Buffer per read lives
// outside the V8 heap, and V8 answers that external-memory growth with a major
// GC every few tens of MiB: on 1 MiB sequential reads over NBD GC was 20-25% of
// the main thread (docs/perf/). Buffers taken here and given back when the socket
// write is done are reused instead.
//
// Safety: a buffer is handed out only from the free list, and it goes back on the
// list only when it is outstanding (taken and not yet given back), so a buffer
// is never handed out twice, and a buffer that did not come from here (a device
// that returns a view of its own memory) is never reused. A buffer that is never
// given back (an iSCSI reply, a failed request) is simply collected by GC.

/** Requests below this size are cheap to allocate (Node's slab or small external blocks). */
export const POOLED_MIN = 64 * 1024;
/** Free bytes kept for reuse: enough for 1 MiB reads at queue depth 16 on a few connections. */
export const DEFAULT_RETAIN = 32 * 1024 * 1024;

export class IoBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly outstanding = new WeakSet<Buffer>();
  private freeBytes = 0;
  /** Counters for tests and profiles: takes served from the free list, and fresh allocations. */
  reused = 0;
  allocated = 0;

  constructor(private readonly retain = DEFAULT_RETAIN) {}

  /** A buffer of exactly n bytes, uninitialised (as Buffer.allocUnsafe). */
  take(n: number): Buffer {
    if (n < POOLED_MIN) return Buffer.allocUnsafe(n);
    const list = this.free.get(n);
    let b = list?.pop();
    if (b) {
      this.freeBytes -= n;
      this.reused++;
    } else {
      // Its own ArrayBuffer (allocUnsafeSlow): never a slice of Node's shared slab.
      b = Buffer.allocUnsafeSlow(n);
      this.allocated++;
    }
    this.outstanding.add(b);
    return b;
  }

  /**
   * Gives a buffer back once nothing reads or writes it any more (the kernel has
   * the data). Buffers that are not outstanding from this pool are ignored.
   */
  give(b: Buffer): void {
    if (!this.outstanding.delete(b)) return;
    if (this.freeBytes + b.length > this.retain) return;
    const list = this.free.get(b.length);
    if (list) list.push(b);
    else this.free.set(b.length, [b]);
    this.freeBytes += b.length;
  }

  /** Bytes kept on the free lists now. */
  get retained(): number {
    return this.freeBytes;
  }
}

/** The process's pool: the block engine takes read buffers from it, front ends give them back. */
export const ioBuffers = new IoBufferPool();
