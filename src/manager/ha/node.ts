// One manager of a redundant deployment (kura manager --etcd): its lease and
// membership in etcd, and a reconcile loop that, for every registered array,
// makes this manager do what the roles in etcd say:
//  - active (lease-backed role key; fencing token = the key's create revision):
//    fences the array, serves the management API for it (a Manager over the
//    HTTP array agent), recruits a standby when the slot is empty and streams
//    the management data to it;
//  - standby: holds the array's identifier and management data (snapshot, then
//    the stream) and takes the active role over, by compare-and-swap, when the
//    active's key is gone (its lease expired);
//  - spare: nothing until recruited.
// Patroni's rule: while the lease is not refreshed in time, acting() is false:
// the active sessions close and no change reaches an array.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { httpArrayAgent } from '../../array/agent-http/client.js';
import type { RemoteArrayAgent } from '../../array/agent-http/client.js';
import { Manager } from '../manager.js';
import { ADMIN_TOKEN_KEY, activeKey, arrayKey, chooseStandby, holdersKey, holdersValue, managerKey, readView, rolesHeld, standbyKey } from './keys.js';
import type { ArrayRecord, DeploymentView, ManagerRecord, RoleView } from './keys.js';
import { MemberLease } from './lease.js';
import { ReplicaReceiver, ReplicationSender } from './replication.js';
import { ACTIVE_LOST, ACTIVE_WITHOUT_STANDBY, MANAGER_NOT_ACTING, NO_SPARE_MANAGER, STANDBY_LOST } from '../../catalogue/ha.js';

export const DEFAULT_LEASE_TTL = 3;
const TICK_MS = 250;
/** How long a change waits for the standby's acknowledgement before the standby is dropped. */
const ACK_TIMEOUT_MS = 3000;

export interface HaNodeOptions {
  name: string;
  dataDir: string;
  etcd: string[];
  ttlSeconds?: number;
  /** The admin token this manager brings (used if it is the first one). */
  adminToken: string;
  log: (m: string) => void;
}

export interface ActiveSession {
  array: ArrayRecord;
  token: number;
  agent: RemoteArrayAgent;
  manager: Manager;
  /** http://127.0.0.1:PORT of the session's Manager (the front proxies to it). */
  internalUrl: string;
  lastSeq: number;
  sender: ReplicationSender | null;
  standby: string | null;
  recruiting: boolean;
  noSpareWarned: boolean;
}

interface StandbySession {
  receiver: ReplicaReceiver;
  createdAt: number;
  confirmed: boolean;
}

export class HaNode {
  readonly etcd: Etcd3;
  readonly lease: MemberLease;
  view: DeploymentView | null = null;
  readonly active = new Map<string, ActiveSession>();
  readonly standby = new Map<string, StandbySession>();
  /** Arrays whose reconcile step is running, with when it started. */
  private readonly busy = new Map<string, number>();
  private readonly failedCandidates = new Map<string, number>();
  private readonly vacantSince = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private ticking = false;
  adminToken: string;
  readonly ttl: number;
  /** This manager's API as the others reach it (known once it listens). */
  private url = '';

