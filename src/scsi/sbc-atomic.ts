// WRITE ATOMIC(16) (SBC-4 5.48): the blocks are written all or nothing. The LU
// claims it only when its device can (Kura LDs rebuild the touched chunks and
// switch the map in one step); the Block Limits VPD page reports the limits.
import type { CommandContext } from './command.js';
import { checkRange, checkWritable, dataOutBlocks } from './sbc-rw.js';
import { checkCondition, good, invalidCdbField, lbaOutOfRange, senseForDeviceError } from './sense.js';
import { INVALID_COMMAND_OPERATION_CODE, INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

/** MAXIMUM ATOMIC TRANSFER LENGTH in blocks (128 KiB of 512-byte blocks). */
export const MAX_ATOMIC_TRANSFER_BLOCKS = 256;

export async function writeAtomic16(ctx: CommandContext): Promise<ScsiResponse> {
  const { lu, cdb } = ctx;
  const dev = lu.device;
  if (!dev.writeAtomic) throw checkCondition(INVALID_COMMAND_OPERATION_CODE, { field: { cdb: true, byte: 0 } });
  // No protection information: WRPROTECT must be zero.
  if (cdb[1]! & 0xe0) throw invalidCdbField(1, 7);
  const lba = cdb.readBigUInt64BE(2);
  const boundary = cdb.readUInt16BE(10);
  const blocks = cdb.readUInt16BE(12);
  if (lba + BigInt(blocks) > BigInt(dev.blockCount)) throw lbaOutOfRange();
  // MAXIMUM ATOMIC BOUNDARY SIZE is zero: no boundary may be given.
  if (boundary !== 0) throw invalidCdbField(10);
  if (blocks > MAX_ATOMIC_TRANSFER_BLOCKS) throw invalidCdbField(12);
  checkRange(lu, Number(lba), blocks);
  checkWritable(lu);
  if (blocks === 0) return good();
  const out = dataOutBlocks(ctx, blocks);
  // Part of an atomic write is not an atomic write.
  if (out.blocks !== blocks) throw checkCondition(INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT);
  const fua = (cdb[1]! & 0x08) !== 0 || !lu.mode.wce;
  const at = Number(lba);
  await lu.lbaLock.run(at, blocks, async () => {
    try {
      await dev.writeAtomic!(at, out.data, fua ? { fua: true } : undefined);
    } catch (e) {
      throw senseForDeviceError(e, 'write');
    }
  });
  return good();
}
