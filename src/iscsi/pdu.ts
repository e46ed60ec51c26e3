// iSCSI PDUs (RFC 7143 11): opcodes, flag bits, the 48-byte Basic Header
// Segment and the builders for every PDU the target sends. Field names follow
// the RFC. A PDU on the wire is BHS, AHS, [header digest], data segment padded
// to four bytes, [data digest].
import { decodeLun as decodeLunBytes, encodeLun as encodeLunBytes } from '../scsi/spec/luns.js';

export const BHS_LENGTH = 48;
export const RESERVED_TAG = 0xffffffff;

// Initiator opcodes (RFC 7143 11.1.1).
export const OP_NOP_OUT = 0x00;
export const OP_SCSI_COMMAND = 0x01;
export const OP_TASK_MGMT_REQUEST = 0x02;
export const OP_LOGIN_REQUEST = 0x03;
export const OP_TEXT_REQUEST = 0x04;
export const OP_SCSI_DATA_OUT = 0x05;
export const OP_LOGOUT_REQUEST = 0x06;
export const OP_SNACK_REQUEST = 0x10;

// Target opcodes (RFC 7143 11.1.2).
export const OP_NOP_IN = 0x20;
export const OP_SCSI_RESPONSE = 0x21;
export const OP_TASK_MGMT_RESPONSE = 0x22;
export const OP_LOGIN_RESPONSE = 0x23;
export const OP_TEXT_RESPONSE = 0x24;
export const OP_SCSI_DATA_IN = 0x25;
export const OP_LOGOUT_RESPONSE = 0x26;
export const OP_R2T = 0x31;
export const OP_ASYNC_MESSAGE = 0x32;
export const OP_REJECT = 0x3f;

export const OPCODE_NAMES: Record<number, string> = {
  [OP_NOP_OUT]: 'NOP-Out',
  [OP_SCSI_COMMAND]: 'SCSI Command',
  [OP_TASK_MGMT_REQUEST]: 'Task Management Function Request',
  [OP_LOGIN_REQUEST]: 'Login Request',
  [OP_TEXT_REQUEST]: 'Text Request',
  [OP_SCSI_DATA_OUT]: 'SCSI Data-Out',
  [OP_LOGOUT_REQUEST]: 'Logout Request',
  [OP_SNACK_REQUEST]: 'SNACK Request',
  [OP_NOP_IN]: 'NOP-In',
  [OP_SCSI_RESPONSE]: 'SCSI Response',
  [OP_TASK_MGMT_RESPONSE]: 'Task Management Function Response',
  [OP_LOGIN_RESPONSE]: 'Login Response',
  [OP_TEXT_RESPONSE]: 'Text Response',
  [OP_SCSI_DATA_IN]: 'SCSI Data-In',
  [OP_LOGOUT_RESPONSE]: 'Logout Response',
  [OP_R2T]: 'Ready To Transfer',
  [OP_ASYNC_MESSAGE]: 'Asynchronous Message',
  [OP_REJECT]: 'Reject',
};

/** Byte 0: the immediate delivery bit. */
export const IMMEDIATE_BIT = 0x40;

// Byte 1 flags.
export const FLAG_FINAL = 0x80;
// SCSI Command.
export const CMD_READ = 0x40;
export const CMD_WRITE = 0x20;
export const CMD_ATTR_MASK = 0x07;
// SCSI Response / Data-In residual flags.
export const RSP_BIDI_OVERFLOW = 0x10;
export const RSP_BIDI_UNDERFLOW = 0x08;
export const RSP_OVERFLOW = 0x04;
export const RSP_UNDERFLOW = 0x02;
export const DATA_IN_ACK = 0x40;
export const DATA_IN_STATUS = 0x01;
// Login.
export const LOGIN_TRANSIT = 0x80;
export const LOGIN_CONTINUE = 0x40;
// Text.
export const TEXT_CONTINUE = 0x40;

// Login stages (CSG/NSG).
export const STAGE_SECURITY = 0;
export const STAGE_OPERATIONAL = 1;
export const STAGE_FULL_FEATURE = 3;

