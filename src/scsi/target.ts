// The SCSI target device as the transport sees it (SAM-5 4.5): routes each
// command to the logical unit its LUN names, answers for LUNs that have none,
// and carries out task management functions and I_T nexus events.
import { padCdb } from './cdb.js';
import type { LogicalUnit } from './logical-unit.js';
import { ScsiError, checkCondition } from './sense.js';
import { INQUIRY, REPORT_LUNS, REQUEST_SENSE } from './spec/opcodes.js';
import {
  BUS_DEVICE_RESET_FUNCTION_OCCURRED,
  INTERNAL_TARGET_FAILURE,
  LOGICAL_UNIT_NOT_SUPPORTED,
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED,
  REPORTED_LUNS_DATA_HAS_CHANGED,
} from './spec/sense.js';
import { reportLuns, requestSenseNoLun } from './spc-basic.js';
import { inquiryNoLun } from './spc-inquiry.js';
import type { ItNexus, ScsiCommand, ScsiResponse } from './types.js';
import { nexusKey } from './unit-attention.js';

export interface LunResolver {
  /** LUNs visible to this nexus (REPORT LUNS), ascending. */
  luns(nexus: ItNexus): number[];
  lookup(nexus: ItNexus, lun: number): LogicalUnit | undefined;
}

export type TaskManagementFunction = 'lun-reset' | 'target-warm-reset' | 'target-cold-reset' | 'clear-task-set' | 'abort-task-set' | 'nexus-loss';

// Task management response codes, numbered as iSCSI carries them (RFC 7143 11.6.1).
export const TMF_FUNCTION_COMPLETE = 0;
export const TMF_TASK_DOES_NOT_EXIST = 1;
export const TMF_LUN_DOES_NOT_EXIST = 2;
export const TMF_FUNCTION_NOT_SUPPORTED = 5;
export const TMF_FUNCTION_REJECTED = 255;

export class ScsiTarget {
  /** Every LU a command has reached, so that target-wide events can find them; weakly held. */
  private readonly lus = new Map<string, WeakRef<LogicalUnit>>();

  constructor(private readonly resolver: LunResolver) {}

  private remember(lu: LogicalUnit): void {
    const ref = this.lus.get(lu.luId);
    if (ref?.deref() !== lu) this.lus.set(lu.luId, new WeakRef(lu));
  }

  private known(): LogicalUnit[] {
    const out: LogicalUnit[] = [];
    for (const [id, ref] of this.lus) {
      const lu = ref.deref();
      if (lu) out.push(lu);
      else this.lus.delete(id);
    }
    return out;
  }

  /** The LUs of the nexus together with every other LU the target has served. */
  private reachable(nexus: ItNexus): LogicalUnit[] {
    for (const lun of this.resolver.luns(nexus)) {
      const lu = this.resolver.lookup(nexus, lun);
      if (lu) this.remember(lu);
    }
    return this.known();
  }

  /** Executes one command. Never throws: every failure is a status with sense data. */
  async execute(cmd: ScsiCommand): Promise<ScsiResponse> {
    try {
      const opcode = cmd.cdb[0];
      if (opcode === REPORT_LUNS) {
        const luns = this.resolver.luns(cmd.nexus);
        const res = reportLuns(padCdb(cmd.cdb), luns);
        // REPORT LUNS is what clears REPORTED LUNS DATA HAS CHANGED (SPC-4 6.33).
        const key = nexusKey(cmd.nexus);
        for (const lun of luns) this.resolver.lookup(cmd.nexus, lun)?.ua.clear(key, REPORTED_LUNS_DATA_HAS_CHANGED);
        return res;
      }
      const lu = this.resolver.lookup(cmd.nexus, cmd.lun);
      if (!lu) {
        if (opcode === INQUIRY) return inquiryNoLun(padCdb(cmd.cdb));
        if (opcode === REQUEST_SENSE) return requestSenseNoLun(padCdb(cmd.cdb));
        return checkCondition(LOGICAL_UNIT_NOT_SUPPORTED).response();
      }
      this.remember(lu);
      const peers = (): LogicalUnit[] => {
        const out: LogicalUnit[] = [];
        for (const lun of this.resolver.luns(cmd.nexus)) {
          const p = this.resolver.lookup(cmd.nexus, lun);
          if (p) out.push(p);
        }
        return out;
      };
      return await lu.execute(cmd, peers);
    } catch (e) {
      if (e instanceof ScsiError) return e.response();
      return checkCondition(INTERNAL_TARGET_FAILURE).response();
    }
  }

  /**
   * Task management (SAM-5 7): LOGICAL UNIT RESET and the target resets release
   * RESERVE(6) reservations and establish reset unit attentions for every nexus;
   * persistent reservations survive them all. Aborting tasks is the transport's
   * part: no task waits in a queue here. Returns a TMF response code.
   */
  taskManagement(nexus: ItNexus, fn: TaskManagementFunction, lun?: number): number {
    try {
      switch (fn) {
        case 'lun-reset': {
          const lu = lun === undefined ? undefined : this.resolver.lookup(nexus, lun);
          if (!lu) return TMF_LUN_DOES_NOT_EXIST;
          this.remember(lu);
          lu.reset(BUS_DEVICE_RESET_FUNCTION_OCCURRED);
          return TMF_FUNCTION_COMPLETE;
        }
        case 'target-warm-reset':
          for (const lu of this.reachable(nexus)) lu.reset(POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
          return TMF_FUNCTION_COMPLETE;
        case 'target-cold-reset':
          // A cold reset is a power-on: mode parameters go back to their defaults too.
          for (const lu of this.reachable(nexus)) lu.reset(POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED, true);
          return TMF_FUNCTION_COMPLETE;
        case 'clear-task-set':
        case 'abort-task-set': {
          if (lun !== undefined && !this.resolver.lookup(nexus, lun)) return TMF_LUN_DOES_NOT_EXIST;
          return TMF_FUNCTION_COMPLETE;
        }
        case 'nexus-loss': {
          const key = nexusKey(nexus);
          for (const lu of this.reachable(nexus)) lu.forgetNexus(key);
          return TMF_FUNCTION_COMPLETE;
        }
        default:
          return TMF_FUNCTION_NOT_SUPPORTED;
      }
    } catch {
      return TMF_FUNCTION_REJECTED;
    }
  }

  /** A new I_T nexus (a new session): every LU owes it POWER ON, RESET OR BUS DEVICE RESET OCCURRED once. */
  nexusCreated(nexus: ItNexus): void {
    const key = nexusKey(nexus);
    for (const lu of this.reachable(nexus)) lu.forgetNexus(key);
  }
}
