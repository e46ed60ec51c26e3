// The performance history on disk: one file per object (LD, port, pool) in
// DATA/perf, holding two rings of fixed-size records: 10-second samples for a
// day (8,640 slots) and 1-minute samples for a week (10,080 slots). A
// sample's slot is its time divided by the resolution, modulo the slots, and
// the record keeps its own time, so a slot holding an older time is simply
// empty: no head pointer to keep, nothing to repair after a crash, gaps (the
// server was down) stay gaps. Records are 32 bytes (a uint32 time in seconds
// and seven float32 values); a file is 64 + 18,720 x 32 = 599,104 bytes
// (about 585 KiB) once both rings have filled.
import fs from 'node:fs';
import path from 'node:path';
import { PERF_STORE_FAILED } from '../../catalogue/ops.js';

export const RESOLUTIONS = { '10s': { seconds: 10, slots: 8640 }, '1m': { seconds: 60, slots: 10080 } } as const;
export type Resolution = keyof typeof RESOLUTIONS;
export const VALUES = 7;
export const RECORD_BYTES = 4 + 4 * VALUES;
const HEADER_BYTES = 64;
const MAGIC = 'KURAPRF1';
export const RING_FILE_BYTES = HEADER_BYTES + (RESOLUTIONS['10s'].slots + RESOLUTIONS['1m'].slots) * RECORD_BYTES;
/** History files of objects not written for this long are removed at start (deleted LDs). */
export const PRUNE_AFTER_MS = 7 * 24 * 3600 * 1000;

export type PerfKind = 'ld' | 'port' | 'pool';
export const PERF_KINDS: PerfKind[] = ['ld', 'port', 'pool'];

/** The seven values of a record, by kind. */
export const FIELDS: Record<PerfKind, readonly string[]> = {
  ld: ['readIops', 'writeIops', 'readBytesPerSec', 'writeBytesPerSec', 'readLatencyMs', 'writeLatencyMs', 'queueDepth'],
  port: ['readIops', 'writeIops', 'readBytesPerSec', 'writeBytesPerSec', 'readLatencyMs', 'writeLatencyMs', 'queueDepth'],
  pool: ['readIops', 'writeIops', 'readBytesPerSec', 'writeBytesPerSec', 'usedBytes', 'capacityBytes', 'queueDepth'],
};

export interface PerfRecord {
  /** Start of the sample's interval, seconds since the epoch. */
  time: number;
  values: number[];
}

function regionOffset(res: Resolution): number {
  return res === '10s' ? HEADER_BYTES : HEADER_BYTES + RESOLUTIONS['10s'].slots * RECORD_BYTES;
}

export function fileName(kind: PerfKind, name: string): string {
  return `${kind}-${encodeURIComponent(name)}.ring`;
}

export function parseFileName(f: string): { kind: PerfKind; name: string } | undefined {
  const m = /^(ld|port|pool)-(.+)\.ring$/.exec(f);
  if (!m) return undefined;
  try {
    return { kind: m[1] as PerfKind, name: decodeURIComponent(m[2]!) };
  } catch {
    return undefined;
  }
}

export class PerfRing {
  private constructor(
    readonly file: string,
    private fd: number,
  ) {}

  static open(dir: string, kind: PerfKind, name: string): PerfRing {
    const file = path.join(dir, fileName(kind, name));
    try {
      const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      const head = Buffer.alloc(HEADER_BYTES);
      const n = fs.readSync(fd, head, 0, HEADER_BYTES, 0);
      if (n < HEADER_BYTES || head.toString('latin1', 0, 8) !== MAGIC) {
        // New (or not ours, or from another layout): start it afresh.
        fs.ftruncateSync(fd, 0);
        head.fill(0);
        head.write(MAGIC, 0, 'latin1');
        head.writeUInt32LE(RECORD_BYTES, 8);
        head.writeUInt32LE(RESOLUTIONS['10s'].slots, 12);
        head.writeUInt32LE(RESOLUTIONS['1m'].slots, 16);
        fs.writeSync(fd, head, 0, HEADER_BYTES, 0);
        // The rings' space is reserved at once (sparse), so the file has its final size.
        fs.ftruncateSync(fd, RING_FILE_BYTES);
      }
      return new PerfRing(file, fd);
    } catch (e) {
      throw PERF_STORE_FAILED({ dir, reason: (e as Error).message });
    }
  }

  write(res: Resolution, rec: PerfRecord): void {
    const r = RESOLUTIONS[res];
    const slot = Math.floor(rec.time / r.seconds) % r.slots;
    const b = Buffer.alloc(RECORD_BYTES);
    b.writeUInt32LE(rec.time >>> 0, 0);
    for (let i = 0; i < VALUES; i++) b.writeFloatLE(rec.values[i] ?? 0, 4 + 4 * i);
    fs.writeSync(this.fd, b, 0, RECORD_BYTES, regionOffset(res) + slot * RECORD_BYTES);
  }

  /** The records of one resolution from `fromSec` to `toSec` (inclusive), oldest first; empty slots are left out. */
  read(res: Resolution, fromSec: number, toSec: number): PerfRecord[] {
    const r = RESOLUTIONS[res];
    const region = Buffer.alloc(r.slots * RECORD_BYTES);
    fs.readSync(this.fd, region, 0, region.length, regionOffset(res));
    const out: PerfRecord[] = [];
    const first = Math.ceil(fromSec / r.seconds) * r.seconds;
    // At most one ring's worth: older slots have been overwritten.
    const start = Math.max(first, toSec - (r.slots - 1) * r.seconds);
    for (let t = start; t <= toSec; t += r.seconds) {
      const off = (Math.floor(t / r.seconds) % r.slots) * RECORD_BYTES;
      if (region.readUInt32LE(off) !== t) continue;
      const values: number[] = [];
      for (let i = 0; i < VALUES; i++) values.push(region.readFloatLE(off + 4 + 4 * i));
      out.push({ time: t, values });
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
