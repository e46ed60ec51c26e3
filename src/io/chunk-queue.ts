// A receive queue over socket chunks, shared by the iSCSI PDU reader and the
// NBD server and client. Chunks are queued as they arrive and never
// concatenated: a take that lies inside one chunk returns a view of it (no
// copy), a take across chunks copies once, and bytes whose destination is
// known (a write buffer) are copied straight from the chunks into it. Fixed-size
// headers can be read in place without even a view being made (header()).
import { ioBuffers } from './buffer-pool.js';

const EMPTY = Buffer.alloc(0);

export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Offset of the first queued byte in chunks[0]. */
  private head = 0;
  /** Bytes queued. */
  length = 0;
  /** Set by header(): the buffer and offset where the header's bytes start. */
  hbuf: Buffer = EMPTY;
  hoff = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  private advance(n: number): void {
    this.head += n;
    this.length -= n;
    if (this.head === this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Removes and returns exactly n bytes (a view when they lie in one chunk, else a copy), or null when fewer are queued. */
  take(n: number): Buffer | null {
    if (n > this.length) return null;
    if (n === 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    // Large copies (NBD WRITE payloads) reuse buffers the front end gave back after the write.
    const out = ioBuffers.take(n);
    this.copyOut(out, 0, n);
    return out;
  }

  /**
   * Consumes n bytes (n <= scratch.length) and points hbuf/hoff at them: at the
   * chunk itself when they lie in one chunk, else at scratch after copying.
   * The bytes stay valid until the next call with the same scratch. False
   * (nothing consumed) when fewer than n bytes are queued.
   */
  header(n: number, scratch: Buffer): boolean {
    if (n > this.length) return false;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      this.hbuf = first;
      this.hoff = this.head;
      this.advance(n);
      return true;
    }
    this.copyOut(scratch, 0, n);
    this.hbuf = scratch;
    this.hoff = 0;
    return true;
  }

  /** The next 4 bytes as a big-endian uint32 without consuming them (length >= 4). */
  peekUInt32(): number {
    const first = this.chunks[0]!;
    if (first.length - this.head >= 4) return first.readUInt32BE(this.head);
    let v = 0;
    for (let i = 0, k = 0, off = this.head; k < 4; i++, off = 0) {
      const c = this.chunks[i]!;
      for (let j = off; j < c.length && k < 4; j++, k++) v = v * 256 + c[j]!;
    }
    return v;
  }

  /** Copies the first n bytes (n <= length) into dest without consuming them. */
  peekInto(dest: Buffer, n: number): void {
    let filled = 0;
    for (let i = 0, off = this.head; filled < n; i++, off = 0) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length - off, n - filled);
      c.copy(dest, filled, off, off + k);
      filled += k;
    }
  }

  /** Moves up to n queued bytes into dest at pos; returns how many were moved. */
  copyOut(dest: Buffer, pos: number, n: number): number {
    const m = Math.min(n, this.length);
    let filled = 0;
    while (filled < m) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, m - filled);
      c.copy(dest, pos + filled, this.head, this.head + k);
      filled += k;
      this.advance(k);
    }
    return m;
  }

  /** Drops up to n bytes; returns how many were dropped. */
  skip(n: number): number {
    const m = Math.min(n, this.length);
    let left = m;
    while (left > 0) {
      const k = Math.min(this.chunks[0]!.length - this.head, left);
      left -= k;
      this.advance(k);
    }
    return m;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.length = 0;
  }
}
