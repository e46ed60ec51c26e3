// The SCSI commands pathd sends (CDB builders) and the answers it reads
// (sense, VPD 0x83 designators, REPORT TARGET PORT GROUPS, PR IN data).
// Field layouts are those of SPC-4/SBC-3.

export const GOOD = 0x00;
export const CHECK_CONDITION = 0x02;
export const BUSY = 0x08;
export const RESERVATION_CONFLICT = 0x18;
export const TASK_SET_FULL = 0x28;

function u64(b: Buffer, off: number, v: number): void {
  b.writeBigUInt64BE(BigInt(v), off);
}

export const cdb = {
  testUnitReady: (): Buffer => Buffer.alloc(6),
  inquiryVpd(page: number, alloc = 1024): Buffer {
    const c = Buffer.alloc(6);
    c[0] = 0x12;
    c[1] = 0x01;
    c[2] = page;
    c.writeUInt16BE(alloc, 3);
    return c;
  },
  reportLuns(alloc = 4096): Buffer {
    const c = Buffer.alloc(12);
    c[0] = 0xa0;
    c.writeUInt32BE(alloc, 6);
    return c;
  },
  readCapacity16(): Buffer {
    const c = Buffer.alloc(16);
    c[0] = 0x9e;
    c[1] = 0x10;
    c.writeUInt32BE(32, 10);
    return c;
  },
  reportTargetPortGroups(alloc = 1024): Buffer {
    const c = Buffer.alloc(12);
    c[0] = 0xa3;
    c[1] = 0x0a;
    c.writeUInt32BE(alloc, 6);
    return c;
  },
  read16(lba: number, blocks: number): Buffer {
    const c = Buffer.alloc(16);
    c[0] = 0x88;
    u64(c, 2, lba);
    c.writeUInt32BE(blocks, 10);
    return c;
  },
  write16(lba: number, blocks: number, fua: boolean): Buffer {
    const c = Buffer.alloc(16);
    c[0] = 0x8a;
    if (fua) c[1] = 0x08;
    u64(c, 2, lba);
    c.writeUInt32BE(blocks, 10);
    return c;
  },
  synchronizeCache16(): Buffer {
    const c = Buffer.alloc(16);
    c[0] = 0x91;
    return c;
  },
  unmap(paramLength: number): Buffer {
    const c = Buffer.alloc(10);
    c[0] = 0x42;
    c.writeUInt16BE(paramLength, 7);
    return c;
  },
  writeSame16(lba: number, blocks: number, unmap: boolean): Buffer {
    const c = Buffer.alloc(16);
    c[0] = 0x93;
    if (unmap) c[1] = 0x08;
    u64(c, 2, lba);
    c.writeUInt32BE(blocks, 10);
    return c;
  },
  persistentReserveIn(serviceAction: number, alloc = 8192): Buffer {
    const c = Buffer.alloc(10);
    c[0] = 0x5e;
    c[1] = serviceAction;
    c.writeUInt16BE(alloc, 7);
    return c;
  },
  persistentReserveOut(serviceAction: number, type: number): Buffer {
    const c = Buffer.alloc(10);
    c[0] = 0x5f;
    c[1] = serviceAction;
    c[2] = type & 0x0f;
    c.writeUInt32BE(24, 5);
    return c;
  },
};

/** UNMAP parameter list for the ranges. */
export function unmapParams(ranges: Array<{ lba: number; blocks: number }>): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(6 + 16 * ranges.length, 0);
  b.writeUInt16BE(16 * ranges.length, 2);
  ranges.forEach((r, i) => {
    u64(b, 8 + 16 * i, r.lba);
    b.writeUInt32BE(r.blocks, 16 + 16 * i);
  });
  return b;
}

/** PERSISTENT RESERVE OUT parameter list (basic form, 24 bytes). */
export function prOutParams(key: bigint, saKey: bigint, aptpl = false): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(saKey, 8);
  if (aptpl) b[20] = 0x01;
  return b;
}

export interface Sense {
  key: number;
  asc: number;
  ascq: number;
}

export function parseSense(s: Buffer | undefined): Sense | undefined {
  if (!s || s.length < 3) return undefined;
  const code = s[0]! & 0x7f;
  if (code === 0x72 || code === 0x73) return { key: s[1]! & 0x0f, asc: s[2] ?? 0, ascq: s[3] ?? 0 };
  return { key: s[2]! & 0x0f, asc: s[12] ?? 0, ascq: s[13] ?? 0 };
}

export function senseText(s: Sense | undefined): string {
  if (!s) return 'no sense data';
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `sense key 0x${h(s.key)} ASC/ASCQ ${h(s.asc)}/${h(s.ascq)}`;
}

