// MODE SENSE / MODE SELECT (SPC-4 6.11-6.14, 7.5) with the pages a disk is asked
// for: Caching (08h, SBC-3 6.4.5), Control (0Ah, SPC-4 7.5.8) and Informational
// Exceptions Control (1Ch, SPC-4 7.5.11). Only WCE and SWP can be changed; a MODE SELECT
// that keeps every other bit as it is succeeds, one that changes any is refused.
import { allocate, u16 } from './cdb.js';
import type { CommandContext } from './command.js';
import { checkCondition, good, invalidCdbField, invalidParameterField, parameterListLengthError, senseForDeviceError } from './sense.js';
import { MODE_SELECT_10, MODE_SENSE_10 } from './spec/opcodes.js';
import { MODE_PARAMETERS_CHANGED, PARAMETER_NOT_SUPPORTED, SAVING_PARAMETERS_NOT_SUPPORTED } from './spec/sense.js';
import type { ScsiResponse } from './types.js';

export const MODE_PAGE_CACHING = 0x08;
export const MODE_PAGE_CONTROL = 0x0a;
export const MODE_PAGE_INFORMATIONAL_EXCEPTIONS = 0x1c;
export const MODE_PAGE_ALL = 0x3f;

// PAGE CONTROL field
export const PC_CURRENT = 0;
export const PC_CHANGEABLE = 1;
export const PC_DEFAULT = 2;
export const PC_SAVED = 3;

/** Device-specific parameter of a direct access device: WP and DPOFUA (SBC-3 6.4.1). */
const DSP_WP = 0x80;
const DSP_DPOFUA = 0x10;
const CACHING_WCE = 0x04;
const CONTROL_SWP = 0x08;

/** The mode parameters of one logical unit. */
export class ModeParameters {
  /** Write cache enabled: writes complete before they are durable unless FUA is set. */
  wce = true;
  /** Software write protect (Control page): every command that writes is refused. */
  swp = false;

  private caching(pc: number): Buffer {
    const b = Buffer.alloc(20);
    b[0] = MODE_PAGE_CACHING;
    b[1] = b.length - 2;
    if (pc === PC_CHANGEABLE) {
      b[2] = CACHING_WCE;
      return b;
    }
    const wce = pc === PC_DEFAULT ? true : this.wce;
    b[2] = wce ? CACHING_WCE : 0;
    return b;
  }

