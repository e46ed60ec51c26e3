// Text keys (RFC 7143 6.1): key=value pairs, each ended by a NUL, carried in
// Login and Text PDUs. Parsing is strict about what the RFC forbids (empty
// keys, missing '=', over-long names and values) and says which pair failed.

/** Longest key name (RFC 7143 6.1). */
export const MAX_KEY_NAME = 63;
/** Longest value of most keys (RFC 7143 6.1: 255 bytes, more for a few keys). */
export const MAX_VALUE = 8192;

export type TextPair = [key: string, value: string];

export type ParseResult = { ok: true; pairs: TextPair[] } | { ok: false; error: string };

export function parseText(data: Buffer): ParseResult {
  const pairs: TextPair[] = [];
  let start = 0;
  // Trailing NULs (padding a peer may leave) end the list.
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  if (end === 0) return { ok: true, pairs };
  if (end === data.length) return { ok: false, error: 'the last key=value pair is not ended by a NUL' };
  while (start < end) {
    let nul = data.indexOf(0, start);
    if (nul < 0 || nul > end) nul = end;
    const s = data.toString('utf8', start, nul);
    start = nul + 1;
    if (s.length === 0) return { ok: false, error: 'an empty key=value pair' };
    const eq = s.indexOf('=');
    if (eq < 0) return { ok: false, error: `"${s.slice(0, 64)}" has no "="` };
    const key = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (key.length === 0) return { ok: false, error: 'an empty key name' };
    if (key.length > MAX_KEY_NAME) return { ok: false, error: `key name "${key.slice(0, 64)}..." is longer than ${MAX_KEY_NAME} bytes` };
    if (!/^[A-Za-z0-9.\-+@_#]+$/.test(key)) return { ok: false, error: `key name "${key.slice(0, 64)}" has characters outside the RFC's key alphabet` };
    if (Buffer.byteLength(value) > MAX_VALUE) return { ok: false, error: `the value of ${key} is longer than ${MAX_VALUE} bytes` };
    pairs.push([key, value]);
  }
  return { ok: true, pairs };
}

export function encodeText(pairs: readonly TextPair[]): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}