  constructor(private readonly o: HaNodeOptions) {
    this.ttl = o.ttlSeconds ?? DEFAULT_LEASE_TTL;
    this.adminToken = o.adminToken;
    this.etcd = new Etcd3({
      hosts: o.etcd,
      dialTimeout: 2000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 2000 }),
    });
    this.lease = new MemberLease(this.etcd, { ttlSeconds: this.ttl, log: o.log, onLost: () => this.onLeaseLost() });
  }

  get name(): string {
    return this.o.name;
  }

  acting(): boolean {
    return this.lease.acting();
  }

  /** Joins the deployment: lease, shared admin token, membership; then reconciles every TICK_MS. */
  async start(url: string): Promise<void> {
    this.url = url;
    await this.lease.grant();
    // The first manager's token becomes everybody's (compare-and-swap on an absent key).
    const t = await this.etcd
      .if(ADMIN_TOKEN_KEY, 'Create', '==', 0)
      .then(this.etcd.put(ADMIN_TOKEN_KEY).value(this.adminToken))
      .else(this.etcd.get(ADMIN_TOKEN_KEY))
      .commit();
    if (!t.succeeded) this.adminToken = t.responses[0]!.response_range!.kvs[0]!.value.toString();
    await this.register();
    this.schedule();
  }

  private async register(): Promise<void> {
    const rec: ManagerRecord = { name: this.o.name, url: this.url, lease: this.lease.leaseId };
    await this.etcd.put(managerKey(this.o.name)).value(JSON.stringify(rec)).lease(this.lease.leaseId);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick(), TICK_MS);
  }

  private onLeaseLost(): void {
    // Every role key went with the lease: stop acting for every array at once.
    for (const id of [...this.active.keys()]) void this.stopActive(id, 'the lease is lost');
    for (const id of [...this.standby.keys()]) this.dropStandby(id);
  }

  private async tick(): Promise<void> {
    if (this.ticking) return this.schedule();
    this.ticking = true;
    try {
      if (this.lease.isLost()) {
        await this.lease.grant();
        await this.register();
        this.o.log(`rejoined with lease ${this.lease.leaseId}`);
      }
      if (!this.acting()) {
        for (const id of [...this.active.keys()]) await this.stopActive(id, 'the lease could not be refreshed in time');
      }
      const view = await readView(this.etcd);
      this.view = view;
      if (!view.managers.has(this.o.name) && this.acting()) await this.register();
      for (const [id, role] of view.roles) {
        if (!view.arrays.has(id)) continue;
        const since = this.busy.get(id);
        if (since !== undefined) {
          if (Date.now() - since > 20_000 && Math.floor((Date.now() - since) / 1000) % 20 === 0)
            this.o.log(`array ${id}: one step has run for ${Math.round((Date.now() - since) / 1000)} s`);
          continue;
        }
        this.busy.set(id, Date.now());
        void this.reconcile(view, id, role).finally(() => this.busy.delete(id));
      }
    } catch (e) {
      this.o.log(`etcd: ${(e as Error).message}`);
    } finally {
      this.ticking = false;
      this.schedule();
    }
  }

  private async reconcile(view: DeploymentView, id: string, role: RoleView): Promise<void> {
    const me = this.o.name;
    try {
      if (!this.acting()) return;
      const mine = this.active.get(id);
      // A role key counts as this manager's only on this manager's lease: a restarted
      // manager of the same name must not act on the keys of its previous life.
      const lease = this.lease.leaseId;
      if (role.active?.name === me && role.active.lease === lease) {
        if (!mine || mine.token !== role.active.token) {
          if (mine) await this.stopActive(id, 'a newer token');
          if ((this.retryAt.get(id) ?? 0) > Date.now()) return;
          await this.startActive(view, id, role.active.token, null);
        } else await this.keepStandby(view, id, mine, role);
      } else if (mine) await this.stopActive(id, role.active ? `${role.active.name} holds the active role` : 'the role key is gone');

      const sb = this.standby.get(id);
      if (role.standby?.name === me && role.standby.lease === lease) {
        if (!role.active) await this.takeOver(view, id, role);
      } else if (sb && Date.now() - sb.createdAt > 2000 && role.active?.name !== me) this.dropStandby(id);

      if (!role.active && !role.standby) {
        // Nobody holds the array (first registration, or active and standby both lost):
        // the manager the recruitment rule prefers claims it; anybody after a while.
        const since = this.vacantSince.get(id) ?? Date.now();
        this.vacantSince.set(id, since);
        // A live manager whose copy holds every acknowledged event goes first; while
        // one is live, the others wait (an older copy would lose acknowledged events).
        const holders = (view.holders.get(id) ?? []).filter((n) => view.managers.has(n));
        if (holders.length > 0) {
          if (holders.includes(me)) await this.claim(view, id);
        } else {
          const preferred = chooseStandby(view, id) === me;
          if (preferred || Date.now() - since > 2 * this.ttl * 1000) await this.claim(view, id);
        }
      } else this.vacantSince.delete(id);
    } catch (e) {
      this.o.log(`array ${id}: ${(e as Error).message}`);
    }
  }

  private async claim(view: DeploymentView, id: string): Promise<void> {
    const res = await this.etcd
      .if(activeKey(id), 'Create', '==', 0)
      .and(standbyKey(id), 'Create', '==', 0)
      .then(
        this.etcd
          .put(activeKey(id))
          .value(JSON.stringify({ name: this.o.name }))
          .lease(this.lease.leaseId),
        this.etcd.put(holdersKey(id)).value(holdersValue([this.o.name])),
      )
      .commit();
    if (!res.succeeded) return;
    await this.startActive(view, id, Number(res.header.revision), { kind: 'claim' });
  }

  private async takeOver(view: DeploymentView, id: string, role: RoleView): Promise<void> {
    const sb = role.standby!;
    const res = await this.etcd
      .if(activeKey(id), 'Create', '==', 0)
      .and(standbyKey(id), 'Value', '==', sb.raw)
      .then(
        this.etcd
          .put(activeKey(id))
          .value(JSON.stringify({ name: this.o.name }))
          .lease(this.lease.leaseId),
        this.etcd.delete().key(standbyKey(id)),
        this.etcd.put(holdersKey(id)).value(holdersValue([this.o.name])),
      )
      .commit();
    if (!res.succeeded) return;
    const from = this.standby.get(id)?.receiver.activeName ?? 'unknown';
    this.o.log(`array ${id}: took over as active from ${from}`);
    await this.startActive(view, id, Number(res.header.revision), { kind: 'takeover', from, confirmed: sb.confirmed });
  }

  private async startActive(
    view: DeploymentView,
    id: string,
    token: number,
    why: { kind: 'claim' } | { kind: 'takeover'; from: string; confirmed: boolean } | null,
  ): Promise<void> {
    const array = view.arrays.get(id)!;
    this.dropStandby(id);
    const dir = path.join(this.o.dataDir, 'arrays', id);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'admin.token'), this.adminToken + '\n', { mode: 0o600 });
    const agent = httpArrayAgent({
      url: array.url,
      token: array.token,
      label: id,
      fencing: () => `active:${token}`,
      checkActing: () => {
        if (!this.acting()) throw MANAGER_NOT_ACTING();
      },
    });
    let manager: Manager | undefined;
    try {
      // From here on the array refuses every older token: a paused ex-active can change nothing.
      await agent.fence('active', token);
      manager = new Manager({ dataDir: dir, agent, log: this.o.log });
      await manager.listen('127.0.0.1', 0);
    } catch (e) {
      await manager?.close().catch(() => undefined);
      await agent.close();
      this.retryAt.set(id, Date.now() + 1000);
      throw e;
    }
    const s: ActiveSession = {
      array,
      token,
      agent,
      manager,
      internalUrl: `http://127.0.0.1:${manager.address().port}`,
      lastSeq: 0,
      sender: null,
      standby: null,
      recruiting: false,
      noSpareWarned: false,
    };
    manager.events.onRecord((e) => {
      s.lastSeq = e.seq;
      s.sender?.notify();
    });
    this.active.set(id, s);
    const ev = manager.events;
    if (why?.kind === 'takeover') {
      ev.record({
        id: ACTIVE_LOST.id,
        severity: 'warning',
        source: `array/${id}`,
        text: ACTIVE_LOST({ array: id, manager: why.from, successor: this.o.name, token }),
      });
      if (!why.confirmed) {
        ev.record({
          id: ACTIVE_WITHOUT_STANDBY.id,
          severity: 'warning',
          source: `array/${id}`,
          text: ACTIVE_WITHOUT_STANDBY({ array: id, manager: this.o.name, token }),
        });
      }
    } else {
      ev.record({
        id: 'KURA-I8001',
        severity: 'info',
        source: `array/${id}`,
        text: `Manager ${this.o.name} is active for array ${id} (${array.name}) with fencing token ${token}${why?.kind === 'claim' ? ' (the array had no manager)' : ''}.`,
      });
    }
    this.o.log(`array ${id}: active with token ${token}`);
  }

  private async stopActive(id: string, why: string): Promise<void> {
    const s = this.active.get(id);
    if (!s) return;
    this.active.delete(id);
    this.o.log(`array ${id}: no longer active (${why})`);
    s.sender?.close();
    await s.manager.close().catch(() => undefined);
    await s.agent.close().catch(() => undefined);
  }

  /** The active's duty: a confirmed standby in the slot, and the stream to it. */
  private async keepStandby(view: DeploymentView, id: string, s: ActiveSession, role: RoleView): Promise<void> {
    if (s.recruiting) return;
    const sb = role.standby;
    if (sb && sb.name === s.standby && s.sender) {
      if (s.sender.failure !== null && s.sender.acked < s.lastSeq) {
        // A standby that cannot keep up is let go; another one is recruited.
        await this.dropStandbyKey(id, sb.raw, s.token);
      }
      return;
    }
    if (s.standby !== null && s.sender) {
      const ev = s.manager.events;
      ev.record({
        id: STANDBY_LOST.id,
        severity: 'warning',
        source: `array/${id}`,
        text: STANDBY_LOST({ array: id, manager: s.standby, active: this.o.name }),
      });
      s.sender.close();
      s.sender = null;
      s.standby = null;
    }
    if (sb && !view.managers.has(sb.name)) return; // its key goes with its lease
    await this.recruit(view, id, s, sb?.name ?? null, sb?.raw ?? null);
  }

  private async recruit(view: DeploymentView, id: string, s: ActiveSession, existing: string | null, existingRaw: string | null): Promise<void> {
    s.recruiting = true;
    const ev = s.manager.events;
    let cand = existing;
    let raw = existingRaw;
    try {
      if (cand === null) {
        const now = Date.now();
        const exclude = new Set([...this.failedCandidates].filter(([, t]) => now - t < 5000).map(([n]) => n));
        cand = chooseStandby(view, id, exclude);
        if (cand === null) {
          if (!s.noSpareWarned)
            ev.record({ id: NO_SPARE_MANAGER.id, severity: 'warning', source: `array/${id}`, text: NO_SPARE_MANAGER({ array: id, active: this.o.name }) });
          s.noSpareWarned = true;
          return;
        }
        s.noSpareWarned = false;
        const target = view.managers.get(cand)!;
        raw = JSON.stringify({ name: cand, confirmed: false });
        const res = await this.etcd
          .if(activeKey(id), 'Create', '==', s.token)
          .and(standbyKey(id), 'Create', '==', 0)
          .then(this.etcd.put(standbyKey(id)).value(raw).lease(target.lease))
          .commit();
        if (!res.succeeded) return;
        const held = rolesHeld(view).get(cand) ?? 0;
        ev.record({
          id: 'KURA-I8002',
          severity: 'info',
          source: `array/${id}`,
          text: `Manager ${this.o.name} (active, token ${s.token}) selected ${cand} as standby for array ${id} (rule: fewest array roles held, ${held}, then name).`,
        });
      }
      const target = view.managers.get(cand)!;
      const post = async (sub: string, body: unknown): Promise<void> => {
        const r = await fetch(`${target.url}/ha/v1/arrays/${encodeURIComponent(id)}${sub}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json', 'x-kura-fencing': `active:${s.token}` },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        if (r.status !== 200) throw new Error(`${cand} answered ${sub} with ${r.status}: ${(await r.text()).slice(0, 300)}`);
      };
      // The claim's "transmits the identifier": the array's record (id, agent URL and token).
      await post('/recruit', { array: s.array, active: this.o.name, token: s.token });
      const sender = new ReplicationSender({
        arrayId: id,
        dir: path.join(this.o.dataDir, 'arrays', id),
        token: s.token,
        target,
        adminToken: this.adminToken,
        log: this.o.log,
      });
      let seq: number;
      try {
        seq = await sender.snapshot();
      } catch (e) {
        sender.close();
        throw e;
      }
      ev.record({
        id: 'KURA-I8003',
        severity: 'info',
        source: `array/${id}`,
        text: `Manager ${this.o.name} transmitted array ${id}'s identifier and management data (events up to ${seq}, the VVOL store) to ${cand}.`,
      });
      s.sender = sender;
      s.standby = cand;
      sender.notify();
      await post('/confirm', { raw });
      ev.record({
        id: 'KURA-I8004',
        severity: 'info',
        source: `array/${id}`,
        text: `Manager ${cand} confirmed as standby for array ${id}; redundancy restored.`,
      });
      sender.notify();
    } catch (e) {
      this.o.log(`array ${id}: recruiting ${cand}: ${(e as Error).message}`);
      if (cand !== null) this.failedCandidates.set(cand, Date.now());
      s.sender?.close();
      s.sender = null;
      s.standby = null;
      if (raw !== null) await this.dropStandbyKey(id, raw, s.token).catch(() => undefined);
    } finally {
      s.recruiting = false;
    }
  }

  /** Empties the standby slot if it still holds `raw` and this manager still holds the active role (`token`). */
  private async dropStandbyKey(id: string, raw: string, token: number): Promise<void> {
    await this.etcd
      .if(standbyKey(id), 'Value', '==', raw)
      .and(activeKey(id), 'Create', '==', token)
      .then(this.etcd.delete().key(standbyKey(id)), this.etcd.put(holdersKey(id)).value(holdersValue([this.o.name])))
      .commit();
  }

  private dropStandby(id: string): void {
    const sb = this.standby.get(id);
    if (!sb) return;
    sb.receiver.close();
    this.standby.delete(id);
  }

  // ---- the standby's side, called by the front's /ha/v1 routes ----

  /** The active transmits the array's identifier: this manager becomes its (joining) standby. */
  recruited(id: string, array: ArrayRecord, activeName: string, token: number): void {
    if (!this.acting()) throw MANAGER_NOT_ACTING();
    this.dropStandby(id);
    if (this.active.has(id)) void this.stopActive(id, `${activeName} holds the active role with token ${token}`);
    const receiver = new ReplicaReceiver(id, path.join(this.o.dataDir, 'arrays', id), token, activeName);
    this.standby.set(id, { receiver, createdAt: Date.now(), confirmed: false });
    this.o.log(`array ${id} (${array.name}): recruited as standby by ${activeName} (token ${token})`);
  }

  receiver(id: string, token: number): ReplicaReceiver | null {
    const sb = this.standby.get(id);
    return sb && sb.receiver.token === token ? sb.receiver : null;
  }

  /** Confirms the standby slot in etcd once the snapshot is loaded. */
  async confirm(id: string, token: number, raw: string): Promise<boolean> {
    const sb = this.standby.get(id);
    if (!sb || sb.receiver.token !== token || !this.acting()) return false;
    sb.receiver.open();
    const res = await this.etcd
      .if(standbyKey(id), 'Value', '==', raw)
      .then(
        this.etcd
          .put(standbyKey(id))
          .value(JSON.stringify({ name: this.o.name, confirmed: true }))
          .lease(this.lease.leaseId),
        this.etcd.put(holdersKey(id)).value(holdersValue([sb.receiver.activeName, this.o.name])),
      )
      .commit();
    sb.confirmed = res.succeeded;
    return res.succeeded;
  }

  // ---- registration and listings (any manager) ----

  async registerArray(rec: ArrayRecord): Promise<boolean> {
    const res = await this.etcd
      .if(arrayKey(rec.id), 'Create', '==', 0)
      .then(this.etcd.put(arrayKey(rec.id)).value(JSON.stringify(rec)))
      .commit();
    return res.succeeded;
  }

  async leaseSecondsLeft(lease: string): Promise<number | null> {
    try {
      const r = await this.etcd.leaseClient.leaseTimeToLive({ ID: lease });
      return Number(r.TTL) < 0 ? null : Number(r.TTL);
    } catch {
      return null;
    }
  }

  /**
   * Whether a change this session answered may be acknowledged: the standby holds every
   * event recorded so far, or (it did not take them within ACK_TIMEOUT_MS) it was let go
   * by a transaction that succeeded only while this manager still held the active role,
   * so it can never take over with less than what clients were told. With no standby at
   * all (none live, or one being recruited) the active's own commit is all there is.
   */
  async replicated(s: ActiveSession): Promise<boolean> {
    const sender = s.sender;
    if (sender && (await sender.waitAcked(s.lastSeq, ACK_TIMEOUT_MS))) return this.acting();
    if (sender && s.standby !== null) {
      this.o.log(`array ${s.array.id}: standby ${s.standby} did not acknowledge in time; letting it go`);
      const id = s.array.id;
      const res = await this.etcd
        .if(activeKey(id), 'Create', '==', s.token)
        .then(this.etcd.delete().key(standbyKey(id)), this.etcd.put(holdersKey(id)).value(holdersValue([this.o.name])))
        .commit()
        .catch(() => null);
      return res?.succeeded === true && this.acting() && this.active.get(id) === s;
    }
    // No standby: before the change is acknowledged, etcd says this manager alone holds it
    // (a standby lost with its lease is still named a holder until now).
    const id = s.array.id;
    const res = await this.etcd
      .if(activeKey(id), 'Create', '==', s.token)
      .then(this.etcd.put(holdersKey(id)).value(holdersValue([this.o.name])))
      .commit()
      .catch(() => null);
    return res?.succeeded === true && this.acting() && this.active.get(id) === s;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const id of [...this.active.keys()]) await this.stopActive(id, 'stopping');
    for (const id of [...this.standby.keys()]) this.dropStandby(id);
    // Revoking hands every role on at once instead of after the TTL.
    await this.lease.close(true);
    this.etcd.close();
  }
}