// Login status classes and details (RFC 7143 11.13.5).
export const LOGIN_SUCCESS = 0x0000;
export const LOGIN_TARGET_MOVED_TEMPORARILY = 0x0101;
export const LOGIN_INITIATOR_ERROR = 0x0200;
export const LOGIN_AUTHENTICATION_FAILURE = 0x0201;
export const LOGIN_AUTHORIZATION_FAILURE = 0x0202;
export const LOGIN_TARGET_NOT_FOUND = 0x0203;
export const LOGIN_TARGET_REMOVED = 0x0204;
export const LOGIN_UNSUPPORTED_VERSION = 0x0205;
export const LOGIN_TOO_MANY_CONNECTIONS = 0x0206;
export const LOGIN_MISSING_PARAMETER = 0x0207;
export const LOGIN_CANT_INCLUDE_IN_SESSION = 0x0208;
export const LOGIN_SESSION_TYPE_NOT_SUPPORTED = 0x0209;
export const LOGIN_SESSION_DOES_NOT_EXIST = 0x020a;
export const LOGIN_INVALID_DURING_LOGIN = 0x020b;
export const LOGIN_TARGET_ERROR = 0x0300;
export const LOGIN_SERVICE_UNAVAILABLE = 0x0301;
export const LOGIN_OUT_OF_RESOURCES = 0x0302;

// Task management functions (RFC 7143 11.5.1).
export const TMF_ABORT_TASK = 1;
export const TMF_ABORT_TASK_SET = 2;
export const TMF_CLEAR_ACA = 3;
export const TMF_CLEAR_TASK_SET = 4;
export const TMF_LOGICAL_UNIT_RESET = 5;
export const TMF_TARGET_WARM_RESET = 6;
export const TMF_TARGET_COLD_RESET = 7;
export const TMF_TASK_REASSIGN = 8;

// Task management responses (RFC 7143 11.6.1).
export const TMF_RSP_COMPLETE = 0;
export const TMF_RSP_TASK_DOES_NOT_EXIST = 1;
export const TMF_RSP_LUN_DOES_NOT_EXIST = 2;
export const TMF_RSP_TASK_STILL_ALLEGIANT = 3;
export const TMF_RSP_REASSIGNMENT_NOT_SUPPORTED = 4;
export const TMF_RSP_NOT_SUPPORTED = 5;
export const TMF_RSP_AUTHORIZATION_FAILED = 6;
export const TMF_RSP_REJECTED = 255;

// Logout reasons and responses (RFC 7143 11.14.1, 11.15.1).
export const LOGOUT_CLOSE_SESSION = 0;
export const LOGOUT_CLOSE_CONNECTION = 1;
export const LOGOUT_REMOVE_FOR_RECOVERY = 2;
export const LOGOUT_RSP_SUCCESS = 0;
export const LOGOUT_RSP_CID_NOT_FOUND = 1;
export const LOGOUT_RSP_RECOVERY_NOT_SUPPORTED = 2;
export const LOGOUT_RSP_CLEANUP_FAILED = 3;

// Reject reasons (RFC 7143 11.17.1).
export const REJECT_DATA_DIGEST_ERROR = 0x02;
export const REJECT_SNACK_REJECT = 0x03;
export const REJECT_PROTOCOL_ERROR = 0x04;
export const REJECT_COMMAND_NOT_SUPPORTED = 0x05;
export const REJECT_IMMEDIATE_COMMAND_REJECT = 0x06;
export const REJECT_TASK_IN_PROGRESS = 0x07;
export const REJECT_INVALID_DATA_ACK = 0x08;
export const REJECT_INVALID_PDU_FIELD = 0x09;
export const REJECT_OUT_OF_RESOURCES = 0x0a;
export const REJECT_WAITING_FOR_LOGOUT = 0x0c;

// Asynchronous events (RFC 7143 11.9.1).
export const ASYNC_EVENT_LOGOUT_REQUEST = 1;
export const ASYNC_EVENT_DROP_CONNECTION = 2;
export const ASYNC_EVENT_DROP_ALL_CONNECTIONS = 3;

// AHS types (RFC 7143 11.2.2).
export const AHS_EXTENDED_CDB = 1;
export const AHS_BIDI_READ_LENGTH = 2;

/** One received PDU: its BHS (48 bytes, owned), AHS and data segment (without padding and digests). */
export interface Pdu {
  bhs: Buffer;
  ahs: Buffer;
  data: Buffer;
  /** Set when the data digest did not match (the data is then not to be trusted). */
  dataDigestError?: boolean;
}

// ---- reading BHS fields ----

