// Logical block provisioning (SBC-3 4.7): WRITE SAME with and without UNMAP,
// UNMAP and GET LBA STATUS, on top of the thin LD's unmap/writeZeroes/allocation.
import { allocate, putU64, u16, u32, u64 } from './cdb.js';
import type { CommandContext } from './command.js';
import { MAX_UNMAP_DESCRIPTORS, MAX_UNMAP_LBA_COUNT, MAX_WRITE_SAME_BLOCKS } from './limits.js';
import type { LogicalUnit } from './logical-unit.js';
import { checkRange, checkWritable } from './sbc-rw.js';
import { checkCondition, good, invalidCdbField, invalidParameterField, lbaOutOfRange, parameterListLengthError, senseForDeviceError } from './sense.js';
import { WRITE_SAME_16 } from './spec/opcodes.js';
import { INVALID_COMMAND_OPERATION_CODE, INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

/** Blocks written per device call when WRITE SAME repeats a non-zero pattern. */
const PATTERN_SLICE_BLOCKS = 2048;
/** How far one GET LBA STATUS looks ahead (4 GiB of 512-byte blocks). */
const LBA_STATUS_WINDOW = 8 << 20;
/** At most this many descriptors in one GET LBA STATUS answer. */
const LBA_STATUS_MAX_DESCRIPTORS = 1024;

// PROVISIONING STATUS (SBC-3 table 56)
export const LBA_STATUS_MAPPED = 0x0;
export const LBA_STATUS_DEALLOCATED = 0x1;

const ZEROS = Buffer.alloc(4096);

/** Whether every byte is zero (compared a page at a time, without a buffer as large as b). */
export function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZEROS.length) {
    const s = b.subarray(i, Math.min(b.length, i + ZEROS.length));
    if (!s.equals(ZEROS.subarray(0, s.length))) return false;
  }
  return true;
}

async function device<T>(op: 'read' | 'write', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw senseForDeviceError(e, op);
  }
}

/** WRITE SAME(10) and WRITE SAME(16) (SBC-3 5.41, 5.42). */
export async function writeSame(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const cdb = ctx.cdb;
  const sixteen = cdb[0] === WRITE_SAME_16;
  const flags = cdb[1]!;
  if (flags & 0xe0) throw invalidCdbField(1, 7); // WRPROTECT: no protection information
  if (flags & 0x10) throw invalidCdbField(1, 4); // ANCHOR: ANC_SUP is 0
  if (flags & 0x06) throw invalidCdbField(1, 2); // PBDATA/LBDATA (obsolete)
  const unmap = (flags & 0x08) !== 0;
  const ndob = sixteen && (flags & 0x01) !== 0;
  if (unmap && !lu.source.thin) throw invalidCdbField(1, 3);
  const lba = sixteen ? u64(cdb, 2) : u32(cdb, 2);
  const count = sixteen ? u32(cdb, 10) : u16(cdb, 7);
  const capacity = lu.device.blockCount;
  if (lba > capacity) throw lbaOutOfRange();
  // NUMBER OF LOGICAL BLOCKS 0 means "through the last LBA" (WSNZ is 0).
  const blocks = count === 0 ? capacity - lba : count;
  if (blocks > MAX_WRITE_SAME_BLOCKS) throw invalidCdbField(sixteen ? 10 : 7);
  checkRange(lu, lba, blocks);
  checkWritable(lu);
  const bs = lu.device.blockSize;
  let block: Buffer;
  if (ndob) {
    block = Buffer.alloc(bs);
  } else {
    const out = ctx.cmd.dataOut ?? Buffer.alloc(0);
    // Exactly one logical block of Data-Out, no more and no less.
    if (out.length !== bs) throw checkCondition(INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT);
    block = out;
  }
  if (blocks === 0) return good();
  const fua = !lu.mode.wce;
  await lu.lbaLock.run(lba, blocks, async () => {
    // UNMAP set, ANCHOR clear: a thin LU should deallocate whatever the block holds
    // (SBC-3 table 33); the blocks then read as zeros (LBPRZ).
    if (unmap) return device('write', () => lu.device.unmap([{ lba, blocks }]));
    const zero = ndob || isZero(block);
    // Without UNMAP the blocks stay mapped where they are; holes already read as zeros.
    if (zero) return device('write', () => lu.device.writeZeroes(lba, blocks, { noHole: true, fua }));
    const slice = Math.min(blocks, PATTERN_SLICE_BLOCKS);
    const pattern = Buffer.allocUnsafe(slice * bs);
    for (let i = 0; i < slice; i++) block.copy(pattern, i * bs);
    for (let done = 0; done < blocks; done += slice) {
      const n = Math.min(slice, blocks - done);
      await device('write', () => lu.device.write(lba + done, pattern.subarray(0, n * bs), fua ? { fua: true } : undefined));
    }
  });
  return good();
}

