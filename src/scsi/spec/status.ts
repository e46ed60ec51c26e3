// SAM-5 status codes (SAM-5 5.3.1), named as T10 names them.

export const GOOD = 0x00;
export const CHECK_CONDITION = 0x02;
export const CONDITION_MET = 0x04;
export const BUSY = 0x08;
export const RESERVATION_CONFLICT = 0x18;
export const TASK_SET_FULL = 0x28;
export const ACA_ACTIVE = 0x30;
export const TASK_ABORTED = 0x40;
