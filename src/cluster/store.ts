// The cluster's state in etcd, under kura/cluster/. Every node agent and every
// `kura cluster` command reads and writes it through this module:
//   nodes/NODE            {name, pid, detached}   on the node's lease (membership)
//   groups/G/config       GroupConfig
//   groups/G/intent       GroupIntent              what the administrator asked for
//   groups/G/owner        NODE                     on the owner's lease; created with a transaction, so one node runs G
//   groups/G/status       GroupStatus              written by the node running (or failing) G
//   groups/G/last         {serial, server}         the request the group last started for (START vs FAILOVER)
//   sync/G/KEY            value                    synchronized configuration keys
//   jobs/G/ID             JobRecord                a group's jobs (kura cluster job), marked when a failover cuts them off
//   cluster               {state: up|down}         cluster shutdown
//   power/config          PowerSettings            UPSs, timeouts and hook commands
//   power/events/UPS      {type, seq}              the last power event of each UPS (NUT NOTIFYCMD, power-event)
//   power/log             PowerStep[]              what the power coordinator did, in order
//   detach/NODE           reason                   a node detached by a power failure runs no group
import { Etcd3 } from 'etcd3';
import type { Lease } from 'etcd3';
import type { KuraError } from '../errors.js';
import { CLUSTER_ETCD_UNREACHABLE, CLUSTER_NEEDS_ETCD } from '../catalogue/cluster.js';
import type { GroupConfig, GroupIntent, GroupStatus } from './model.js';
import type { PowerConfig } from './power.js';
import type { JobRecord } from './jobs.js';

export const PREFIX = 'kura/cluster/';

export interface NodeRecord {
  name: string;
  pid: number;
  /** Detached by a power event: alive, but runs no group. */
  detached: boolean;
}

export interface GroupRecord {
  config: GroupConfig;
  intent: GroupIntent;
  owner?: string;
  status?: GroupStatus;
  last?: { serial: number; server: string };
}

/** Everything under kura/cluster/ at one revision. */
export interface Snapshot {
  nodes: Map<string, NodeRecord>;
  groups: Map<string, GroupRecord>;
  sync: Map<string, Map<string, string>>;
  jobs: Map<string, Map<string, JobRecord>>;
  clusterDown: boolean;
  power: { config?: PowerSettings; events: Map<string, { type: string; seq: number }>; log: unknown[] };
  detached: Set<string>;
}

/** The power configuration as kept in etcd: the machine's settings, the hooks, the clock scale. */
export interface PowerSettings extends PowerConfig {
  osShutdownCommand?: string;
  upsOffCommand?: string;
  powerOnCommand?: string;
  /** Milliseconds per model second (1000 = real time; tests scale the clock down). */
  msPerSecond: number;
}

