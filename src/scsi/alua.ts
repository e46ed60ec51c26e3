// Asymmetric logical unit access (SPC-4 5.15): implicit ALUA with one target
// port group per controller. The array says which state each group is in for an
// LU; this module reports it (REPORT TARGET PORT GROUPS) and refuses the commands
// a port in that state may not process (SPC-4 5.15.2.4).
import { allocate, u32 } from './cdb.js';
import type { CommandContext } from './command.js';
import { checkCondition, good, invalidCdbField } from './sense.js';
import { ALUA_REFUSAL, aluaStateCode } from './spec/alua.js';
import type { ScsiResponse, PortGroupState, TargetPortGroupInfo } from './types.js';

/**
 * Which ALUA states a command may be processed in:
 * 'any'     — every state (INQUIRY, REPORT LUNS, REPORT TARGET PORT GROUPS, REQUEST SENSE, ...);
 * 'standby' — active states and standby (MODE SENSE/SELECT, PERSISTENT RESERVE IN/OUT, ...);
 * 'active'  — active/optimized and active/non-optimized only (media access, TEST UNIT READY).
 */
export type AluaClass = 'any' | 'standby' | 'active';

/** The state of the group a target port belongs to; a port in no reported group is served as optimized. */
export function portState(groups: TargetPortGroupInfo[], tpg: number, relativeTargetPortId: number): PortGroupState {
  const g = groups.find((x) => x.id === tpg) ?? groups.find((x) => x.relativeTargetPortIds.includes(relativeTargetPortId));
  return g ? g.state : 'active/optimized';
}

/** Throws NOT READY with the state's ASC when a command of `cls` may not run in `state`. */
export function checkAluaAccess(state: PortGroupState, cls: AluaClass): void {
  if (cls === 'any') return;
  if (state === 'standby' && cls === 'standby') return;
  const refusal = ALUA_REFUSAL[state];
  if (refusal) throw checkCondition(refusal);
}

/** Supported states we advertise: T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP (SPC-4 6.37). */
const SUPPORTED_STATES = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;
/** IMPLICIT TRANSITION TIME in seconds, for the extended header. */
const IMPLICIT_TRANSITION_TIME = 10;

/** REPORT TARGET PORT GROUPS (MAINTENANCE IN / 0Ah). */
export function reportTargetPortGroups(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  const format = cdb[1]! >> 5;
  if (format !== 0 && format !== 1) throw invalidCdbField(1, 7);
  const alloc = u32(cdb, 6);
  const groups = ctx.lu.source.portGroups();
  const header = format === 1 ? 8 : 4;
  const size = header + groups.reduce((n, g) => n + 8 + 4 * g.relativeTargetPortIds.length, 0);
  const b = Buffer.alloc(size);
  b.writeUInt32BE(size - 4, 0);
  if (format === 1) {
    b[4] = 0x10; // FORMAT TYPE 001b: extended header
    b[5] = IMPLICIT_TRANSITION_TIME;
  }
  let o = header;
  for (const g of groups) {
    b[o] = aluaStateCode(g.state) & 0x0f;
    b[o + 1] = SUPPORTED_STATES;
    b.writeUInt16BE(g.id & 0xffff, o + 2);
    b[o + 7] = g.relativeTargetPortIds.length & 0xff;
    o += 8;
    for (const p of g.relativeTargetPortIds) {
      b.writeUInt16BE(p & 0xffff, o + 2);
      o += 4;
    }
  }
  return good(allocate(b, alloc));
}
