// Human output: aligned tables and "Key : value" detail views in the manner of
// the seed's iSMview.

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function details(title: string, pairs: Array<[string, string | number]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return [`--- ${title} ---`, ...pairs.map(([k, v]) => `${k.padEnd(w)} : ${v}`)].join('\n');
}

export function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}
