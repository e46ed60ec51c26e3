// The cluster node agent (`kura cluster node`). It joins the cluster with an
// etcd lease (its heartbeat), and every tick reads kura/cluster/ and carries
// out what the groups' intents and the live nodes call for: claim and start a
// group placed here, stop one placed elsewhere. The owner key of a running
// group lives on the node's lease, so a node that dies loses its groups when
// its lease expires and the next priority server claims them. A node that
// cannot reach etcd for 40% of its lease stops its groups itself, before the
// lease can expire and another node take them over.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lease } from 'etcd3';
import { GROUP_START_FAILED, JOB_CUT_OFF, NODE_LOST_ETCD, NODE_NAME_TAKEN, WATCHED_PROCESS_EXITED } from '../catalogue/cluster.js';
import type { ArmsEvent, GroupConfig, GroupStatus } from './model.js';
import { placement } from './placement.js';
import { GroupRunner } from './runner.js';
import type { Running } from './runner.js';
import { PathdPersist } from './shared-disk.js';
import { ClusterStore } from './store.js';
import type { GroupRecord, Snapshot } from './store.js';
import { Watched } from './watched.js';
import type { WatchedProcess } from './watched.js';
import { ControlServer } from './control.js';
import { PowerCoordinator } from './power-coordinator.js';
import { cutOff, finished, started, updateJob } from './jobs.js';
import type { JobRecord } from './jobs.js';

export interface AgentOptions {
  name: string;
  etcd: string[];
  dataDir: string;
  /** Lease TTL in seconds: a node silent this long is dead to the others. */
  heartbeatTimeout: number;
  pathd?: string;
  netns?: string;
  /** The kura entry point, for the DATA/bin wrappers scripts call. */
  kuraBin: string;
  tickMs?: number;
  log?: (line: string) => void;
}

export class NodeAgent {
  readonly store: ClusterStore;
  readonly watched: Watched;
  readonly runner: GroupRunner;
  private readonly running = new Map<string, Running>();
  private readonly busy = new Map<string, Promise<void>>();
  private lease: Lease | undefined;
  private lastKeepalive = 0;
  private fenced = false;
  private joining = false;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private control: ControlServer | undefined;
  private readonly logFile: string;
  readonly socket: string;
  private snapshotCache: Snapshot | undefined;
  private readonly power: PowerCoordinator;
  private detachedHere = false;
  /** Jobs running here, by GROUP/ID: resolves once the job's end is recorded. */
  private readonly jobRuns = new Map<string, Promise<void>>();