export const opcodeOf = (bhs: Buffer): number => bhs[0]! & 0x3f;
export const isImmediate = (bhs: Buffer): boolean => (bhs[0]! & IMMEDIATE_BIT) !== 0;
export const flagsOf = (bhs: Buffer): number => bhs[1]!;
export const totalAhsLength = (bhs: Buffer): number => bhs[4]! * 4;
export const dataSegmentLength = (bhs: Buffer): number => (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
export const ittOf = (bhs: Buffer): number => bhs.readUInt32BE(16);

/** Padding that follows a data segment of n bytes. */
export const padOf = (n: number): number => (4 - (n & 3)) & 3;

/**
 * Decodes the 8-byte LUN field of a PDU into Kura's LUN number (src/scsi/spec/luns.ts):
 * single-level LUNs, two-level LUNs of subsidiary LUs in a LUN conglomerate, the
 * REPORT LUNS well-known LUN; anything else is -1, which no logical unit has.
 */
export function decodeLun(bhs: Buffer, off = 8): number {
  return decodeLunBytes(bhs, off);
}

/** Encodes a LUN number as the SAM-5 LUN field the way decodeLun reads it. */
export function encodeLun(lun: number, bhs: Buffer, off = 8): void {
  encodeLunBytes(lun).copy(bhs, off);
}

function setDsl(h: Buffer, n: number): void {
  h[5] = (n >> 16) & 0xff;
  h[6] = (n >> 8) & 0xff;
  h[7] = n & 0xff;
}

/** Sequence numbers every target PDU after login carries (StatSN may be reserved per PDU type). */
export interface SeqNumbers {
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

function header(opcode: number, flags: number, dsl: number): Buffer {
  const h = Buffer.alloc(BHS_LENGTH);
  h[0] = opcode;
  h[1] = flags;
  setDsl(h, dsl);
  return h;
}

function seq(h: Buffer, s: SeqNumbers): void {
  h.writeUInt32BE(s.statSN >>> 0, 24);
  h.writeUInt32BE(s.expCmdSN >>> 0, 28);
  h.writeUInt32BE(s.maxCmdSN >>> 0, 32);
}

// ---- building target PDUs ----

export interface LoginResponseFields {
  transit: boolean;
  csg: number;
  nsg: number;
  isid: Buffer;
  tsih: number;
  itt: number;
  statusClass: number;
  statusDetail: number;
  seq: SeqNumbers;
  dataLength: number;
}

export function loginResponse(f: LoginResponseFields): Buffer {
  const flags = (f.transit ? LOGIN_TRANSIT : 0) | ((f.csg & 3) << 2) | (f.transit ? f.nsg & 3 : 0);
  const h = header(OP_LOGIN_RESPONSE, flags, f.dataLength);
  h[2] = 0x00; // Version-max
  h[3] = 0x00; // Version-active
  f.isid.copy(h, 8, 0, 6);
  h.writeUInt16BE(f.tsih, 14);
  h.writeUInt32BE(f.itt >>> 0, 16);
  seq(h, f.seq);
  h[36] = f.statusClass;
  h[37] = f.statusDetail;
  return h;
}

export function textResponse(f: { final: boolean; cont: boolean; lunField?: Buffer; itt: number; ttt: number; seq: SeqNumbers; dataLength: number }): Buffer {
  const h = header(OP_TEXT_RESPONSE, (f.final ? FLAG_FINAL : 0) | (f.cont ? TEXT_CONTINUE : 0), f.dataLength);
  if (f.lunField) f.lunField.copy(h, 8, 0, 8);
  h.writeUInt32BE(f.itt >>> 0, 16);
  h.writeUInt32BE(f.ttt >>> 0, 20);
  seq(h, f.seq);
  return h;
}

export function nopIn(f: { lunField?: Buffer; itt: number; ttt: number; seq: SeqNumbers; dataLength: number }): Buffer {
  const h = header(OP_NOP_IN, FLAG_FINAL, f.dataLength);
  if (f.lunField) f.lunField.copy(h, 8, 0, 8);
  h.writeUInt32BE(f.itt >>> 0, 16);
  h.writeUInt32BE(f.ttt >>> 0, 20);
  seq(h, f.seq);
  return h;
}

export interface ScsiResponseFields {
  itt: number;
  status: number;
  /** 0 = command completed at target; 1 = target failure. */
  response: number;
  flags: number;
  residual: number;
  bidiResidual: number;
  expDataSN: number;
  seq: SeqNumbers;
  dataLength: number;
}

export function scsiResponse(f: ScsiResponseFields): Buffer {
  const h = header(OP_SCSI_RESPONSE, FLAG_FINAL | f.flags, f.dataLength);
  h[2] = f.response;
  h[3] = f.status;
  h.writeUInt32BE(f.itt >>> 0, 16);
  seq(h, f.seq);
  h.writeUInt32BE(f.expDataSN >>> 0, 36);
  h.writeUInt32BE(f.bidiResidual >>> 0, 40);
  h.writeUInt32BE(f.residual >>> 0, 44);
  return h;
}

export interface DataInFields {
  final: boolean;
  /** Status is carried (S bit): then final must be set too. */
  statusPresent: boolean;
  status: number;
  residualFlags: number;
  residual: number;
  lun: number;
  itt: number;
  dataSN: number;
  bufferOffset: number;
  seq: SeqNumbers;
  dataLength: number;
}

export function dataIn(f: DataInFields): Buffer {
  let flags = f.final ? FLAG_FINAL : 0;
  if (f.statusPresent) flags |= DATA_IN_STATUS | f.residualFlags;
  const h = header(OP_SCSI_DATA_IN, flags, f.dataLength);
  if (f.statusPresent) h[3] = f.status;
  encodeLun(f.lun, h);
  h.writeUInt32BE(f.itt >>> 0, 16);
  h.writeUInt32BE(RESERVED_TAG, 20);
  // StatSN is meaningful only with the S bit; the window fields always are.
  h.writeUInt32BE(f.statusPresent ? f.seq.statSN >>> 0 : 0, 24);
  h.writeUInt32BE(f.seq.expCmdSN >>> 0, 28);
  h.writeUInt32BE(f.seq.maxCmdSN >>> 0, 32);
  h.writeUInt32BE(f.dataSN >>> 0, 36);
  h.writeUInt32BE(f.bufferOffset >>> 0, 40);
  if (f.statusPresent) h.writeUInt32BE(f.residual >>> 0, 44);
  return h;
}

export function r2t(f: { lun: number; itt: number; ttt: number; r2tSN: number; bufferOffset: number; desiredLength: number; seq: SeqNumbers }): Buffer {
  const h = header(OP_R2T, FLAG_FINAL, 0);
  encodeLun(f.lun, h);
  h.writeUInt32BE(f.itt >>> 0, 16);
  h.writeUInt32BE(f.ttt >>> 0, 20);
  seq(h, f.seq);
  h.writeUInt32BE(f.r2tSN >>> 0, 36);
  h.writeUInt32BE(f.bufferOffset >>> 0, 40);
  h.writeUInt32BE(f.desiredLength >>> 0, 44);
  return h;
}

export function taskMgmtResponse(f: { itt: number; response: number; seq: SeqNumbers }): Buffer {
  const h = header(OP_TASK_MGMT_RESPONSE, FLAG_FINAL, 0);
  h[2] = f.response;
  h.writeUInt32BE(f.itt >>> 0, 16);
  seq(h, f.seq);
  return h;
}

export function logoutResponse(f: { itt: number; response: number; time2Wait: number; time2Retain: number; seq: SeqNumbers }): Buffer {
  const h = header(OP_LOGOUT_RESPONSE, FLAG_FINAL, 0);
  h[2] = f.response;
  h.writeUInt32BE(f.itt >>> 0, 16);
  seq(h, f.seq);
  h.writeUInt16BE(f.time2Wait, 40);
  h.writeUInt16BE(f.time2Retain, 42);
  return h;
}

export function reject(f: { reason: number; dataSN?: number; seq: SeqNumbers }): Buffer {
  const h = header(OP_REJECT, FLAG_FINAL, BHS_LENGTH);
  h[2] = f.reason;
  h.writeUInt32BE(RESERVED_TAG, 16);
  seq(h, f.seq);
  h.writeUInt32BE((f.dataSN ?? 0) >>> 0, 36);
  return h;
}

export function asyncMessage(f: { event: number; lun?: number; parameter1?: number; parameter2?: number; parameter3?: number; seq: SeqNumbers }): Buffer {
  const h = header(OP_ASYNC_MESSAGE, FLAG_FINAL, 0);
  encodeLun(f.lun ?? 0, h);
  h.writeUInt32BE(RESERVED_TAG, 16);
  seq(h, f.seq);
  h[36] = f.event;
  h.writeUInt16BE(f.parameter1 ?? 0, 38);
  h.writeUInt16BE(f.parameter2 ?? 0, 40);
  h.writeUInt16BE(f.parameter3 ?? 0, 42);
  return h;
}

// ---- building initiator PDUs (the initiator client and tests use these) ----

export function initiatorHeader(opcode: number, flags: number, dataLength: number, immediate = false): Buffer {
  const h = header(opcode | (immediate ? IMMEDIATE_BIT : 0), flags, dataLength);
  return h;
}

export function setDataSegmentLength(bhs: Buffer, n: number): void {
  setDsl(bhs, n);
}

// ---- serial number arithmetic (RFC 1982, 32 bits) ----

/** a < b in 32-bit serial arithmetic. */
export function snLt(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}

/** a <= b in 32-bit serial arithmetic. */
export function snLe(a: number, b: number): boolean {
  return a === b || snLt(a, b);
}

export const snAdd = (a: number, n: number): number => (a + n) >>> 0;
