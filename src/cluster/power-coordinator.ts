// The power coordinator: one node (the alive node with the smallest name) feeds
// the UPS events kept in etcd to a PowerMachine and carries out its steps:
// detach keys for nodes on battery, cluster shutdown and start through the
// groups' intents, and the configured hook commands for OS shutdown, UPS off
// and power on. The steps go to power/log, where `kura cluster power show`
// reads them.
import { spawn } from 'node:child_process';
import { ClusterAdmin, viewOf } from './admin.js';
import { PowerMachine } from './power.js';
import type { PowerEventType, PowerHooks } from './power.js';
import type { ClusterStore, PowerSettings, Snapshot } from './store.js';

export class PowerCoordinator {
  private machine: PowerMachine | undefined;
  private configText = '';
  private readonly seen = new Map<string, number>();
  private polling = false;
  private logged = 0;
  private snap: Snapshot | undefined;

  constructor(
    private readonly store: ClusterStore,
    private readonly log: (line: string) => void,
    private readonly cwd: string,
  ) {}

  async tick(snap: Snapshot, leader: boolean): Promise<void> {
    this.snap = snap;
    const cfg = snap.power.config;
    if (!leader || !cfg) {
      this.machine = undefined;
      return;
    }
    const text = JSON.stringify(cfg);
    if (!this.machine || text !== this.configText) {
      this.configText = text;
      this.machine = new PowerMachine(cfg, this.hooks(cfg), { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, cfg.msPerSecond);
      this.logged = 0;
    }
    const m = this.machine;
    for (const [ups, e] of snap.power.events) {
      if ((this.seen.get(ups) ?? 0) >= e.seq) continue;
      this.seen.set(ups, e.seq);
      m.event(ups, e.type as PowerEventType);
    }
    if (this.polling) return;
    this.polling = true;
    try {
      await m.poll();
    } finally {
      this.polling = false;
      await this.flush(m);
    }
  }

  private async flush(m: PowerMachine): Promise<void> {
    if (m.steps.length === this.logged) return;
    this.logged = m.steps.length;
    const at0 = m.steps[0]?.at ?? 0;
    await this.store
      .putJson(
        this.store.key('power', 'log'),
        m.steps.map((s) => ({
          ...s,
          at: new Date(s.at).toISOString(),
          modelSeconds: Math.round(((s.at - at0) / (this.snap?.power.config?.msPerSecond ?? 1000)) * 10) / 10,
        })),
      )
      .catch(() => undefined);
  }

  private runHook(command: string | undefined, env: Record<string, string>): Promise<void> {
    if (!command) return Promise.resolve();
    return new Promise((resolve) => {
      const p = spawn('/bin/sh', ['-c', command], { cwd: this.cwd, env: { ...process.env, ...env }, stdio: 'ignore' });
      const t = setTimeout(() => p.kill('SIGKILL'), 120_000);
      p.once('error', () => resolve());
      p.once('exit', (code) => {
        clearTimeout(t);
        if (code !== 0) this.log(`power hook ${command} ended with exit status ${code}`);
        resolve();
      });
    });
  }

  private hooks(cfg: PowerSettings): PowerHooks {
    const admin = new ClusterAdmin(this.store);
    return {
      detach: async (nodes) => {
        for (const n of nodes) await this.store.client.put(this.store.key('detach', n)).value('power failure').exec();
        this.log(`power: nodes ${nodes.join(',')} on battery: detached, their groups fail over`);
      },
      clusterShutdown: async (timeoutMs) => {
        this.log('power: cluster shutdown');
        await admin.clusterState('down');
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const s = await this.store.snapshot().catch(() => undefined);
          if (s && [...s.groups].every(([n, g]) => ['offline', 'failed'].includes(viewOf(n, g).state))) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      },
      osShutdown: (nodes, forced) => this.runHook(cfg.osShutdownCommand, { KURA_POWER_NODES: nodes.join(','), KURA_POWER_FORCED: forced ? '1' : '0' }),
      upsOff: (ups) => this.runHook(cfg.upsOffCommand, { KURA_POWER_UPS: ups.join(',') }),
      powerOnDisk: (ups) => this.runHook(cfg.powerOnCommand, { KURA_POWER_TARGET: 'disk', KURA_POWER_UPS: ups }),
      powerOnNode: async (nodes) => {
        await this.runHook(cfg.powerOnCommand, { KURA_POWER_TARGET: 'node', KURA_POWER_NODES: nodes });
        for (const n of nodes.split(',')) await this.store.client.delete().key(this.store.key('detach', n)).exec();
      },
      clusterStart: () => admin.clusterState('up'),
      aliveNodes: () => [...(this.snap?.nodes.keys() ?? [])].filter((n) => !this.snap?.detached.has(n)),
    };
  }
}
