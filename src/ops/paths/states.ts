// The path states pathd agents report (POST /api/v1/path-states): the newest
// report of each host, kept in memory. A report replaces the host's previous
// one; one that is not followed by another within three of its intervals is
// stale (its paths show as unknown) and is dropped a day later, or sooner when
// a new host needs its place. Everything here comes from agents, so it is
// bounded: hosts, paths per report and paths in all are capped, and every
// string is checked for length, which also bounds the metrics' label values.
import { PATH_STATE_NAMES } from '../../api/path-states.js';
import type { HostPaths, ReportedPath } from '../../api/path-states.js';
import { PATH_REPORTS_FULL, PATH_REPORT_INVALID, PATH_REPORT_TOO_LARGE } from '../../catalogue/ops.js';
import type { MetricsText } from '../metrics/text-format.js';

export const MAX_REPORTING_HOSTS = 64;
export const MAX_PATHS_PER_REPORT = 256;
export const MAX_PATHS_TOTAL = 4096;
/** Reports missed before a host is stale. */
const MISSED_REPORTS = 3;
/** A stale report is dropped this long after its last report. */
const DROP_AFTER_MS = 24 * 3600_000;
/** How often expiry is checked (a host turning stale is a change the console hears of). */
const CHECK_MS = 1000;

const ALUA_NAMES = ['active/optimized', 'active/non-optimized', 'standby', 'unavailable', 'offline', 'transitioning', 'unknown'];

/**
 * kura_path_state's value per state: 0 is unknown (the host's report is
 * stale), then from carrying I/O to failed, so `> 3` means "not usable".
 */
export const PATH_STATE_CODES: Record<string, number> = { unknown: 0, 'in-use': 1, active: 2, standby: 3, unavailable: 4, failed: 5 };

interface Entry {
  host: string;
  at: number;
  intervalSeconds: number;
  paths: ReportedPath[];
  stale: boolean;
}

function text(p: Record<string, unknown>, index: number, field: string, max: number, allowed?: string[]): string {
  const v = p[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw PATH_REPORT_INVALID({ what: `path ${index}'s ${field}`, why: `must be a string of 1 to ${max} characters` });
  }
  if (allowed && !allowed.includes(v)) throw PATH_REPORT_INVALID({ what: `path ${index}'s ${field}`, why: `must be one of ${allowed.join(', ')}` });
  return v;
}

/** One path object of a report, checked field by field (unknown fields are refused like the API's). */
export function parseReportedPath(raw: Record<string, unknown>, index: number): ReportedPath {
  const fields = ['device', 'deviceId', 'path', 'portal', 'target', 'controller', 'alua', 'state', 'since'];
  for (const k of Object.keys(raw))
    if (!fields.includes(k)) throw PATH_REPORT_INVALID({ what: `path ${index}'s ${k}`, why: `is not a field of a path (${fields.join(', ')})` });
  const controller = raw['controller'];
  if (controller !== null && controller !== undefined && !(Number.isSafeInteger(controller) && (controller as number) >= 0 && (controller as number) < 256)) {
    throw PATH_REPORT_INVALID({ what: `path ${index}'s controller`, why: 'must be an integer from 0 to 255, or null' });
  }
  const since = text(raw, index, 'since', 40);
  if (Number.isNaN(Date.parse(since))) throw PATH_REPORT_INVALID({ what: `path ${index}'s since`, why: 'must be an ISO 8601 time' });
  return {
    device: text(raw, index, 'device', 64),
    deviceId: text(raw, index, 'deviceId', 128),
    path: text(raw, index, 'path', 64),
    portal: text(raw, index, 'portal', 128),
    target: text(raw, index, 'target', 224),
    controller: (controller as number | null | undefined) ?? null,
    alua: text(raw, index, 'alua', 32, ALUA_NAMES),
    state: text(raw, index, 'state', 16, PATH_STATE_NAMES),
    since: new Date(since).toISOString(),
  };
}

/** What a listener hears: the hosts whose states changed (a new report that differs, or a report gone stale). */
export type PathStatesListener = (hosts: string[]) => void;