/** UNMAP (SBC-3 5.28): parameter list of 16-byte block descriptors. */
export async function unmap(ctx: CommandContext): Promise<ScsiResponse> {
  const lu = ctx.lu;
  const cdb = ctx.cdb;
  if (!lu.source.thin) throw checkCondition(INVALID_COMMAND_OPERATION_CODE);
  if (cdb[1]! & 0x01) throw invalidCdbField(1, 0); // ANCHOR: ANC_SUP is 0
  const length = u16(cdb, 7);
  checkWritable(lu);
  if (length === 0) return good();
  if (length < 8) throw parameterListLengthError();
  const out = ctx.cmd.dataOut ?? Buffer.alloc(0);
  if (out.length < 8) throw parameterListLengthError();
  const p = out.subarray(0, Math.min(length, out.length));
  // A BLOCK DESCRIPTOR DATA LENGTH beyond the list, or not a multiple of 16, leaves the tail unused.
  const area = Math.min(u16(p, 2), p.length - 8);
  const n = Math.floor(area / 16);
  if (n > MAX_UNMAP_DESCRIPTORS) throw invalidParameterField(2);
  const ranges: Array<{ lba: number; blocks: number }> = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = 8 + 16 * i;
    const lba = u64(p, o);
    const blocks = u32(p, o + 8);
    checkRange(lu, lba, blocks);
    total += blocks;
    if (blocks > 0) ranges.push({ lba, blocks });
  }
  if (total > MAX_UNMAP_LBA_COUNT) throw invalidParameterField(8 + 8);
  if (ranges.length === 0) return good();
  // One lock over the whole span: taking several would let two UNMAPs deadlock.
  const start = Math.min(...ranges.map((r) => r.lba));
  const end = Math.max(...ranges.map((r) => r.lba + r.blocks));
  await lu.lbaLock.run(start, end - start, () => device('write', () => lu.device.unmap(ranges)));
  return good();
}

function lbaStatusDescriptor(b: Buffer, off: number, lba: number, blocks: number, status: number): void {
  putU64(b, off, lba);
  b.writeUInt32BE(blocks, off + 8);
  b[off + 12] = status & 0x0f;
}

/** GET LBA STATUS (SBC-3 5.7): the first descriptor starts at the requested LBA. */
export async function getLbaStatus(ctx: CommandContext): Promise<ScsiResponse> {
  const lu: LogicalUnit = ctx.lu;
  const cdb = ctx.cdb;
  const lba = u64(cdb, 2);
  const alloc = u32(cdb, 10);
  const capacity = lu.device.blockCount;
  if (lba >= capacity) throw lbaOutOfRange();
  if (alloc === 0) return good();
  const max = Math.max(1, Math.min(LBA_STATUS_MAX_DESCRIPTORS, Math.floor((alloc - 8) / 16)));
  const window = Math.min(capacity - lba, LBA_STATUS_WINDOW);
  const extents = await device('read', () => lu.device.allocation(lba, window));
  const descs: Array<{ lba: number; blocks: number; status: number }> = [];
  let at = lba;
  for (const e of extents) {
    const status = e.hole ? LBA_STATUS_DEALLOCATED : LBA_STATUS_MAPPED;
    const last = descs[descs.length - 1];
    if (last && last.status === status && last.blocks + e.blocks <= 0xffffffff) last.blocks += e.blocks;
    else if (descs.length < max) descs.push({ lba: at, blocks: e.blocks, status });
    else break;
    at += e.blocks;
  }
  const b = Buffer.alloc(8 + 16 * descs.length);
  b.writeUInt32BE(b.length - 4, 0);
  descs.forEach((d, i) => lbaStatusDescriptor(b, 8 + 16 * i, d.lba, d.blocks, d.status));
  return good(allocate(b, alloc));
}
