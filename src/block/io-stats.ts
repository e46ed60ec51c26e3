// The counting layer of an LD's device stack: every read, write, flush, unmap
// and write-zeroes a front end sends is counted in the LD's IoCounters
// (src/io/io-counters.ts). It sits at the top of the stack, so it counts what
// hosts asked for and the latency they saw (QoS waits included), not
// replication's background copies.
import type { IoCounters, IoStats } from '../io/io-counters.js';
import type { BlockDevice, UnmapRange, WriteOptions } from './device.js';
import { LayerDevice } from './layer-device.js';
import type { LogicalDisk } from './logical-disk.js';
import type { Layer } from './stack.js';

export class IoStatsDevice extends LayerDevice {
  constructor(
    below: BlockDevice,
    private readonly c: IoCounters,
  ) {
    super(below);
  }

  override async read(lba: number, blocks: number): Promise<Buffer> {
    const t0 = this.c.start();
    try {
      const b = await super.read(lba, blocks);
      this.c.readDone(t0, b.length);
      return b;
    } catch (e) {
      this.c.failed();
      throw e;
    }
  }
  override async write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const t0 = this.c.start();
    try {
      await super.write(lba, buf, opts);
      this.c.writeDone(t0, buf.length);
    } catch (e) {
      this.c.failed();
      throw e;
    }
  }
  protected override async atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    const t0 = this.c.start();
    try {
      await super.atomicWrite(lba, buf, opts);
      this.c.writeDone(t0, buf.length);
    } catch (e) {
      this.c.failed();
      throw e;
    }
  }
  private async other(p: () => Promise<void>): Promise<void> {
    this.c.start();
    try {
      await p();
      this.c.otherDone();
    } catch (e) {
      this.c.failed();
      throw e;
    }
  }
  override flush(): Promise<void> {
    return this.other(() => super.flush());
  }
  override unmap(ranges: UnmapRange[]): Promise<void> {
    return this.other(() => super.unmap(ranges));
  }
  override writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    return this.other(() => super.writeZeroes(lba, blocks, opts));
  }
}

/** The counting layer of the stack: one set of counters per LD, keyed by its id. */
export function ioStatsLayer(stats: IoStats): Layer<LogicalDisk> {
  return (below, ld) => new IoStatsDevice(below, stats.ld(ld.rec.id));
}
