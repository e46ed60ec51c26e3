// The one naming rule of the array: pools, LDs, snapshots, clones and hosts are
// named by it, and every API path that names an object holds such a name (or a
// number, or an iSCSI name). A name is also a path segment of the REST API, so
// "." and ".." are never names: a client's URL library (fetch, curl) resolves
// them, and /lds/v/snapshots/.. would reach /lds/v. The server, the CLI and the
// array all check through this module so the rule cannot drift between them.
// Imports only errors.ts and the catalogue, so every layer may use it.
import type { ErrorDef, KuraError } from './errors.js';
import { DOT_NAME, SLASH_IN_PATH_PARAMETER } from './catalogue/manager.js';

/** Letters, digits and "_", ".", ":", "-" (no "/", no spaces, nothing a shell or a URL treats specially). */
const NAME_CHARS = /^[A-Za-z0-9_.:-]+$/;
/** Pools, LDs, snapshots and clones: 32 characters (LD names are NBD export names too). */
export const NAME_MAX = 32;
/** Host entries keep their longer limit. */
export const HOST_NAME_MAX = 64;
/** RFC 7143 section 4.2.7.1: an iSCSI name is at most 223 bytes. */
const ISCSI_NAME_MAX = 223;

/** The id of a "." or ".." given as a name or as a path parameter: the server and the CLI both use it. */
export const DOT_NAME_ID = DOT_NAME.id;

export function isDotSegment(s: string): boolean {
  return s === '.' || s === '..';
}

/** A number in any spelling a reference accepts (12, 000ch, 0x0c): such a name could not be told from a number. */
export function looksLikeNumber(s: string): boolean {
  return /^[0-9]+$/.test(s) || /^[0-9a-fA-F]+h$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s);
}

/** The error for "." or ".." where a name is expected (`what` says where: "LD name", "path parameter {snap}"). */
export function dotNameError(what: string, value: string): KuraError {
  return DOT_NAME({ what, value: JSON.stringify(value) });
}

/**
 * Why `name` is not a valid object name, or undefined when it is. The reason
 * completes "... is not valid: <reason>".
 */
export function nameProblem(name: unknown, max = NAME_MAX): string | undefined {
  if (typeof name !== 'string') return 'it is not a string';
  if (name.length === 0) return 'it is empty';
  if (name.length > max) return `it is longer than ${max} characters`;
  if (!NAME_CHARS.test(name)) return 'it holds a character other than letters, digits, "_", ".", ":" or "-"';
  if (looksLikeNumber(name)) return 'it is a number, and numbers refer to objects by number';
  return undefined;
}

/** What a name error of the catalogue says (src/catalogue/array.ts NAME_INVALID and its siblings). */
export interface NameProblem {
  kind: string;
  name: string;
  why: string;
  max: number;
}

/**
 * Checks an object name against the rule: "." and ".." are refused with
 * DOT_NAME_ID, anything else invalid with `invalid` (the kind's own error, whose
 * id is stable for scripts). Returns the name.
 */
export function checkName(kind: string, name: unknown, invalid: ErrorDef<NameProblem>, max = NAME_MAX): string {
  if (typeof name === 'string' && isDotSegment(name)) throw dotNameError(`${kind} name`, name);
  const why = nameProblem(name, max);
  if (why !== undefined) {
    throw invalid({ kind, name: String(JSON.stringify(name)?.slice(0, 80)), why, max });
  }
  return name as string;
}

/**
 * Why `s` is not an iSCSI name (RFC 7143 4.2.7: iqn.YYYY-MM.reversed.domain[:anything],
 * eui. with 16 hex digits, naa. with 16 or 32), or undefined. The characters
 * after "iqn." are those the RFC's stringprep profile leaves in ASCII names
 * (letters, digits, ".", "-", ":") plus "_", which some initiators use; never
 * "/" or spaces, so an IQN is safe as a path segment.
 */
export function iscsiNameProblem(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'it is not a string';
  if (s.length > ISCSI_NAME_MAX) return `it is longer than ${ISCSI_NAME_MAX} bytes`;
  if (/^iqn\.\d{4}-\d{2}\.[A-Za-z0-9_.:-]+$/.test(s)) return undefined;
  if (/^eui\.[0-9A-Fa-f]{16}$/.test(s)) return undefined;
  if (/^naa\.([0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})$/.test(s)) return undefined;
  return 'it is not iqn.YYYY-MM.domain[:name] (letters, digits, ".", "-", ":", "_"), eui. with 16 hex digits or naa. with 16 or 32';
}

/**
 * Why a decoded path parameter can never name anything, or undefined. Dot
 * segments and "/" are refused before any handler runs: no object has such a
 * name, and a client that sent one had its URL mangled or is probing.
 */
export function pathParamProblem(value: string): 'dot' | 'slash' | undefined {
  if (isDotSegment(value)) return 'dot';
  if (value.includes('/') || value.includes('\\')) return 'slash';
  return undefined;
}

/** The error for a path parameter pathParamProblem() refused. */
export function pathParamError(param: string, value: string): KuraError {
  if (isDotSegment(value)) return dotNameError(`path parameter {${param}}`, value);
  return SLASH_IN_PATH_PARAMETER({ param, value: JSON.stringify(value).slice(0, 80) });
}
