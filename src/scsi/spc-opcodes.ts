// REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN / 0Ch, SPC-4 6.35), built
// from the same command table the dispatcher uses.
import { allocate, u16, u32 } from './cdb.js';
import type { CommandContext, CommandSpec } from './command.js';
import { good, invalidCdbField } from './sense.js';
import type { ScsiResponse } from './types.js';

export const RSOC_ALL = 0;
export const RSOC_OPCODE = 1;
export const RSOC_OPCODE_SA = 2;
export const RSOC_OPCODE_SA_IF_ANY = 3;

// SUPPORT field of the one-command format
const SUPPORT_NOT_SUPPORTED = 0x1;
const SUPPORT_STANDARD = 0x3;

/** Default RECOMMENDED COMMAND TIMEOUT in seconds. */
const DEFAULT_TIMEOUT = 30;

function timeoutsDescriptor(c: CommandSpec): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(0x0a, 0);
  b.writeUInt32BE(0, 4); // NOMINAL COMMAND PROCESSING TIMEOUT: not stated
  b.writeUInt32BE(c.timeout ?? DEFAULT_TIMEOUT, 8);
  return b;
}

function commandDescriptor(c: CommandSpec, rctd: boolean): Buffer {
  const b = Buffer.alloc(8);
  b[0] = c.opcode;
  b.writeUInt16BE(c.serviceAction ?? 0, 2);
  b[5] = (rctd ? 0x02 : 0) | (c.serviceAction !== undefined ? 0x01 : 0); // CTDP, SERVACTV
  b.writeUInt16BE(c.cdbLength, 6);
  return rctd ? Buffer.concat([b, timeoutsDescriptor(c)]) : b;
}

function oneCommand(c: CommandSpec | undefined, rctd: boolean): Buffer {
  if (!c) {
    const b = Buffer.alloc(4);
    b[1] = SUPPORT_NOT_SUPPORTED;
    return b;
  }
  const h = Buffer.alloc(4);
  h[1] = (rctd ? 0x80 : 0) | SUPPORT_STANDARD;
  h.writeUInt16BE(c.cdbLength, 2);
  const usage = Buffer.from(c.usage);
  return rctd ? Buffer.concat([h, usage, timeoutsDescriptor(c)]) : Buffer.concat([h, usage]);
}

export function reportSupportedOperationCodes(ctx: CommandContext, table: readonly CommandSpec[]): ScsiResponse {
  const cdb = ctx.cdb;
  const rctd = (cdb[2]! & 0x80) !== 0;
  const options = cdb[2]! & 0x07;
  const opcode = cdb[3]!;
  const sa = u16(cdb, 4);
  const alloc = u32(cdb, 6);
  const known = table.filter((c) => c.opcode === opcode);
  const hasServiceActions = known.some((c) => c.serviceAction !== undefined);
  let data: Buffer;
  switch (options) {
    case RSOC_ALL: {
      const sorted = [...table].sort((a, b) => a.opcode - b.opcode || (a.serviceAction ?? 0) - (b.serviceAction ?? 0));
      const body = Buffer.concat(sorted.map((c) => commandDescriptor(c, rctd)));
      data = Buffer.alloc(4 + body.length);
      data.writeUInt32BE(body.length, 0);
      body.copy(data, 4);
      break;
    }
    case RSOC_OPCODE:
      if (hasServiceActions) throw invalidCdbField(3);
      data = oneCommand(known[0], rctd);
      break;
    case RSOC_OPCODE_SA:
      if (known.length > 0 && !hasServiceActions) throw invalidCdbField(3);
      data = oneCommand(
        known.find((c) => c.serviceAction === sa),
        rctd,
      );
      break;
    case RSOC_OPCODE_SA_IF_ANY:
      data = oneCommand(hasServiceActions ? known.find((c) => c.serviceAction === sa) : known[0], rctd);
      break;
    default:
      throw invalidCdbField(2, 2);
  }
  return good(allocate(data, alloc));
}
