// Asymmetric logical unit access (SPC-4 5.15): the states a target port group
// can be in, their codes in REPORT TARGET PORT GROUPS (SPC-4 6.37), the sense a
// port gives a command its state refuses, and the parser of the RTPG answer.
import {
  LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION,
  LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE,
  LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE,
  isSense,
} from './sense.js';
import type { SenseCode } from './sense.js';

export type AluaState = 'active/optimized' | 'active/non-optimized' | 'standby' | 'unavailable' | 'offline' | 'transitioning';

// ASYMMETRIC ACCESS STATE codes (SPC-4 table 163)
export const ALUA_ACTIVE_OPTIMIZED = 0x0;
export const ALUA_ACTIVE_NON_OPTIMIZED = 0x1;
export const ALUA_STANDBY = 0x2;
export const ALUA_UNAVAILABLE = 0x3;
export const ALUA_OFFLINE = 0xe;
export const ALUA_TRANSITIONING = 0xf;

const CODES: Record<AluaState, number> = {
  'active/optimized': ALUA_ACTIVE_OPTIMIZED,
  'active/non-optimized': ALUA_ACTIVE_NON_OPTIMIZED,
  standby: ALUA_STANDBY,
  unavailable: ALUA_UNAVAILABLE,
  offline: ALUA_OFFLINE,
  transitioning: ALUA_TRANSITIONING,
};

export function aluaStateCode(s: AluaState): number {
  return CODES[s];
}

/** The state an ASYMMETRIC ACCESS STATE code stands for; undefined for a reserved or LBA-dependent code. */
export function aluaStateOfCode(code: number): AluaState | undefined {
  return (Object.keys(CODES) as AluaState[]).find((s) => CODES[s] === code);
}

/** The NOT READY sense a port in a non-active state gives media access commands (SPC-4 5.15.2.4). */
export const ALUA_REFUSAL: Readonly<Partial<Record<AluaState, SenseCode>>> = {
  standby: LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_STANDBY_STATE,
  unavailable: LUN_NOT_ACCESSIBLE_TARGET_PORT_IN_UNAVAILABLE_STATE,
  transitioning: LUN_NOT_ACCESSIBLE_ASYMMETRIC_ACCESS_STATE_TRANSITION,
};

/** The state a refusal reports (the reverse of ALUA_REFUSAL), or undefined when `s` is no ALUA refusal. */
export function aluaStateOfSense(s: SenseCode | undefined): AluaState | undefined {
  return (Object.keys(ALUA_REFUSAL) as AluaState[]).find((state) => isSense(s, ALUA_REFUSAL[state]!));
}

/** One target port group descriptor of REPORT TARGET PORT GROUPS. */
export interface TargetPortGroupDescriptor {
  id: number;
  /** undefined for a code this vocabulary does not name. */
  state: AluaState | undefined;
  relativeTargetPortIds: number[];
}

/** Parses REPORT TARGET PORT GROUPS parameter data, length-header format or extended header. */
export function parseTargetPortGroups(data: Buffer): TargetPortGroupDescriptor[] {
  if (data.length < 4) return [];
  const end = Math.min(data.length, 4 + data.readUInt32BE(0));
  const extended = data.length >= 8 && (data[4]! & 0x70) === 0x10;
  const out: TargetPortGroupDescriptor[] = [];
  for (let off = extended ? 8 : 4; off + 8 <= end;) {
    const count = data[off + 7]!;
    const ports: number[] = [];
    for (let i = 0; i < count && off + 8 + 4 * i + 4 <= end; i++) ports.push(data.readUInt16BE(off + 8 + 4 * i + 2));
    out.push({ id: data.readUInt16BE(off + 2), state: aluaStateOfCode(data[off]! & 0x0f), relativeTargetPortIds: ports });
    off += 8 + 4 * count;
  }
  return out;
}

/** The state of the group with id `tpg`, or of the group holding port `rtp`; undefined when neither is reported. */
export function aluaStateOf(data: Buffer, tpg: number | undefined, rtp: number | undefined): AluaState | undefined {
  const g = parseTargetPortGroups(data).find((x) => (tpg !== undefined && x.id === tpg) || (rtp !== undefined && x.relativeTargetPortIds.includes(rtp)));
  return g?.state;
}
