// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 13.1), in
// slice-by-8 form: eight 256-entry tables let the loop fold eight bytes per
// step instead of one, which is what makes digests affordable in JavaScript.
// The digest travels least significant byte first (RFC 7143 B.4 vectors).

/** The reflected Castagnoli polynomial 0x1EDC6F41. */
const POLY = 0x82f63b78;

const T = buildTables();

function buildTables(): Uint32Array[] {
  const t: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  t.push(t0);
  for (let n = 1; n < 8; n++) {
    const prev = t[n - 1]!;
    const tn = new Uint32Array(256);
    for (let i = 0; i < 256; i++) tn[i] = (prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!;
    t.push(tn);
  }
  return t;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = T as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/**
 * Continues a CRC32C over buf[start, end). Start with crc = 0 (the initial and
 * final inversions are applied here, so calls chain: crc32c(b, crc32c(a)) is
 * the CRC of a followed by b).
 */
export function crc32c(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc >>> 0;
  let i = start;
  // Align nothing: byte loads are cheap; fold eight bytes per iteration.
  const stop8 = end - 8;
  while (i <= stop8) {
    const lo = (c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[buf[i + 4]!]! ^
      T2[buf[i + 5]!]! ^
      T1[buf[i + 6]!]! ^
      T0[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const ZERO_PAD = Buffer.alloc(4);

/** The data digest of a data segment: its bytes followed by its 0-3 zero pad bytes. */
export function dataDigest(data: Uint8Array, crc = 0): number {
  const c = crc32c(data, crc);
  const pad = (4 - (data.length & 3)) & 3;
  return pad ? crc32c(ZERO_PAD, c, 0, pad) : c;
}
