// Status codes (SAM-5), sense keys and additional sense codes (SPC-4 annex D),
// named as T10 names them, and fixed-format sense data (SPC-4 4.5.3).
// A handler that cannot complete a command throws a ScsiError; the dispatcher
// turns it into the status and sense data the initiator sees.
import { isKuraError } from '../errors.js';
import type { ScsiResponse } from './types.js';

// ---- SAM status ----
export const SAM_STAT_GOOD = 0x00;
export const SAM_STAT_CHECK_CONDITION = 0x02;
export const SAM_STAT_CONDITION_MET = 0x04;
export const SAM_STAT_BUSY = 0x08;
export const SAM_STAT_RESERVATION_CONFLICT = 0x18;
export const SAM_STAT_TASK_SET_FULL = 0x28;
export const SAM_STAT_ACA_ACTIVE = 0x30;
export const SAM_STAT_TASK_ABORTED = 0x40;

// ---- sense keys ----
export const NO_SENSE = 0x0;
export const RECOVERED_ERROR = 0x1;
export const NOT_READY = 0x2;
export const MEDIUM_ERROR = 0x3;
export const HARDWARE_ERROR = 0x4;
export const ILLEGAL_REQUEST = 0x5;
export const UNIT_ATTENTION = 0x6;
export const DATA_PROTECT = 0x7;
export const ABORTED_COMMAND = 0xb;
export const MISCOMPARE = 0xe;

// ---- additional sense code and qualifier, as (ASC << 8) | ASCQ ----
export const ASC_NO_ADDITIONAL_SENSE = 0x0000;
export const ASC_LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED = 0x0403;
export const ASC_LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION = 0x040a;
export const ASC_LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE = 0x040b;
export const ASC_LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE = 0x040c;
export const ASC_WRITE_ERROR = 0x0c00;
export const ASC_INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT = 0x0e03;
export const ASC_UNRECOVERED_READ_ERROR = 0x1100;
export const ASC_PARAMETER_LIST_LENGTH_ERROR = 0x1a00;
export const ASC_MISCOMPARE_DURING_VERIFY_OPERATION = 0x1d00;
export const ASC_INVALID_COMMAND_OPERATION_CODE = 0x2000;
export const ASC_LBA_OUT_OF_RANGE = 0x2100;
export const ASC_INVALID_FIELD_IN_CDB = 0x2400;
export const ASC_LOGICAL_UNIT_NOT_SUPPORTED = 0x2500;
export const ASC_INVALID_FIELD_IN_PARAMETER_LIST = 0x2600;
export const ASC_PARAMETER_NOT_SUPPORTED = 0x2601;
export const ASC_PARAMETER_VALUE_INVALID = 0x2602;
export const ASC_INVALID_RELEASE_OF_PERSISTENT_RESERVATION = 0x2604;
export const ASC_WRITE_PROTECTED = 0x2700;
export const ASC_SOFTWARE_WRITE_PROTECTED = 0x2702;
export const ASC_SPACE_ALLOCATION_FAILED_WRITE_PROTECT = 0x2707;
export const ASC_POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED = 0x2900;
export const ASC_POWER_ON_OCCURRED = 0x2901;
export const ASC_SCSI_BUS_RESET_OCCURRED = 0x2902;
export const ASC_BUS_DEVICE_RESET_FUNCTION_OCCURRED = 0x2903;
export const ASC_I_T_NEXUS_LOSS_OCCURRED = 0x2907;
export const ASC_PARAMETERS_CHANGED = 0x2a00;
export const ASC_MODE_PARAMETERS_CHANGED = 0x2a01;
export const ASC_RESERVATIONS_PREEMPTED = 0x2a03;
export const ASC_RESERVATIONS_RELEASED = 0x2a04;
export const ASC_REGISTRATIONS_PREEMPTED = 0x2a05;
export const ASC_ASYMMETRIC_ACCESS_STATE_CHANGED = 0x2a06;
export const ASC_CAPACITY_DATA_HAS_CHANGED = 0x2a09;
export const ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = 0x2f00;
export const ASC_SAVING_PARAMETERS_NOT_SUPPORTED = 0x3900;
export const ASC_REPORTED_LUNS_DATA_HAS_CHANGED = 0x3f0e;
export const ASC_INTERNAL_TARGET_FAILURE = 0x4400;
export const ASC_INSUFFICIENT_REGISTRATION_RESOURCES = 0x5504;

/** Fixed-format sense data is 18 bytes: 8 of header and ADDITIONAL SENSE LENGTH = 10. */
export const FIXED_SENSE_LENGTH = 18;
const RESPONSE_CODE_CURRENT_FIXED = 0x70;

/** Sense-key specific FIELD POINTER (SPC-4 4.5.2.4.2): which CDB or parameter byte (and bit) was wrong. */
export interface FieldPointer {
  /** true: the byte is in the CDB (C/D = 1); false: in the parameter list. */
  cdb: boolean;
  byte: number;
  /** Bit 0..7 when the bit is known. */
  bit?: number;
}

