// What the route handlers share: reading path parameters, the expand bodies'
// growth rule, and sizes in event texts.
import { humanSize, parseNumber } from '../../units.js';
import { EXPAND_ADD_NOT_POSITIVE, EXPAND_FIELDS_TOGETHER, EXPAND_FIELD_MISSING, PARAMETER_NOT_NUMBER } from '../../catalogue/manager.js';

/** A pool or LD reference from a path: a number (decimal or NEC hex) or a name. */
export function ref(s: string): string | number {
  return parseNumber(s, 'reference', true) ?? s;
}

/** A path parameter that must be a number (a LUN): refused with an API id, not the CLI's. */
export function num(s: string, what: string): number {
  const n = parseNumber(s, what, true);
  if (n === undefined) throw PARAMETER_NOT_NUMBER({ what, value: JSON.stringify(s).slice(0, 60) });
  return n;
}

/**
 * The new capacity an expand body asks for. Exactly one of add (bytes to add)
 * and total (the new capacity) is given; the older field "size" keeps the
 * meaning it always had on that route (`legacy`: add on pools, total on LDs).
 * A total below the current capacity is left to the caller (an LD refuses to
 * shrink with its own id).
 */
export function growth(body: Record<string, unknown>, legacy: 'add' | 'total', current: number, what: string): number {
  const given = (['add', 'total', 'size'] as const).filter((k) => body[k] !== undefined);
  if (given.length !== 1) {
    throw given.length ? EXPAND_FIELDS_TOGETHER({ fields: given.join(', ') }) : EXPAND_FIELD_MISSING();
  }
  const k = given[0] === 'size' ? legacy : given[0]!;
  const v = body[given[0]!] as number;
  if (k === 'add') {
    if (v <= 0) throw EXPAND_ADD_NOT_POSITIVE({ what, field: given[0] });
    return current + v;
  }
  return v;
}

/** "4.0 GiB (4,294,967,296 bytes)" for event texts. */
export function bytesText(n: number): string {
  return `${humanSize(n)} (${n.toLocaleString('en-US')} bytes)`;
}
