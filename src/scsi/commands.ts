// The commands a Kura logical unit supports: one row per operation code (and
// service action). Dispatch, the reservation and ALUA checks, unit attention
// reporting and REPORT SUPPORTED OPERATION CODES all read this table.
import { reportTargetPortGroups } from './alua.js';
import { u16, u32 } from './cdb.js';
import type { CommandSpec } from './command.js';
import { getLbaStatus, unmap, writeSame } from './sbc-provisioning.js';
import {
  compareAndWrite,
  decodeRw,
  orWrite,
  preFetch,
  read,
  readCapacity10,
  readCapacity16,
  readDefectData,
  synchronizeCache,
  verify,
  write,
  writeAndVerify,
} from './sbc-rw.js';
import {
  preventAllowMediumRemoval,
  reportLuns,
  reportSupportedTaskManagementFunctions,
  requestSense,
  soleLun,
  startStopUnit,
  testUnitReady,
} from './spc-basic.js';
import { inquiry } from './spc-inquiry.js';
import { modeSelect, modeSense } from './spc-mode.js';
import { reportSupportedOperationCodes } from './spc-opcodes.js';
import { writeAtomic16 } from './sbc-atomic.js';
import { RCR_SERVICE_ACTIONS, extendedCopy, receiveCopyResults } from './spc-xcopy.js';
import * as op from './spec/opcodes.js';

const ff4 = [0xff, 0xff, 0xff, 0xff];
const ff8 = [...ff4, ...ff4];

/** Usage data of the READ/WRITE/VERIFY families: flags byte, LBA, length, group, control. */
function rw10(opcode: number, flags: number): number[] {
  return [opcode, flags, ...ff4, 0x1f, 0xff, 0xff, 0x00];
}
function rw12(opcode: number, flags: number): number[] {
  return [opcode, flags, ...ff4, ...ff4, 0x1f, 0x00];
}
function rw16(opcode: number, flags: number): number[] {
  return [opcode, flags, ...ff8, ...ff4, 0x1f, 0x00];
}

// Byte 1 usage: RDPROTECT/WRPROTECT/VRPROTECT, DPO, FUA, RARC, FUA_NV, BYTCHK, IMMED.
const READ_FLAGS = 0xe0 | 0x10 | 0x08 | 0x04 | 0x02;
const WRITE_FLAGS = 0xe0 | 0x10 | 0x08 | 0x02;
const WRITE_VERIFY_FLAGS = 0xe0 | 0x10 | 0x02;
const VERIFY_FLAGS = 0xe0 | 0x10 | 0x06;

// Data-Out lengths the CDBs describe.
const writeData = (cdb: Buffer, bs: number): number => decodeRw(cdb).blocks * bs;
const verifyData = (cdb: Buffer, bs: number): number => {
  const bytchk = (cdb[1]! >> 1) & 3;
  return bytchk === 1 ? decodeRw(cdb).blocks * bs : bytchk === 3 ? bs : 0;
};
const writeSameData = (cdb: Buffer, bs: number): number => (cdb[0] === op.WRITE_SAME_16 && cdb[1]! & 0x01 ? 0 : bs);
const byte4 = (cdb: Buffer): number => cdb[4]!;
const at7 = (cdb: Buffer): number => u16(cdb, 7);

const PR_IN_SERVICE_ACTIONS = [0x00, 0x01, 0x02, 0x03];
const PR_OUT_SERVICE_ACTIONS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];

