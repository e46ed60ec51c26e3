// Operation codes (SPC-4, SBC-3) and the field decoding every handler shares.
// Fields are read big-endian as the CDB tables draw them.

// ---- SPC-4 ----
export const TEST_UNIT_READY = 0x00;
export const REQUEST_SENSE = 0x03;
export const INQUIRY = 0x12;
export const MODE_SELECT_6 = 0x15;
export const RESERVE_6 = 0x16;
export const RELEASE_6 = 0x17;
export const MODE_SENSE_6 = 0x1a;
export const START_STOP_UNIT = 0x1b;
export const PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
export const MODE_SELECT_10 = 0x55;
export const RESERVE_10 = 0x56;
export const RELEASE_10 = 0x57;
export const MODE_SENSE_10 = 0x5a;
export const PERSISTENT_RESERVE_IN = 0x5e;
export const PERSISTENT_RESERVE_OUT = 0x5f;
export const REPORT_LUNS = 0xa0;
export const MAINTENANCE_IN = 0xa3;

// MAINTENANCE IN service actions
export const MI_REPORT_TARGET_PORT_GROUPS = 0x0a;
export const MI_REPORT_SUPPORTED_OPERATION_CODES = 0x0c;
export const MI_REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS = 0x0d;

// ---- SBC-3 ----
export const READ_6 = 0x08;
export const WRITE_6 = 0x0a;
export const READ_CAPACITY_10 = 0x25;
export const READ_10 = 0x28;
export const WRITE_10 = 0x2a;
export const WRITE_AND_VERIFY_10 = 0x2e;
export const VERIFY_10 = 0x2f;
export const PRE_FETCH_10 = 0x34;
export const READ_DEFECT_DATA_10 = 0x37;
export const SYNCHRONIZE_CACHE_10 = 0x35;
export const WRITE_SAME_10 = 0x41;
export const UNMAP = 0x42;
export const READ_16 = 0x88;
export const COMPARE_AND_WRITE = 0x89;
export const WRITE_16 = 0x8a;
export const ORWRITE_16 = 0x8b;
export const WRITE_AND_VERIFY_16 = 0x8e;
export const VERIFY_16 = 0x8f;
export const PRE_FETCH_16 = 0x90;
export const SYNCHRONIZE_CACHE_16 = 0x91;
export const WRITE_SAME_16 = 0x93;
export const SERVICE_ACTION_IN_16 = 0x9e;
export const READ_12 = 0xa8;
export const WRITE_12 = 0xaa;
export const WRITE_AND_VERIFY_12 = 0xae;
export const VERIFY_12 = 0xaf;
export const READ_DEFECT_DATA_12 = 0xb7;

// SERVICE ACTION IN(16) service actions
export const SAI_READ_CAPACITY_16 = 0x10;
export const SAI_GET_LBA_STATUS = 0x12;

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
