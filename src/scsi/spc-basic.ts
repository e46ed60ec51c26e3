// The small SPC-4 commands: TEST UNIT READY, REQUEST SENSE, REPORT LUNS,
// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, and the SBC-3 commands that only
// make sense for removable media, which a disk array accepts and ignores
// (START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL).
import { allocate, u32 } from './cdb.js';
import type { CommandContext } from './command.js';
import { checkAluaAccess, portState } from './alua.js';
import { ScsiError, good, invalidCdbField, senseForDeviceError } from './sense.js';
import { LOGICAL_UNIT_NOT_SUPPORTED, NO_ADDITIONAL_SENSE_INFORMATION, buildSense } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

export function testUnitReady(): ScsiResponse {
  return good();
}

function requestSenseCdb(cdb: Buffer): number {
  // DESC: descriptor format sense data is not offered (SPC-4 6.29).
  if (cdb[1]! & 0x01) throw invalidCdbField(1, 0);
  return cdb[4]!;
}

/**
 * REQUEST SENSE: the next pending unit attention (which it clears); else, on a
 * port whose ALUA state keeps media access out, why (SPC-4 5.15.2.4); else NO SENSE.
 */
export function requestSense(ctx: CommandContext): ScsiResponse {
  const alloc = requestSenseCdb(ctx.cdb);
  const ua = ctx.lu.ua.take(ctx.key);
  if (ua !== undefined) return good(allocate(buildSense(ua), alloc));
  try {
    checkAluaAccess(portState(ctx.lu.source.portGroups(), ctx.nexus.targetPortGroup, ctx.nexus.relativeTargetPortId), 'active');
  } catch (e) {
    if (e instanceof ScsiError && e.sense) return good(allocate(buildSense(e.sense), alloc));
    throw e;
  }
  return good(allocate(buildSense(NO_ADDITIONAL_SENSE_INFORMATION), alloc));
}

/** REQUEST SENSE to a LUN with no logical unit: GOOD, with LOGICAL UNIT NOT SUPPORTED as the sense data (SPC-4 6.29). */
export function requestSenseNoLun(cdb: Buffer): ScsiResponse {
  const alloc = requestSenseCdb(cdb);
  return good(allocate(buildSense(LOGICAL_UNIT_NOT_SUPPORTED), alloc));
}

/** One 8-byte LUN (SAM-5 4.7): peripheral device addressing below 256, flat space addressing above. */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun < 256) {
    b[1] = lun;
  } else {
    b[0] = 0x40 | ((lun >> 8) & 0x3f);
    b[1] = lun & 0xff;
  }
  return b;
}

/** REPORT LUNS (SPC-4 6.33). */
export function reportLuns(cdb: Buffer, luns: number[]): ScsiResponse {
  const select = cdb[2]!;
  const alloc = u32(cdb, 6);
  if (alloc < 16) throw invalidCdbField(6);
  let list: number[];
  switch (select) {
    case 0x00: // all logical units
    case 0x02: // all, well-known ones included (we have none)
      list = [...luns].filter((l) => l >= 0 && l < 16384).sort((a, b) => a - b);
      break;
    case 0x01: // well-known logical units only
      list = [];
      break;
    default:
      throw invalidCdbField(2);
  }
  const b = Buffer.alloc(8 + 8 * list.length);
  b.writeUInt32BE(8 * list.length, 0);
  list.forEach((l, i) => encodeLun(l).copy(b, 8 + 8 * i));
  return good(allocate(b, alloc));
}

/** REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (MAINTENANCE IN / 0Dh, SPC-4 6.40). */
export function reportSupportedTaskManagementFunctions(ctx: CommandContext): ScsiResponse {
  const repd = (ctx.cdb[2]! & 0x80) !== 0;
  const alloc = u32(ctx.cdb, 6);
  const b = Buffer.alloc(repd ? 16 : 4);
  b[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x02; // ATS, ATSS, CTSS, LURS, TRS
  if (repd) b[3] = 0x0c;
  return good(allocate(b, alloc));
}

/** START STOP UNIT: the LU is always started; stopping it only flushes (the medium is not removable). */
export async function startStopUnit(ctx: CommandContext): Promise<ScsiResponse> {
  const cdb = ctx.cdb;
  const powerCondition = cdb[4]! >> 4;
  const start = (cdb[4]! & 0x01) !== 0;
  const noFlush = (cdb[4]! & 0x04) !== 0;
  if (powerCondition === 0 && !start && !noFlush) {
    try {
      await ctx.lu.device.flush();
    } catch (e) {
      throw senseForDeviceError(e, 'other');
    }
  }
  return good();
}

/** PREVENT ALLOW MEDIUM REMOVAL: nothing to lock on a medium that cannot be removed. */
export function preventAllowMediumRemoval(): ScsiResponse {
  return good();
}
