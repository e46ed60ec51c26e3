// A BlockDevice over a sparse file, with positional I/O and fdatasync: the NBD
// tests' stand-in for an LD. With trackHoles it remembers which 64 KiB granules
// were ever written (in memory) so allocation() reports the rest as holes;
// without it, everything is reported allocated. Counters let tests see what the
// front end asked of the device (FUA, flushes, unmaps, no-hole zeroing).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../../src/block/device.js';
import { readNowait } from '../../src/block/native-io.js';
import { KuraError } from '../../src/errors.js';

export interface FileDeviceOptions {
  /** Size in bytes (a multiple of blockSize). */
  size: number;
  /** Backing file; a new temporary file (removed by close()) when absent. */
  path?: string;
  name?: string;
  blockSize?: number;
  readOnly?: boolean;
  optimalIoSize?: number;
  /** Report never-written granules as holes. */
  trackHoles?: boolean;
  /** Granule of hole tracking in bytes (default 64 KiB, a multiple of blockSize). */
  granule?: number;
}

export interface FileDeviceStats {
  reads: number;
  writes: number;
  fuaWrites: number;
  flushes: number;
  unmaps: number;
  writeZeroes: number;
  noHoleZeroes: number;
  fuaZeroes: number;
}

const ZEROES = Buffer.alloc(1 << 20);

function pread(fd: number, buf: Buffer, pos: number): Promise<void> {
  // Page-cache hits are served at once by the native helper (as the LD does), the rest on the thread pool.
  if (readNowait && buf.length <= 256 * 1024 && readNowait(fd, buf, 0, buf.length, pos) === buf.length) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      fs.read(fd, buf, done, buf.length - done, pos + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) {
          buf.fill(0, done); // past the end of the file reads as zeros
          return resolve();
        }
        if (done + n < buf.length) return step(done + n);
        resolve();
      });
    };
    step(0);
  });
}

