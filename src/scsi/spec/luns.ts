// REPORT LUNS (SPC-4 6.33) parameter data, single-level LUN addressing (SAM-5 4.7).

/** The LUN numbers of REPORT LUNS parameter data (peripheral and flat space addressing). */
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
