// The CDB field decoding every handler shares (operation codes are in
// spec/opcodes.ts). Fields are read big-endian as the CDB tables draw them.

/** CDB length implied by the group code in the top three bits of the opcode (SPC-4 4.2.5.1). */
export function cdbLengthOf(opcode: number): number {
  switch (opcode >> 5) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return 16;
  }
}

/**
 * The CDB as handlers see it: our own copy (the transport may reuse its PDU
 * buffer while a command runs), at least 16 bytes, zero beyond what was sent.
 */
export function padCdb(cdb: Buffer): Buffer {
  const b = Buffer.alloc(Math.max(16, cdb.length));
  cdb.copy(b);
  return b;
}

/** A 64-bit field. Values beyond 2^53 lose precision but stay larger than any LBA we serve. */
export function u64(cdb: Buffer, off: number): number {
  return Number(cdb.readBigUInt64BE(off));
}

export function u32(cdb: Buffer, off: number): number {
  return cdb.readUInt32BE(off);
}

export function u16(cdb: Buffer, off: number): number {
  return cdb.readUInt16BE(off);
}

export function u24(cdb: Buffer, off: number): number {
  return (cdb[off]! << 16) | (cdb[off + 1]! << 8) | cdb[off + 2]!;
}

/** SERVICE ACTION field of the 12- and 16-byte variable service-action CDBs (byte 1, bits 4..0). */
export function serviceAction(cdb: Buffer): number {
  return cdb[1]! & 0x1f;
}

/** Writes a value of up to 53 bits as an 8-byte big-endian field. */
export function putU64(b: Buffer, off: number, v: number): void {
  b.writeBigUInt64BE(BigInt(v), off);
}

/** Truncates Data-In to the ALLOCATION LENGTH of the CDB (SPC-4 4.2.5.6). */
export function allocate(data: Buffer, allocationLength: number): Buffer {
  return data.length > allocationLength ? data.subarray(0, allocationLength) : data;
}

/** An ASCII field padded with spaces to its width (SPC-4 4.4.1), non-printables replaced. */
export function asciiField(s: string, width: number): Buffer {
  const b = Buffer.alloc(width, 0x20);
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  b.write(clean.slice(0, width), 'ascii');
  return b;
}