export interface DeviceIdentity {
  /** The logical unit's NAA designator as hex, or another LU designator when there is no NAA one. */
  id: string;
  relativeTargetPortId?: number;
  targetPortGroup?: number;
}

/** Reads the Device Identification VPD page (0x83). */
export function parseDeviceIdentification(page: Buffer): DeviceIdentity | undefined {
  if (page.length < 4 || page[1] !== 0x83) return undefined;
  const end = Math.min(page.length, 4 + page.readUInt16BE(2));
  let naa: string | undefined;
  let other: string | undefined;
  let rtp: number | undefined;
  let tpg: number | undefined;
  for (let off = 4; off + 4 <= end; ) {
    const assoc = (page[off + 1]! >> 4) & 0x03;
    const type = page[off + 1]! & 0x0f;
    const len = page[off + 3]!;
    const body = page.subarray(off + 4, off + 4 + len);
    if (assoc === 0 && type === 3) naa ??= body.toString('hex');
    else if (assoc === 0 && (type === 2 || type === 8 || type === 1)) other ??= body.toString('hex');
    else if (assoc === 1 && type === 4 && len >= 4) rtp = body.readUInt16BE(2);
    else if (assoc === 1 && type === 5 && len >= 4) tpg = body.readUInt16BE(2);
    off += 4 + len;
  }
  const id = naa ? `naa.${naa}` : other ? `id.${other}` : undefined;
  return id ? { id, relativeTargetPortId: rtp, targetPortGroup: tpg } : undefined;
}

export type AluaState = 'active/optimized' | 'active/non-optimized' | 'standby' | 'unavailable' | 'offline' | 'transitioning' | 'unknown';

const ALUA_NAMES: Record<number, AluaState> = {
  0x0: 'active/optimized',
  0x1: 'active/non-optimized',
  0x2: 'standby',
  0x3: 'unavailable',
  0xe: 'offline',
  0xf: 'transitioning',
};

/** REPORT TARGET PORT GROUPS: the state of the group with the given id (or containing the port). */
export function aluaStateOf(data: Buffer, tpg: number | undefined, rtp: number | undefined): AluaState {
  if (data.length < 4) return 'unknown';
  const end = Math.min(data.length, 4 + data.readUInt32BE(0));
  for (let off = 4; off + 8 <= end; ) {
    const state = ALUA_NAMES[data[off]! & 0x0f] ?? 'unknown';
    const id = data.readUInt16BE(off + 2);
    const count = data[off + 7]!;
    const ports: number[] = [];
    for (let i = 0; i < count && off + 8 + 4 * i + 4 <= end; i++) ports.push(data.readUInt16BE(off + 8 + 4 * i + 2));
    if ((tpg !== undefined && id === tpg) || (rtp !== undefined && ports.includes(rtp))) return state;
    off += 8 + 4 * count;
  }
  return 'unknown';
}

/** REPORT LUNS: the LUN numbers (single-level addressing). */
export function parseReportLuns(data: Buffer): number[] {
  if (data.length < 8) return [];
  const n = Math.min(data.readUInt32BE(0), data.length - 8) / 8;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const b0 = data[8 + i * 8]!;
    const b1 = data[9 + i * 8]!;
    out.push(((b0 & 0x3f) << 8) | b1);
  }
  return out;
}

export const PR_TYPES: Record<string, number> = {
  'write-exclusive': 1,
  'exclusive-access': 3,
  'write-exclusive-registrants-only': 5,
  'exclusive-access-registrants-only': 6,
  'write-exclusive-all-registrants': 7,
  'exclusive-access-all-registrants': 8,
};

export function prTypeName(t: number): string {
  return Object.entries(PR_TYPES).find(([, v]) => v === t)?.[0] ?? `type ${t}`;
}

export function parseReadKeys(d: Buffer): { generation: number; keys: string[] } {
  if (d.length < 8) return { generation: 0, keys: [] };
  const len = Math.min(d.readUInt32BE(4), d.length - 8);
  const keys: string[] = [];
  for (let off = 8; off + 8 <= 8 + len; off += 8) keys.push(`0x${d.readBigUInt64BE(off).toString(16)}`);
  return { generation: d.readUInt32BE(0), keys };
}

export function parseReadReservation(d: Buffer): { generation: number; reservation?: { key: string; type: string } } {
  if (d.length < 8) return { generation: 0 };
  const generation = d.readUInt32BE(0);
  if (d.readUInt32BE(4) < 16 || d.length < 24) return { generation };
  return { generation, reservation: { key: `0x${d.readBigUInt64BE(8).toString(16)}`, type: prTypeName(d[21]! & 0x0f) } };
}
