// The alert dispatcher: every recorded event is matched against the rules,
// and each rule that wants it gets it in its own bounded queue, delivered in
// order by its own worker: a slow or dead receiver holds up only its own
// alerts. Failed deliveries are retried with exponential back-off; when all
// attempts fail the event is given up, counted, and a warning (KURA-W8300)
// is recorded once per run of failures, never once per event (that warning
// is itself an event: it must not feed a loop).
import type { ArrayAgent } from '../../array/agent.js';
import { ALERT_DELIVERY_FAILED } from '../../catalogue/ops.js';
import { ALERT_TEST_FAILED } from '../../catalogue/ops.js';
import type { MetricsText } from '../metrics/text-format.js';
import type { AlertEvent, AlertRequest, AlertRule } from './rules.js';
import { AlertRuleStore, parseHostPort, redactedTarget, ruleFromRequest, ruleMatches } from './rules.js';
import { encodeTrap, sendTrap } from './snmp.js';
import { sendSyslog } from './syslog.js';
import { postWebhook, webhookBody } from './webhook.js';

/** Events waiting per rule; beyond it the oldest are dropped (and counted). */
export const ALERT_QUEUE_MAX = 1000;

export interface RetryPolicy {
  /** Attempts per event, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, firstDelayMs: 1000, maxDelayMs: 60_000 };

/** What the dispatcher needs of the manager's event store. */
export interface EventFeed {
  onRecord(fn: (e: AlertEvent) => void): void;
  record(e: Omit<AlertEvent, 'time' | 'seq'>): unknown;
}

interface Lane {
  rule: AlertRule;
  queue: AlertEvent[];
  running: boolean;
  failing: boolean;
  delivered: number;
  failed: number;
  dropped: number;
}

export interface DispatcherOptions {
  dataDir: string;
  agent: Pick<ArrayAgent, 'info'>;
  events: EventFeed;
  log?: (m: string) => void;
  retry?: RetryPolicy;
}

export class AlertDispatcher {
  readonly store: AlertRuleStore;
  private readonly lanes = new Map<string, Lane>();
  private readonly retry: RetryPolicy;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: DispatcherOptions) {
    this.store = new AlertRuleStore(o.dataDir);
    this.retry = o.retry ?? DEFAULT_RETRY;
    for (const r of this.store.list()) this.lanes.set(r.name, newLane(r));
    o.events.onRecord((e) => this.offer(e));
  }

  add(req: AlertRequest): AlertRule {
    const r = ruleFromRequest(req);
    this.store.add(r);
    this.lanes.set(r.name, newLane(r));
    return r;
  }

  delete(name: string): AlertRule {
    const r = this.store.delete(name);
    const lane = this.lanes.get(name);
    if (lane) lane.queue.length = 0;
    this.lanes.delete(name);
    return r;
  }

  list(): AlertRule[] {
    return this.store.list();
  }

  /** Sends a test event to one alert now, once, and says whether it arrived. */
  async test(name: string): Promise<{ name: string; delivered: true; target: string }> {
    const r = this.store.get(name);
    const e: AlertEvent = {
      id: 'KURA-I8300',
      severity: r.minSeverity,
      source: 'alerts',
      text: `Test of alert ${r.name} from array ${this.arrayName()}.`,
      time: new Date().toISOString(),
    };
    const reason = await this.deliverOnce(r, e);
    if (reason !== undefined) throw ALERT_TEST_FAILED({ name: r.name, reason });
    return { name: r.name, delivered: true, target: redactedTarget(r) };
  }

  private arrayName(): string {
    return this.o.agent.info().name;
  }

  private offer(e: AlertEvent): void {
    if (this.closed) return;
    for (const lane of this.lanes.values()) {
      if (!ruleMatches(lane.rule, e)) continue;
      // The warning about this very lane would only fail again.
      if (e.id === ALERT_DELIVERY_FAILED.id && e.source === `alert/${lane.rule.name}`) continue;
      if (lane.queue.length >= ALERT_QUEUE_MAX) {
        lane.queue.shift();
        lane.dropped++;
      }
      lane.queue.push(e);
      if (!lane.running) void this.run(lane);
    }
  }

  private async run(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length > 0 && !this.closed && this.lanes.get(lane.rule.name) === lane) {
        const e = lane.queue[0]!;
        let reason: string | undefined;
        for (let attempt = 1; ; attempt++) {
          const r = await this.deliverOnce(lane.rule, e);
          reason = r;
          if (r === undefined || attempt >= this.retry.attempts || this.closed || r.startsWith('!')) break;
          await this.sleep(Math.min(this.retry.maxDelayMs, this.retry.firstDelayMs * 2 ** (attempt - 1)));
        }
        lane.queue.shift();
        if (reason === undefined) {
          lane.delivered++;
          lane.failing = false;
          continue;
        }
        lane.failed++;
        const why = reason.replace(/^!/, '');
        this.o.log?.(`alerts: ${lane.rule.name} (${lane.rule.kind} ${redactedTarget(lane.rule)}): event ${e.id} given up: ${why}`);
        if (!lane.failing) {
          lane.failing = true;
          this.o.events.record({
            id: ALERT_DELIVERY_FAILED.id,
            severity: 'warning',
            source: `alert/${lane.rule.name}`,
            text: ALERT_DELIVERY_FAILED({ name: lane.rule.name, kind: lane.rule.kind, reason: why }),
          });
        }
      }
    } finally {
      lane.running = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** One attempt: undefined when delivered, else why not ("!" first: not worth retrying). */
  private async deliverOnce(r: AlertRule, e: AlertEvent): Promise<string | undefined> {
    const arrayName = this.arrayName();
    try {
      switch (r.kind) {
        case 'webhook': {
          const res = await postWebhook(r.target, webhookBody(e, arrayName));
          if (res.ok) return undefined;
          return (res.retry ? '' : '!') + (res.reason ?? 'failed');
        }
        case 'syslog':
          await sendSyslog(parseHostPort(r.target), r.transport ?? 'udp', e, arrayName);
          return undefined;
        case 'snmp':
          await sendTrap(parseHostPort(r.target), encodeTrap(e, { community: r.community ?? 'public', arrayName }));
          return undefined;
      }
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
  }

  /** kura_alert_* families for /metrics: one series per alert and outcome (at most 64 alerts). */
  metrics(m: MetricsText): void {
    m.family('kura_alert_deliveries_total', 'counter', 'Events an alert delivered, gave up after every retry, or dropped from a full queue.');
    for (const l of this.lanes.values()) {
      m.sample('kura_alert_deliveries_total', { alert: l.rule.name, kind: l.rule.kind, result: 'delivered' }, l.delivered);
      m.sample('kura_alert_deliveries_total', { alert: l.rule.name, kind: l.rule.kind, result: 'failed' }, l.failed);
      m.sample('kura_alert_deliveries_total', { alert: l.rule.name, kind: l.rule.kind, result: 'dropped' }, l.dropped);
    }
    m.family('kura_alert_queue_length', 'gauge', 'Events waiting to be delivered by an alert.');
    for (const l of this.lanes.values()) m.sample('kura_alert_queue_length', { alert: l.rule.name, kind: l.rule.kind }, l.queue.length);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function newLane(rule: AlertRule): Lane {
  return { rule, queue: [], running: false, failing: false, delivered: 0, failed: 0, dropped: 0 };
}
