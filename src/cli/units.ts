// Command-line arguments as users type them: sizes (512MiB, 10GiB, 1TiB, bytes),
// whole numbers (decimal or NEC-style hex such as 0001h), percentages and
// HOST:PORT listeners. A bad argument is a CliArgError: exit status 2 with an id.
// The size and number grammar itself is shared with the API (src/units.ts), so
// the CLI and the server accept exactly the same spellings.
import { isKuraError } from '../errors.js';
import type { ErrorDef } from '../errors.js';
import { EXPAND_ADD_OR_SIZE, NOT_A_PERCENTAGE, NOT_A_WHOLE_NUMBER, NOT_HOST_PORT, RAID_ARG_UNKNOWN } from '../catalogue/cli.js';
import { parseNumber, parseSize } from '../units.js';

export { hex4, humanSize, necCapacity, parseNumber, parseSize } from '../units.js';

/** A bad command-line argument: exit status 2, with the id and the action on stderr. */
export class CliArgError extends Error {
  constructor(
    readonly id: string,
    message: string,
    readonly action: string,
  ) {
    super(message);
    this.name = 'CliArgError';
  }
}

/** The catalogue's error `def` as a bad argument (calling the def itself gives a plain KuraError, exit status 1). */
export function argError<P>(def: ErrorDef<P>, p: P): CliArgError {
  const e = def(p);
  return new CliArgError(e.id, e.message, e.action);
}

/** Bytes from a size argument ("512MiB", "10GiB", "1TiB", "4096", "0x1000"). */
export function sizeArg(v: string, what: string): number {
  try {
    return parseSize(v, what);
  } catch (e) {
    if (isKuraError(e)) throw new CliArgError(e.id, e.message, e.action);
    throw e;
  }
}

/**
 * The body of pool expand and ld expand: --add SIZE (capacity to add) or
 * --size TOTAL (the capacity after), exactly one, sent as the API's explicit
 * add / total fields.
 */
export function expandBody(o: { add?: string; size?: string }, verb: string): { add: number } | { total: number } {
  if ((o.add === undefined) === (o.size === undefined)) {
    throw argError(EXPAND_ADD_OR_SIZE, { verb, notBoth: o.add !== undefined ? ', not both' : '' });
  }
  return o.add !== undefined ? { add: sizeArg(o.add, '--add') } : { total: sizeArg(o.size!, '--size') };
}

/** A whole number ≥ 0 given in decimal, NEC-style hex ("0001h") or 0x hex. */
export function intArg(v: string, what: string): number {
  const n = parseNumber(v, what, true);
  if (n === undefined || !Number.isSafeInteger(n)) {
    throw argError(NOT_A_WHOLE_NUMBER, { what, v });
  }
  return n;
}

/** A percentage from 0 to 100 ("80" or "80%"). */
export function percentArg(v: string, what: string): number {
  const n = intArg(v.trim().replace(/%$/, ''), what);
  if (n > 100) throw argError(NOT_A_PERCENTAGE, { what, n });
  return n;
}

/** HOST:PORT, with IPv6 hosts in brackets ("[::1]:9940"); port 0 picks a free port. */
export function hostPortArg(s: string, what: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw argError(NOT_HOST_PORT, { what, s });
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** RAID type as typed ("1", "10", "0", "raid10", "RAID1/10"), in the API's spelling. */
export function raidArg(v: string): 'RAID0' | 'RAID1' | 'RAID10' {
  const s = v.trim().toUpperCase().replace(/^RAID/, '');
  if (s === '0') return 'RAID0';
  if (s === '1') return 'RAID1';
  if (s === '10' || s === '1/10') return 'RAID10';
  throw argError(RAID_ARG_UNKNOWN, { v });
}
