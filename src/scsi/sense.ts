// How the target ends a command that is not GOOD: a handler throws a ScsiError
// (a status and, for CHECK CONDITION, a named sense condition from the
// vocabulary in ./spec); the dispatcher turns it into the status and sense data
// the initiator sees.
import { isKuraError } from '../errors.js';
import {
  CHECK_CONDITION,
  GOOD,
  INTERNAL_TARGET_FAILURE,
  INVALID_FIELD_IN_CDB,
  INVALID_FIELD_IN_PARAMETER_LIST,
  LBA_OUT_OF_RANGE,
  LOGICAL_UNIT_NOT_SUPPORTED,
  LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED,
  PARAMETER_LIST_LENGTH_ERROR,
  RESERVATION_CONFLICT,
  SPACE_ALLOCATION_FAILED_WRITE_PROTECT,
  UNRECOVERED_READ_ERROR,
  WRITE_ERROR,
  WRITE_PROTECTED,
  buildSense,
} from './spec/index.js';
import type { FieldPointer, SenseCode, SenseInfo } from './spec/index.js';
import type { ScsiResponse } from './types.js';

/** A command ends with a status other than GOOD. */
export class ScsiError extends Error {
  readonly status: number;
  readonly sense?: SenseInfo;

  constructor(status: number, sense?: SenseInfo, message?: string) {
    super(
      message ??
        (sense
          ? `sense key ${sense.key.toString(16)} ASC/ASCQ ${((sense.asc << 8) | sense.ascq).toString(16).padStart(4, '0')}`
          : `status ${status.toString(16)}`),
    );
    this.name = 'ScsiError';
    this.status = status;
    this.sense = sense;
  }

  response(): ScsiResponse {
    return this.sense ? { status: this.status, sense: buildSense(this.sense) } : { status: this.status };
  }
}

/** CHECK CONDITION with the named sense condition (spec/sense.ts), and its INFORMATION or FIELD POINTER. */
export function checkCondition(code: SenseCode, extra: { information?: number; field?: FieldPointer } = {}): ScsiError {
  return new ScsiError(CHECK_CONDITION, { key: code.key, asc: code.asc, ascq: code.ascq, ...extra });
}

/** ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at the offending byte and bit. */
export function invalidCdbField(byte: number, bit?: number): ScsiError {
  return checkCondition(INVALID_FIELD_IN_CDB, { field: { cdb: true, byte, bit } });
}

/** ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at the offending parameter byte. */
export function invalidParameterField(byte: number, bit?: number, code: SenseCode = INVALID_FIELD_IN_PARAMETER_LIST): ScsiError {
  return checkCondition(code, { field: { cdb: false, byte, bit } });
}

export function lbaOutOfRange(): ScsiError {
  return checkCondition(LBA_OUT_OF_RANGE);
}

export function parameterListLengthError(): ScsiError {
  return checkCondition(PARAMETER_LIST_LENGTH_ERROR);
}

export function reservationConflict(): ScsiError {
  return new ScsiError(RESERVATION_CONFLICT);
}

export function good(dataIn?: Buffer): ScsiResponse {
  return dataIn ? { status: GOOD, dataIn } : { status: GOOD };
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
        return checkCondition(SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
      case 'EROFS':
        return checkCondition(WRITE_PROTECTED);
      case 'ENOTREADY':
        // An RV of a replication pair that is not separated: usable again after an operator's separate.
        return checkCondition(LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED);
      case 'ERANGE':
        return lbaOutOfRange();
      case 'EINVAL':
        return checkCondition(INVALID_FIELD_IN_CDB);
      case 'ENOENT':
        return checkCondition(LOGICAL_UNIT_NOT_SUPPORTED);
      case 'EIO':
        if (op === 'read') return checkCondition(UNRECOVERED_READ_ERROR);
        if (op === 'write') return checkCondition(WRITE_ERROR);
        return checkCondition(INTERNAL_TARGET_FAILURE);
      default:
        return checkCondition(INTERNAL_TARGET_FAILURE);
    }
  }
  return checkCondition(INTERNAL_TARGET_FAILURE);
}
