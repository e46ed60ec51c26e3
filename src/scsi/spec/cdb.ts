// CDB builders: the commands an initiator (pathd, the tests) sends, laid out as
// the SPC-4/SBC-3 CDB tables draw them. Arguments are the CDB's own fields, so a
// test can also build a CDB a target must refuse (a flag it does not support,
// a length it does not accept).
import * as op from './opcodes.js';

/** Big-endian bytes of n; negative numbers wrap (-1 is all ones). Pass a bigint above 2^53. */
function be(n: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(8 * bytes, BigInt(n));
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

type Lba = number | bigint;

export const cdb = {
  // ---- SPC-4 ----
  testUnitReady: () => Buffer.from([op.TEST_UNIT_READY, 0, 0, 0, 0, 0]),
  requestSense: (alloc = 252) => Buffer.from([op.REQUEST_SENSE, 0, 0, 0, alloc, 0]),
  /** Standard data with evpd false and page 0; a VPD page with evpd true. */
  inquiry: (evpd: boolean, page: number, alloc: number) => Buffer.from([op.INQUIRY, evpd ? 1 : 0, page, ...be(alloc, 2), 0]),
  reportLuns: (select = 0, alloc = 4096) => Buffer.from([op.REPORT_LUNS, 0, select, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  modeSense6: (page: number, opts: { pc?: number; dbd?: boolean; subpage?: number; alloc?: number } = {}) =>
    Buffer.from([op.MODE_SENSE_6, opts.dbd ? 0x08 : 0, ((opts.pc ?? 0) << 6) | page, opts.subpage ?? 0, opts.alloc ?? 255, 0]),
  modeSense10: (page: number, opts: { pc?: number; dbd?: boolean; llbaa?: boolean; alloc?: number } = {}) =>
    Buffer.from([op.MODE_SENSE_10, (opts.dbd ? 0x08 : 0) | (opts.llbaa ? 0x10 : 0), ((opts.pc ?? 0) << 6) | page, 0, 0, 0, 0, ...be(opts.alloc ?? 4096, 2), 0]),
  /** PF is always set; `sp` asks the device to save the pages. */
  modeSelect6: (length: number, sp = false) => Buffer.from([op.MODE_SELECT_6, 0x10 | (sp ? 1 : 0), 0, 0, length, 0]),
  modeSelect10: (length: number) => Buffer.from([op.MODE_SELECT_10, 0x10, 0, 0, 0, 0, 0, ...be(length, 2), 0]),
  reserve6: () => Buffer.from([op.RESERVE_6, 0, 0, 0, 0, 0]),
  release6: () => Buffer.from([op.RELEASE_6, 0, 0, 0, 0, 0]),
  reserve10: () => Buffer.from([op.RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  release10: () => Buffer.from([op.RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  persistentReserveIn: (serviceAction: number, alloc = 8192) => Buffer.from([op.PERSISTENT_RESERVE_IN, serviceAction, 0, 0, 0, 0, 0, ...be(alloc, 2), 0]),
  persistentReserveOut: (serviceAction: number, type = 0, paramLength = 24, scope = 0) =>
    Buffer.from([op.PERSISTENT_RESERVE_OUT, serviceAction, (scope << 4) | (type & 0x0f), 0, 0, ...be(paramLength, 4), 0]),
  reportTargetPortGroups: (alloc = 1024, extended = false) =>
    Buffer.from([op.MAINTENANCE_IN, op.MI_REPORT_TARGET_PORT_GROUPS | (extended ? 0x20 : 0), 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  reportSupportedOperationCodes: (options: number, opcode = 0, serviceAction = 0, rctd = false, alloc = 65535) =>
    Buffer.from([
      op.MAINTENANCE_IN,
      op.MI_REPORT_SUPPORTED_OPERATION_CODES,
      (rctd ? 0x80 : 0) | options,
      opcode,
      ...be(serviceAction, 2),
      ...be(alloc, 4),
      0,
      0,
    ]),
  reportSupportedTaskManagementFunctions: (repd = false, alloc = 16) =>
    Buffer.from([op.MAINTENANCE_IN, op.MI_REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS, repd ? 0x80 : 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  extendedCopy: (listLength: number) => Buffer.from([op.EXTENDED_COPY, op.XCOPY_LID1, 0, 0, 0, 0, 0, 0, 0, 0, ...be(listLength, 4), 0, 0]),
  receiveCopyResults: (serviceAction: number, listId: number, alloc = 1024) =>
    Buffer.from([op.RECEIVE_COPY_RESULTS, serviceAction, listId, 0, 0, 0, 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),

  // ---- SBC-3 ----
  startStopUnit: (start: boolean, loej = false) => Buffer.from([op.START_STOP_UNIT, 0, 0, 0, (loej ? 2 : 0) | (start ? 1 : 0), 0]),
  preventAllowMediumRemoval: (prevent: number) => Buffer.from([op.PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, prevent, 0]),
  readCapacity10: () => Buffer.from([op.READ_CAPACITY_10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  readCapacity16: (alloc = 32) => Buffer.from([op.SERVICE_ACTION_IN_16, op.SAI_READ_CAPACITY_16, ...be(0, 8), ...be(alloc, 4), 0, 0]),
  getLbaStatus: (lba: Lba, alloc = 24) => Buffer.from([op.SERVICE_ACTION_IN_16, op.SAI_GET_LBA_STATUS, ...be(lba, 8), ...be(alloc, 4), 0, 0]),
  read6: (lba: number, blocks: number) => Buffer.from([op.READ_6, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0]),
  write6: (lba: number, blocks: number) => Buffer.from([op.WRITE_6, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0]),
  /** `flags` is byte 1: CDB_FUA, CDB_DPO, RDPROTECT/WRPROTECT... */
  read10: (lba: number, blocks: number, flags = 0) => Buffer.from([op.READ_10, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  write10: (lba: number, blocks: number, flags = 0) => Buffer.from([op.WRITE_10, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  read12: (lba: number, blocks: number, flags = 0) => Buffer.from([op.READ_12, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0]),
  write12: (lba: number, blocks: number, flags = 0) => Buffer.from([op.WRITE_12, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0]),
  read16: (lba: Lba, blocks: number, flags = 0) => Buffer.from([op.READ_16, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  write16: (lba: Lba, blocks: number, flags = 0) => Buffer.from([op.WRITE_16, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  verify10: (lba: number, blocks: number, bytchk = 0, flags = 0) => Buffer.from([op.VERIFY_10, flags | (bytchk << 1), ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  verify16: (lba: number, blocks: number, bytchk = 0, flags = 0) => Buffer.from([op.VERIFY_16, flags | (bytchk << 1), ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  writeAndVerify10: (lba: number, blocks: number, bytchk = true) =>
    Buffer.from([op.WRITE_AND_VERIFY_10, bytchk ? 0x02 : 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  writeAndVerify16: (lba: number, blocks: number, bytchk = true) =>
    Buffer.from([op.WRITE_AND_VERIFY_16, bytchk ? 0x02 : 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  orWrite16: (lba: Lba, blocks: number, flags = 0) => Buffer.from([op.ORWRITE_16, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  compareAndWrite: (lba: number, blocks: number, flags = 0) => Buffer.from([op.COMPARE_AND_WRITE, flags, ...be(lba, 8), 0, 0, 0, blocks, 0, 0]),
  writeAtomic16: (lba: Lba, blocks: number, flags = 0, boundary = 0) =>
    Buffer.from([op.WRITE_ATOMIC_16, flags, ...be(lba, 8), ...be(boundary, 2), ...be(blocks, 2), 0, 0]),
  /** `flags` is byte 1: WRITE_SAME_UNMAP, WRITE_SAME_NDOB, ANCHOR... */
  writeSame10: (lba: number, blocks: number, flags = 0) => Buffer.from([op.WRITE_SAME_10, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  writeSame16: (lba: Lba, blocks: number, flags = 0) => Buffer.from([op.WRITE_SAME_16, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  unmap: (paramLength: number, anchor = false) => Buffer.from([op.UNMAP, anchor ? 1 : 0, 0, 0, 0, 0, 0, ...be(paramLength, 2), 0]),
  synchronizeCache10: (lba = 0, blocks = 0) => Buffer.from([op.SYNCHRONIZE_CACHE_10, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  synchronizeCache16: (lba = 0, blocks = 0) => Buffer.from([op.SYNCHRONIZE_CACHE_16, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  preFetch10: (lba: number, blocks: number, immed = false) => Buffer.from([op.PRE_FETCH_10, immed ? 2 : 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  preFetch16: (lba: number, blocks: number) => Buffer.from([op.PRE_FETCH_16, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  readDefectData10: (flags: number, alloc: number) => Buffer.from([op.READ_DEFECT_DATA_10, 0, flags, 0, 0, 0, 0, ...be(alloc, 2), 0]),
  readDefectData12: (flags: number, alloc: number) => Buffer.from([op.READ_DEFECT_DATA_12, flags, 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
};
