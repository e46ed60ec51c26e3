// SBC-3 data an initiator sends or reads: the UNMAP parameter list (5.28) and
// READ CAPACITY(16) parameter data (5.16).

/** An UNMAP parameter list: header and one block descriptor per range. */
export function unmapParams(ranges: ReadonlyArray<{ lba: number; blocks: number }>): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(b.length - 2, 0);
  b.writeUInt16BE(16 * ranges.length, 2);
  ranges.forEach((r, i) => {
    b.writeBigUInt64BE(BigInt(r.lba), 8 + 16 * i);
    b.writeUInt32BE(r.blocks, 16 + 16 * i);
  });
  return b;
}

/** READ CAPACITY(16): blocks (RETURNED LOGICAL BLOCK ADDRESS + 1) and block size; undefined when too short. */
export function parseReadCapacity16(d: Buffer): { blockCount: number; blockSize: number } | undefined {
  if (d.length < 12) return undefined;
  return { blockCount: Number(d.readBigUInt64BE(0)) + 1, blockSize: d.readUInt32BE(8) };
}
