// What the dispatcher knows about each command it supports: one descriptor per
// operation code (and service action), from which dispatch, the reservation and
// ALUA checks, unit-attention handling and REPORT SUPPORTED OPERATION CODES are
// all derived.
import type { AluaClass } from './alua.js';
import type { LogicalUnit } from './logical-unit.js';
import type { ItNexus, ScsiCommand, ScsiResponse } from './types.js';

/**
 * How a command fares against a persistent reservation held by another I_T nexus
 * (SPC-4 table 63, SBC-3 table 13):
 * 'allowed' — never conflicts;
 * 'read'    — conflicts under Exclusive Access types unless registered for a registrants type;
 * 'write'   — conflicts under every type unless registered for a registrants type;
 * 'pr-out'  — PERSISTENT RESERVE OUT decides for itself, service action by service action.
 */
export type PrClass = 'allowed' | 'read' | 'write' | 'pr-out';

export interface CommandContext {
  lu: LogicalUnit;
  cmd: ScsiCommand;
  /** The CDB, zero-padded to at least 16 bytes. */
  cdb: Buffer;
  nexus: ItNexus;
  /** nexusKey(nexus). */
  key: string;
  /** The LUs this nexus may address (EXTENDED COPY may only copy between them). */
  peers?: () => LogicalUnit[];
}

export interface CommandSpec {
  name: string;
  opcode: number;
  /** Present for commands identified by operation code and service action. */
  serviceAction?: number;
  cdbLength: number;
  /** CDB USAGE DATA for REPORT SUPPORTED OPERATION CODES: the bits the device server looks at. */
  usage: number[];
  /** INQUIRY, REPORT LUNS and REQUEST SENSE neither report nor clear unit attentions. */
  noUnitAttention?: boolean;
  alua: AluaClass;
  pr: PrClass;
  /** Allowed from other I_T nexuses while another holds a RESERVE(6)/(10) reservation. */
  spc2Allowed?: boolean;
  /** RECOMMENDED COMMAND TIMEOUT in seconds. */
  timeout?: number;
  /** Bytes of Data-Out the CDB describes, for commands that carry Data-Out. */
  dataOutLength?(cdb: Buffer, blockSize: number): number;
  handler(ctx: CommandContext): Promise<ScsiResponse> | ScsiResponse;
}
