// The process's limit on open file descriptors (RLIMIT_NOFILE, `ulimit -n`).
// Node cannot raise it, so the connection caps have to fit under it.
import fs from 'node:fs';
import { FD_LIMIT_LOWERS_CAPS, FD_LIMIT_TOO_LOW } from '../catalogue/protocols.js';

/** The soft limit, or undefined when it cannot be read (not Linux) or is unlimited. */
export function openFileLimit(): number | undefined {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)/m.exec(text);
    if (!m || m[1] === 'unlimited') return undefined;
    const n = Number(m[1]);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** File descriptors open now (data files, the database, listeners), or undefined off Linux. */
export function openFileCount(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

export interface ListenerCaps {
  nbd: number;
  /** Per iSCSI portal. */
  iscsi: number;
  portals: number;
  http: number;
}

/** Descriptors kept free beyond the caps: new PDs, snapshots' files, log and database work. */
const FD_RESERVE = 128;

/**
 * Fits the connection caps under the descriptor limit: the API's cap is kept
 * (it must stay reachable), the data listeners' caps shrink in proportion.
 * Returns the caps to use and, when they had to change or the limit is low,
 * a sentence for the log.
 */
export function fitCaps(want: ListenerCaps, limit: number | undefined, inUse: number): { caps: ListenerCaps; warning?: string } {
  if (limit === undefined) return { caps: want };
  const data = want.nbd + want.iscsi * want.portals;
  const room = limit - inUse - FD_RESERVE - want.http;
  if (data <= room) return { caps: want };
  const f = Math.max(0, room) / data;
  const caps = { ...want, nbd: Math.max(1, Math.floor(want.nbd * f)), iscsi: Math.max(1, Math.floor(want.iscsi * f)) };
  const total = caps.nbd + caps.iscsi * caps.portals + caps.http + inUse + FD_RESERVE;
  const warning = total > limit ? FD_LIMIT_TOO_LOW : FD_LIMIT_LOWERS_CAPS;
  const facts = { limit, nbd: want.nbd, iscsi: want.iscsi, http: want.http, inUse, capNbd: caps.nbd, capIscsi: caps.iscsi, capHttp: caps.http };
  return {
    caps,
    warning: `${warning.id} ${warning(facts)}`,
  };
}
