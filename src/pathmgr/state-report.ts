// pathd's reports of its path states to the array manager (kura pathd
// --manager URL): every path of every logical unit with its portal,
// controller, ALUA state, state and when that last changed. The states are
// looked at every second and sent when one changed, and at least every
// interval, so the manager knows the host is alive; a report it does not get
// within three intervals makes the host stale there. A failed send is
// reported once (KURA-W8310) and retried on the next tick.
import { pathOf } from '../api/route.js';
import { PATH_STATES } from '../api/path-states.js';
import type { ReportedPath } from '../api/path-states.js';
import { PATH_REPORT_NOT_SENT } from '../catalogue/ops.js';
import type { MultipathDevice } from './device.js';

/** How often the states are compared with the last report. */
const TICK_MS = 1000;

export interface StateReporterOptions {
  url: string;
  token?: string;
  /** HOSTNAME/INITIATOR: who the manager lists the paths under. */
  host: string;
  /** Seconds between reports when nothing changes. */
  intervalSeconds: number;
  devices: () => readonly MultipathDevice[];
  /** Where the one-time warning of a failed send goes. */
  warn: (id: string, text: string) => void;
  now?: () => number;
}

export class StateReporter {
  /** Per path (device id + path number): its last state and ALUA state, and since when. */
  private readonly seen = new Map<string, { state: string; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private lastSent = '';
  private lastSentAt = 0;
  private sending = false;
  private warned = false;
  private readonly now: () => number;

  constructor(private readonly o: StateReporterOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The paths as they are now; a path whose state or ALUA state differs from the last look gets a new `since`. */
  snapshot(): ReportedPath[] {
    const now = this.now();
    const out: ReportedPath[] = [];
    const keys = new Set<string>();
    for (const d of this.o.devices()) {
      for (const p of d.paths) {
        const key = `${d.id} ${p.number}`;
        keys.add(key);
        const state = `${p.state} ${p.alua}`;
        let s = this.seen.get(key);
        if (!s || s.state !== state) this.seen.set(key, (s = { state, since: now }));
        out.push({
          device: d.name,
          deviceId: d.id,
          path: p.number,
          portal: p.portal,
          target: p.target,
          // Kura numbers each controller's target port group by the controller.
          controller: p.targetPortGroup ?? null,
          alua: p.alua,
          state: p.state,
          since: new Date(s.since).toISOString(),
        });
      }
    }
    for (const k of [...this.seen.keys()]) if (!keys.has(k)) this.seen.delete(k);
    return out;
  }

  private async tick(): Promise<void> {
    if (this.sending) return;
    const paths = this.snapshot();
    const sig = JSON.stringify(paths);
    if (sig === this.lastSent && this.now() - this.lastSentAt < this.o.intervalSeconds * 1000) return;
    this.sending = true;
    try {
      const r = await fetch(`${this.o.url}${pathOf(PATH_STATES.report)}`, {
        method: PATH_STATES.report.method,
        headers: { 'content-type': 'application/json', ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}) },
        body: JSON.stringify({ host: this.o.host, intervalSeconds: this.o.intervalSeconds, paths }),
        signal: AbortSignal.timeout(5000),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
      this.lastSent = sig;
      this.lastSentAt = this.now();
      this.warned = false;
    } catch (e) {
      if (!this.warned) this.o.warn(PATH_REPORT_NOT_SENT.id, PATH_REPORT_NOT_SENT({ url: this.o.url, reason: (e as Error).message }));
      this.warned = true;
    } finally {
      this.sending = false;
    }
  }
}
