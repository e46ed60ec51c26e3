// SBC-3 media access: READ CAPACITY, READ, WRITE, WRITE AND VERIFY, VERIFY,
// COMPARE AND WRITE, SYNCHRONIZE CACHE and PRE-FETCH. Each handler checks its
// CDB, then the LBA range, then write protection, then the Data-Out, and only then
// touches the device.
import { allocate, cdbLengthOf, putU64, u16, u32, u64 } from './cdb.js';
import type { CommandContext } from './command.js';
import { READ_DEFECT_DATA_12 } from './spec/opcodes.js';
import { LOGICAL_BLOCKS_PER_PHYSICAL_BLOCK_EXPONENT, MAX_COMPARE_AND_WRITE_BLOCKS, MAX_TRANSFER_BLOCKS } from './limits.js';
import type { LogicalUnit } from './logical-unit.js';
import { checkCondition, good, invalidCdbField, lbaOutOfRange, senseForDeviceError } from './sense.js';
import { INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT, MISCOMPARE_DURING_VERIFY_OPERATION, SOFTWARE_WRITE_PROTECTED, WRITE_PROTECTED } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

/** The fields of a READ/WRITE/VERIFY-shaped CDB, with where the TRANSFER LENGTH lives for field pointers. */
export interface RwFields {
  lba: number;
  blocks: number;
  /** Byte 1 (flags); 0 for the 6-byte CDBs, which have none. */
  flags: number;
  lengthByte: number;
}

export function decodeRw(cdb: Buffer): RwFields {
  switch (cdbLengthOf(cdb[0]!)) {
    case 6:
      // READ(6)/WRITE(6): a TRANSFER LENGTH of 0 means 256 blocks (SBC-3 5.8).
      return { lba: ((cdb[1]! & 0x1f) << 16) | u16(cdb, 2), blocks: cdb[4]! === 0 ? 256 : cdb[4]!, flags: 0, lengthByte: 4 };
    case 10:
      return { lba: u32(cdb, 2), blocks: u16(cdb, 7), flags: cdb[1]!, lengthByte: 7 };
    case 12:
      return { lba: u32(cdb, 2), blocks: u32(cdb, 6), flags: cdb[1]!, lengthByte: 6 };
    default:
      return { lba: u64(cdb, 2), blocks: u32(cdb, 10), flags: cdb[1]!, lengthByte: 10 };
  }
}

/** LBA OUT OF RANGE unless [lba, lba+blocks) lies inside the medium (SBC-3 4.5). */
export function checkRange(lu: LogicalUnit, lba: number, blocks: number): void {
  const count = lu.device.blockCount;
  if (lba > count || lba + blocks > count) throw lbaOutOfRange();
}

/** DATA PROTECT when the LD is read-only, or when an initiator set SWP in the Control mode page. */
export function checkWritable(lu: LogicalUnit): void {
  if (lu.device.readOnly) throw checkCondition(WRITE_PROTECTED);
  if (lu.mode.swp) throw checkCondition(SOFTWARE_WRITE_PROTECTED);
}

/** RDPROTECT/WRPROTECT/VRPROTECT must be zero: the LU has no protection information. */
function checkNoProtection(f: RwFields): void {
  if (f.flags & 0xe0) throw invalidCdbField(1, 7);
}

function checkTransferLength(f: RwFields): void {
  if (f.blocks > MAX_TRANSFER_BLOCKS) throw invalidCdbField(f.lengthByte);
}

/**
 * The Data-Out for `blocks` blocks. When the initiator sent less than the CDB
 * describes (iSCSI EDTL below the SCSI transfer length), FCP-4 and RFC 7143 let
 * the device server process the whole blocks that did arrive; a partial block
 * cannot be written, so that case is INVALID FIELD IN COMMAND INFORMATION UNIT.
 * Data beyond the CDB's length is ignored.
 */
export function dataOutBlocks(ctx: CommandContext, blocks: number): { data: Buffer; blocks: number } {
  const bs = ctx.lu.device.blockSize;
  const want = blocks * bs;
  const out = ctx.cmd.dataOut ?? Buffer.alloc(0);
  if (out.length >= want) return { data: out.subarray(0, want), blocks };
  if (out.length % bs !== 0) throw checkCondition(INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT);
  return { data: out, blocks: out.length / bs };
}

/**
 * The checks every WRITE-family command makes, in the order SBC gives their
 * errors, and its Data-Out as whole blocks; undefined when there is nothing to
 * write (a transfer length of 0, or no Data-Out).
 */
function writeRequest(ctx: CommandContext): { f: RwFields; data: Buffer; blocks: number } | undefined {
  const lu = ctx.lu;
  const f = decodeRw(ctx.cdb);
  checkNoProtection(f);
  checkTransferLength(f);
  checkRange(lu, f.lba, f.blocks);
  checkWritable(lu);
  if (f.blocks === 0) return undefined;
  const { data, blocks } = dataOutBlocks(ctx, f.blocks);
  return blocks === 0 ? undefined : { f, data, blocks };
}

