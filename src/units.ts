// Parsing and printing of sizes and numbers as users type them: 512MiB, 10GiB,
// 1TiB, plain bytes, and NEC-style hexadecimal numbers such as 0001h.
import { KuraError } from './errors.js';
import { NOT_A_NUMBER, NOT_A_SIZE } from './catalogue/cli.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
  p: 2 ** 50,
  pib: 2 ** 50,
};

/** Bytes from "512MiB", "10GiB", "1.5TiB", "4096" (units are binary; KB/MB/GB are read as KiB/MiB/GiB, as the seed's displays do). */
export function parseSize(input: string | number, what = 'size'): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw badSize(String(input), what);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) {
    const hex = parseNumber(input, what, true);
    if (hex !== undefined) return hex;
    throw badSize(input, what);
  }
  const mult = UNITS[m[2]!.toLowerCase()];
  if (mult === undefined) {
    const hex = parseNumber(input, what, true);
    if (hex !== undefined) return hex;
    throw badSize(input, what);
  }
  const v = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(v)) throw badSize(input, what);
  return v;
}

function badSize(input: string, what: string): KuraError {
  return NOT_A_SIZE({ what, input });
}

/** A whole number, decimal or NEC-style hex ("0001h"); undefined when `soft` and it is not one. */
export function parseNumber(input: string | number, what: string, soft = false): number | undefined {
  if (typeof input === 'number' && Number.isSafeInteger(input) && input >= 0) return input;
  const s = String(input).trim();
  if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  // Lower-case h only, as the array reads references (a name like "BEEFH" stays a name).
  const hex = /^([0-9a-fA-F]+)h$/.exec(s) ?? /^0x([0-9a-fA-F]+)$/.exec(s);
  if (hex && hex[1]!.length <= 13) return parseInt(hex[1]!, 16);
  if (soft) return undefined;
  throw NOT_A_NUMBER({ what, input });
}

/** "1.0GB(1,073,741,824Bytes)" as the seed's iSMview prints capacities. */
export function necCapacity(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)}GB(${bytes.toLocaleString('en-US')}Bytes)`;
}

/** Short human form: 1.5 GiB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
