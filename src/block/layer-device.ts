// The base of every layer of a volume's device stack (the nbdkit filter shape):
// it forwards each member of the block device contract to the device below, so a
// layer overrides only what it changes. Adding a member to BlockDevice means
// adding its forwarder here, once, and no layer restates it.
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from './device.js';

export class LayerDevice implements BlockDevice {
  /**
   * Present exactly when the device below can write atomically (front ends test for it:
   * WRITE ATOMIC and the Block Limits VPD). A layer changes it by overriding atomicWrite.
   */
  readonly writeAtomic?: (lba: number, buf: Buffer, opts?: WriteOptions) => Promise<void>;

  constructor(protected readonly below: BlockDevice) {
    if (below.writeAtomic) this.writeAtomic = (lba, buf, opts) => this.atomicWrite(lba, buf, opts);
  }

  get name(): string {
    return this.below.name;
  }
  get blockSize(): number {
    return this.below.blockSize;
  }
  get blockCount(): number {
    return this.below.blockCount;
  }
  get readOnly(): boolean {
    return this.below.readOnly;
  }
  get optimalIoSize(): number {
    return this.below.optimalIoSize;
  }

  read(lba: number, blocks: number): Promise<Buffer> {
    return this.below.read(lba, blocks);
  }
  write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    return this.below.write(lba, buf, opts);
  }
  /** This layer's WRITE ATOMIC; reached through writeAtomic, so only when the device below has one. */
  protected atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    return this.below.writeAtomic!(lba, buf, opts);
  }
  flush(): Promise<void> {
    return this.below.flush();
  }
  unmap(ranges: UnmapRange[]): Promise<void> {
    return this.below.unmap(ranges);
  }
  writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    return this.below.writeZeroes(lba, blocks, opts);
  }
  allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    return this.below.allocation(lba, blocks);
  }
}
