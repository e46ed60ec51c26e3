// Alert rules: where events go (a webhook, a syslog receiver, an SNMP trap
// receiver) and which events (from a minimum severity up, optionally only some
// event ids). Kept in DATA/alerts.json, mode 0600: a webhook URL or a
// community string may be a secret. Replaced whole by write-and-rename, so a
// crash leaves the old file or the new one.
import fs from 'node:fs';
import path from 'node:path';
import type { Severity } from '../../array/agent.js';
import { checkName } from '../../names.js';
import {
  ALERT_COMMUNITY_INVALID,
  ALERT_DESTINATION_COUNT,
  ALERT_EVENT_PATTERN_INVALID,
  ALERT_EXISTS,
  ALERT_HOSTPORT_INVALID,
  ALERT_NAME_INVALID,
  ALERT_NOT_FOUND,
  ALERT_OPTION_MISPLACED,
  ALERTS_FILE_UNREADABLE,
  ALERTS_TOO_MANY,
  WEBHOOK_URL_INVALID,
} from '../../catalogue/ops.js';

export type AlertKind = 'webhook' | 'syslog' | 'snmp';
export const SEVERITY_ORDER: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
/** Rules at most: each has its own queue and sender. */
export const MAX_ALERTS = 64;
const MAX_URL = 2048;

export interface AlertRule {
  name: string;
  kind: AlertKind;
  /** webhook: the URL; syslog and snmp: HOST:PORT. */
  target: string;
  /** syslog only. */
  transport?: 'udp' | 'tcp';
  /** snmp only. */
  community?: string;
  minSeverity: Severity;
  /** Only these event ids (exact, or a prefix ending in *); empty: every id. */
  events: string[];
  created: string;
}

/** What a client sends to create a rule. */
export interface AlertRequest {
  name: string;
  webhook?: string;
  syslog?: string;
  snmp?: string;
  transport?: 'udp' | 'tcp';
  community?: string;
  minSeverity?: Severity;
  events?: string[];
}

/** The event an alert carries. */
export interface AlertEvent {
  seq?: number;
  id: string;
  severity: Severity;
  source: string;
  text: string;
  time: string;
}

export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw ALERT_HOSTPORT_INVALID({ value: value.slice(0, 80) });
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function checkWebhookUrl(value: string): URL {
  if (value.length > MAX_URL) throw WEBHOOK_URL_INVALID({ reason: `it is longer than ${MAX_URL} characters` });
  // Control characters and spaces would end up in the request line.
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\x00-\x1f\x7f]/.test(value)) throw WEBHOOK_URL_INVALID({ reason: 'it holds spaces or control characters' });
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw WEBHOOK_URL_INVALID({ reason: 'it is not a URL' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw WEBHOOK_URL_INVALID({ reason: `the scheme ${u.protocol} is not http: or https:` });
  return u;
}

/**
 * A destination as it may be shown (lists, logs, errors): a webhook URL
 * without user, password, path, query or fragment, which often carry the
 * receiver's secret (chat webhooks put it in the path).
 */
export function redactedTarget(r: Pick<AlertRule, 'kind' | 'target'>): string {
  if (r.kind !== 'webhook') return r.target;
  try {
    const u = new URL(r.target);
    const hidden = u.pathname !== '/' || u.search !== '' || u.username !== '' || u.password !== '';
    return `${u.protocol}//${u.host}${hidden ? '/…' : '/'}`;
  } catch {
    return '(invalid URL)';
  }
}

export function checkEventPattern(p: string): string {
  if (!/^KURA-(?:[EWI](?:\d{0,4}\*|\d{4})|\*)$/.test(p)) throw ALERT_EVENT_PATTERN_INVALID({ pattern: p.slice(0, 40) });
  return p;
}

export function ruleFromRequest(req: AlertRequest, now = new Date()): AlertRule {
  const name = checkName('alert', req.name, ALERT_NAME_INVALID);
  const given = (['webhook', 'syslog', 'snmp'] as const).filter((k) => req[k] !== undefined);
  if (given.length !== 1) throw ALERT_DESTINATION_COUNT({ count: given.length });
  const kind = given[0]!;
  const raw = req[kind]!;
  if (req.community !== undefined && kind !== 'snmp') throw ALERT_OPTION_MISPLACED({ option: 'community', kind });
  if (req.transport !== undefined && kind !== 'syslog') throw ALERT_OPTION_MISPLACED({ option: 'transport', kind });
  const rule: AlertRule = {
    name,
    kind,
    target: '',
    minSeverity: req.minSeverity ?? 'warning',
    events: (req.events ?? []).map(checkEventPattern),
    created: now.toISOString(),
  };
  if (kind === 'webhook') rule.target = checkWebhookUrl(raw).href;
  else {
    const hp = parseHostPort(raw);
    rule.target = hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
  }
  if (kind === 'syslog') rule.transport = req.transport ?? 'udp';
  if (kind === 'snmp') {
    const c = req.community ?? 'public';
    if (!/^[\x21-\x7e]{1,64}$/.test(c)) throw ALERT_COMMUNITY_INVALID();
    rule.community = c;
  }
  return rule;
}

/** The rule wants this event: severity at or above its minimum, and its id among the rule's (if any). */
export function ruleMatches(r: AlertRule, e: Pick<AlertEvent, 'id' | 'severity'>): boolean {
  if (SEVERITY_ORDER[e.severity] < SEVERITY_ORDER[r.minSeverity]) return false;
  if (r.events.length === 0) return true;
  return r.events.some((p) => (p.endsWith('*') ? e.id.startsWith(p.slice(0, -1)) : e.id === p));
}

/** A rule as the API shows it: the destination redacted, the community never shown. */
export function publicRule(r: AlertRule): Omit<AlertRule, 'community'> & { community?: string } {
  const { community, ...rest } = r;
  return { ...rest, target: redactedTarget(r), ...(community !== undefined ? { community: '(set)' } : {}) };
}

export class AlertRuleStore {
  private rules: AlertRule[];
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'alerts.json');
    this.rules = this.load();
  }

  private load(): AlertRule[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ALERTS_FILE_UNREADABLE({ file: this.file, reason: (e as Error).message });
    }
    try {
      const v = JSON.parse(text) as { alerts?: AlertRule[] };
      if (!Array.isArray(v.alerts)) throw new Error('no "alerts" list');
      return v.alerts;
    } catch (e) {
      throw ALERTS_FILE_UNREADABLE({ file: this.file, reason: (e as Error).message });
    }
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ alerts: this.rules }, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  list(): AlertRule[] {
    return [...this.rules];
  }

  get(name: string): AlertRule {
    const r = this.rules.find((x) => x.name === name);
    if (!r) throw ALERT_NOT_FOUND({ name: name.slice(0, 80) });
    return r;
  }

  add(r: AlertRule): void {
    if (this.rules.some((x) => x.name === r.name)) throw ALERT_EXISTS({ name: r.name });
    if (this.rules.length >= MAX_ALERTS) throw ALERTS_TOO_MANY({ max: MAX_ALERTS });
    this.rules.push(r);
    this.save();
  }

  delete(name: string): AlertRule {
    const r = this.get(name);
    this.rules = this.rules.filter((x) => x !== r);
    this.save();
    return r;
  }
}