function pwrite(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      fs.write(fd, buf, done, buf.length - done, pos + done, (err, n) => {
        if (err) return reject(err);
        if (done + n < buf.length) return step(done + n);
        resolve();
      });
    };
    step(0);
  });
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export class FileDevice implements BlockDevice {
  readonly name: string;
  readonly blockSize: number;
  readonly optimalIoSize: number;
  readOnly: boolean;
  readonly path: string;
  readonly stats: FileDeviceStats = { reads: 0, writes: 0, fuaWrites: 0, flushes: 0, unmaps: 0, writeZeroes: 0, noHoleZeroes: 0, fuaZeroes: 0 };
  private size: number;
  private readonly fd: number;
  private readonly temp: boolean;
  private readonly granule: number;
  /** 1 per granule ever written (trackHoles only). */
  private written: Uint8Array | null;

  private constructor(o: FileDeviceOptions, file: string, fd: number, temp: boolean) {
    this.blockSize = o.blockSize ?? 512;
    this.name = o.name ?? path.basename(file);
    this.optimalIoSize = o.optimalIoSize ?? 64 * 1024;
    this.readOnly = o.readOnly ?? false;
    this.path = file;
    this.fd = fd;
    this.temp = temp;
    this.size = o.size;
    this.granule = o.granule ?? 64 * 1024;
    this.written = o.trackHoles ? new Uint8Array(Math.ceil(o.size / this.granule)) : null;
  }

  static create(o: FileDeviceOptions): FileDevice {
    const bs = o.blockSize ?? 512;
    if (o.size % bs !== 0) throw new Error(`size ${o.size} is not a multiple of the block size ${bs}`);
    const temp = !o.path;
    const file = o.path ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kura-filedev-')), `${o.name ?? 'dev'}.img`);
    const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
    fs.ftruncateSync(fd, o.size);
    return new FileDevice(o, file, fd, temp);
  }

  get blockCount(): number {
    return this.size / this.blockSize;
  }

  /** Grows (or shrinks) the device, as an LD expansion would. */
  resize(size: number): void {
    fs.ftruncateSync(this.fd, size);
    this.size = size;
    if (this.written) {
      const w = new Uint8Array(Math.ceil(size / this.granule));
      w.set(this.written.subarray(0, w.length));
      this.written = w;
    }
  }

  private check(lba: number, blocks: number, write: boolean): void {
    if (write && this.readOnly) throw new KuraError('KURA-E3901', 'EROFS', `Device ${this.name} is read-only.`, 'Write to a read-write device.');
    if (!Number.isSafeInteger(lba) || !Number.isSafeInteger(blocks) || lba < 0 || blocks < 0 || lba + blocks > this.blockCount) {
      throw new KuraError(
        'KURA-E3902',
        'ERANGE',
        `Blocks ${lba}+${blocks} lie beyond the end of ${this.name} (${this.blockCount} blocks).`,
        'Address blocks inside the device.',
      );
    }
  }

  /** Marks the granules a byte range touches (all of them, or only those it covers whole). */
  private mark(start: number, end: number, value: 0 | 1, wholeOnly: boolean): void {
    if (!this.written) return;
    const g = this.granule;
    const first = wholeOnly ? Math.ceil(start / g) : Math.floor(start / g);
    const last = wholeOnly ? Math.floor(end / g) : Math.ceil(end / g);
    // A partial last granule at the end of the device counts as whole.
    const lastFixed = wholeOnly && end === this.size ? Math.ceil(end / g) : last;
    for (let i = first; i < lastFixed; i++) this.written[i] = value;
  }

  async read(lba: number, blocks: number): Promise<Buffer> {
    this.check(lba, blocks, false);
    this.stats.reads++;
    const buf = Buffer.allocUnsafe(blocks * this.blockSize);
    await pread(this.fd, buf, lba * this.blockSize);
    return buf;
  }

  async write(lba: number, buf: Buffer, opts: WriteOptions = {}): Promise<void> {
    if (buf.length % this.blockSize !== 0)
      throw new KuraError('KURA-E3903', 'EINVAL', `A write of ${buf.length} bytes is not whole blocks.`, 'Write whole blocks.');
    this.check(lba, buf.length / this.blockSize, true);
    this.stats.writes++;
    const pos = lba * this.blockSize;
    this.mark(pos, pos + buf.length, 1, false);
    await pwrite(this.fd, buf, pos);
    if (opts.fua) {
      this.stats.fuaWrites++;
      await fdatasync(this.fd);
    }
  }

  async flush(): Promise<void> {
    this.stats.flushes++;
    await fdatasync(this.fd);
  }

  private async zero(lba: number, blocks: number): Promise<void> {
    const end = (lba + blocks) * this.blockSize;
    for (let pos = lba * this.blockSize; pos < end; pos += ZEROES.length) {
      await pwrite(this.fd, ZEROES.subarray(0, Math.min(ZEROES.length, end - pos)), pos);
    }
  }

  async unmap(ranges: UnmapRange[]): Promise<void> {
    for (const r of ranges) this.check(r.lba, r.blocks, true);
    this.stats.unmaps++;
    for (const r of ranges) {
      await this.zero(r.lba, r.blocks);
      this.mark(r.lba * this.blockSize, (r.lba + r.blocks) * this.blockSize, 0, true);
    }
  }

  async writeZeroes(lba: number, blocks: number, opts: WriteOptions & { noHole?: boolean } = {}): Promise<void> {
    this.check(lba, blocks, true);
    this.stats.writeZeroes++;
    if (opts.noHole) this.stats.noHoleZeroes++;
    await this.zero(lba, blocks);
    const start = lba * this.blockSize;
    const end = (lba + blocks) * this.blockSize;
    if (opts.noHole) this.mark(start, end, 1, false);
    else this.mark(start, end, 0, true);
    if (opts.fua) {
      this.stats.fuaZeroes++;
      await fdatasync(this.fd);
    }
  }

  async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    this.check(lba, blocks, false);
    if (!this.written) return [{ blocks, hole: false, zero: false }];
    const bs = this.blockSize;
    const perGranule = this.granule / bs;
    const out: AllocationExtent[] = [];
    let b = lba;
    const endBlock = lba + blocks;
    while (b < endBlock) {
      const gi = Math.floor(b / perGranule);
      const n = Math.min(endBlock, (gi + 1) * perGranule) - b;
      const hole = this.written[gi] === 0;
      const last = out[out.length - 1];
      if (last && last.hole === hole) last.blocks += n;
      else out.push({ blocks: n, hole, zero: hole });
      b += n;
    }
    return out;
  }

  close(): void {
    fs.closeSync(this.fd);
    if (this.temp) fs.rmSync(path.dirname(this.path), { recursive: true, force: true });
  }
}

/** An export provider over a set of devices, as the array's provider looks to front ends. */
export class DeviceExports {
  readonly devices = new Map<string, { dev: BlockDevice; description?: string }>();

  add(dev: BlockDevice, description?: string, name = dev.name): this {
    this.devices.set(name, { dev, description });
    return this;
  }

  list(): Array<{ name: string; description?: string }> {
    return [...this.devices].map(([name, e]) => (e.description ? { name, description: e.description } : { name }));
  }

  open(name: string): BlockDevice | undefined {
    return this.devices.get(name)?.dev;
  }
}
