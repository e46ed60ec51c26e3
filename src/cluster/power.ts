// UPS / power-failure orchestration (the seed's ESMPRO/AutomaticRunningController,
// §4 of the CLUSTERPRO summary), as a state machine over a clock so that tests
// can run the seed's timelines on a scaled or virtual clock.
//   - A UPS on battery is a power failure once its confirmation time has passed
//     (server UPS 60 s, shared-disk UPS 30 s; LOWBATT and FSD need no wait).
//   - Some nodes only: those nodes are detached (their groups fail over).
//   - Every node, the last node left, or the shared-disk UPS: cluster shutdown,
//     bounded by its timeout (default 120 s; past it the OS shutdown is forced),
//     then the OS-shutdown order (within 60 s) and the UPS-off command (8 s later).
//   - Power back on every UPS: disks by ascending Warm-UP rank, then the nodes,
//     then the cluster (its groups start with ARMS_EVENT=RECOVER).
import type { KuraError } from '../errors.js';
import { POWER_CONFIRMATION_TOO_SHORT, POWER_EVENT_INVALID } from '../catalogue/cluster.js';

export type PowerEventType = 'ONBATT' | 'ONLINE' | 'LOWBATT' | 'FSD';
export const POWER_EVENTS: readonly PowerEventType[] = ['ONBATT', 'ONLINE', 'LOWBATT', 'FSD'];

export interface UpsConfig {
  name: string;
  /** A server UPS feeds nodes; the shared-disk UPS feeds the array. */
  kind: 'server' | 'disk';
  nodes: string[];
  /** Seconds on battery before it counts as a power failure (seed: server 60, disk 30). */
  confirmation: number;
  /** Disks power on in ascending rank (seed: Warm-UP rank, default 1). */
  warmupRank: number;
}

export interface PowerConfig {
  upses: UpsConfig[];
  /** Seconds the cluster shutdown may take before the OS shutdown is forced (seed: 2 min). */
  clusterShutdownTimeout: number;
  /** The linked terminals' confirmation time, seconds. */
  linkedConfirmation: number;
  /** The control terminal's confirmation time x, seconds (validated by the seed's rule). */
  controlConfirmation: number;
}

/** Seconds: the seed's maximum polling delay, the OS-shutdown order window, the gap before UPS off, per-UPS time. */
export const MAX_POLL_S = 8;
export const OS_SHUTDOWN_ORDER_S = 60;
export const UPS_OFF_AFTER_S = 8;
export const PER_UPS_S = 2;

/** x >= linked confirmation + 8 s + cluster-shutdown timeout + 60 s + 2 s per UPS (seed L2991-2998). */
export function neededConfirmation(c: Pick<PowerConfig, 'upses' | 'clusterShutdownTimeout' | 'linkedConfirmation'>): number {
  return c.linkedConfirmation + MAX_POLL_S + c.clusterShutdownTimeout + OS_SHUTDOWN_ORDER_S + PER_UPS_S * c.upses.length;
}

export function validatePowerConfig(c: PowerConfig): KuraError | undefined {
  const needed = neededConfirmation(c);
  return c.controlConfirmation < needed ? POWER_CONFIRMATION_TOO_SHORT({ confirmation: c.controlConfirmation, needed }) : undefined;
}

export function parsePowerEvent(v: string): PowerEventType | KuraError {
  const t = v.toUpperCase();
  return (POWER_EVENTS as readonly string[]).includes(t) ? (t as PowerEventType) : POWER_EVENT_INVALID({ event: v });
}

/** What the machine does to the world; every step is also logged by name. */
export interface PowerHooks {
  /** Detach nodes: their groups fail over (server shutdown). */
  detach(nodes: string[]): Promise<void>;
  /** Cluster shutdown; resolves true once every group is stopped, or false at `timeoutMs`. */
  clusterShutdown(timeoutMs: number): Promise<boolean>;
  osShutdown(nodes: string[], forced: boolean): Promise<void>;
  upsOff(ups: string[]): Promise<void>;
  powerOnDisk(ups: string): Promise<void>;
  powerOnNode(node: string): Promise<void>;
  clusterStart(): Promise<void>;
  /** Nodes alive now (to tell the last node). */
  aliveNodes(): string[];
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface PowerStep {
  step: string;
  at: number;
  detail?: string;
}

type Phase = 'normal' | 'shutting-down' | 'down' | 'restoring';

export class PowerMachine {
  readonly steps: PowerStep[] = [];
  private readonly onBattery = new Map<string, { since: number; urgent: boolean }>();
  private readonly detached = new Set<string>();
  private phase: Phase = 'normal';

