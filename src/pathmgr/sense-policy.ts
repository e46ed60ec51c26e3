// What pathd makes of a unit attention: which ones may mean another logical
// unit now sits at the LUN (so the path's identity is checked before I/O goes
// on), and which ones mean the port states changed (so they are read again).
import {
  ASYMMETRIC_ACCESS_STATE_CHANGED,
  IMPLICIT_ASYMMETRIC_ACCESS_STATE_TRANSITION_FAILED,
  INQUIRY_DATA_HAS_CHANGED,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
  REPORTED_LUNS_DATA_HAS_CHANGED,
  UNIT_ATTENTION,
  isSense,
} from '../scsi/spec/sense.js';
import type { SenseCode } from '../scsi/spec/sense.js';

/** Power on or any reset (ASC 29h), REPORTED LUNS DATA HAS CHANGED, INQUIRY DATA HAS CHANGED. */
export function mayHaveChangedLu(s: SenseCode): boolean {
  if (s.key !== UNIT_ATTENTION) return false;
  return s.asc === POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED.asc || isSense(s, REPORTED_LUNS_DATA_HAS_CHANGED) || isSense(s, INQUIRY_DATA_HAS_CHANGED);
}

/** ASYMMETRIC ACCESS STATE CHANGED, or an implicit transition that failed. */
export function aluaChanged(s: SenseCode): boolean {
  return isSense(s, ASYMMETRIC_ACCESS_STATE_CHANGED) || isSense(s, IMPLICIT_ASYMMETRIC_ACCESS_STATE_TRANSITION_FAILED);
}
