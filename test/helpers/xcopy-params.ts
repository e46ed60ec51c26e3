// EXTENDED COPY (LID1) parameter lists for tests (SPC-4 6.4): the header,
// identification target descriptors (E4h) and block-to-block segment descriptors (02h).

/** An identification target descriptor naming an LU by its NAA designator (hex or bytes). */
export function targetDescriptor(naa: string | Buffer, type = 0xe4, blockSize = 512): Buffer {
  const d = Buffer.alloc(32);
  d[0] = type;
  d[4] = 0x01; // code set: binary
  d[5] = 0x03; // association: logical unit; designator type: NAA
  const id = typeof naa === 'string' ? Buffer.from(naa, 'hex') : naa;
  d[7] = id.length;
  id.copy(d, 8);
  d.writeUIntBE(blockSize, 29, 3);
  return d;
}

/** A block-to-block segment descriptor (or another type code, to test refusal). */
export function segmentDescriptor(src: number, dst: number, blocks: number, srcLba: number, dstLba: number, type = 0x02): Buffer {
  const d = Buffer.alloc(28);
  d[0] = type;
  d.writeUInt16BE(0x18, 2);
  d.writeUInt16BE(src, 4);
  d.writeUInt16BE(dst, 6);
  d.writeUInt16BE(blocks, 10);
  d.writeBigUInt64BE(BigInt(srcLba), 12);
  d.writeBigUInt64BE(BigInt(dstLba), 20);
  return d;
}

/** A parameter list: header (list identifier, LIST ID USAGE), target and segment descriptors. */
export function xcopyParams(listId: number, targets: Buffer[], segments: Buffer[], usage = 0): Buffer {
  const h = Buffer.alloc(16);
  h[0] = listId;
  h[1] = usage << 3;
  const t = Buffer.concat(targets);
  const s = Buffer.concat(segments);
  h.writeUInt16BE(t.length, 2);
  h.writeUInt32BE(s.length, 8);
  return Buffer.concat([h, t, s]);
}