export interface SenseInfo {
  key: number;
  /** (ASC << 8) | ASCQ. */
  ascq: number;
  /** INFORMATION field; VALID is set when present. */
  information?: number;
  field?: FieldPointer;
}

export function buildSense(s: SenseInfo): Buffer {
  const b = Buffer.alloc(FIXED_SENSE_LENGTH);
  b[0] = RESPONSE_CODE_CURRENT_FIXED | (s.information !== undefined ? 0x80 : 0);
  b[2] = s.key & 0x0f;
  if (s.information !== undefined) b.writeUInt32BE(s.information >>> 0, 3);
  b[7] = FIXED_SENSE_LENGTH - 8;
  b[12] = (s.ascq >> 8) & 0xff;
  b[13] = s.ascq & 0xff;
  if (s.field) {
    b[15] = 0x80 | (s.field.cdb ? 0x40 : 0) | (s.field.bit !== undefined ? 0x08 | (s.field.bit & 7) : 0);
    b.writeUInt16BE(s.field.byte & 0xffff, 16);
  }
  return b;
}

/** A command ends with a status other than GOOD. */
export class ScsiError extends Error {
  readonly status: number;
  readonly sense?: SenseInfo;

  constructor(status: number, sense?: SenseInfo, message?: string) {
    super(message ?? (sense ? `sense key ${sense.key.toString(16)} ASC/ASCQ ${sense.ascq.toString(16).padStart(4, '0')}` : `status ${status.toString(16)}`));
    this.name = 'ScsiError';
    this.status = status;
    this.sense = sense;
  }

  response(): ScsiResponse {
    return this.sense ? { status: this.status, sense: buildSense(this.sense) } : { status: this.status };
  }
}

export function checkCondition(key: number, ascq: number, extra: { information?: number; field?: FieldPointer } = {}): ScsiError {
  return new ScsiError(SAM_STAT_CHECK_CONDITION, { key, ascq, ...extra });
}

/** ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at the offending byte and bit. */
export function invalidCdbField(byte: number, bit?: number): ScsiError {
  return checkCondition(ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB, { field: { cdb: true, byte, bit } });
}

/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at the offending parameter byte. */
export function invalidParameterField(byte: number, bit?: number, ascq = ASC_INVALID_FIELD_IN_PARAMETER_LIST): ScsiError {
  return checkCondition(ILLEGAL_REQUEST, ascq, { field: { cdb: false, byte, bit } });
}

export function lbaOutOfRange(): ScsiError {
  return checkCondition(ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
}

export function parameterListLengthError(): ScsiError {
  return checkCondition(ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
}

export function reservationConflict(): ScsiError {
  return new ScsiError(SAM_STAT_RESERVATION_CONFLICT);
}

export function good(dataIn?: Buffer): ScsiResponse {
  return dataIn ? { status: SAM_STAT_GOOD, dataIn } : { status: SAM_STAT_GOOD };
}

/**
 * Maps a failure of the block device to sense data. The device speaks KuraError
 * codes; `op` says whether data was being read or written, which decides the
 * medium-error flavour.
 */
export function senseForDeviceError(e: unknown, op: 'read' | 'write' | 'other'): ScsiError {
  if (e instanceof ScsiError) return e;
  if (isKuraError(e)) {
    switch (e.code) {
      case 'ENOSPC':
        // The thin pool is full: the write is refused, as SBC-3 4.7.3.6 asks of a thin LU.
        return checkCondition(DATA_PROTECT, ASC_SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
      case 'EROFS':
        return checkCondition(DATA_PROTECT, ASC_WRITE_PROTECTED);
      case 'ENOTREADY':
        // An RV of a replication pair that is not separated: usable again after an operator's separate.
        return checkCondition(NOT_READY, ASC_LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED);
      case 'ERANGE':
        return lbaOutOfRange();
      case 'EINVAL':
        return checkCondition(ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
      case 'ENOENT':
        return checkCondition(ILLEGAL_REQUEST, ASC_LOGICAL_UNIT_NOT_SUPPORTED);
      case 'EIO':
        if (op === 'read') return checkCondition(MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR);
        if (op === 'write') return checkCondition(MEDIUM_ERROR, ASC_WRITE_ERROR);
        return checkCondition(HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
      default:
        return checkCondition(HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
    }
  }
  return checkCondition(HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

/** Decodes fixed-format sense data (for tests and logs). */
export function parseSense(b: Buffer): { key: number; asc: number; ascq: number; information?: number; sksv?: { cd: boolean; bit?: number; field: number } } {
  const out: ReturnType<typeof parseSense> = { key: b[2]! & 0x0f, asc: b[12]!, ascq: b[13]! };
  if (b[0]! & 0x80) out.information = b.readUInt32BE(3);
  if (b.length >= 18 && b[15]! & 0x80) {
    out.sksv = { cd: (b[15]! & 0x40) !== 0, field: b.readUInt16BE(16) };
    if (b[15]! & 0x08) out.sksv.bit = b[15]! & 7;
  }
  return out;
}
