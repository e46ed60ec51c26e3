// The block device contract. Every layer of the volume stack (LD, QoS, statistics,
// fault injection, snapshot views) and every protocol front end meets here.

export interface WriteOptions {
  /** Force unit access: the write is durable when the promise resolves. */
  fua?: boolean;
}

export interface UnmapRange {
  lba: number;
  blocks: number;
}

/** One run of blocks with the same allocation state (NBD base:allocation, SCSI GET LBA STATUS). */
export interface AllocationExtent {
  blocks: number;
  /** true: no physical space backs these blocks (a hole); reads return zeros. */
  hole: boolean;
  /** true: the blocks are known to read as zeros. */
  zero: boolean;
}

export interface BlockDevice {
  readonly name: string;
  readonly blockSize: number;
  /** Current size in blocks; may grow while the device is open (LD expansion). */
  readonly blockCount: number;
  readonly readOnly: boolean;
  /** Preferred I/O granularity in bytes (the pool's chunk size for thin LDs). */
  readonly optimalIoSize: number;

  /** Reads `blocks` blocks at `lba`. The returned buffer has exactly blocks*blockSize bytes. */
  read(lba: number, blocks: number): Promise<Buffer>;
  /** Writes buf (a multiple of blockSize) at lba. */
  write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void>;
  /** Writes buf at lba all or nothing, even across a crash (devices that can; WRITE ATOMIC uses it). */
  writeAtomic?(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** Deallocates the ranges; they read as zeros afterwards. */
  unmap(ranges: UnmapRange[]): Promise<void>;
  /** Makes the range read as zeros; may deallocate. */
  writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void>;
  /** Allocation map of a range, in order, covering exactly [lba, lba+blocks). */
  allocation(lba: number, blocks: number): Promise<AllocationExtent[]>;
}
