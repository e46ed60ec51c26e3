// Whole-range NBD I/O for tests, in requests of 4 MiB.
import type { NbdClient } from '../../src/nbd/client.js';

const PIECE = 4 << 20;

/** Reads `len` bytes at `off`. */
export async function readAll(c: NbdClient, off: number, len: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let o = 0; o < len; o += PIECE) parts.push(await c.read(off + o, Math.min(PIECE, len - o)));
  return Buffer.concat(parts);
}

/** Writes `data` at `off`, then flushes. */
export async function writeAll(c: NbdClient, off: number, data: Buffer): Promise<void> {
  for (let o = 0; o < data.length; o += PIECE) await c.write(off + o, data.subarray(o, Math.min(o + PIECE, data.length)));
  await c.flush();
}