export function endpointsFrom(v: string | undefined): string[] | KuraError {
  const list = (v ?? process.env['KURA_ETCD'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : CLUSTER_NEEDS_ETCD();
}

export class ClusterStore {
  readonly client: Etcd3;

  constructor(readonly endpoints: string[]) {
    // Every unary call has a deadline, so a lost etcd is noticed instead of waited on.
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 2000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }),
    });
  }

  unreachable(e: unknown): KuraError {
    return CLUSTER_ETCD_UNREACHABLE({ endpoints: this.endpoints.join(','), reason: (e as Error).message });
  }

  async snapshot(): Promise<Snapshot> {
    const all = await this.client.getAll().prefix(PREFIX).strings();
    const snap: Snapshot = {
      nodes: new Map(),
      groups: new Map(),
      sync: new Map(),
      jobs: new Map(),
      clusterDown: false,
      power: { events: new Map(), log: [] },
      detached: new Set(),
    };
    const partial = new Map<string, Partial<GroupRecord>>();
    for (const [k, v] of Object.entries(all)) {
      const parts = k.slice(PREFIX.length).split('/');
      try {
        if (parts[0] === 'nodes' && parts.length === 2) snap.nodes.set(parts[1]!, JSON.parse(v) as NodeRecord);
        else if (parts[0] === 'groups' && parts.length === 3) {
          const g = partial.get(parts[1]!) ?? {};
          partial.set(parts[1]!, g);
          if (parts[2] === 'config') g.config = JSON.parse(v) as GroupConfig;
          else if (parts[2] === 'intent') g.intent = JSON.parse(v) as GroupIntent;
          else if (parts[2] === 'owner') g.owner = v;
          else if (parts[2] === 'status') g.status = JSON.parse(v) as GroupStatus;
          else if (parts[2] === 'last') g.last = JSON.parse(v) as GroupRecord['last'];
        } else if (parts[0] === 'sync' && parts.length === 3) {
          const m = snap.sync.get(parts[1]!) ?? new Map<string, string>();
          m.set(parts[2]!, v);
          snap.sync.set(parts[1]!, m);
        } else if (parts[0] === 'jobs' && parts.length === 3) {
          const m = snap.jobs.get(parts[1]!) ?? new Map<string, JobRecord>();
          m.set(parts[2]!, JSON.parse(v) as JobRecord);
          snap.jobs.set(parts[1]!, m);
        } else if (parts[0] === 'cluster' && parts.length === 1) snap.clusterDown = (JSON.parse(v) as { state: string }).state === 'down';
        else if (parts[0] === 'power' && parts[1] === 'config') snap.power.config = JSON.parse(v) as PowerSettings;
        else if (parts[0] === 'power' && parts[1] === 'events' && parts.length === 3)
          snap.power.events.set(parts[2]!, JSON.parse(v) as { type: string; seq: number });
        else if (parts[0] === 'power' && parts[1] === 'log') snap.power.log = JSON.parse(v) as unknown[];
        else if (parts[0] === 'detach' && parts.length === 2) snap.detached.add(parts[1]!);
      } catch {
        // A value that is not JSON (written by hand) is left out rather than stopping every node.
      }
    }
    for (const [name, g] of partial) {
      if (g.config && g.intent) snap.groups.set(name, g as GroupRecord);
    }
    return snap;
  }

  key(...parts: string[]): string {
    return PREFIX + parts.join('/');
  }

  async putJson(key: string, value: unknown, lease?: Lease): Promise<void> {
    if (lease) await lease.put(key).value(JSON.stringify(value)).exec();
    else await this.client.put(key).value(JSON.stringify(value)).exec();
  }

  /** Creates the group's three keys at once, only if it does not exist. */
  async createGroup(cfg: GroupConfig, intent: GroupIntent): Promise<boolean> {
    const r = await this.client
      .if(this.key('groups', cfg.name, 'config'), 'Create', '==', 0)
      .then(
        this.client.put(this.key('groups', cfg.name, 'config')).value(JSON.stringify(cfg)),
        this.client.put(this.key('groups', cfg.name, 'intent')).value(JSON.stringify(intent)),
      )
      .commit();
    return r.succeeded;
  }

  /** Takes the group for `node` if nobody holds it; the key lives on the node's lease. */
  async claim(group: string, node: string, lease: Lease): Promise<boolean> {
    const key = this.key('groups', group, 'owner');
    const r = await this.client
      .if(key, 'Create', '==', 0)
      .then(
        this.client
          .put(key)
          .value(node)
          .lease(await lease.grant()),
      )
      .commit();
    return r.succeeded;
  }

  /** Gives the group up, only if `node` still holds it. */
  async unclaim(group: string, node: string): Promise<void> {
    const key = this.key('groups', group, 'owner');
    await this.client.if(key, 'Value', '==', node).then(this.client.delete().key(key)).commit();
  }

  async deleteGroup(group: string): Promise<void> {
    await this.client
      .delete()
      .prefix(this.key('groups', group) + '/')
      .exec();
    await this.client
      .delete()
      .prefix(this.key('sync', group) + '/')
      .exec();
    await this.client
      .delete()
      .prefix(this.key('jobs', group) + '/')
      .exec();
  }

  /** Adds a job, or replaces a finished one of the same id; false if one of that id waits or runs. */
  async submitJob(job: JobRecord, finishedValue?: string): Promise<boolean> {
    const key = this.key('jobs', job.group, job.id);
    const cond = finishedValue === undefined ? this.client.if(key, 'Create', '==', 0) : this.client.if(key, 'Value', '==', finishedValue);
    const r = await cond.then(this.client.put(key).value(JSON.stringify(job))).commit();
    return r.succeeded;
  }

  close(): void {
    this.client.close();
  }
}
