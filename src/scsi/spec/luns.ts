// LUN addressing (SAM-5 4.7) and REPORT LUNS (SPC-4 6.33, SPC-5 6.39).
//
// A LUN travels as 8 bytes; inside Kura it is one number:
// - a single-level LUN is its 14-bit value, 0..16383 (peripheral device
//   addressing below 256, flat space addressing above, as on the wire);
// - a LUN of a subsidiary logical unit in a LUN conglomerate (SAM-5 4.6.x) has
//   two levels, the administrative element (bytes 0-1) and the subsidiary element
//   (bytes 2-3), both in simple (peripheral) addressing. Its number is
//   (subsidiary << 16) | administrative, the integer form Linux gives the same
//   bytes (scsilun_to_int), so a value read in a log or sg_luns --linux matches;
// - the REPORT LUNS well-known LUN is REPORT_LUNS_WLUN.
// A subsidiary element of 0 names the administrative LU itself, so the number
// of a single-level LUN never has bits above 13 and a two-level one always does.

/** Highest single-level LUN (14 bits) and highest subsidiary LU id. */
export const MAX_LUN_14 = 0x3fff;

/** The REPORT LUNS well-known logical unit (SPC-4 8.2), W-LUN C101h. */
export const REPORT_LUNS_WLUN = 0xc101;

// SELECT REPORT field of REPORT LUNS (SPC-5 table 197)
export const SELECT_REPORT_ALL = 0x00;
export const SELECT_REPORT_WELL_KNOWN = 0x01;
export const SELECT_REPORT_ALL_WITH_WELL_KNOWN = 0x02;
/** Administrative LUs only; only at LUN 0 or the REPORT LUNS W-LUN. */
export const SELECT_REPORT_ADMINISTRATIVE = 0x10;
/** Administrative LUs and LUs outside any conglomerate; only at LUN 0 or the REPORT LUNS W-LUN. */
export const SELECT_REPORT_ADMINISTRATIVE_AND_NON_CONGLOMERATE = 0x11;
/** The addressed administrative LU and its subsidiary LUs; only at an administrative LU. */
export const SELECT_REPORT_CONGLOMERATE = 0x12;

/** The number of subsidiary LU `slu` (1..16383) of the conglomerate whose administrative LU is at `admin`. */
export function conglomerateLun(admin: number, slu: number): number {
  return slu === 0 ? admin : ((slu & MAX_LUN_14) << 16) | (admin & MAX_LUN_14);
}

/** The administrative element and subsidiary LU id of a LUN number; slu is 0 for a single-level LUN. */
export function lunParts(lun: number): { admin: number; slu: number } {
  if (lun < 0 || lun === REPORT_LUNS_WLUN) return { admin: lun, slu: 0 };
  return { admin: lun & 0xffff, slu: lun >>> 16 };
}

/** True for the number of a subsidiary LU (two-level LUN). */
export function isSubsidiaryLun(lun: number): boolean {
  return lun > 0xffff;
}

/** One 8-byte LUN for a LUN number (see the head of this file). */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun === REPORT_LUNS_WLUN) {
    b[0] = 0xc1;
    b[1] = 0x01;
  } else if (isSubsidiaryLun(lun)) {
    const { admin, slu } = lunParts(lun);
    b.writeUInt16BE(admin & MAX_LUN_14, 0);
    b.writeUInt16BE(slu & MAX_LUN_14, 2);
  } else if (lun < 256) {
    b[1] = lun;
  } else {
    b[0] = 0x40 | ((lun >> 8) & 0x3f);
    b[1] = lun & 0xff;
  }
  return b;
}

/**
 * The LUN number of 8 LUN bytes at `off`: peripheral device and flat space
 * addressing, two-level conglomerate LUNs and the REPORT LUNS W-LUN. Anything
 * else (extended addressing, a third level) is -1, which no logical unit has.
 */
export function decodeLun(b: Buffer, off = 0): number {
  const b0 = b[off]!;
  const b1 = b[off + 1]!;
  for (let i = off + 4; i < off + 8; i++) if (b[i] !== 0) return -1;
  const second = b.readUInt16BE(off + 2);
  if (b0 === 0xc1 && b1 === 0x01 && second === 0) return REPORT_LUNS_WLUN;
  if (second !== 0) {
    // Two levels: both elements in simple addressing (method 00b).
    if (b0 >> 6 !== 0 || second >> 14 !== 0) return -1;
    return conglomerateLun(((b0 & 0x3f) << 8) | b1, second);
  }
  switch (b0 >> 6) {
    case 0:
      return (b0 & 0x3f) === 0 ? b1 : -1;
    case 1:
      return ((b0 & 0x3f) << 8) | b1;
    default:
      return -1;
  }
}

/** "5" for a single-level LUN, "5/3" for subsidiary LU 3 behind LUN 5: for logs and messages. */
export function lunText(lun: number): string {
  const { admin, slu } = lunParts(lun);
  return slu === 0 ? String(admin) : `${admin}/${slu}`;
}

/** REPORT LUNS parameter data for these LUN numbers, in the order given. */
export function reportLunsData(luns: readonly number[]): Buffer {
  const b = Buffer.alloc(8 + 8 * luns.length);
  b.writeUInt32BE(8 * luns.length, 0);
  luns.forEach((l, i) => encodeLun(l).copy(b, 8 + 8 * i));
  return b;
}

/** The LUN numbers of REPORT LUNS parameter data (single-level and two-level; -1 for forms Kura does not read). */
export function parseReportLuns(data: Buffer): number[] {
  if (data.length < 8) return [];
  const n = Math.floor(Math.min(data.readUInt32BE(0), data.length - 8) / 8);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(decodeLun(data, 8 + i * 8));
  return out;
}
