// What `kura cluster group ...` and `kura cluster node list` do: read and
// change the groups' configuration and intent in etcd. The node agents carry
// the changes out.
import { GROUP_EXISTS, GROUP_MOVE_TARGET, GROUP_NOT_FOUND, GROUP_RUNNING, JOB_ACTIVE, JOB_NOT_FOUND } from '../catalogue/cluster.js';
import { isFinished, newJob } from './jobs.js';
import type { JobRecord } from './jobs.js';
import type { GroupConfig, GroupIntent, GroupState, GroupView } from './model.js';
import type { ClusterStore, GroupRecord, PowerSettings, Snapshot } from './store.js';

export function viewOf(name: string, g: GroupRecord): GroupView {
  let state: GroupState = 'offline';
  let server: string | null = null;
  if (g.owner) {
    state = g.status && g.status.server === g.owner ? g.status.state : 'starting';
    server = g.owner;
  } else if (g.status?.state === 'failed') state = 'failed';
  return { name, state, server, servers: g.config.servers, failback: g.config.failback, resources: g.config.resources, desired: g.intent.desired };
}

export function nodeList(snap: Snapshot): Array<{ name: string; state: 'online' | 'detached' }> {
  return [...snap.nodes.values()]
    .map((n) => ({ name: n.name, state: n.detached ? ('detached' as const) : ('online' as const) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export class ClusterAdmin {
  constructor(private readonly store: ClusterStore) {}

  private async snap(): Promise<Snapshot> {
    try {
      return await this.store.snapshot();
    } catch (e) {
      throw this.store.unreachable(e);
    }
  }

  private async group(name: string): Promise<GroupRecord> {
    const g = (await this.snap()).groups.get(name);
    if (!g) throw GROUP_NOT_FOUND({ group: name });
    return g;
  }

  private async putIntent(name: string, intent: GroupIntent): Promise<void> {
    await this.store.putJson(this.store.key('groups', name, 'intent'), intent);
  }

  async create(cfg: GroupConfig): Promise<GroupView> {
    const intent: GroupIntent = { desired: 'offline', startEvent: 'START', serial: 1, failedOn: [] };
    if (!(await this.store.createGroup(cfg, intent).catch((e: unknown) => Promise.reject(this.store.unreachable(e))))) throw GROUP_EXISTS({ group: cfg.name });
    return this.show(cfg.name);
  }

  async show(name: string): Promise<GroupView> {
    return viewOf(name, await this.group(name));
  }

  async list(): Promise<GroupView[]> {
    const s = await this.snap();
    return [...s.groups.entries()].map(([n, g]) => viewOf(n, g)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async nodes(): Promise<Array<{ name: string; state: string }>> {
    return nodeList(await this.snap());
  }

  /** Group start: on its first available priority server, or on `to`. Clears earlier start failures. */
  async start(name: string, to?: string): Promise<GroupView> {
    const g = await this.group(name);
    if (to !== undefined && !g.config.servers.includes(to)) throw GROUP_MOVE_TARGET({ group: name, node: to });
    await this.putIntent(name, { desired: 'online', target: to, startEvent: 'START', serial: g.intent.serial + 1, failedOn: [] });
    return this.show(name);
  }

  async stop(name: string): Promise<GroupView> {
    const g = await this.group(name);
    await this.putIntent(name, { ...g.intent, desired: 'offline', target: undefined, serial: g.intent.serial + 1, failedOn: [] });
    return this.show(name);
  }

  /** Manual move: the owner runs its stop chain, then `to` (or the next priority server) its start chain with FAILOVER. */
  async move(name: string, to?: string): Promise<GroupView> {
    const g = await this.group(name);
    const view = viewOf(name, g);
    let target = to;
    if (target === undefined) {
      const alive = new Set(
        nodeList(await this.snap())
          .filter((n) => n.state === 'online')
          .map((n) => n.name),
      );
      target = g.config.servers.find((s) => s !== view.server && alive.has(s));
    }
    if (target === undefined || !g.config.servers.includes(target)) throw GROUP_MOVE_TARGET({ group: name, node: target ?? '(none alive)' });
    await this.putIntent(name, { desired: 'online', target, startEvent: 'FAILOVER', serial: g.intent.serial, failedOn: [] });
    return this.show(name);
  }

  /** Changing a group's settings stops it (the seed, L3605); start it again afterwards. */
  async set(name: string, change: (cfg: GroupConfig) => GroupConfig): Promise<GroupView> {
    const g = await this.group(name);
    await this.store.putJson(this.store.key('groups', name, 'config'), change(g.config));
    if (g.intent.desired === 'online')
      await this.putIntent(name, { ...g.intent, desired: 'offline', target: undefined, serial: g.intent.serial + 1, failedOn: [] });
    return this.show(name);
  }

  async delete(name: string): Promise<void> {
    const g = await this.group(name);
    const v = viewOf(name, g);
    if (v.state !== 'offline' && v.state !== 'failed') throw GROUP_RUNNING({ group: name, state: v.state });
    await this.store.deleteGroup(name);
  }

  /** Cluster shutdown: every group stops where it runs; `up` starts the ones that ran, with ARMS_EVENT=RECOVER. */
  async clusterState(state: 'up' | 'down'): Promise<void> {
    if (state === 'up') {
      // The intents first: a node that sees the cluster up must already see the RECOVER request.
      for (const [name, g] of (await this.snap()).groups) {
        if (g.intent.desired === 'online') await this.putIntent(name, { ...g.intent, startEvent: 'RECOVER', serial: g.intent.serial + 1, failedOn: [] });
      }
    }
    await this.store.putJson(this.store.key('cluster'), { state });
  }

  async setPower(settings: PowerSettings): Promise<void> {
    await this.store.putJson(this.store.key('power', 'config'), settings).catch((e: unknown) => Promise.reject(this.store.unreachable(e)));
  }

  async power(): Promise<{ config: PowerSettings | null; events: Record<string, unknown>; log: unknown[] }> {
    const s = await this.snap();
    return { config: s.power.config ?? null, events: Object.fromEntries(s.power.events), log: s.power.log };
  }

  /** A UPS's event; the sequence number lets the coordinator tell a new event from one it has seen. */
  async powerEvent(ups: string, type: string): Promise<void> {
    const s = await this.snap();
    const cur = s.power.events.get(ups);
    // One slot per UPS: upsmon sends LOWBATT before ONBATT for a UPS that goes OB LB at once, and the
    // ONBATT must not hide the low battery (which needs no confirmation time) before the coordinator sees it.
    if (type === 'ONBATT' && (cur?.type === 'LOWBATT' || cur?.type === 'FSD')) return;
    const seq = (cur?.seq ?? 0) + 1;
    await this.store.putJson(this.store.key('power', 'events', ups), { type, seq, at: new Date().toISOString() });
  }

  async syncSet(group: string, key: string, value: string): Promise<void> {
    await this.group(group);
    await this.store.client
      .put(this.store.key('sync', group, key))
      .value(value)
      .exec();
  }

  async syncGet(group: string): Promise<Record<string, string>> {
    await this.group(group);
    return Object.fromEntries((await this.snap()).sync.get(group) ?? new Map());
  }

  /** Queues a job for the node that runs the group (now or once it is online); a finished job of the same id is replaced. */
  async submitJob(group: string, id: string, command: string, autoRestart: boolean): Promise<JobRecord> {
    await this.group(group);
    const job = newJob(group, id, command, autoRestart);
    const old = await this.store.client.get(this.store.key('jobs', group, id)).string();
    if (old !== null && !isFinished(JSON.parse(old) as JobRecord)) throw JOB_ACTIVE({ group, id });
    if (!(await this.store.submitJob(job, old ?? undefined))) throw JOB_ACTIVE({ group, id });
    return job;
  }

  async jobs(group: string): Promise<JobRecord[]> {
    await this.group(group);
    return [...((await this.snap()).jobs.get(group)?.values() ?? [])].sort((a, b) => a.id.localeCompare(b.id));
  }

  async deleteJob(group: string, id: string): Promise<void> {
    const key = this.store.key('jobs', group, id);
    const old = await this.store.client.get(key).string();
    if (old === null) throw JOB_NOT_FOUND({ group, id });
    if (!isFinished(JSON.parse(old) as JobRecord)) throw JOB_ACTIVE({ group, id });
    await this.store.client.delete().key(key).exec();
  }
}
