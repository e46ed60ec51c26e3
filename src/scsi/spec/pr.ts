// Persistent reservations vocabulary (SPC-4 5.12, 6.15, 6.16): service actions,
// reservation types and their names, the basic PERSISTENT RESERVE OUT
// parameter list, and parsers of the READ KEYS and READ RESERVATION answers.

// PERSISTENT RESERVE IN service actions
export const PRIN_READ_KEYS = 0x00;
export const PRIN_READ_RESERVATION = 0x01;
export const PRIN_REPORT_CAPABILITIES = 0x02;
export const PRIN_READ_FULL_STATUS = 0x03;

// PERSISTENT RESERVE OUT service actions
export const PROUT_REGISTER = 0x00;
export const PROUT_RESERVE = 0x01;
export const PROUT_RELEASE = 0x02;
export const PROUT_CLEAR = 0x03;
export const PROUT_PREEMPT = 0x04;
export const PROUT_PREEMPT_AND_ABORT = 0x05;
export const PROUT_REGISTER_AND_IGNORE_EXISTING_KEY = 0x06;
export const PROUT_REGISTER_AND_MOVE = 0x07;

// Persistent reservation types (SPC-4 table 170)
export const PR_TYPE_WRITE_EXCLUSIVE = 0x1;
export const PR_TYPE_EXCLUSIVE_ACCESS = 0x3;
export const PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 0x5;
export const PR_TYPE_EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 0x6;
export const PR_TYPE_WRITE_EXCLUSIVE_ALL_REGISTRANTS = 0x7;
export const PR_TYPE_EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 0x8;
export const PR_SCOPE_LU = 0x0;

/** The reservation types by the names operators use (kura path persist --type). */
export const PR_TYPES: Readonly<Record<string, number>> = {
  'write-exclusive': PR_TYPE_WRITE_EXCLUSIVE,
  'exclusive-access': PR_TYPE_EXCLUSIVE_ACCESS,
  'write-exclusive-registrants-only': PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
  'exclusive-access-registrants-only': PR_TYPE_EXCLUSIVE_ACCESS_REGISTRANTS_ONLY,
  'write-exclusive-all-registrants': PR_TYPE_WRITE_EXCLUSIVE_ALL_REGISTRANTS,
  'exclusive-access-all-registrants': PR_TYPE_EXCLUSIVE_ACCESS_ALL_REGISTRANTS,
};

export function prTypeName(t: number): string {
  return Object.entries(PR_TYPES).find(([, v]) => v === t)?.[0] ?? `type ${t}`;
}

/** Length of the basic PERSISTENT RESERVE OUT parameter list. */
export const PROUT_BASIC_LENGTH = 24;

/** The basic PERSISTENT RESERVE OUT parameter list: RESERVATION KEY, SERVICE ACTION RESERVATION KEY, flags. */
export function prOutParams(key: bigint, saKey: bigint, flags: { aptpl?: boolean; allTgPt?: boolean; specIpt?: boolean } = {}): Buffer {
  const b = Buffer.alloc(PROUT_BASIC_LENGTH);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(saKey, 8);
  b[20] = (flags.specIpt ? 0x08 : 0) | (flags.allTgPt ? 0x04 : 0) | (flags.aptpl ? 0x01 : 0);
  return b;
}

/** READ KEYS: the generation and the registered keys as 0x-hex. */
export function parseReadKeys(d: Buffer): { generation: number; keys: string[] } {
  if (d.length < 8) return { generation: 0, keys: [] };
  const len = Math.min(d.readUInt32BE(4), d.length - 8);
  const keys: string[] = [];
  for (let off = 8; off + 8 <= 8 + len; off += 8) keys.push(`0x${d.readBigUInt64BE(off).toString(16)}`);
  return { generation: d.readUInt32BE(0), keys };
}

/** READ RESERVATION: the generation and the reservation, if there is one. */
export function parseReadReservation(d: Buffer): { generation: number; reservation?: { key: string; type: string } } {
  if (d.length < 8) return { generation: 0 };
  const generation = d.readUInt32BE(0);
  if (d.readUInt32BE(4) < 16 || d.length < 24) return { generation };
  return { generation, reservation: { key: `0x${d.readBigUInt64BE(8).toString(16)}`, type: prTypeName(d[21]! & 0x0f) } };
}
