// CDBs the iSCSI tests send through their initiator.

function be(n: number, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(8 * bytes, BigInt(n));
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

export const cdb = {
  testUnitReady: () => Buffer.from([0x00, 0, 0, 0, 0, 0]),
  inquiry: (alloc: number) => Buffer.from([0x12, 0, 0, ...be(alloc, 2), 0]),
  read10: (lba: number, blocks: number) => Buffer.from([0x28, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  write10: (lba: number, blocks: number) => Buffer.from([0x2a, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  read16: (lba: number, blocks: number) => Buffer.from([0x88, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  write16: (lba: number, blocks: number) => Buffer.from([0x8a, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  readCapacity16: () => Buffer.from([0x9e, 0x10, ...be(0, 8), ...be(32, 4), 0, 0]),
  reportLuns: (alloc = 256) => Buffer.from([0xa0, 0, 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
};

/** Sense key, ASC and ASCQ of fixed-format sense data. */
export function senseOf(sense: Buffer | undefined): { key: number; asc: number; ascq: number } | undefined {
  if (!sense || sense.length < 14) return undefined;
  return { key: sense[2]! & 0x0f, asc: sense[12]!, ascq: sense[13]! };
}

export function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  return b;
}