  constructor(private readonly o: AgentOptions) {
    this.store = new ClusterStore(o.etcd);
    this.logFile = path.join(o.dataDir, 'cluster.log');
    this.socket = path.join(o.dataDir, 'agent.sock');
    this.watched = new Watched(o.dataDir, (w, code) => this.onWatchedExit(w, code));
    this.power = new PowerCoordinator(this.store, (l) => this.log(l), o.dataDir);
    this.runner = new GroupRunner({
      node: o.name,
      dataDir: o.dataDir,
      socket: this.socket,
      etcd: o.etcd.join(','),
      netns: o.netns,
      pathd: o.pathd ? new PathdPersist(o.pathd) : undefined,
      watched: this.watched,
      path: `${path.join(o.dataDir, 'bin')}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      log: (l) => this.log(l),
      syncValues: async (g) => (await this.store.snapshot()).sync.get(g) ?? new Map(),
      syncPut: async (g, k, v) => {
        await this.store.client
          .put(this.store.key('sync', g, k))
          .value(v)
          .exec();
      },
    });
  }

  log(line: string): void {
    const text = `${new Date().toISOString()} ${this.o.name} ${line}`;
    try {
      fs.appendFileSync(this.logFile, `${text}\n`);
    } catch {
      // the log is best effort
    }
    (this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(text);
  }

  private get ttlMs(): number {
    return this.o.heartbeatTimeout * 1000;
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.o.dataDir, { recursive: true, mode: 0o700 });
    const left = this.watched.killLeftovers();
    if (left > 0) this.log(`ended ${left} process(es) left by an earlier run of this node`);
    this.writeWrappers();
    this.control = new ControlServer(this);
    await this.control.listen(this.socket);
    // A crashed earlier run's lease may still hold the name for up to one TTL.
    const deadline = Date.now() + this.ttlMs + 2000;
    while (
      (await this.store.client
        .get(this.store.key('nodes', this.o.name))
        .string()
        .catch((e: unknown) => Promise.reject(this.store.unreachable(e)))) !== null
    ) {
      if (Date.now() > deadline) throw NODE_NAME_TAKEN({ node: this.o.name });
      await sleep(250);
    }
    await this.join();
    this.timers.push(setInterval(() => void this.keepalive(), Math.max(200, this.ttlMs / 5)));
    this.timers.push(setInterval(() => this.checkEtcd(), 100));
    this.timers.push(setInterval(() => void this.tick(), this.o.tickMs ?? 250));
  }

  private async join(): Promise<void> {
    const lease = this.store.client.lease(this.o.heartbeatTimeout, { autoKeepAlive: false });
    await lease.grant();
    await this.store.putJson(this.store.key('nodes', this.o.name), { name: this.o.name, pid: process.pid, detached: false }, lease);
    this.lease = lease;
    this.lastKeepalive = Date.now();
    this.fenced = false;
    this.detachedHere = false;
    this.log(`joined the cluster (lease ${await lease.grant()}, heartbeat timeout ${this.o.heartbeatTimeout} s)`);
  }

  private async keepalive(): Promise<void> {
    if (this.stopping) return;
    const lease = this.lease;
    if (!lease) {
      // The lease was lost while etcd was away: join again once it answers.
      if (this.joining) return;
      this.joining = true;
      try {
        await this.join();
      } catch {
        // still away
      } finally {
        this.joining = false;
      }
      return;
    }
    try {
      const r = await lease.keepaliveOnce({ deadline: Date.now() + Math.max(500, this.ttlMs / 4) });
      if (Number(r.TTL ?? 0) <= 0) throw new Error('lease expired');
      if (this.lease === lease) this.lastKeepalive = Date.now();
    } catch {
      // Once the lease can have expired, join again with a new one.
      if (this.lease === lease && Date.now() - this.lastKeepalive > this.ttlMs) this.lease = undefined;
    }
  }

  /** Half the lease without an answer from etcd: stop every local group before another node can take it. */
  private checkEtcd(): void {
    if (this.stopping || this.fenced) return;
    const silent = Date.now() - this.lastKeepalive;
    if (silent <= this.ttlMs * 0.4) return;
    this.fenced = true;
    if (this.running.size === 0) return;
    this.log(`${NODE_LOST_ETCD.id} ` + NODE_LOST_ETCD({ node: this.o.name, seconds: Math.round(silent / 100) / 10 }));
    for (const [g, r] of this.running) {
      this.exclusive(g, async () => {
        // Scripts get 30% of the lease; whatever still runs then is killed at once.
        await this.runner.stop(r, { serverShutdown: false, timeoutMs: Math.max(1000, this.ttlMs * 0.3), killGraceMs: 200 });
        this.running.delete(g);
        this.log(`group ${g}: stopped (etcd lost)`);
      });
    }
  }

  /** Runs `fn` for group `g` unless something already runs for it. */
  private exclusive(g: string, fn: () => Promise<void>): void {
    if (this.busy.has(g)) return;
    const p = fn()
      .catch((e: unknown) => this.log(`group ${g}: ${(e as Error).message}`))
      .finally(() => this.busy.delete(g));
    this.busy.set(g, p);
  }

  private ticking = false;
  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      const snap = await this.store.snapshot();
      this.snapshotCache = snap;
      if (this.fenced && this.lease && Date.now() - this.lastKeepalive < this.ttlMs / 4) this.fenced = false;
      const alive = new Set([...snap.nodes.values()].filter((n) => !n.detached && !snap.detached.has(n.name)).map((n) => n.name));
      if (snap.clusterDown) alive.clear();
      await this.markDetached(snap.detached.has(this.o.name));
      for (const [name, g] of snap.groups) this.reconcile(name, g, alive);
      for (const [name, jobs] of snap.jobs) this.runQueuedJobs(name, jobs);
      // The power coordinator runs on one node: the alive one with the smallest name.
      const leader = [...snap.nodes.keys()].sort()[0];
      void this.power.tick(snap, leader === this.o.name).catch((e: unknown) => this.log(`power: ${(e as Error).message}`));
      for (const name of this.running.keys()) {
        if (!snap.groups.has(name)) this.exclusive(name, () => this.stopLocal(name, false));
      }
    } catch {
      // etcd away: checkEtcd decides when the groups must stop
    } finally {
      this.ticking = false;
    }
  }

  private reconcile(name: string, g: GroupRecord, alive: Set<string>): void {
    const me = this.o.name;
    const mine = this.running.has(name);
    if (mine && g.owner !== me) {
      // Our lease expired (or the key was taken away): the group is no longer ours to run.
      this.exclusive(name, () => this.stopLocal(name, false));
      return;
    }
    if (this.fenced || !this.lease) return;
    const want = placement(g.config, g.intent, { alive, owner: g.owner && alive.has(g.owner) ? g.owner : undefined });
    if (g.owner === me && want !== me) {
      // A node detached by a power failure stops as in a server shutdown (ARMS_FACTOR=SERVERSHUTDOWN).
      this.exclusive(name, () => this.stopLocal(name, true, this.detachedHere));
      return;
    }
    if (g.owner === me && !mine && !this.busy.has(name)) {
      // We own it but do not run it (a restart of this agent within the lease): give it up.
      this.exclusive(name, async () => {
        await this.store.unclaim(name, me);
      });
      return;
    }
    if (!g.owner && want === me) this.exclusive(name, () => this.startLocal(name, g));
  }

  /** Starts the group's queued jobs if the group runs here and is not starting or stopping. */
  private runQueuedJobs(group: string, jobs: Map<string, JobRecord>): void {
    const r = this.running.get(group);
    if (!r || this.busy.has(group) || this.fenced || this.stopping) return;
    for (const job of jobs.values()) {
      const key = `${group}/${job.id}`;
      if (job.state !== 'queued' || this.jobRuns.has(key)) continue;
      const p = this.runJob(group, job.id, r)
        .catch((e: unknown) => this.log(`group ${group}: job ${job.id}: ${(e as Error).message}`))
        .finally(() => this.jobRuns.delete(key));
      this.jobRuns.set(key, p);
    }
  }

  private async runJob(group: string, id: string, r: Running): Promise<void> {
    const me = this.o.name;
    const ours = (j: JobRecord) => j.state === 'running' && j.runs.at(-1)?.node === me && j.runs.at(-1)?.result === undefined;
    const job = await updateJob(this.store, group, id, (j) => (j.state === 'queued' ? started(j, me) : undefined));
    if (!job) return;
    this.log(`group ${group}: job ${id} started (run ${job.runs.length})`);
    const wid = `job.${id}`;
    const err = await this.watched.start(group, wid, job.command, 'none', { ...this.runner.envFor(r), KURA_JOB: id });
    const w = this.watched.get(group, wid);
    if (err || !w) {
      this.log(`group ${group}: job ${id} did not start: ${err ?? 'no process'}`);
      await updateJob(this.store, group, id, (j) => (ours(j) ? finished(j, 127, null) : undefined));
      return;
    }
    const code = await w.exited;
    if (w.killed) {
      // The group stopped or moved while the job ran.
      const marked = await updateJob(this.store, group, id, (j) => (ours(j) ? cutOff(j) : undefined));
      if (marked) this.log(`${JOB_CUT_OFF.id} ${JOB_CUT_OFF({ group, id, node: me, rerun: marked.state === 'queued' })}`);
      return;
    }
    await updateJob(this.store, group, id, (j) => (ours(j) ? finished(j, code, w.proc.signalCode) : undefined));
    this.log(`group ${group}: job ${id} ended (${code === null ? `signal ${w.proc.signalCode}` : `exit status ${code}`})`);
  }

  /** Marks the group's jobs that were running elsewhere (a dead node, an etcd loss there) as cut off by failover. */
  private async markCutOffJobs(group: string): Promise<void> {
    const jobs = (await this.store.snapshot()).jobs.get(group);
    for (const j of jobs?.values() ?? []) {
      if (j.state !== 'running') continue;
      const node = j.runs.at(-1)?.node ?? '?';
      const marked = await updateJob(this.store, group, j.id, (cur) => (cur.state === 'running' ? cutOff(cur) : undefined));
      if (marked) this.log(`${JOB_CUT_OFF.id} ${JOB_CUT_OFF({ group, id: j.id, node, rerun: marked.state === 'queued' })}`);
    }
  }

  /** Shows a power detach in the node's membership record (kura cluster node list). */
  private async markDetached(detached: boolean): Promise<void> {
    if (detached === this.detachedHere || !this.lease) return;
    this.detachedHere = detached;
    this.log(detached ? 'detached by a power failure: the groups here fail over' : 'power is back: this node runs groups again');
    await this.store.putJson(this.store.key('nodes', this.o.name), { name: this.o.name, pid: process.pid, detached }, this.lease);
  }

  private async setStatus(group: string, s: Omit<GroupStatus, 'since'>, onLease: boolean): Promise<void> {
    await this.store.putJson(this.store.key('groups', group, 'status'), { ...s, since: new Date().toISOString() }, onLease ? this.lease : undefined);
  }

  private async startLocal(name: string, g: GroupRecord): Promise<void> {
    const lease = this.lease;
    if (!lease || !(await this.store.claim(name, this.o.name, lease))) return;
    const event: ArmsEvent = g.last && g.last.serial === g.intent.serial ? 'FAILOVER' : g.intent.startEvent;
    await this.store.putJson(this.store.key('groups', name, 'last'), { serial: g.intent.serial, server: this.o.name });
    await this.setStatus(name, { state: 'starting', server: this.o.name, event }, true);
    this.log(`group ${name}: starting (${event})`);
    const r = await this.runner.start(g.config, event);
    if (r.ok) {
      // Jobs still recorded as running ran where the group ran before: a failover cut them off.
      await this.markCutOffJobs(name);
      this.running.set(name, r.running);
      // A move is done once the group runs on its target: later placements follow priority again.
      if (g.intent.target === this.o.name) await this.clearTarget(name);
      // Lost the lease while starting: the tick that follows stops it again.
      await this.setStatus(name, { state: 'online', server: this.o.name, event }, true);
      this.log(`group ${name}: online`);
      return;
    }
    this.log(`${GROUP_START_FAILED.id} ${GROUP_START_FAILED({ group: name, node: this.o.name, reason: r.reason })}`);
    await this.markFailed(name, r.reason);
  }

  private async clearTarget(name: string): Promise<void> {
    const g = (await this.store.snapshot()).groups.get(name);
    if (g && g.intent.target === this.o.name) await this.store.putJson(this.store.key('groups', name, 'intent'), { ...g.intent, target: undefined });
  }

  /** Records that the group cannot run here, so placement picks the next server, and lets it go. */
  private async markFailed(name: string, reason: string): Promise<void> {
    const snap = await this.store.snapshot();
    const g = snap.groups.get(name);
    if (g && !g.intent.failedOn.includes(this.o.name)) {
      await this.store.putJson(this.store.key('groups', name, 'intent'), { ...g.intent, failedOn: [...g.intent.failedOn, this.o.name] });
    }
    await this.setStatus(name, { state: 'failed', server: null, reason }, false);
    await this.store.unclaim(name, this.o.name);
  }

  private async stopLocal(name: string, release: boolean, serverShutdown = false): Promise<void> {
    const r = this.running.get(name);
    if (r) {
      if (release) await this.setStatus(name, { state: 'stopping', server: this.o.name, event: r.event }, true).catch(() => undefined);
      this.log(`group ${name}: stopping${serverShutdown ? ' (server shutdown)' : ''}`);
      await this.runner.stop(r, { serverShutdown, timeoutMs: 60_000 });
      this.running.delete(name);
      // The stop killed the group's jobs: their cut-off marks are written before another node can take the group.
      await Promise.all([...this.jobRuns].filter(([k]) => k.startsWith(`${name}/`)).map(([, p]) => p));
    }
    if (release) {
      await this.setStatus(name, { state: 'offline', server: null }, false).catch(() => undefined);
      await this.store.unclaim(name, this.o.name);
      this.log(`group ${name}: offline here`);
    }
  }

  /** A watched process exited on its own: fail the group over (--fov, monitor) or shut the node down (--monitor, monitor!). */
  private onWatchedExit(w: WatchedProcess, code: string): void {
    const action = w.action === 'shutdown' ? 'the node shuts down and its groups fail over' : 'the group fails over';
    this.log(`${WATCHED_PROCESS_EXITED.id} ${WATCHED_PROCESS_EXITED({ group: w.group, id: w.id, code, action })}`);
    if (w.action === 'shutdown') {
      void this.serverShutdown();
      return;
    }
    // Wait for a start still in progress; then stop here and let the next server take it.
    void (async () => {
      await this.busy.get(w.group);
      this.exclusive(w.group, async () => {
        await this.stopLocal(w.group, false);
        await this.markFailed(w.group, `watched process ${w.id} exited (${code})`);
      });
    })();
  }

  /** Server shutdown: every group stops with ARMS_FACTOR=SERVERSHUTDOWN and fails over; then the node leaves. */
  async serverShutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([...this.busy.values()]);
    const lease = this.lease;
    if (lease)
      await this.store.putJson(this.store.key('nodes', this.o.name), { name: this.o.name, pid: process.pid, detached: true }, lease).catch(() => undefined);
    for (const name of [...this.running.keys()]) {
      try {
        await this.stopLocal(name, true, true);
      } catch (e) {
        this.log(`group ${name}: ${(e as Error).message}`);
      }
    }
    if (lease) await lease.revoke().catch(() => undefined);
    this.log('left the cluster');
    await this.close();
  }

  /** Resolves once the agent has closed (a server shutdown, from a signal or a --monitor process). */
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));

  async close(): Promise<void> {
    this.resolveClosed();
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.control?.close();
    this.store.close();
  }

  /** The group a script belongs to, as the control socket needs it. */
  snapshot(): Snapshot | undefined {
    return this.snapshotCache;
  }

  configOf(group: string): GroupConfig | undefined {
    return this.running.get(group)?.cfg ?? this.snapshotCache?.groups.get(group)?.config;
  }

  /** DATA/bin: kura and the seed's command names, for the scripts' PATH. */
  private writeWrappers(): void {
    const bin = path.join(this.o.dataDir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const node = process.execPath;
    const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    write('kura', `exec "${node}" "${this.o.kuraBin}" "$@"`);
    // The arm* commands run a small program of their own: loading the whole CLI would slow every start chain.
    const armctl = fileURLToPath(new URL('./armctl.js', import.meta.url));
    for (const c of ['armload', 'armkill', 'armloadc', 'armsleep', 'armlog']) write(c, `exec "${node}" "${armctl}" ${c} "$@"`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
