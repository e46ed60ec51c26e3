// The small SPC-4 commands: TEST UNIT READY, REQUEST SENSE, REPORT LUNS,
// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, and the SBC-3 commands that only
// make sense for removable media, which a disk array accepts and ignores
// (START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL).
import { allocate, u32 } from './cdb.js';
import type { CommandContext } from './command.js';
import { checkAluaAccess, portState } from './alua.js';
import { ScsiError, good, invalidCdbField, senseForDeviceError } from './sense.js';
import {
  MAX_LUN_14,
  REPORT_LUNS_WLUN,
  SELECT_REPORT_ADMINISTRATIVE,
  SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE,
  SELECT_REPORT_ALL,
  SELECT_REPORT_ALL_WITH_WELL_KNOWN,
  SELECT_REPORT_CONGLOMERATE,
  SELECT_REPORT_WELL_KNOWN,
  reportLunsData,
} from './spec/luns.js';
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

/** What REPORT LUNS reports from: the LUNs an I_T nexus may address and their parts in LUN conglomerates. */
export interface LunInventory {
  /** Single-level LUNs: ordinary LUs and administrative LUs. */
  luns: readonly number[];
  isAdministrative(lun: number): boolean;
  /** The two-level LUNs of the subsidiary LUs behind an administrative LU that the nexus may address. */
  subsidiaries(admin: number): number[];
}

/** An LU on its own reports itself alone. */
export function soleLun(lun: number): LunInventory {
  return { luns: [lun], isAdministrative: () => false, subsidiaries: () => [] };
}

/**
 * REPORT LUNS (SPC-4 6.33; SELECT REPORT 10h-12h from SPC-5 6.39). `addressed`
 * is the LUN the command was sent to: 10h and 11h are answered at LUN 0 and the
 * REPORT LUNS well-known LUN only, 12h at an administrative LU only.
 */
export function reportLuns(cdb: Buffer, inv: LunInventory, addressed: number): ScsiResponse {
  const select = cdb[2]!;
  const alloc = u32(cdb, 6);
  if (alloc < 16) throw invalidCdbField(6);
  const single = [...inv.luns].filter((l) => l >= 0 && l <= MAX_LUN_14).sort((a, b) => a - b);
  const admins = single.filter((l) => inv.isAdministrative(l));
  const atLun0 = addressed === 0 || addressed === REPORT_LUNS_WLUN;
  let list: number[];
  switch (select) {
    case SELECT_REPORT_ALL: // ordinary and administrative LUs
      list = single;
      break;
    case SELECT_REPORT_WELL_KNOWN: // well-known logical units only: none is listed
      list = [];
      break;
    case SELECT_REPORT_ALL_WITH_WELL_KNOWN: // everything the nexus may address, subsidiary LUs included
      list = single.flatMap((l) => (inv.isAdministrative(l) ? [l, ...inv.subsidiaries(l)] : [l]));
      break;
    case SELECT_REPORT_ADMINISTRATIVE:
      if (!atLun0) throw invalidCdbField(2);
      list = admins;
      break;
    case SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE:
      if (!atLun0) throw invalidCdbField(2);
      list = single;
      break;
    case SELECT_REPORT_CONGLOMERATE:
      if (!inv.isAdministrative(addressed)) throw invalidCdbField(2);
      list = [addressed, ...inv.subsidiaries(addressed)];
      break;
    default:
      throw invalidCdbField(2);
  }
  return good(allocate(reportLunsData(list), alloc));
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