  private control(pc: number): Buffer {
    const b = Buffer.alloc(12);
    b[0] = MODE_PAGE_CONTROL;
    b[1] = b.length - 2;
    if (pc === PC_CHANGEABLE) {
      b[4] = CONTROL_SWP;
      return b;
    }
    b[2] = 0x00; // TST 000b (one task set), D_SENSE 0: fixed format sense data
    b[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering; QERR 00b
    b[4] = pc === PC_CURRENT && this.swp ? CONTROL_SWP : 0x00; // UA_INTLCK_CTRL 00b
    b[5] = 0x00; // TAS 0
    b.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
    return b;
  }

  private informationalExceptions(pc: number): Buffer {
    const b = Buffer.alloc(12);
    b[0] = MODE_PAGE_INFORMATIONAL_EXCEPTIONS;
    b[1] = b.length - 2;
    if (pc === PC_CHANGEABLE) return b;
    b[2] = 0x08; // DEXCPT: informational exception reporting disabled
    return b;
  }

  page(code: number, pc: number): Buffer | undefined {
    switch (code) {
      case MODE_PAGE_CACHING:
        return this.caching(pc);
      case MODE_PAGE_CONTROL:
        return this.control(pc);
      case MODE_PAGE_INFORMATIONAL_EXCEPTIONS:
        return this.informationalExceptions(pc);
      default:
        return undefined;
    }
  }

  pages(code: number, pc: number): Buffer | undefined {
    if (code === MODE_PAGE_ALL) {
      return Buffer.concat([MODE_PAGE_CACHING, MODE_PAGE_CONTROL, MODE_PAGE_INFORMATIONAL_EXCEPTIONS].map((c) => this.page(c, pc)!));
    }
    return this.page(code, pc);
  }

  /** Applies a page whose every changed bit is changeable; returns whether anything changed. */
  apply(code: number, data: Buffer): boolean {
    if (code === MODE_PAGE_CACHING) {
      const wce = (data[2]! & CACHING_WCE) !== 0;
      const changed = wce !== this.wce;
      this.wce = wce;
      return changed;
    }
    if (code === MODE_PAGE_CONTROL) {
      const swp = (data[4]! & CONTROL_SWP) !== 0;
      const changed = swp !== this.swp;
      this.swp = swp;
      return changed;
    }
    return false;
  }
}

function blockDescriptor(ctx: CommandContext, long: boolean, pc: number): Buffer {
  const dev = ctx.lu.device;
  const b = Buffer.alloc(long ? 16 : 8);
  if (pc === PC_CHANGEABLE) return b;
  if (long) {
    b.writeBigUInt64BE(BigInt(dev.blockCount), 0);
    b.writeUInt32BE(dev.blockSize, 12);
  } else {
    b.writeUInt32BE(Math.min(dev.blockCount, 0xffffffff), 0);
    b.writeUIntBE(dev.blockSize, 5, 3);
  }
  return b;
}

/** MODE SENSE(6) and MODE SENSE(10). */
export function modeSense(ctx: CommandContext): ScsiResponse {
  const cdb = ctx.cdb;
  const ten = cdb[0] === MODE_SENSE_10;
  const dbd = (cdb[1]! & 0x08) !== 0;
  const llbaa = ten && (cdb[1]! & 0x10) !== 0;
  const pc = cdb[2]! >> 6;
  const code = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  const alloc = ten ? u16(cdb, 7) : cdb[4]!;
  if (pc === PC_SAVED) throw checkCondition(SAVING_PARAMETERS_NOT_SUPPORTED, { field: { cdb: true, byte: 2, bit: 7 } });
  // We have no subpages: subpage 00h is the page, FFh the page with all (none of) its subpages.
  if (subpage !== 0 && subpage !== 0xff) throw invalidCdbField(3);
  const pages = ctx.lu.mode.pages(code, pc);
  if (!pages) throw invalidCdbField(2, 5);
  const bd = dbd ? Buffer.alloc(0) : blockDescriptor(ctx, llbaa, pc);
  const dsp = (ctx.lu.device.readOnly || ctx.lu.mode.swp ? DSP_WP : 0) | DSP_DPOFUA;
  let header: Buffer;
  if (ten) {
    header = Buffer.alloc(8);
    header.writeUInt16BE(8 + bd.length + pages.length - 2, 0);
    header[3] = dsp;
    header[4] = llbaa && !dbd ? 0x01 : 0; // LONGLBA
    header.writeUInt16BE(bd.length, 6);
  } else {
    header = Buffer.alloc(4);
    header[0] = 4 + bd.length + pages.length - 1;
    header[2] = dsp;
    header[3] = bd.length;
  }
  return good(allocate(Buffer.concat([header, bd, pages]), alloc));
}

/** MODE SELECT(6) and MODE SELECT(10). */
export async function modeSelect(ctx: CommandContext): Promise<ScsiResponse> {
  const cdb = ctx.cdb;
  const ten = cdb[0] === MODE_SELECT_10;
  if (cdb[1]! & 0x01) throw invalidCdbField(1, 0); // SP: we cannot save parameters
  const length = ten ? u16(cdb, 7) : cdb[4]!;
  if (length === 0) return good();
  const data = ctx.cmd.dataOut ?? Buffer.alloc(0);
  if (data.length < length) throw parameterListLengthError();
  const p = data.subarray(0, length);
  const headerLen = ten ? 8 : 4;
  if (p.length < headerLen) throw parameterListLengthError();
  const bdLen = ten ? u16(p, 6) : p[3]!;
  const long = ten && (p[4]! & 0x01) !== 0;
  const bdSize = long ? 16 : 8;
  if (bdLen % bdSize !== 0) throw invalidParameterField(ten ? 6 : 3);
  if (headerLen + bdLen > p.length) throw parameterListLengthError();
  const dev = ctx.lu.device;
  for (let o = headerLen; o < headerLen + bdLen; o += bdSize) {
    const blocks = long ? Number(p.readBigUInt64BE(o)) : p.readUInt32BE(o);
    const blockLength = long ? p.readUInt32BE(o + 12) : p.readUIntBE(o + 5, 3);
    const current = long ? dev.blockCount : Math.min(dev.blockCount, 0xffffffff);
    if (blocks !== 0 && blocks !== current) throw invalidParameterField(o);
    if (blockLength !== 0 && blockLength !== dev.blockSize) throw invalidParameterField(long ? o + 12 : o + 5);
  }
  // Check every page before applying any: a MODE SELECT either takes effect whole or not at all.
  const accepted: Array<{ code: number; data: Buffer }> = [];
  let o = headerLen + bdLen;
  while (o < p.length) {
    if (o + 2 > p.length) throw parameterListLengthError();
    if (p[o]! & 0x40) throw invalidParameterField(o, 6, PARAMETER_NOT_SUPPORTED); // SPF: no subpages here
    const code = p[o]! & 0x3f;
    const current = ctx.lu.mode.page(code, PC_CURRENT);
    if (!current) throw invalidParameterField(o, 5, PARAMETER_NOT_SUPPORTED);
    const pageLen = p[o + 1]! + 2;
    if (pageLen !== current.length) throw invalidParameterField(o + 1);
    if (o + pageLen > p.length) throw parameterListLengthError();
    const changeable = ctx.lu.mode.page(code, PC_CHANGEABLE)!;
    const page = p.subarray(o, o + pageLen);
    for (let i = 2; i < pageLen; i++) {
      const diff = (page[i]! ^ current[i]!) & ~changeable[i]!;
      if (diff) throw invalidParameterField(o + i, 31 - Math.clz32(diff));
    }
    accepted.push({ code, data: page });
    o += pageLen;
  }
  const mode = ctx.lu.mode;
  const wasProtected = mode.swp;
  let changed = false;
  for (const a of accepted) changed = mode.apply(a.code, a.data) || changed;
  if (changed) ctx.lu.ua.establishAll(MODE_PARAMETERS_CHANGED, ctx.key);
  // SWP takes effect after the cached writes are on the medium (SPC-4 7.5.8).
  if (mode.swp && !wasProtected) {
    try {
      await ctx.lu.device.flush();
    } catch (e) {
      throw senseForDeviceError(e, 'other');
    }
  }
  return good();
}
