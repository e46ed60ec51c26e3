// Human output: aligned tables and "Key : value" detail views in the manner of
// the seed's iSMview (-pl/-l lists, -pln/-ln details).
import type { PoolInfo } from '../array/agent.js';
import { hex4 } from './units.js';

/** Key width of iSMview detail views ("LDN(h)                : 0000"). */
const DETAIL_KEY_WIDTH = 22;

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function details(title: string, pairs: Array<[string, string | number]>): string {
  const w = Math.max(DETAIL_KEY_WIDTH, ...pairs.map(([k]) => k.length));
  return [`--- ${title} ---`, ...pairs.map(([k, v]) => `${k.padEnd(w)} : ${v}`)].join('\n');
}

/**
 * PD numbers as iSMview lists them (VVM L680, L741): the PD group once, then the PD
 * numbers, "00-0000,0001,0002". Kura's PDs are all in PD group 00 (its RAID groups
 * are not PD groups); failed PDs are marked.
 */
export function pdList(p: Pick<PoolInfo, 'pds'>): string {
  const pds = p.pds.map((d) => `${hex4(d.number)}${d.state === 'ready' ? '' : '(failed)'}`);
  return pds.length ? `00-${pds.join(',')}` : '---';
}

export function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}