export const COMMANDS: readonly CommandSpec[] = [
  // ---- SPC-4 ----
  { name: 'TEST UNIT READY', opcode: op.TEST_UNIT_READY, cdbLength: 6, usage: [0x00, 0, 0, 0, 0, 0], alua: 'active', pr: 'allowed', handler: testUnitReady },
  {
    name: 'REQUEST SENSE',
    opcode: op.REQUEST_SENSE,
    cdbLength: 6,
    usage: [0x03, 0x01, 0, 0, 0xff, 0],
    noUnitAttention: true,
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: requestSense,
  },
  {
    name: 'INQUIRY',
    opcode: op.INQUIRY,
    cdbLength: 6,
    usage: [0x12, 0x03, 0xff, 0xff, 0xff, 0],
    noUnitAttention: true,
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: inquiry,
  },
  {
    name: 'MODE SELECT(6)',
    opcode: op.MODE_SELECT_6,
    cdbLength: 6,
    usage: [0x15, 0x11, 0, 0, 0xff, 0],
    alua: 'standby',
    pr: 'write',
    dataOutLength: byte4,
    handler: modeSelect,
  },
  {
    name: 'RESERVE(6)',
    opcode: op.RESERVE_6,
    cdbLength: 6,
    usage: [0x16, 0, 0, 0, 0, 0],
    alua: 'active',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => c.lu.spc2.reserve(c),
  },
  {
    name: 'RELEASE(6)',
    opcode: op.RELEASE_6,
    cdbLength: 6,
    usage: [0x17, 0, 0, 0, 0, 0],
    alua: 'active',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => c.lu.spc2.release(c),
  },
  { name: 'MODE SENSE(6)', opcode: op.MODE_SENSE_6, cdbLength: 6, usage: [0x1a, 0x08, 0xff, 0xff, 0xff, 0], alua: 'standby', pr: 'read', handler: modeSense },
  {
    name: 'START STOP UNIT',
    opcode: op.START_STOP_UNIT,
    cdbLength: 6,
    usage: [0x1b, 0x01, 0, 0x0f, 0xf7, 0],
    alua: 'active',
    pr: 'write',
    handler: startStopUnit,
  },
  {
    name: 'PREVENT ALLOW MEDIUM REMOVAL',
    opcode: op.PREVENT_ALLOW_MEDIUM_REMOVAL,
    cdbLength: 6,
    usage: [0x1e, 0, 0, 0, 0x03, 0],
    alua: 'active',
    pr: 'allowed',
    handler: preventAllowMediumRemoval,
  },
  {
    name: 'MODE SELECT(10)',
    opcode: op.MODE_SELECT_10,
    cdbLength: 10,
    usage: [0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0],
    alua: 'standby',
    pr: 'write',
    dataOutLength: at7,
    handler: modeSelect,
  },
  {
    name: 'RESERVE(10)',
    opcode: op.RESERVE_10,
    cdbLength: 10,
    usage: [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    alua: 'active',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => c.lu.spc2.reserve(c),
  },
  {
    name: 'RELEASE(10)',
    opcode: op.RELEASE_10,
    cdbLength: 10,
    usage: [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    alua: 'active',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => c.lu.spc2.release(c),
  },
  {
    name: 'MODE SENSE(10)',
    opcode: op.MODE_SENSE_10,
    cdbLength: 10,
    usage: [0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0],
    alua: 'standby',
    pr: 'read',
    handler: modeSense,
  },
  ...PR_IN_SERVICE_ACTIONS.map((sa): CommandSpec => ({
    name: 'PERSISTENT RESERVE IN',
    opcode: op.PERSISTENT_RESERVE_IN,
    serviceAction: sa,
    cdbLength: 10,
    usage: [0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0],
    alua: 'standby',
    pr: 'allowed',
    handler: (c) => c.lu.pr.in(c),
  })),
  ...PR_OUT_SERVICE_ACTIONS.map((sa): CommandSpec => ({
    name: 'PERSISTENT RESERVE OUT',
    opcode: op.PERSISTENT_RESERVE_OUT,
    serviceAction: sa,
    cdbLength: 10,
    usage: [0x5f, 0x1f, 0xff, 0, 0, ...ff4, 0],
    alua: 'standby',
    pr: 'pr-out',
    dataOutLength: (cdb) => u32(cdb, 5),
    handler: (c) => c.lu.pr.out(c),
  })),
  {
    name: 'EXTENDED COPY(LID1)',
    opcode: op.EXTENDED_COPY,
    serviceAction: op.XCOPY_LID1,
    cdbLength: 16,
    usage: [0x83, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, ...ff4, 0, 0],
    alua: 'active',
    pr: 'write',
    timeout: 60,
    dataOutLength: (cdb) => u32(cdb, 10),
    handler: extendedCopy,
  },
  ...RCR_SERVICE_ACTIONS.map((sa): CommandSpec => ({
    name: 'RECEIVE COPY RESULTS',
    opcode: op.RECEIVE_COPY_RESULTS,
    serviceAction: sa,
    cdbLength: 16,
    usage: [0x84, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, ...ff4, 0, 0],
    alua: 'active',
    pr: 'allowed',
    handler: receiveCopyResults,
  })),
  // REPORT LUNS is answered by the ScsiTarget, which knows the nexus's LUNs; a LU on its own reports itself.
  {
    name: 'REPORT LUNS',
    opcode: op.REPORT_LUNS,
    cdbLength: 12,
    usage: [0xa0, 0, 0xff, 0, 0, 0, ...ff4, 0, 0],
    noUnitAttention: true,
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => reportLuns(c.cdb, soleLun(c.cmd.lun), c.cmd.lun),
  },
  {
    name: 'REPORT TARGET PORT GROUPS',
    opcode: op.MAINTENANCE_IN,
    serviceAction: op.MI_REPORT_TARGET_PORT_GROUPS,
    cdbLength: 12,
    usage: [0xa3, 0xff, 0, 0, 0, 0, ...ff4, 0, 0],
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: reportTargetPortGroups,
  },
  {
    name: 'REPORT SUPPORTED OPERATION CODES',
    opcode: op.MAINTENANCE_IN,
    serviceAction: op.MI_REPORT_SUPPORTED_OPERATION_CODES,
    cdbLength: 12,
    usage: [0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, ...ff4, 0, 0],
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: (c) => reportSupportedOperationCodes(c, COMMANDS),
  },
  {
    name: 'REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS',
    opcode: op.MAINTENANCE_IN,
    serviceAction: op.MI_REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS,
    cdbLength: 12,
    usage: [0xa3, 0x1f, 0x80, 0, 0, 0, ...ff4, 0, 0],
    alua: 'any',
    pr: 'allowed',
    spc2Allowed: true,
    handler: reportSupportedTaskManagementFunctions,
  },

  // ---- SBC-3 ----
  { name: 'READ(6)', opcode: op.READ_6, cdbLength: 6, usage: [0x08, 0x1f, 0xff, 0xff, 0xff, 0], alua: 'active', pr: 'read', handler: read },
  {
    name: 'WRITE(6)',
    opcode: op.WRITE_6,
    cdbLength: 6,
    usage: [0x0a, 0x1f, 0xff, 0xff, 0xff, 0],
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: write,
  },
  {
    name: 'READ CAPACITY(10)',
    opcode: op.READ_CAPACITY_10,
    cdbLength: 10,
    usage: [0x25, 0, ...ff4, 0, 0, 0x01, 0],
    alua: 'active',
    pr: 'allowed',
    handler: readCapacity10,
  },
  { name: 'READ(10)', opcode: op.READ_10, cdbLength: 10, usage: rw10(op.READ_10, READ_FLAGS), alua: 'active', pr: 'read', handler: read },
  {
    name: 'WRITE(10)',
    opcode: op.WRITE_10,
    cdbLength: 10,
    usage: rw10(op.WRITE_10, WRITE_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: write,
  },
  {
    name: 'WRITE AND VERIFY(10)',
    opcode: op.WRITE_AND_VERIFY_10,
    cdbLength: 10,
    usage: rw10(op.WRITE_AND_VERIFY_10, WRITE_VERIFY_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: writeAndVerify,
  },
  {
    name: 'VERIFY(10)',
    opcode: op.VERIFY_10,
    cdbLength: 10,
    usage: rw10(op.VERIFY_10, VERIFY_FLAGS),
    alua: 'active',
    pr: 'read',
    dataOutLength: verifyData,
    handler: verify,
  },
  { name: 'PRE-FETCH(10)', opcode: op.PRE_FETCH_10, cdbLength: 10, usage: rw10(op.PRE_FETCH_10, 0x02), alua: 'active', pr: 'read', handler: preFetch },
  {
    name: 'READ DEFECT DATA(10)',
    opcode: op.READ_DEFECT_DATA_10,
    cdbLength: 10,
    usage: [0x37, 0, 0x1f, 0, 0, 0, 0, 0xff, 0xff, 0],
    alua: 'active',
    pr: 'read',
    handler: readDefectData,
  },
  {
    name: 'SYNCHRONIZE CACHE(10)',
    opcode: op.SYNCHRONIZE_CACHE_10,
    cdbLength: 10,
    usage: rw10(op.SYNCHRONIZE_CACHE_10, 0x06),
    alua: 'active',
    pr: 'write',
    timeout: 60,
    handler: synchronizeCache,
  },
  {
    name: 'WRITE SAME(10)',
    opcode: op.WRITE_SAME_10,
    cdbLength: 10,
    usage: rw10(op.WRITE_SAME_10, 0xf8),
    alua: 'active',
    pr: 'write',
    timeout: 60,
    dataOutLength: writeSameData,
    handler: writeSame,
  },
  {
    name: 'UNMAP',
    opcode: op.UNMAP,
    cdbLength: 10,
    usage: [0x42, 0x01, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0],
    alua: 'active',
    pr: 'write',
    timeout: 60,
    dataOutLength: at7,
    handler: unmap,
  },
  { name: 'READ(16)', opcode: op.READ_16, cdbLength: 16, usage: rw16(op.READ_16, READ_FLAGS), alua: 'active', pr: 'read', handler: read },
  {
    name: 'COMPARE AND WRITE',
    opcode: op.COMPARE_AND_WRITE,
    cdbLength: 16,
    usage: [0x89, WRITE_FLAGS, ...ff8, 0, 0, 0, 0xff, 0x1f, 0],
    alua: 'active',
    pr: 'write',
    dataOutLength: (cdb, bs) => 2 * cdb[13]! * bs,
    handler: compareAndWrite,
  },
  {
    name: 'WRITE(16)',
    opcode: op.WRITE_16,
    cdbLength: 16,
    usage: rw16(op.WRITE_16, WRITE_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: write,
  },
  {
    name: 'WRITE ATOMIC(16)',
    opcode: op.WRITE_ATOMIC_16,
    cdbLength: 16,
    usage: [0x9c, 0xf8, ...ff8, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00],
    alua: 'active',
    pr: 'write',
    dataOutLength: (cdb, bs) => cdb.readUInt16BE(12) * bs,
    handler: writeAtomic16,
  },
  {
    name: 'ORWRITE(16)',
    opcode: op.ORWRITE_16,
    cdbLength: 16,
    usage: rw16(op.ORWRITE_16, WRITE_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: orWrite,
  },
  {
    name: 'WRITE AND VERIFY(16)',
    opcode: op.WRITE_AND_VERIFY_16,
    cdbLength: 16,
    usage: rw16(op.WRITE_AND_VERIFY_16, WRITE_VERIFY_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: writeAndVerify,
  },
  {
    name: 'VERIFY(16)',
    opcode: op.VERIFY_16,
    cdbLength: 16,
    usage: rw16(op.VERIFY_16, VERIFY_FLAGS),
    alua: 'active',
    pr: 'read',
    dataOutLength: verifyData,
    handler: verify,
  },
  { name: 'PRE-FETCH(16)', opcode: op.PRE_FETCH_16, cdbLength: 16, usage: rw16(op.PRE_FETCH_16, 0x02), alua: 'active', pr: 'read', handler: preFetch },
  {
    name: 'SYNCHRONIZE CACHE(16)',
    opcode: op.SYNCHRONIZE_CACHE_16,
    cdbLength: 16,
    usage: rw16(op.SYNCHRONIZE_CACHE_16, 0x06),
    alua: 'active',
    pr: 'write',
    timeout: 60,
    handler: synchronizeCache,
  },
  {
    name: 'WRITE SAME(16)',
    opcode: op.WRITE_SAME_16,
    cdbLength: 16,
    usage: rw16(op.WRITE_SAME_16, 0xf9),
    alua: 'active',
    pr: 'write',
    timeout: 60,
    dataOutLength: writeSameData,
    handler: writeSame,
  },
  {
    name: 'READ CAPACITY(16)',
    opcode: op.SERVICE_ACTION_IN_16,
    serviceAction: op.SAI_READ_CAPACITY_16,
    cdbLength: 16,
    usage: [0x9e, 0x1f, ...ff8, ...ff4, 0x01, 0],
    alua: 'active',
    pr: 'allowed',
    handler: readCapacity16,
  },
  {
    name: 'GET LBA STATUS',
    opcode: op.SERVICE_ACTION_IN_16,
    serviceAction: op.SAI_GET_LBA_STATUS,
    cdbLength: 16,
    usage: [0x9e, 0x1f, ...ff8, ...ff4, 0, 0],
    alua: 'active',
    pr: 'read',
    handler: getLbaStatus,
  },
  { name: 'READ(12)', opcode: op.READ_12, cdbLength: 12, usage: rw12(op.READ_12, READ_FLAGS), alua: 'active', pr: 'read', handler: read },
  {
    name: 'WRITE(12)',
    opcode: op.WRITE_12,
    cdbLength: 12,
    usage: rw12(op.WRITE_12, WRITE_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: write,
  },
  {
    name: 'WRITE AND VERIFY(12)',
    opcode: op.WRITE_AND_VERIFY_12,
    cdbLength: 12,
    usage: rw12(op.WRITE_AND_VERIFY_12, WRITE_VERIFY_FLAGS),
    alua: 'active',
    pr: 'write',
    dataOutLength: writeData,
    handler: writeAndVerify,
  },
  {
    name: 'READ DEFECT DATA(12)',
    opcode: op.READ_DEFECT_DATA_12,
    cdbLength: 12,
    usage: [0xb7, 0x1f, ...ff4, ...ff4, 0, 0],
    alua: 'active',
    pr: 'read',
    handler: readDefectData,
  },
  {
    name: 'VERIFY(12)',
    opcode: op.VERIFY_12,
    cdbLength: 12,
    usage: rw12(op.VERIFY_12, VERIFY_FLAGS),
    alua: 'active',
    pr: 'read',
    dataOutLength: verifyData,
    handler: verify,
  },
];

/** Operation codes whose commands are told apart by a service action in byte 1. */
const SERVICE_ACTION_OPCODES = new Set(COMMANDS.filter((c) => c.serviceAction !== undefined).map((c) => c.opcode));

const BY_OPCODE = new Map<number, CommandSpec>();
const BY_SERVICE_ACTION = new Map<number, CommandSpec>();
for (const c of COMMANDS) {
  if (c.serviceAction === undefined) BY_OPCODE.set(c.opcode, c);
  else BY_SERVICE_ACTION.set((c.opcode << 8) | c.serviceAction, c);
}

export function hasServiceActions(opcode: number): boolean {
  return SERVICE_ACTION_OPCODES.has(opcode);
}

/** The command a CDB asks for, or undefined when we do not support it. */
export function findCommand(cdb: Buffer): CommandSpec | undefined {
  const opcode = cdb[0]!;
  if (SERVICE_ACTION_OPCODES.has(opcode)) return BY_SERVICE_ACTION.get((opcode << 8) | (cdb[1]! & 0x1f));
  return BY_OPCODE.get(opcode);
}