  constructor(
    private readonly cfg: PowerConfig,
    private readonly hooks: PowerHooks,
    private readonly clock: Clock,
    /** Model seconds per real millisecond factor: 1000 = real time; tests scale it down. */
    private readonly msPerSecond = 1000,
  ) {}

  private log(step: string, detail?: string): void {
    this.steps.push({ step, at: this.clock.now(), detail });
  }

  /** A NUT notification (upsmon NOTIFYCMD) or `kura cluster power-event`. */
  event(ups: string, type: PowerEventType): void {
    this.log(`event ${ups} ${type}`);
    if (type === 'ONLINE') {
      this.onBattery.delete(ups);
      return;
    }
    const urgent = type === 'LOWBATT' || type === 'FSD';
    const was = this.onBattery.get(ups);
    this.onBattery.set(ups, { since: was?.since ?? this.clock.now(), urgent: urgent || (was?.urgent ?? false) });
  }

  private confirmed(u: UpsConfig): boolean {
    const b = this.onBattery.get(u.name);
    return b !== undefined && (b.urgent || this.clock.now() - b.since >= u.confirmation * this.msPerSecond);
  }

  /** One polling round (the seed polls at most every 8 s); the caller runs it on its ticks. */
  async poll(): Promise<void> {
    if (this.phase === 'shutting-down' || this.phase === 'restoring') return;
    if (this.phase === 'down') {
      if (this.onBattery.size === 0) await this.restore();
      return;
    }
    const failed = this.cfg.upses.filter((u) => this.confirmed(u));
    if (failed.length === 0) {
      // Power is back on a detached node's UPS: it may run groups again.
      const back = [...this.detached].filter((n) => !this.cfg.upses.some((u) => u.nodes.includes(n) && this.onBattery.has(u.name)));
      if (back.length > 0) {
        for (const n of back) this.detached.delete(n);
        this.log('nodes-back', back.join(','));
        await this.hooks.powerOnNode(back.join(','));
      }
      return;
    }
    const diskFailed = failed.some((u) => u.kind === 'disk');
    const nodesDown = new Set(failed.filter((u) => u.kind === 'server').flatMap((u) => u.nodes));
    const alive = this.hooks.aliveNodes().filter((n) => !this.detached.has(n));
    const survivors = alive.filter((n) => !nodesDown.has(n));
    if (diskFailed || survivors.length === 0) {
      await this.shutdown(diskFailed ? 'shared-disk UPS' : 'every remaining node');
      return;
    }
    const toDetach = [...nodesDown].filter((n) => alive.includes(n));
    if (toDetach.length > 0) {
      for (const n of toDetach) this.detached.add(n);
      this.log('detach', toDetach.join(','));
      await this.hooks.detach(toDetach);
    }
  }

  private async shutdown(reason: string): Promise<void> {
    this.phase = 'shutting-down';
    this.log('cluster-shutdown-ordered', reason);
    const done = await this.hooks.clusterShutdown(this.cfg.clusterShutdownTimeout * this.msPerSecond);
    this.log(done ? 'cluster-shutdown-done' : 'cluster-shutdown-timeout');
    const nodes = [...new Set(this.cfg.upses.filter((u) => u.kind === 'server').flatMap((u) => u.nodes))];
    this.log(done ? 'os-shutdown-ordered' : 'os-shutdown-forced', nodes.join(','));
    await this.hooks.osShutdown(nodes, !done);
    await this.clock.sleep(UPS_OFF_AFTER_S * this.msPerSecond);
    // Server UPSs first; the disk UPS last, so the array outlives the servers writing to it.
    const order = [...this.cfg.upses].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'server' ? -1 : 1)).map((u) => u.name);
    this.log('ups-off-sent', order.join(','));
    await this.hooks.upsOff(order);
    this.phase = 'down';
  }

  private async restore(): Promise<void> {
    this.phase = 'restoring';
    const disks = this.cfg.upses.filter((u) => u.kind === 'disk').sort((a, b) => a.warmupRank - b.warmupRank);
    for (const d of disks) {
      this.log('disk-power-on', `${d.name} rank ${d.warmupRank}`);
      await this.hooks.powerOnDisk(d.name);
    }
    const nodes = [...new Set(this.cfg.upses.filter((u) => u.kind === 'server').flatMap((u) => u.nodes))];
    for (const n of nodes) {
      this.log('node-power-on', n);
      await this.hooks.powerOnNode(n);
    }
    this.detached.clear();
    this.log('cluster-start');
    await this.hooks.clusterStart();
    this.phase = 'normal';
  }
}