/** FUA from the CDB, or always when the write cache is disabled through the Caching mode page. */
function fuaOf(lu: LogicalUnit, flags: number): boolean {
  return (flags & 0x08) !== 0 || !lu.mode.wce;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  if (a.subarray(0, n).equals(b.subarray(0, n))) return -1;
  // Narrow down by halves: Buffer.equals is native, a byte loop is not.
  let lo = 0;
  let hi = n;
  while (hi - lo > 64) {
    const mid = (lo + hi) >>> 1;
    if (a.subarray(lo, mid).equals(b.subarray(lo, mid))) lo = mid;
    else hi = mid;
  }
  for (let i = lo; i < hi; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function miscompare(offset: number): never {
  throw checkCondition(MISCOMPARE_DURING_VERIFY_OPERATION, { information: offset });
}

async function readBlocks(lu: LogicalUnit, lba: number, blocks: number): Promise<Buffer> {
  try {
    return await lu.device.read(lba, blocks);
  } catch (e) {
    throw senseForDeviceError(e, 'read');
  }
}

async function writeBlocks(lu: LogicalUnit, lba: number, data: Buffer, fua: boolean): Promise<void> {
  try {
    await lu.device.write(lba, data, fua ? { fua: true } : undefined);
  } catch (e) {
    throw senseForDeviceError(e, 'write');
  }
}

// ---- READ CAPACITY ----

export function readCapacity10(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  // PMI is obsolete; with PMI 0 the LOGICAL BLOCK ADDRESS must be zero (SBC-3 5.15).
  if (!(cdb[8]! & 0x01) && u32(cdb, 2) !== 0) throw invalidCdbField(2);
  const dev = ctx.lu.device;
  const b = Buffer.alloc(8);
  const last = dev.blockCount - 1;
  b.writeUInt32BE(last > 0xfffffffe ? 0xffffffff : Math.max(last, 0), 0);
  b.writeUInt32BE(dev.blockSize, 4);
  return good(b);
}

export function readCapacity16(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  if (!(cdb[14]! & 0x01) && u64(cdb, 2) !== 0) throw invalidCdbField(2);
  const dev = ctx.lu.device;
  const b = Buffer.alloc(32);
  putU64(b, 0, Math.max(dev.blockCount - 1, 0));
  b.writeUInt32BE(dev.blockSize, 8);
  b[13] = LOGICAL_BLOCKS_PER_PHYSICAL_BLOCK_EXPONENT & 0x0f;
  if (ctx.lu.source.thin) b[14] = 0x80 | 0x40; // LBPME, LBPRZ
  return good(allocate(b, u32(cdb, 10)));
}

// ---- READ / WRITE ----

export async function read(ctx: CommandContext): Promise<ScsiResponse> {
  const f = decodeRw(ctx.cdb);
  checkNoProtection(f);
  checkTransferLength(f);
  checkRange(ctx.lu, f.lba, f.blocks);
  if (f.blocks === 0) return good();
  return good(await readBlocks(ctx.lu, f.lba, f.blocks));
}

export async function write(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const w = writeRequest(ctx);
  if (!w) return good();
  const { f, data, blocks } = w;
  const fua = fuaOf(lu, f.flags);
  await lu.lbaLock.run(f.lba, blocks, () => writeBlocks(lu, f.lba, data, fua));
  return good();
}

/** ORWRITE(16) (SBC-3 5.10): each byte written is the OR of the Data-Out and what the medium held. */
export async function orWrite(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const w = writeRequest(ctx);
  if (!w) return good();
  const { f, data, blocks } = w;
  const fua = fuaOf(lu, f.flags);
  await lu.lbaLock.run(f.lba, blocks, async () => {
    const merged = await readBlocks(lu, f.lba, blocks);
    for (let i = 0; i < merged.length; i++) merged[i] = merged[i]! | data[i]!;
    await writeBlocks(lu, f.lba, merged, fua);
  });
  return good();
}

/** WRITE AND VERIFY(10/12/16): the data goes to the medium, is read back, and with BYTCHK compared. */
export async function writeAndVerify(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const w = writeRequest(ctx);
  if (!w) return good();
  const { f, data, blocks } = w;
  const bytchk = (f.flags & 0x02) !== 0;
  await lu.lbaLock.run(f.lba, blocks, async () => {
    await writeBlocks(lu, f.lba, data, true);
    const back = await readBlocks(lu, f.lba, blocks);
    if (bytchk) {
      const at = firstDifference(data, back);
      if (at >= 0) miscompare(at);
    }
  });
  return good();
}

/** VERIFY(10/12/16): BYTCHK 00b checks the medium, 01b compares the Data-Out, 11b compares one block against each. */
export async function verify(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const f = decodeRw(ctx.cdb);
  checkNoProtection(f);
  const bytchk = (f.flags >> 1) & 0x03;
  if (bytchk === 2) throw invalidCdbField(1, 2);
  if (bytchk === 1) checkTransferLength(f);
  checkRange(lu, f.lba, f.blocks);
  if (f.blocks === 0) return good();
  if (bytchk === 0) {
    for (let done = 0; done < f.blocks; done += MAX_TRANSFER_BLOCKS) {
      await readBlocks(lu, f.lba + done, Math.min(MAX_TRANSFER_BLOCKS, f.blocks - done));
    }
    return good();
  }
  if (bytchk === 1) {
    const { data, blocks } = dataOutBlocks(ctx, f.blocks);
    if (blocks === 0) return good();
    const at = firstDifference(data, await readBlocks(lu, f.lba, blocks));
    if (at >= 0) miscompare(at);
    return good();
  }
  const { data: one, blocks: got } = dataOutBlocks(ctx, 1);
  if (got === 0) return good();
  const bs = lu.device.blockSize;
  for (let done = 0; done < f.blocks; done += MAX_TRANSFER_BLOCKS) {
    const n = Math.min(MAX_TRANSFER_BLOCKS, f.blocks - done);
    const medium = await readBlocks(lu, f.lba + done, n);
    for (let i = 0; i < n; i++) {
      const at = firstDifference(one, medium.subarray(i * bs, (i + 1) * bs));
      if (at >= 0) miscompare((done + i) * bs + at);
    }
  }
  return good();
}

/** COMPARE AND WRITE (SBC-3 5.2): atomic against every other write to the same LBAs of this LU. */
export async function compareAndWrite(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const cdb = ctx.cdb;
  if (cdb[1]! & 0xe0) throw invalidCdbField(1, 7);
  const lba = u64(cdb, 2);
  const blocks = cdb[13]!;
  if (blocks > MAX_COMPARE_AND_WRITE_BLOCKS) throw invalidCdbField(13);
  checkRange(lu, lba, blocks);
  checkWritable(lu);
  const bs = lu.device.blockSize;
  const out = ctx.cmd.dataOut ?? Buffer.alloc(0);
  // Both halves are needed, exactly: there is no sensible partial COMPARE AND WRITE,
  // and Data-Out that NUMBER OF LOGICAL BLOCKS does not describe (a count of 256
  // wraps to 0 in this one-byte field) means the CDB is wrong.
  if (out.length !== 2 * blocks * bs) throw invalidCdbField(13);
  if (blocks === 0) return good();
  const verifyData = out.subarray(0, blocks * bs);
  const writeData = out.subarray(blocks * bs);
  const fua = fuaOf(lu, cdb[1]!);
  await lu.lbaLock.run(lba, blocks, async () => {
    const at = firstDifference(verifyData, await readBlocks(lu, lba, blocks));
    if (at >= 0) miscompare(at);
    await writeBlocks(lu, lba, writeData, fua);
  });
  return good();
}

/**
 * READ DEFECT DATA(10)/(12) (SBC-3 5.12, 5.13): a thin LD over RAID has no grown
 * or primary defects to show, so the lists asked for are valid and empty.
 */
export function readDefectData(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  const twelve = cdb[0] === READ_DEFECT_DATA_12;
  const flags = cdb[twelve ? 1 : 2]! & 0x1f; // REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT
  const alloc = twelve ? u32(cdb, 6) : u16(cdb, 7);
  const b = Buffer.alloc(twelve ? 8 : 4);
  b[1] = flags; // PLISTV/GLISTV as requested, the format echoed; DEFECT LIST LENGTH 0
  return good(allocate(b, alloc));
}

// ---- SYNCHRONIZE CACHE / PRE-FETCH ----

function lbaAndCount(cdb: Buffer): { lba: number; blocks: number } {
  return cdb[0]! < 0x80 ? { lba: u32(cdb, 2), blocks: u16(cdb, 7) } : { lba: u64(cdb, 2), blocks: u32(cdb, 10) };
}

/** SYNCHRONIZE CACHE(10/16): every completed write becomes durable; a range only narrows what must be. */
export async function synchronizeCache(ctx: CommandContext): Promise<ScsiResponse> {
  const { lba, blocks } = lbaAndCount(ctx.cdb);
  checkRange(ctx.lu, lba, blocks);
  try {
    await ctx.lu.device.flush();
  } catch (e) {
    throw senseForDeviceError(e, 'other');
  }
  return good();
}

/**
 * PRE-FETCH(10/16). We keep no cache that could promise residency, so the answer is
 * GOOD rather than CONDITION MET (SBC-3 5.9: CONDITION MET only when all the blocks
 * fit in the cache).
 */
export function preFetch(ctx: CommandContext): ScsiResponse {
  const { lba, blocks } = lbaAndCount(ctx.cdb);
  checkRange(ctx.lu, lba, blocks);
  return good();
}
