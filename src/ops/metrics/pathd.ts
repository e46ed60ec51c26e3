// What pathd agents (kura pathd --manager URL) report, as metrics: they send
// events (path failed, failover done, paths not redundant), not path states,
// so the metrics count those events per host and severity and keep the time
// of each host's last one. Hosts are capped: an agent's name comes from the
// agent, so beyond MAX_PATHD_HOSTS the rest are counted as host="_other".
import type { Severity } from '../../array/agent.js';
import type { AlertEvent } from '../alerts/rules.js';
import type { MetricsText } from './text-format.js';

export const MAX_PATHD_HOSTS = 64;
const OTHER = '_other';
const SEVERITIES: Severity[] = ['info', 'warning', 'error'];

export class PathdReports {
  private readonly hosts = new Map<string, { counts: Record<Severity, number>; last: number }>();

  /** Takes every recorded event; those of host agents (source host:NAME) are counted. */
  record(e: AlertEvent): void {
    if (!e.source.startsWith('host:')) return;
    let host = e.source.slice(5);
    if (!this.hosts.has(host) && this.hosts.size >= MAX_PATHD_HOSTS) host = OTHER;
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = { counts: { info: 0, warning: 0, error: 0 }, last: 0 }));
    h.counts[e.severity]++;
    h.last = Math.max(h.last, Date.parse(e.time) / 1000 || 0);
  }

  metrics(m: MetricsText): void {
    m.family(
      'kura_pathd_events_total',
      'counter',
      'Events pathd agents reported since the manager started (path errors, failovers, failbacks), per host and severity.',
    );
    for (const [host, h] of this.hosts) for (const s of SEVERITIES) m.sample('kura_pathd_events_total', { host, severity: s }, h.counts[s]);
    m.family('kura_pathd_last_event_timestamp_seconds', 'gauge', "Time of a pathd agent's last event, seconds since the epoch.");
    for (const [host, h] of this.hosts) m.sample('kura_pathd_last_event_timestamp_seconds', { host }, h.last);
  }
}
