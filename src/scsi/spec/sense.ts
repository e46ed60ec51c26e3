// Sense data (SPC-4 4.5): sense keys, the additional sense codes Kura reports
// or reads (SPC-4 annex D), named as T10 names them, and the fixed and
// descriptor formats. A named condition is a sense key with one ASC/ASCQ:
// the target raises them, pathd and the tests recognise them.

// ---- sense keys (SPC-4 table 27) ----
export const NO_SENSE = 0x0;
export const RECOVERED_ERROR = 0x1;
export const NOT_READY = 0x2;
export const MEDIUM_ERROR = 0x3;
export const HARDWARE_ERROR = 0x4;
export const ILLEGAL_REQUEST = 0x5;
export const UNIT_ATTENTION = 0x6;
export const DATA_PROTECT = 0x7;
export const COPY_ABORTED = 0xa;
export const ABORTED_COMMAND = 0xb;
export const MISCOMPARE = 0xe;

/** A sense key with its ADDITIONAL SENSE CODE and QUALIFIER. */
export interface SenseCode {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

function code(key: number, asc: number, ascq: number): SenseCode {
  return Object.freeze({ key, asc, ascq });
}

// ---- NO SENSE ----
export const NO_ADDITIONAL_SENSE_INFORMATION = code(NO_SENSE, 0x00, 0x00);

// ---- NOT READY ----
export const LUN_NOT_READY_MANUAL_INTERVENTION_REQUIRED = code(NOT_READY, 0x04, 0x03);
export const LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION = code(NOT_READY, 0x04, 0x0a);
export const LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE = code(NOT_READY, 0x04, 0x0b);
export const LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE = code(NOT_READY, 0x04, 0x0c);

// ---- MEDIUM ERROR ----
export const WRITE_ERROR = code(MEDIUM_ERROR, 0x0c, 0x00);
export const UNRECOVERED_READ_ERROR = code(MEDIUM_ERROR, 0x11, 0x00);

// ---- HARDWARE ERROR ----
export const INTERNAL_TARGET_FAILURE = code(HARDWARE_ERROR, 0x44, 0x00);

// ---- ILLEGAL REQUEST ----
export const INVALID_FIELD_IN_COMMAND_INFORMATION_UNIT = code(ILLEGAL_REQUEST, 0x0e, 0x03);
export const PARAMETER_LIST_LENGTH_ERROR = code(ILLEGAL_REQUEST, 0x1a, 0x00);
export const INVALID_COMMAND_OPERATION_CODE = code(ILLEGAL_REQUEST, 0x20, 0x00);
/** LOGICAL BLOCK ADDRESS OUT OF RANGE. */
export const LBA_OUT_OF_RANGE = code(ILLEGAL_REQUEST, 0x21, 0x00);
export const INVALID_FIELD_IN_CDB = code(ILLEGAL_REQUEST, 0x24, 0x00);
export const LOGICAL_UNIT_NOT_SUPPORTED = code(ILLEGAL_REQUEST, 0x25, 0x00);
export const INVALID_FIELD_IN_PARAMETER_LIST = code(ILLEGAL_REQUEST, 0x26, 0x00);
export const PARAMETER_NOT_SUPPORTED = code(ILLEGAL_REQUEST, 0x26, 0x01);
export const PARAMETER_VALUE_INVALID = code(ILLEGAL_REQUEST, 0x26, 0x02);
export const INVALID_RELEASE_OF_PERSISTENT_RESERVATION = code(ILLEGAL_REQUEST, 0x26, 0x04);
export const TOO_MANY_TARGET_DESCRIPTORS = code(ILLEGAL_REQUEST, 0x26, 0x06);
export const UNSUPPORTED_TARGET_DESCRIPTOR_TYPE_CODE = code(ILLEGAL_REQUEST, 0x26, 0x07);
export const TOO_MANY_SEGMENT_DESCRIPTORS = code(ILLEGAL_REQUEST, 0x26, 0x08);
export const UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE_CODE = code(ILLEGAL_REQUEST, 0x26, 0x09);
export const SAVING_PARAMETERS_NOT_SUPPORTED = code(ILLEGAL_REQUEST, 0x39, 0x00);
export const INSUFFICIENT_REGISTRATION_RESOURCES = code(ILLEGAL_REQUEST, 0x55, 0x04);

// ---- UNIT ATTENTION ----
export const POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED = code(UNIT_ATTENTION, 0x29, 0x00);
export const POWER_ON_OCCURRED = code(UNIT_ATTENTION, 0x29, 0x01);
export const SCSI_BUS_RESET_OCCURRED = code(UNIT_ATTENTION, 0x29, 0x02);
export const BUS_DEVICE_RESET_FUNCTION_OCCURRED = code(UNIT_ATTENTION, 0x29, 0x03);
export const I_T_NEXUS_LOSS_OCCURRED = code(UNIT_ATTENTION, 0x29, 0x07);
export const PARAMETERS_CHANGED = code(UNIT_ATTENTION, 0x2a, 0x00);
export const MODE_PARAMETERS_CHANGED = code(UNIT_ATTENTION, 0x2a, 0x01);
export const RESERVATIONS_PREEMPTED = code(UNIT_ATTENTION, 0x2a, 0x03);
export const RESERVATIONS_RELEASED = code(UNIT_ATTENTION, 0x2a, 0x04);
export const REGISTRATIONS_PREEMPTED = code(UNIT_ATTENTION, 0x2a, 0x05);
export const ASYMMETRIC_ACCESS_STATE_CHANGED = code(UNIT_ATTENTION, 0x2a, 0x06);
export const IMPLICIT_ASYMMETRIC_ACCESS_STATE_TRANSITION_FAILED = code(UNIT_ATTENTION, 0x2a, 0x07);
export const CAPACITY_DATA_HAS_CHANGED = code(UNIT_ATTENTION, 0x2a, 0x09);
export const COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = code(UNIT_ATTENTION, 0x2f, 0x00);
export const INQUIRY_DATA_HAS_CHANGED = code(UNIT_ATTENTION, 0x3f, 0x03);
export const REPORTED_LUNS_DATA_HAS_CHANGED = code(UNIT_ATTENTION, 0x3f, 0x0e);

// ---- DATA PROTECT ----
export const WRITE_PROTECTED = code(DATA_PROTECT, 0x27, 0x00);
export const SOFTWARE_WRITE_PROTECTED = code(DATA_PROTECT, 0x27, 0x02);
export const SPACE_ALLOCATION_FAILED_WRITE_PROTECT = code(DATA_PROTECT, 0x27, 0x07);

// ---- COPY ABORTED (EXTENDED COPY) ----
export const COPY_ABORTED_NO_ADDITIONAL_SENSE_INFORMATION = code(COPY_ABORTED, 0x00, 0x00);
export const UNREACHABLE_COPY_TARGET = code(COPY_ABORTED, 0x08, 0x04);
export const COPY_TARGET_DEVICE_NOT_REACHABLE = code(COPY_ABORTED, 0x0d, 0x02);
export const COPY_ABORTED_INVALID_FIELD_IN_PARAMETER_LIST = code(COPY_ABORTED, 0x26, 0x00);
export const COPY_ABORTED_SOFTWARE_WRITE_PROTECTED = code(COPY_ABORTED, 0x27, 0x02);

// ---- ABORTED COMMAND ----
export const PROTOCOL_SERVICE_CRC_ERROR = code(ABORTED_COMMAND, 0x47, 0x05);
export const DATA_PHASE_ERROR = code(ABORTED_COMMAND, 0x4b, 0x00);

// ---- MISCOMPARE ----
export const MISCOMPARE_DURING_VERIFY_OPERATION = code(MISCOMPARE, 0x1d, 0x00);

/** True when `s` reports exactly `c` (key, ASC and ASCQ). */
export function isSense(s: SenseCode | undefined, c: SenseCode): boolean {
  return s !== undefined && s.key === c.key && s.asc === c.asc && s.ascq === c.ascq;
}

/** ASC and ASCQ as one number, (ASC << 8) | ASCQ, the order annex D lists them in. */
export function ascKey(c: SenseCode): number {
  return (c.asc << 8) | c.ascq;
}

// ---- fixed format (SPC-4 4.5.3) ----

/** Fixed-format sense data is 18 bytes: 8 of header and ADDITIONAL SENSE LENGTH = 10. */
export const FIXED_SENSE_LENGTH = 18;
const RESPONSE_CODE_CURRENT_FIXED = 0x70;
const RESPONSE_CODE_CURRENT_DESCRIPTOR = 0x72;
const RESPONSE_CODE_DEFERRED_DESCRIPTOR = 0x73;

/** Sense-key specific FIELD POINTER (SPC-4 4.5.2.4.2): which CDB or parameter byte (and bit) was wrong. */
export interface FieldPointer {
  /** true: the byte is in the CDB (C/D = 1); false: in the parameter list. */
  cdb: boolean;
  byte: number;
  /** Bit 0..7 when the bit is known. */
  bit?: number;
}

export interface SenseInfo extends SenseCode {
  /** INFORMATION field; VALID is set when present. */
  information?: number;
  field?: FieldPointer;
}

/** Current fixed-format sense data for `s`. */
export function buildSense(s: SenseInfo): Buffer {
  const b = Buffer.alloc(FIXED_SENSE_LENGTH);
  b[0] = RESPONSE_CODE_CURRENT_FIXED | (s.information !== undefined ? 0x80 : 0);
  b[2] = s.key & 0x0f;
  if (s.information !== undefined) b.writeUInt32BE(s.information >>> 0, 3);
  b[7] = FIXED_SENSE_LENGTH - 8;
  b[12] = s.asc & 0xff;
  b[13] = s.ascq & 0xff;
  if (s.field) {
    b[15] = 0x80 | (s.field.cdb ? 0x40 : 0) | (s.field.bit !== undefined ? 0x08 | (s.field.bit & 7) : 0);
    b.writeUInt16BE(s.field.byte & 0xffff, 16);
  }
  return b;
}

/** Decoded sense data; INFORMATION and the sense-key specific field are read from fixed format only. */
export interface SenseData extends SenseCode {
  information?: number;
  sksv?: { cd: boolean; bit?: number; field: number };
}

/** Decodes fixed- or descriptor-format sense data; undefined when there is none. */
export function parseSense(b: Buffer | undefined): SenseData | undefined {
  if (!b || b.length < 3) return undefined;
  const code = b[0]! & 0x7f;
  if (code === RESPONSE_CODE_CURRENT_DESCRIPTOR || code === RESPONSE_CODE_DEFERRED_DESCRIPTOR) return { key: b[1]! & 0x0f, asc: b[2] ?? 0, ascq: b[3] ?? 0 };
  const out: SenseData = { key: b[2]! & 0x0f, asc: b[12] ?? 0, ascq: b[13] ?? 0 };
  if (b[0]! & 0x80 && b.length >= 7) out.information = b.readUInt32BE(3);
  if (b.length >= 18 && b[15]! & 0x80) {
    out.sksv = { cd: (b[15]! & 0x40) !== 0, field: b.readUInt16BE(16) };
    if (b[15]! & 0x08) out.sksv.bit = b[15]! & 7;
  }
  return out;
}

/** "sense key 0x05 ASC/ASCQ 21/00", for logs and error messages. */
export function senseText(s: SenseCode | undefined): string {
  if (!s) return 'no sense data';
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `sense key 0x${h(s.key)} ASC/ASCQ ${h(s.asc)}/${h(s.ascq)}`;
}