export class PathStates {
  private readonly hosts = new Map<string, Entry>();
  private readonly listeners: PathStatesListener[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.expire(), CHECK_MS);
    this.timer.unref();
  }

  onChange(fn: PathStatesListener): void {
    this.listeners.push(fn);
  }

  /** Takes a host's report (already parsed); throws when it would go beyond a cap. */
  record(host: string, intervalSeconds: number, paths: ReportedPath[]): HostPaths {
    if (paths.length > MAX_PATHS_PER_REPORT) throw PATH_REPORT_TOO_LARGE({ count: paths.length, max: MAX_PATHS_PER_REPORT });
    this.expire();
    const old = this.hosts.get(host);
    if (!old && this.hosts.size >= MAX_REPORTING_HOSTS && !this.evictStale()) {
      throw PATH_REPORTS_FULL({ host, what: `reports of ${MAX_REPORTING_HOSTS} hosts, the most it keeps` });
    }
    for (;;) {
      const others = this.pathCount() - (old?.paths.length ?? 0);
      if (others + paths.length <= MAX_PATHS_TOTAL) break;
      if (!this.evictStale(host)) throw PATH_REPORTS_FULL({ host, what: `${others} paths of other hosts (at most ${MAX_PATHS_TOTAL} in all)` });
    }
    const entry: Entry = { host, at: this.now(), intervalSeconds, paths, stale: false };
    this.hosts.set(host, entry);
    if (!old || old.stale || signature(old.paths) !== signature(paths)) this.emit([host]);
    return view(entry);
  }

  list(): HostPaths[] {
    this.expire();
    return [...this.hosts.values()].sort((a, b) => a.host.localeCompare(b.host)).map(view);
  }

  /**
   * kura_path_state{host,device,path}: one series per reported path (at most
   * MAX_PATHS_TOTAL), value per PATH_STATE_CODES; and per host the age of its
   * report and whether it is stale (at most MAX_REPORTING_HOSTS each).
   */
  metrics(m: MetricsText): void {
    this.expire();
    const codes = Object.entries(PATH_STATE_CODES)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    m.family('kura_path_state', 'gauge', `State of each path pathd agents report, by host, device (export name) and path (portal): ${codes}.`);
    for (const e of this.hosts.values())
      for (const p of e.paths) m.sample('kura_path_state', { host: e.host, device: p.device, path: p.portal }, e.stale ? 0 : (PATH_STATE_CODES[p.state] ?? 0));
    m.family('kura_pathd_report_stale', 'gauge', "1 when a host's pathd missed three reports (its paths show as unknown), else 0.");
    for (const e of this.hosts.values()) m.sample('kura_pathd_report_stale', { host: e.host }, e.stale ? 1 : 0);
    m.family('kura_pathd_report_age_seconds', 'gauge', "Seconds since a host's pathd last reported its path states.");
    for (const e of this.hosts.values()) m.sample('kura_pathd_report_age_seconds', { host: e.host }, Math.max(0, (this.now() - e.at) / 1000));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private pathCount(): number {
    let n = 0;
    for (const e of this.hosts.values()) n += e.paths.length;
    return n;
  }

  /** Drops the oldest stale report (never `keep`'s); whether one was dropped. */
  private evictStale(keep?: string): boolean {
    const stale = [...this.hosts.values()].filter((e) => e.stale && e.host !== keep).sort((a, b) => a.at - b.at);
    if (stale.length === 0) return false;
    this.hosts.delete(stale[0]!.host);
    return true;
  }

  private expire(): void {
    const now = this.now();
    const changed: string[] = [];
    for (const e of [...this.hosts.values()]) {
      if (now - e.at > DROP_AFTER_MS) {
        this.hosts.delete(e.host);
        changed.push(e.host);
      } else if (!e.stale && now - e.at > MISSED_REPORTS * e.intervalSeconds * 1000) {
        e.stale = true;
        changed.push(e.host);
      }
    }
    if (changed.length > 0) this.emit(changed);
  }

  private emit(hosts: string[]): void {
    for (const l of this.listeners) l(hosts);
  }
}

/** What a listener cares about in a report: which paths there are and their states (not the report's time). */
function signature(paths: ReportedPath[]): string {
  return paths.map((p) => `${p.deviceId} ${p.path} ${p.portal} ${p.state} ${p.alua} ${p.controller}`).join('\n');
}

function view(e: Entry): HostPaths {
  return { host: e.host, reportedAt: new Date(e.at).toISOString(), intervalSeconds: e.intervalSeconds, stale: e.stale, paths: e.paths };
}
