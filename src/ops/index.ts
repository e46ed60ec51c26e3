// The operations services the manager runs beside its API: alerts (rules and
// their delivery), the performance history, the path states pathd agents
// report, the /metrics text and the files
// a log collection takes from the server. The manager creates one
// Operations, binds its routes (src/manager/routes/{alerts,perf,path-states,metrics,support}.ts)
// and closes it when it stops.
import type { ArrayAgent } from '../array/agent.js';
import { AlertDispatcher } from './alerts/dispatcher.js';
import type { EventFeed, RetryPolicy } from './alerts/dispatcher.js';
import { renderMetrics } from './metrics/collect.js';
import type { MetricsContributor } from './metrics/collect.js';
import { PerfHistory } from './perf/history.js';
import { PathdReports } from './metrics/pathd.js';
import { PathStates } from './paths/states.js';
import { supportFiles } from './logs/server-files.js';
import type { SupportFile } from './logs/server-files.js';

export interface OperationsOptions {
  dataDir: string;
  agent: ArrayAgent;
  events: EventFeed;
  log?: (m: string) => void;
  /** Secrets the server knows, scrubbed from collected files (the API token). */
  secrets?: string[];
  alertRetry?: RetryPolicy;
  /** Sample the performance history (off in tests that do not need it). */
  perf?: boolean;
}

export class Operations {
  readonly alerts: AlertDispatcher;
  readonly perf: PerfHistory;
  /** The path states pathd agents report (POST /api/v1/path-states). */
  readonly paths = new PathStates();
  private readonly contributors: MetricsContributor[] = [];

  constructor(private readonly o: OperationsOptions) {
    this.alerts = new AlertDispatcher({ dataDir: o.dataDir, agent: o.agent, events: o.events, log: o.log, retry: o.alertRetry });
    this.perf = new PerfHistory({
      dataDir: o.dataDir,
      agent: o.agent,
      log: o.log,
      warn: (id, text) => o.events.record({ id, severity: 'warning', source: 'perf', text }),
    });
    this.contributors.push((m) => this.alerts.metrics(m));
    const pathd = new PathdReports();
    o.events.onRecord((e) => pathd.record(e));
    this.contributors.push((m) => pathd.metrics(m));
    this.contributors.push((m) => this.paths.metrics(m));
    if (o.perf !== false) this.perf.start();
  }

  /** Another part of the manager adds its own metric families (path states, console sessions). */
  addMetrics(c: MetricsContributor): void {
    this.contributors.push(c);
  }

  metricsText(): string {
    return renderMetrics({ agent: this.o.agent, contributors: this.contributors });
  }

  supportFiles(): SupportFile[] {
    return supportFiles({ dataDir: this.o.dataDir, known: this.o.secrets ?? [] });
  }

  close(): void {
    this.alerts.close();
    this.perf.close();
    this.paths.close();
  }
}
