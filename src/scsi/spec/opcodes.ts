// Operation codes and service actions (SPC-4, SBC-3/4), named as T10 names them.
// One table for both sides: the target dispatches on them, the CDB builders
// (cdb.ts) write them.

// ---- SPC-4 ----
export const TEST_UNIT_READY = 0x00;
export const REQUEST_SENSE = 0x03;
export const INQUIRY = 0x12;
export const MODE_SELECT_6 = 0x15;
export const RESERVE_6 = 0x16;
export const RELEASE_6 = 0x17;
export const MODE_SENSE_6 = 0x1a;
export const START_STOP_UNIT = 0x1b;
export const PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
export const MODE_SELECT_10 = 0x55;
export const RESERVE_10 = 0x56;
export const RELEASE_10 = 0x57;
export const MODE_SENSE_10 = 0x5a;
export const PERSISTENT_RESERVE_IN = 0x5e;
export const PERSISTENT_RESERVE_OUT = 0x5f;
export const EXTENDED_COPY = 0x83;
export const RECEIVE_COPY_RESULTS = 0x84;
export const REPORT_LUNS = 0xa0;
export const MAINTENANCE_IN = 0xa3;

// MAINTENANCE IN service actions
export const MI_REPORT_TARGET_PORT_GROUPS = 0x0a;
export const MI_REPORT_SUPPORTED_OPERATION_CODES = 0x0c;
export const MI_REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS = 0x0d;

// EXTENDED COPY service action 00h: the LID1 parameter list format.
export const XCOPY_LID1 = 0x00;
// RECEIVE COPY RESULTS service actions (LID1)
export const RCR_COPY_STATUS = 0x00;
export const RCR_OPERATING_PARAMETERS = 0x03;
export const RCR_FAILED_SEGMENT_DETAILS = 0x04;

// ---- SBC-3 ----
export const READ_6 = 0x08;
export const WRITE_6 = 0x0a;
export const READ_CAPACITY_10 = 0x25;
export const READ_10 = 0x28;
export const WRITE_10 = 0x2a;
export const WRITE_AND_VERIFY_10 = 0x2e;
export const VERIFY_10 = 0x2f;
export const PRE_FETCH_10 = 0x34;
export const SYNCHRONIZE_CACHE_10 = 0x35;
export const READ_DEFECT_DATA_10 = 0x37;
export const WRITE_SAME_10 = 0x41;
export const UNMAP = 0x42;
export const READ_16 = 0x88;
export const COMPARE_AND_WRITE = 0x89;
export const WRITE_16 = 0x8a;
export const ORWRITE_16 = 0x8b;
export const WRITE_AND_VERIFY_16 = 0x8e;
export const VERIFY_16 = 0x8f;
export const PRE_FETCH_16 = 0x90;
export const SYNCHRONIZE_CACHE_16 = 0x91;
export const WRITE_SAME_16 = 0x93;
/** SBC-4 5.48. */
export const WRITE_ATOMIC_16 = 0x9c;
export const SERVICE_ACTION_IN_16 = 0x9e;
export const READ_12 = 0xa8;
export const WRITE_12 = 0xaa;
export const WRITE_AND_VERIFY_12 = 0xae;
export const VERIFY_12 = 0xaf;
export const READ_DEFECT_DATA_12 = 0xb7;

// SERVICE ACTION IN(16) service actions
export const SAI_READ_CAPACITY_16 = 0x10;
export const SAI_GET_LBA_STATUS = 0x12;

// Byte 1 flags of the READ/WRITE/VERIFY families (SBC-3 5.x)
export const CDB_FUA = 0x08;
export const CDB_DPO = 0x10;
// WRITE SAME byte 1
export const WRITE_SAME_UNMAP = 0x08;
export const WRITE_SAME_NDOB = 0x01;
