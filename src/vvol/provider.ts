// The VVOL provider (the VASA provider role, modelled behind Kura's own API):
// storage containers (container pools), protocol endpoints (the administrative
// LUs of LUN conglomerates), VVOLs (LDs with Purpose VVOL, bound as
// subsidiary LUs), bind/unbind, two-phase snapshots, revert, linked and full
// clones, migration, bitmaps, storage policies with compliance, tasks, events,
// and the limits it advertises. It reaches the array only through
// VvolArrayPort and keeps its own records in VvolStore.
//
// Configuration changes run one at a time (`exclusive`); the long part of a
// task (a full copy) runs outside it, so binds go on while clones copy.
import { asKuraError, isKuraError } from '../errors.js';
import { checkName } from '../names.js';
import { BindingTable, type Binding } from './bindings.js';
import { EventLog, type VvolEvent } from './events.js';
import { checkWwn, containerId, ldOfPeId, peId, poolOfContainerId, vvolId } from './ids.js';
import * as L from './limits.js';
import * as M from './messages.js';
import { isVvolType, newVvolRecord, vmwareTypeOf, type PeRecord, type VvolRecord, type VvolType, type VvolView } from './model.js';
import {
  capabilityMetadata,
  containerCompliance,
  containerProfile,
  datastoreMismatches,
  generationsOf,
  isBackupPool,
  makePolicy,
  vvolCompliance,
  type PolicyRequest,
  type RuleResult,
  type StoragePolicy,
} from './policy.js';
import type { PortLd, PortPool, VvolArrayPort } from './port.js';
import { SessionGate } from './session-gate.js';
import type { VvolStore } from './store.js';
import { TaskRunner, type TaskContext, type TaskInfo } from './tasks.js';

export interface ProviderOptions {
  port: VvolArrayPort;
  store: VvolStore;
  /** Clock (tests pass a fixed one). */
  now?: () => Date;
  /** Overrides the concurrent-operation limit the array model gives (VVM L1615-L1619). */
  maxConcurrentOps?: number;
}

/** One item of a batch request: its own outcome, so one bad VVOL does not fail the rest. */
export type BatchItem<T> = { id: string; ok: true; value: T } | { id: string; ok: false; error: { id: string; message: string; action: string } };

export interface CreateVvolRequest {
  /** Pool number, pool name or container id. */
  container: string | number;
  type: string;
  size: number;
  vm: string;
  policy?: string;
  metadata?: Record<string, string>;
}

export interface BindResult {
  vvol: string;
  /** The PE: its id (eui.), its LD number and the LUN the host sees it at. */
  pe: string;
  peLd: number;
  lun: number;
  /** Subsidiary LU id: the second level of the two-level LUN (PE LUN, SLU). */
  slu: number;
  /** Binds this host holds on it now. */
  count: number;
}

export interface ContainerView {
  id: string;
  pool: number;
  name: string;
  capacity: number;
  used: number;
  free: number;
  virtualCapacity: number;
  vvols: number;
  backupPool: boolean;
}

export interface PeView extends PeRecord {
  owner: number;
  /** LD numbers of the VVOLs bound through it (iSMview's Bound VVOL List, VVM L786-L787). */
  boundVvols: number[];
}

export interface Limits {
  maxProtocolEndpoints: number;
  maxBindVirtualVolume: number;
  maxConcurrentRequestsPerSession: number;
  maxBatch: number;
  maxConcurrentOperations: number;
  maxSnapshotsPerVm: number;
  maxFastClonesPerVolume: number;
  maxLayers: number;
  minVvolSize: number;
  maxVvolSize: number;
  maxSubsidiaryLusPerPe: number;
}

interface Prepared {
  id: string;
  vvols: string[];
  /** snapshot() was called: its task holds the VM's slot until it ends. */
  taking: boolean;
}

// An unexpected failure of one batch item is reported like any other in Kura (KURA-E9000 from the catalogue).
const asError = (e: unknown): { id: string; message: string; action: string } => asKuraError(e).toJSON();
const mb = (bytes: number): string => String(Number((bytes / 2 ** 20).toFixed(3)));
const whyOf = (e: unknown): string => (e as Error)?.message ?? String(e);

export class VvolProvider {
  readonly events: EventLog;
  readonly tasks: TaskRunner;
  readonly sessions = new SessionGate(L.MAX_CONCURRENT_REQUESTS_PER_SESSION);
  private readonly port: VvolArrayPort;
  private readonly store: VvolStore;
  private readonly clock: () => Date;
  private readonly wwn: string;
  private readonly vvols = new Map<string, VvolRecord>();
  private readonly pes = new Map<number, PeRecord>();
  private readonly policies = new Map<string, StoragePolicy>();
  private readonly bindings: BindingTable;
  private readonly prepared = new Map<string, Prepared>();
  /** VM → snapshot deletions the array is still doing (VVM L1560-L1567). */
  private readonly deletingSnapshots = new Map<string, number>();
  /** VVOLs a full copy reads or writes now (VVM L1965). */
  private readonly replicating = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: ProviderOptions) {
    this.port = opts.port;
    this.store = opts.store;
    this.clock = opts.now ?? (() => new Date());
    this.wwn = checkWwn(this.port.identity().wwn);
    for (const p of this.store.pes()) this.pes.set(p.ld, p);
    for (const v of this.store.vvols()) this.vvols.set(v.id, v);
    for (const p of this.store.policies()) this.policies.set(p.name, p);
    this.bindings = BindingTable.fromRows(this.store.bindingRows());
    this.events = new EventLog(() => this.iso());
    // A task that was queued or running when the provider stopped did not finish.
    const restored = this.store.tasks().map((t) => {
      if (t.state !== 'queued' && t.state !== 'running') return t;
      const ended: TaskInfo = { ...t, state: 'error', error: M.taskInterrupted(t.id).toJSON(), finished: this.iso() };
      this.store.putTask(ended);
      return ended;
    });
    const max = opts.maxConcurrentOps ?? L.concurrentOpsFor(this.port.identity().model);
    this.tasks = new TaskRunner(
      max,
      (t) => this.store.putTask(t),
      () => this.iso(),
      restored,
    );
  }

  private iso(): string {
    return this.clock().toISOString();
  }

  /** Runs configuration changes one at a time. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  limits(): Limits {
    return {
      maxProtocolEndpoints: L.MAX_PES,
      maxBindVirtualVolume: L.MAX_BIND_PER_REQUEST,
      maxConcurrentRequestsPerSession: this.sessions.max,
      maxBatch: L.MAX_BATCH,
      maxConcurrentOperations: this.tasks.maxConcurrent,
      maxSnapshotsPerVm: L.MAX_SNAPSHOTS_PER_VM,
      maxFastClonesPerVolume: L.MAX_FCVS_PER_FEV,
      maxLayers: L.MAX_LAYERS,
      minVvolSize: L.MIN_VVOL_SIZE,
      maxVvolSize: L.MAX_VVOL_SIZE,
      maxSubsidiaryLusPerPe: L.MAX_SLU - L.MIN_SLU + 1,
    };
  }

  // ---- array queries ----

  private pools(): PortPool[] {
    try {
      return this.port.listPools();
    } catch (e) {
      throw M.arrayInfoFailed(whyOf(e));
    }
  }

  /** A container by pool number, pool name or container id. */
  private container(ref: string | number): PortPool {
    const pools = this.pools();
    let pool: PortPool | undefined;
    if (typeof ref === 'number') pool = pools.find((p) => p.number === ref);
    else {
      const n = poolOfContainerId(this.wwn, ref);
      pool = n !== undefined ? pools.find((p) => p.number === n) : pools.find((p) => p.name === ref);
    }
    if (!pool) throw M.noSuchContainer(String(ref));
    if (!pool.container) throw M.notAContainer(pool.name);
    return pool;
  }

  private record(id: string): VvolRecord {
    const rec = typeof id === 'string' ? this.vvols.get(id.toLowerCase()) : undefined;
    if (!rec) throw M.noSuchVvol(String(id));
    return rec;
  }

  private ldOf(rec: VvolRecord): PortLd {
    const ld = this.port.ld(rec.ld);
    if (!ld) throw M.ldMissing();
    return ld;
  }

  private requireLicense(name: 'VirtualVolume' | 'DynamicSnapVolume' | 'VolumeClone' | 'DynamicDataReplication' | 'IOLoadManager'): void {
    if (this.port.licensed(name)) return;
    throw {
      VirtualVolume: M.licenseVirtualVolume,
      DynamicSnapVolume: M.licenseSnapshot,
      VolumeClone: M.licenseVolumeClone,
      DynamicDataReplication: M.licenseReplication,
      IOLoadManager: M.licenseIoLoadManager,
    }[name]();
  }

  // ---- containers ----

  listContainers(): ContainerView[] {
    return this.pools()
      .filter((p) => p.container)
      .map((p) => ({
        id: containerId(this.wwn, p.number),
        pool: p.number,
        name: p.name,
        capacity: p.capacity,
        used: p.used,
        free: p.free,
        virtualCapacity: p.virtualCapacity,
        vvols: [...this.vvols.values()].filter((v) => v.container === p.number).length,
        backupPool: isBackupPool(p),
      }));
  }

  getContainer(ref: string | number): ContainerView {
    const pool = this.container(ref);
    return this.listContainers().find((c) => c.pool === pool.number)!;
  }

  /** The array asks before deleting a container pool (VVM L204-L205). */
  checkContainerDeletable(ref: string | number): void {
    const pool = this.container(ref);
    if (pool.ldCount > 0) throw M.containerHoldsLds(pool.name, pool.ldCount);
  }

  // ---- protocol endpoints ----

  private peView(p: PeRecord): PeView {
    return {
      ...p,
      owner: this.port.ld(p.ld)?.owner ?? 0,
      boundVvols: this.bindings
        .ofPe(p.ld)
        .map((b) => this.vvols.get(b.vvol)?.ld ?? -1)
        .filter((n) => n >= 0)
        .sort((a, b) => a - b),
    };
  }

  listPes(): PeView[] {
    return [...this.pes.values()].sort((a, b) => a.ld - b.ld).map((p) => this.peView(p));
  }

  private pe(ref: string | number): PeRecord {
    let found: PeRecord | undefined;
    if (typeof ref === 'number') found = this.pes.get(ref);
    else {
      const ld = ldOfPeId(this.wwn, ref);
      found = ld !== undefined ? this.pes.get(ld) : [...this.pes.values()].find((p) => p.name === ref);
    }
    if (!found) throw M.noSuchPe(String(ref));
    return found;
  }

  getPe(ref: string | number): PeView {
    return this.peView(this.pe(ref));
  }

  createPe(req: { name: string; pool: string | number; owner?: number }): Promise<PeView> {
    return this.exclusive(async () => {
      this.requireLicense('VirtualVolume');
      const name = checkName('Protocol endpoint', req.name, M.PE_NAME_ERROR);
      const pools = this.pools();
      const pool =
        typeof req.pool === 'number'
          ? pools.find((p) => p.number === req.pool)
          : pools.find((p) => p.name === req.pool || containerId(this.wwn, p.number) === String(req.pool).toLowerCase());
      if (!pool) throw M.noSuchContainer(String(req.pool));
      if (!pool.container) throw M.peNeedsContainer(pool.name);
      if (this.pes.size >= L.MAX_PES) throw M.tooManyPes();
      if (req.owner !== undefined && req.owner !== 0 && req.owner !== 1) throw M.badOwner(req.owner);
      const ld = await this.port.createLd({ pool: pool.number, name, size: L.PE_SIZE, purpose: 'VVOL', vmwareType: 'PE', owner: req.owner });
      const rec: PeRecord = { id: peId(this.wwn, ld.number), ld: ld.number, name, pool: pool.number, created: this.iso() };
      this.store.putPe(rec);
      this.pes.set(rec.ld, rec);
      this.events.emit('config', 'KURA-I3020', rec.id, `Protocol endpoint ${name} (LD ${ld.number}) created in container ${pool.name}.`);
      return this.peView(rec);
    });
  }

  deletePe(ref: string | number): Promise<void> {
    return this.exclusive(async () => {
      const pe = this.pe(ref);
      const bound = this.bindings.ofPe(pe.ld);
      if (bound.length > 0) throw M.peHasBindings(pe.name, bound.length);
      if (this.port.ld(pe.ld)) await this.port.deleteLd(pe.ld);
      this.store.deletePe(pe.ld);
      this.pes.delete(pe.ld);
      this.events.emit('config', 'KURA-I3021', pe.id, `Protocol endpoint ${pe.name} (LD ${pe.ld}) deleted.`);
    });
  }

  // ---- storage policies ----

  /** The rules a policy may set (VASA QueryCapabilityMetadata). */
  capabilities(): ReturnType<typeof capabilityMetadata> {
    return capabilityMetadata();
  }

  createPolicy(req: PolicyRequest): Promise<StoragePolicy> {
    return this.exclusive(() => {
      const p = makePolicy(req, this.iso());
      if (this.policies.has(p.name)) throw M.policyExists(p.name);
      this.store.putPolicy(p);
      this.policies.set(p.name, p);
      this.events.emit('config', 'KURA-I3250', p.name, `Storage policy ${p.name} created.`);
      return p;
    });
  }

  listPolicies(): StoragePolicy[] {
    return [...this.policies.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  getPolicy(name: string): StoragePolicy {
    const p = this.policies.get(name);
    if (!p) throw M.noSuchPolicy(name);
    return p;
  }

  deletePolicy(name: string): Promise<void> {
    return this.exclusive(() => {
      const p = this.getPolicy(name);
      const users = [...this.vvols.values()].filter((v) => v.policy === p.name).length;
      if (users > 0) throw M.policyInUse(p.name, users);
      this.store.deletePolicy(p.name);
      this.policies.delete(p.name);
      this.events.emit('config', 'KURA-I3251', p.name, `Storage policy ${p.name} deleted.`);
    });
  }

  /** Compliance of a container against a policy (the datastore list of the policy editor). */
  containerCompliance(ref: string | number, policy: string): RuleResult[] {
    const pool = this.container(ref);
    return containerCompliance(this.getPolicy(policy), containerProfile(pool, this.pools()));
  }

  /** Compliance of a VVOL against its policy; empty when it has none. */
  vvolCompliance(id: string): RuleResult[] {
    const rec = this.record(id);
    if (!rec.policy) return [];
    const policy = this.getPolicy(rec.policy);
    const pool = this.container(rec.container);
    const live = rec.backups.filter((b) => this.port.ld(b.ld) !== undefined).length;
    const backup = rec.linkedFrom !== null ? 'linked-clone' : this.backsUp(rec) ? 'applies' : 'not-applicable';
    return vvolCompliance(policy, containerProfile(pool, this.pools()), { io: rec.io, backups: live, backup });
  }

  /**
   * Refuses a policy the container cannot satisfy, in the order the seed's
   * messages suggest: the datastore's rules (L2058), then I/O control (licence
   * L1922, mode L1905), then backup (a backup pool, L1911).
   */
  private checkPolicyFits(policy: StoragePolicy, pool: PortPool): void {
    const pools = this.pools();
    const miss = datastoreMismatches(policy, containerProfile(pool, pools))[0];
    if (miss) throw M.datastoreRule(miss.rule, miss.datastore, miss.policy);
    if (policy.io) {
      this.requireLicense('IOLoadManager');
      if (pool.qosMode !== 'on') throw M.ioControlModeOff();
    }
    if (policy.backup?.enabled && !pools.some(isBackupPool)) throw M.noBackupPool();
  }

  /** Backups cover config and vmdk VVOLs (VVM L1546-L1549), never linked clones (L1172-L1174). */
  private backsUp(rec: VvolRecord): boolean {
    return (rec.type === 'config' || rec.type === 'data') && rec.linkedFrom === null && rec.snapshotOf === null;
  }

  /** Sets the LD's IOPS limits; the provider is their only writer for a VVOL, so the record knows them. */
  private async setIo(rec: VvolRecord, io: { upper: number; lower: number }): Promise<void> {
    if (rec.io.upper === io.upper && rec.io.lower === io.lower) return;
    try {
      await this.port.setIoLimits(rec.ld, io);
    } catch (e) {
      throw M.ioControlFailed(whyOf(e));
    }
    rec.io = { upper: io.upper, lower: io.lower };
  }

  /** Makes backup volumes up to `generations`; returns the warnings (one backup pool, linked clone). */
  private async addBackups(rec: VvolRecord, generations: number, warnings: M.VvolWarning[]): Promise<void> {
    if (generations <= rec.backups.length) return;
    if (rec.linkedFrom !== null) {
      warnings.push(this.alarm(M.linkedCloneBackupWarning(), rec.id));
      return;
    }
    if (!this.backsUp(rec)) return;
    const pools = this.pools()
      .filter(isBackupPool)
      .sort((a, b) => a.number - b.number);
    if (pools.length === 0) throw M.noBackupPool();
    if (generations > 1 && pools.length === 1) warnings.push(this.alarm(M.oneBackupPoolWarning(), rec.id));
    for (let g = rec.backups.length + 1; g <= generations; g++) {
      const pool = pools[(g - 1) % pools.length]!;
      const name = `vvbk-${this.store.next('backup').toString(16).padStart(6, '0')}`;
      const ld = await this.port.createLd({ pool: pool.number, name, size: rec.size, purpose: 'VVOL', vmwareType: vmwareTypeOf(rec.type) });
      rec.backups.push({ ld: ld.number, pool: pool.number, generation: g });
      this.store.putVvol(rec);
    }
  }

  private alarm(w: M.VvolWarning, object: string): M.VvolWarning {
    this.events.emit('alarm', w.id, object, w.text);
    return w;
  }

  /** Applies a policy (or none) to a VVOL: I/O limits, backup generations (VVM L1144-L1160). */
  setVvolPolicy(id: string, policyName: string | null): Promise<{ vvol: VvolView; warnings: M.VvolWarning[] }> {
    return this.exclusive(async () => {
      const rec = this.record(id);
      if (rec.snapshotOf !== null) throw M.snapshotReadOnly(rec.id, 'a policy change');
      const policy = policyName === null ? null : this.getPolicy(policyName);
      if (policy) this.checkPolicyFits(policy, this.container(rec.container));
      const want = this.backsUp(rec) ? generationsOf(policy) : 0;
      const live = rec.backups.filter((b) => this.port.ld(b.ld) !== undefined);
      if (live.length < rec.backups.length) {
        // Backup volumes were deleted by hand: only a policy that matches what is left applies (VVM L1879-L1885).
        if (want !== live.length) throw M.backupCountMismatch();
        rec.backups = live.map((b, i) => ({ ...b, generation: i + 1 }));
      } else if (want < live.length) {
        throw M.fewerGenerations();
      }
      const warnings: M.VvolWarning[] = [];
      await this.setIo(rec, policy?.io ?? { upper: 0, lower: 0 });
      if (policy?.backup?.enabled) await this.addBackups(rec, policy.backup.generations, warnings);
      rec.policy = policy?.name ?? null;
      this.store.putVvol(rec);
      this.events.emit('config', 'KURA-I3043', rec.id, `Storage policy of VVOL ${rec.id} set to ${rec.policy ?? 'none'}.`);
      return { vvol: this.view(rec), warnings };
    });
  }

  // ---- VVOLs ----

  private view(rec: VvolRecord): VvolView {
    return {
      ...rec,
      backups: rec.backups.map((b) => ({ ...b })),
      metadata: this.store.metadata(rec.id),
      boundPes: [...new Set(this.bindings.ofVvol(rec.id).map((b) => b.pe))].sort((a, b) => a - b),
      allocated: this.port.ld(rec.ld)?.allocated ?? 0,
    };
  }

  getVvol(id: string): VvolView {
    return this.view(this.record(id));
  }

  /** VVOLs by container, VM, type or metadata (every given key must match). */
  queryVvols(q: { container?: string | number; vm?: string; type?: string; metadata?: Record<string, string> } = {}): VvolView[] {
    const pool = q.container !== undefined ? this.container(q.container).number : undefined;
    return [...this.vvols.values()]
      .filter((v) => pool === undefined || v.container === pool)
      .filter((v) => q.vm === undefined || v.vm === q.vm)
      .filter((v) => q.type === undefined || v.type === q.type)
      .map((v) => this.view(v))
      .filter((v) => !q.metadata || Object.entries(q.metadata).every(([k, val]) => v.metadata[k] === val))
      .sort((a, b) => a.ld - b.ld);
  }

  private checkVm(vm: unknown): string {
    if (typeof vm !== 'string' || !/^[\x20-\x7e]{1,80}$/.test(vm)) throw M.badVmName(vm);
    return vm;
  }

  private checkMetadata(md: unknown, existing = 0): Record<string, string | null> {
    if (md === undefined) return {};
    if (md === null || typeof md !== 'object' || Array.isArray(md)) throw M.badMetadata('it is not an object of keys and values');
    const entries = Object.entries(md as Record<string, unknown>);
    if (existing + entries.length > L.MAX_METADATA_ENTRIES) throw M.badMetadata(`a VVOL holds at most ${L.MAX_METADATA_ENTRIES} keys`);
    for (const [k, v] of entries) {
      if (!/^[\x21-\x7e]+$/.test(k) || k.length > L.MAX_METADATA_KEY)
        throw M.badMetadata(`key ${JSON.stringify(k).slice(0, 80)} is not 1 to ${L.MAX_METADATA_KEY} printable characters`);
      if (v !== null && (typeof v !== 'string' || v.length > L.MAX_METADATA_VALUE))
        throw M.badMetadata(`the value of ${k} is not a string of at most ${L.MAX_METADATA_VALUE} characters`);
    }
    return md as Record<string, string | null>;
  }

  private writeMetadata(id: string, changes: Record<string, string | null>): void {
    if (Object.keys(changes).length === 0) return;
    try {
      this.store.setMetadata(id, changes);
    } catch (e) {
      throw M.metadataWriteFailed(whyOf(e));
    }
  }

  /** Sets (null: removes) metadata keys of a VVOL. */
  updateMetadata(id: string, changes: Record<string, string | null>): Promise<VvolView> {
    return this.exclusive(() => {
      const rec = this.record(id);
      const current = Object.keys(this.store.metadata(rec.id));
      const added = Object.keys(changes ?? {}).filter((k) => !current.includes(k)).length;
      // checkMetadata counts the request's keys on top of `existing`: give it the keys the request leaves alone.
      this.writeMetadata(rec.id, this.checkMetadata(changes, current.length + added - Object.keys(changes ?? {}).length));
      return this.view(rec);
    });
  }

  private checkSize(size: unknown): number {
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) throw M.badSize(size);
    if (size > L.MAX_VVOL_SIZE) throw M.tooLarge();
    return size;
  }

  private ldName(): string {
    return `vvol-${this.store.next('ld').toString(16).padStart(6, '0')}`;
  }

  /** Creates the LD, wrapping the array's "no space" in the seed's message (VVM L1997). */
  private async createLd(pool: number, size: number, type: VvolType): Promise<PortLd> {
    try {
      return await this.port.createLd({ pool, name: this.ldName(), size, purpose: 'VVOL', vmwareType: vmwareTypeOf(type) });
    } catch (e) {
      if (isKuraError(e) && e.code === 'ENOSPC') throw M.insufficientPoolSpace();
      throw e;
    }
  }

  /** Deletes LDs a failed operation made; the first error stays the one reported. */
  private async rollback(lds: number[]): Promise<void> {
    for (const n of lds.reverse()) await this.port.deleteLd(n).catch(() => undefined);
  }

  createVvol(req: CreateVvolRequest): Promise<{ vvol: VvolView; warnings: M.VvolWarning[] }> {
    return this.exclusive(async () => {
      this.requireLicense('VirtualVolume');
      if (!isVvolType(req.type)) throw M.badType(req.type);
      const vm = this.checkVm(req.vm);
      let size = this.checkSize(req.size);
      const pool = this.container(req.container);
      const policy = req.policy !== undefined ? this.getPolicy(req.policy) : null;
      if (policy) this.checkPolicyFits(policy, pool);
      const metadata = this.checkMetadata(req.metadata);
      const raised = size < L.MIN_VVOL_SIZE;
      // VVM L1554-L1557: below 1 GB the volume is made at 1 GB (warning L2097).
      if (raised) size = L.MIN_VVOL_SIZE;
      const ld = await this.createLd(pool.number, size, req.type);
      const rec = newVvolRecord({
        id: vvolId(this.wwn, ld.number),
        ld: ld.number,
        type: req.type,
        vm,
        container: pool.number,
        size: ld.capacity,
        created: this.iso(),
      });
      const warnings: M.VvolWarning[] = [];
      if (raised) warnings.push(this.alarm(M.sizeRaisedWarning(mb(req.size), rec.id), rec.id));
      try {
        await this.finish(rec, policy, metadata, warnings);
      } catch (e) {
        await this.rollback([...rec.backups.map((b) => b.ld), rec.ld]);
        this.forget(rec.id);
        throw e;
      }
      this.events.emit('config', 'KURA-I3040', rec.id, `VVOL ${rec.id} (${rec.type}, ${rec.size} bytes) created for VM ${vm} in container ${pool.name}.`);
      return { vvol: this.view(rec), warnings };
    });
  }

  /** The steps after the LD exists: record, metadata, policy (I/O limits, backups). */
  private async finish(rec: VvolRecord, policy: StoragePolicy | null, metadata: Record<string, string | null>, warnings: M.VvolWarning[]): Promise<void> {
    this.vvols.set(rec.id, rec);
    this.store.putVvol(rec);
    this.writeMetadata(rec.id, metadata);
    if (policy) {
      if (policy.io) await this.setIo(rec, policy.io);
      if (policy.backup?.enabled) await this.addBackups(rec, policy.backup.generations, warnings);
      rec.policy = policy.name;
      this.store.putVvol(rec);
    }
  }

  private forget(id: string): void {
    this.vvols.delete(id);
    this.store.deleteVvol(id);
  }

  /** Grows a VVOL, its backup volumes first (VVM L927-L934, L1949-L1964, L1990-L1996). */
  resizeVvol(id: string, newSize: number): Promise<VvolView> {
    return this.exclusive(async () => {
      const rec = this.record(id);
      if (rec.snapshotOf !== null) throw M.snapshotReadOnly(rec.id, 'a resize');
      const size = this.checkSize(newSize);
      if (this.replicating.has(rec.id)) throw M.resizeWhileReplicated();
      this.ldOf(rec);
      if (size < rec.size) throw M.shrinkRefused(rec.id, rec.size, size);
      if (size === rec.size) return this.view(rec);
      const backups = rec.backups.map((b) => ({ b, ld: this.port.ld(b.ld) })).filter((x) => x.ld !== undefined);
      for (const { ld } of backups) if (ld!.capacity > size) throw M.backupLargerThanTarget(Number(mb(size)), Number(mb(ld!.capacity)));
      for (const [i, { b }] of backups.entries()) {
        try {
          await this.port.resizeLd(b.ld, size);
        } catch (e) {
          if (i === 1) throw M.secondBackupExpandFailed(b.ld, Number(mb(size)));
          throw e;
        }
      }
      try {
        await this.port.resizeLd(rec.ld, size);
      } catch (e) {
        if (backups.length > 0) throw M.expandFailedAfterBackup(Number(mb(size)));
        throw e;
      }
      rec.size = size;
      this.store.putVvol(rec);
      this.events.emit('config', 'KURA-I3042', rec.id, `VVOL ${rec.id} grown to ${size} bytes.`);
      return this.view(rec);
    });
  }

  private dependents(rec: VvolRecord): string[] {
    const snaps = [...this.vvols.values()].filter((v) => v.snapshotOf === rec.id).length;
    const clones = [...this.vvols.values()].filter((v) => v.linkedFrom === rec.id).length;
    const out: string[] = [];
    if (snaps > 0) out.push(`${snaps} snapshot(s)`);
    if (clones > 0) out.push(`${clones} linked clone(s)`);
    return out;
  }

  /**
   * Deletes a VVOL. A snapshot's record goes at once and the array deletes its
   * ESV in a task; until that ends, its VM refuses snapshot, revert, clone and
   * migration (VVM L1560-L1567, message L2046).
   */
  deleteVvol(id: string): Promise<{ id: string; task: TaskInfo | null; warnings: M.VvolWarning[] }> {
    return this.exclusive(async () => {
      const rec = this.record(id);
      if (!this.port.ld(rec.ld)) {
        // Deleted on the array behind the provider's back: forget it, and say so (VVM L2072-L2077).
        this.forget(rec.id);
        throw M.ldMissing();
      }
      if (this.bindings.isBound(rec.id)) throw M.vvolBound(rec.id, 'deleting it');
      const deps = this.dependents(rec);
      if (deps.length > 0) throw M.vvolHasDependents(rec.id, deps.join(' and '));
      if (this.replicating.has(rec.id)) throw M.resizeWhileReplicated();
      const warnings: M.VvolWarning[] = [];
      if (rec.snapshotOf !== null) {
        this.forget(rec.id);
        this.deletingSnapshots.set(rec.vm, (this.deletingSnapshots.get(rec.vm) ?? 0) + 1);
        const task = this.tasks.submit('delete-snapshot', [rec.id], async () => {
          try {
            await this.port.deleteLd(rec.ld);
          } finally {
            const left = (this.deletingSnapshots.get(rec.vm) ?? 1) - 1;
            if (left === 0) this.deletingSnapshots.delete(rec.vm);
            else this.deletingSnapshots.set(rec.vm, left);
          }
          return { deleted: rec.id };
        });
        this.events.emit('config', 'KURA-I3041', rec.id, `Snapshot VVOL ${rec.id} deleted; the array removes its ESV in task ${task.id}.`);
        return { id: rec.id, task, warnings };
      }
      await this.port.deleteLd(rec.ld);
      await this.dropBackups(rec, warnings);
      this.forget(rec.id);
      this.events.emit('config', 'KURA-I3041', rec.id, `VVOL ${rec.id} deleted.`);
      return { id: rec.id, task: null, warnings };
    });
  }

  /** A VVOL leaves: its backup volumes go with it when the policy says so (VVM L1101-L1103), else they stay. */
  private async dropBackups(rec: VvolRecord, warnings: M.VvolWarning[]): Promise<void> {
    const policy = rec.policy ? this.policies.get(rec.policy) : undefined;
    const live = rec.backups.filter((b) => this.port.ld(b.ld) !== undefined);
    if (live.length === 0) return;
    if (policy?.backup?.autoDelete) for (const b of live) await this.port.deleteLd(b.ld);
    else
      warnings.push(
        this.alarm(
          M.backupsKeptWarning(
            rec.id,
            live.map((b) => b.ld),
          ),
          rec.id,
        ),
      );
  }

  /** Deletes several VVOLs, each with its own outcome. */
  async deleteVvols(ids: string[]): Promise<Array<BatchItem<{ task: TaskInfo | null; warnings: M.VvolWarning[] }>>> {
    this.checkBatch(ids, L.MAX_BATCH);
    return this.batch(ids, async (id) => {
      const r = await this.deleteVvol(id);
      return { task: r.task, warnings: r.warnings };
    });
  }

  vvolSpace(id: string): { capacity: number; allocated: number } {
    const ld = this.ldOf(this.record(id));
    return { capacity: ld.capacity, allocated: ld.allocated };
  }

  // ---- batches ----

  private checkBatch(ids: unknown, max: number): void {
    if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string')) throw M.badVvolRequest('the VVOLs are not a list of ids');
    if (ids.length > max) throw max === L.MAX_BIND_PER_REQUEST ? M.tooManyInRequest(ids.length, max) : M.batchTooLarge(ids.length, max);
  }

  private async batch<T>(ids: string[], fn: (id: string) => Promise<T>): Promise<Array<BatchItem<T>>> {
    const out: Array<BatchItem<T>> = [];
    for (const id of ids) {
      try {
        out.push({ id, ok: true, value: await fn(id) });
      } catch (e) {
        out.push({ id, ok: false, error: asError(e) });
      }
    }
    return out;
  }

  // ---- bind / unbind ----

  /** The PEs `host` sees, with their LUNs. */
  private visiblePes(host: string): Array<{ pe: PeRecord; lun: number }> {
    const out: Array<{ pe: PeRecord; lun: number }> = [];
    for (const pe of this.pes.values()) {
      const lun = this.port.lunOf(host, pe.ld);
      if (lun !== undefined) out.push({ pe, lun });
    }
    return out;
  }

  /**
   * Binds VVOLs for a host: each through a PE the host sees, reusing the
   * binding the VVOL already has through such a PE; otherwise a PE of the
   * VVOL's container, then the PE carrying the fewest bindings.
   */
  async bind(ids: string[], host: string): Promise<Array<BatchItem<BindResult>>> {
    this.checkBatch(ids, L.MAX_BIND_PER_REQUEST);
    return this.exclusive(async () => {
      if (!this.port.hostExists(host)) throw M.noSuchHost(host);
      const visible = this.visiblePes(host);
      if (visible.length === 0) throw M.hostSeesNoPe(host);
      return this.batch(ids, (id) => this.bindOne(id, host, visible));
    });
  }

  private async bindOne(id: string, host: string, visible: Array<{ pe: PeRecord; lun: number }>): Promise<BindResult> {
    const rec = this.record(id);
    this.ldOf(rec);
    const lunOf = new Map(visible.map((v) => [v.pe.ld, v.lun]));
    let binding: Binding | undefined = this.bindings.forHost(rec.id, host) ?? this.bindings.ofVvol(rec.id).find((b) => lunOf.has(b.pe));
    let pe: number;
    let slu: number;
    if (binding) {
      pe = binding.pe;
      slu = binding.slu;
    } else {
      const load = (p: PeRecord): number => this.bindings.ofPe(p.ld).length;
      const chosen = [...visible].sort(
        (a, b) => Number(b.pe.pool === rec.container) - Number(a.pe.pool === rec.container) || load(a.pe) - load(b.pe) || a.pe.ld - b.pe.ld,
      )[0]!;
      pe = chosen.pe.ld;
      const free = this.bindings.freeSlu(pe);
      if (free === undefined) throw M.conglomerateFull(chosen.pe.name);
      slu = free;
    }
    const change = this.bindings.bind(rec.id, pe, host, slu);
    if (change.hostAdded) {
      try {
        await this.port.mapSubsidiary(pe, slu, rec.ld, host);
      } catch (e) {
        this.bindings.undoBind(change, host);
        throw M.bindFailed(whyOf(e));
      }
    }
    binding = change.binding;
    this.store.putBinding(rec.id, pe, this.bindings.rows(binding));
    if (change.created) this.events.emit('config', 'KURA-I3100', rec.id, `VVOL ${rec.id} bound through PE ${this.pes.get(pe)!.name} as subsidiary LU ${slu}.`);
    return { vvol: rec.id, pe: this.pes.get(pe)!.id, peLd: pe, lun: lunOf.get(pe)!, slu, count: binding.hosts.get(host)! };
  }

  /** Takes one bind of `host` away from each VVOL. */
  async unbind(ids: string[], host: string): Promise<Array<BatchItem<{ count: number; destroyed: boolean }>>> {
    this.checkBatch(ids, L.MAX_BIND_PER_REQUEST);
    return this.exclusive(() =>
      this.batch(ids, async (id) => {
        const rec = this.record(id);
        const b = this.bindings.forHost(rec.id, host);
        if (!b) throw M.notBoundForHost(rec.id, host);
        return this.unbindHost(rec, b, host, false);
      }),
    );
  }

  /** Drops every bind of every host from each VVOL (VASA's UnbindVirtualVolumeFromAllHost). */
  async unbindAllHosts(ids: string[]): Promise<Array<BatchItem<{ hosts: string[] }>>> {
    this.checkBatch(ids, L.MAX_BIND_PER_REQUEST);
    return this.exclusive(() =>
      this.batch(ids, async (id) => {
        const rec = this.record(id);
        const hosts: string[] = [];
        for (const b of this.bindings.ofVvol(rec.id)) {
          for (const host of [...b.hosts.keys()]) {
            await this.unbindHost(rec, b, host, true);
            hosts.push(host);
          }
        }
        return { hosts: [...new Set(hosts)].sort() };
      }),
    );
  }

  /**
   * A host entry was deleted: every bind it held goes, whatever its count
   * (the other hosts' counts stay; a binding no host holds is destroyed).
   * The array side is told as for an unbind; a failure there is reported in the
   * answer, not thrown, since the host is gone either way.
   */
  dropHost(host: string): Promise<{ vvols: string[]; failed: Array<{ vvol: string; error: { id: string; message: string; action: string } }> }> {
    return this.exclusive(async () => {
      const vvols: string[] = [];
      const failed: Array<{ vvol: string; error: { id: string; message: string; action: string } }> = [];
      for (const b of this.bindings.all().filter((x) => x.hosts.has(host))) {
        const rec = this.vvols.get(b.vvol);
        if (!rec) continue;
        try {
          await this.unbindHost(rec, b, host, true);
          vvols.push(rec.id);
        } catch (e) {
          // The array could not unmap: drop the provider's count all the same (the host entry is gone).
          const change = this.bindings.unbind(b, host, true);
          this.store.putBinding(rec.id, b.pe, change.destroyed ? [] : this.bindings.rows(b));
          failed.push({ vvol: rec.id, error: asError(e) });
        }
      }
      if (vvols.length + failed.length > 0)
        this.events.emit('config', 'KURA-I3102', host, `Host ${host} deleted: its binds on ${vvols.length + failed.length} VVOL(s) dropped.`);
      return { vvols: vvols.sort(), failed };
    });
  }

  private async unbindHost(rec: VvolRecord, b: Binding, host: string, all: boolean): Promise<{ count: number; destroyed: boolean }> {
    const before = b.hosts.get(host) ?? 0;
    const change = this.bindings.unbind(b, host, all);
    if (change.hostRemoved) {
      try {
        await this.port.unmapSubsidiary(b.pe, b.slu, host);
      } catch (e) {
        this.bindings.undoUnbind(change, host, before);
        throw M.unbindFailed(whyOf(e));
      }
    }
    this.store.putBinding(rec.id, b.pe, change.destroyed ? [] : this.bindings.rows(b));
    if (change.destroyed)
      this.events.emit('config', 'KURA-I3101', rec.id, `VVOL ${rec.id} unbound from PE ${this.pes.get(b.pe)?.name ?? b.pe}; subsidiary LU ${b.slu} released.`);
    return { count: b.hosts.get(host) ?? 0, destroyed: change.destroyed };
  }

  /** Bindings of a VVOL: PE, subsidiary LU and bind count per host. */
  bindingsOf(id: string): Array<{ pe: string; peLd: number; slu: number; hosts: Record<string, number> }> {
    const rec = this.record(id);
    return this.bindings
      .ofVvol(rec.id)
      .map((b) => ({ pe: this.pes.get(b.pe)?.id ?? String(b.pe), peLd: b.pe, slu: b.slu, hosts: Object.fromEntries(b.hosts) }));
  }

  // ---- snapshots ----

  private refuseWhileDeletingSnapshots(rec: VvolRecord): void {
    if ((this.deletingSnapshots.get(rec.vm) ?? 0) > 0) throw M.deletingSnapshots();
  }

  /** Snapshots of a VM: distinct snapshot groups of its VVOLs, plus prepared ones. */
  private vmSnapshots(vm: string): number {
    const groups = new Set<string>();
    for (const v of this.vvols.values()) if (v.vm === vm && v.snapshotGroup !== null) groups.add(v.snapshotGroup);
    for (const p of this.prepared.values()) if (p.vvols.some((id) => this.vvols.get(id)?.vm === vm)) groups.add(p.id);
    return groups.size;
  }

  private checkSnapshotable(rec: VvolRecord, vmsCounted: Set<string>): void {
    this.requireLicense('DynamicSnapVolume');
    if (!this.port.hasSsv()) throw M.noSsv();
    this.refuseWhileDeletingSnapshots(rec);
    const pool = this.pools().find((p) => p.number === rec.container);
    if (pool && !pool.virtual) throw M.poolNoSnapshot();
    this.ldOf(rec);
    if (!vmsCounted.has(rec.vm) && this.vmSnapshots(rec.vm) >= L.MAX_SNAPSHOTS_PER_VM) throw M.tooManySnapshots();
    if (rec.layer + 1 > L.MAX_LAYERS) throw M.tooManyLayers();
  }

  /**
   * First phase of a snapshot (VASA PrepareToSnapshotVirtualVolume): checks
   * every VVOL and reserves the VM's snapshot slot. One prepare is one VM
   * snapshot, whatever the number of VVOLs. Prepares live in memory: after a
   * restart the client prepares again.
   */
  async prepareSnapshot(ids: string[]): Promise<{ prepareId: string | null; items: Array<BatchItem<{ vvol: string }>> }> {
    this.checkBatch(ids, L.MAX_BATCH);
    return this.exclusive(async () => {
      const ok: string[] = [];
      const vms = new Set<string>();
      const items = await this.batch(ids, async (id) => {
        const rec = this.record(id);
        this.checkSnapshotable(rec, vms);
        vms.add(rec.vm);
        ok.push(rec.id);
        return { vvol: rec.id };
      });
      if (ok.length === 0) return { prepareId: null, items };
      const prepareId = `prep-${this.store.next('prepare')}`;
      this.prepared.set(prepareId, { id: prepareId, vvols: ok, taking: false });
      return { prepareId, items };
    });
  }

  /** Drops a prepared snapshot that will not be taken. */
  abandonSnapshot(prepareId: string): void {
    const p = this.prepared.get(prepareId);
    if (!p || p.taking) throw M.noSuchPrepare(prepareId);
    this.prepared.delete(prepareId);
  }

  /**
   * Second phase (VASA SnapshotVirtualVolume): a task that takes an ESV of
   * every prepared VVOL; all or none (a failure deletes the ones taken).
   */
  snapshot(prepareId: string, name?: string): TaskInfo {
    const p = this.prepared.get(prepareId);
    if (!p || p.taking) throw M.noSuchPrepare(prepareId);
    const snapName = checkName('Snapshot', name ?? `s${prepareId.replace(/^prep-/, '')}`, M.SNAPSHOT_NAME_ERROR);
    // The VM's slot stays reserved while the task waits in the queue and runs.
    p.taking = true;
    const task = this.tasks.submit('snapshot', p.vvols, () =>
      this.exclusive(async () => {
        const made: VvolRecord[] = [];
        try {
          for (const id of p.vvols) {
            const base = this.record(id);
            this.refuseWhileDeletingSnapshots(base);
            const esv = await this.port.snapshot(base.ld, snapName);
            const rec: VvolRecord = {
              ...base,
              id: vvolId(this.wwn, esv.number),
              ld: esv.number,
              size: esv.capacity,
              created: this.iso(),
              policy: null,
              snapshotOf: base.id,
              snapshotName: snapName,
              snapshotGroup: prepareId,
              linkedFrom: null,
              layer: base.layer + 1,
              io: { upper: 0, lower: 0 },
              backups: [],
            };
            made.push(rec);
          }
          // One commit for the whole VM snapshot.
          this.store.tx(() => {
            for (const rec of made) {
              this.vvols.set(rec.id, rec);
              this.store.putVvol(rec);
              this.writeMetadata(rec.id, this.store.metadata(rec.snapshotOf!));
            }
          });
        } catch (e) {
          for (const r of made) this.forget(r.id);
          await this.rollback(made.map((r) => r.ld));
          throw e;
        }
        for (const r of made) this.events.emit('config', 'KURA-I3150', r.id, `Snapshot ${snapName} of VVOL ${r.snapshotOf} taken as ${r.id}.`);
        return made.map((r) => ({ vvol: r.snapshotOf, snapshot: r.id }));
      }),
    );
    void this.tasks.wait(task.id).then(() => this.prepared.delete(prepareId));
    return task;
  }

  /** Snapshots of a VVOL, oldest first. */
  snapshotsOf(id: string): VvolView[] {
    const rec = this.record(id);
    return [...this.vvols.values()]
      .filter((v) => v.snapshotOf === rec.id)
      .sort((a, b) => a.created.localeCompare(b.created) || a.ld - b.ld)
      .map((v) => this.view(v));
  }

  /** Restores a VVOL to one of its snapshots (VASA RevertVirtualVolume); the VVOL must be unbound. */
  revert(id: string, snapshotId: string): Promise<VvolView> {
    return this.exclusive(async () => {
      const rec = this.record(id);
      const snap = this.record(snapshotId);
      if (snap.snapshotOf !== rec.id) throw M.notASnapshotOf(snap.id, rec.id);
      this.requireLicense('DynamicSnapVolume');
      this.refuseWhileDeletingSnapshots(rec);
      if (this.bindings.isBound(rec.id)) throw M.vvolBound(rec.id, 'a revert');
      this.ldOf(rec);
      this.ldOf(snap);
      await this.port.revert(rec.ld, snap.ld);
      this.events.emit('config', 'KURA-I3151', rec.id, `VVOL ${rec.id} reverted to snapshot ${snap.snapshotName} (${snap.id}).`);
      return this.view(rec);
    });
  }

  // ---- clones ----

  /**
   * Linked clone (VASA FastCloneVirtualVolume, VVM 3.8.1): a task making an
   * FCV of the VVOL (or of a snapshot), sharing its data, in the same container.
   */
  fastClone(id: string, opts: { vm: string; policy?: string; metadata?: Record<string, string> }): TaskInfo {
    const src = this.record(id);
    const vm = this.checkVm(opts.vm);
    this.requireLicense('VolumeClone');
    if (!this.port.hasSsv()) throw M.noSsv();
    const pool = this.container(src.container);
    if (!pool.virtual) throw M.poolNoClone();
    const policy = opts.policy !== undefined ? this.getPolicy(opts.policy) : null;
    if (policy) this.checkPolicyFits(policy, pool);
    const metadata = this.checkMetadata(opts.metadata);
    this.refuseWhileDeletingSnapshots(src);
    const fcvs = (): number => [...this.vvols.values()].filter((v) => v.linkedFrom === src.id).length;
    if (fcvs() >= L.MAX_FCVS_PER_FEV) throw M.tooManyFcvs();
    if (src.layer + 1 > L.MAX_LAYERS) throw M.tooManyLayers();
    return this.tasks.submit('linked-clone', [src.id], () =>
      this.exclusive(async () => {
        const source = this.record(src.id);
        this.refuseWhileDeletingSnapshots(source);
        if (fcvs() >= L.MAX_FCVS_PER_FEV) throw M.tooManyFcvs();
        const fcv = await this.port.linkedClone(source.ld, this.ldName());
        const rec: VvolRecord = {
          ...source,
          id: vvolId(this.wwn, fcv.number),
          ld: fcv.number,
          vm,
          size: fcv.capacity,
          created: this.iso(),
          policy: null,
          snapshotOf: null,
          snapshotName: null,
          snapshotGroup: null,
          linkedFrom: source.id,
          layer: source.layer + 1,
          io: { upper: 0, lower: 0 },
          backups: [],
        };
        const warnings: M.VvolWarning[] = [];
        try {
          await this.finish(rec, policy, metadata, warnings);
        } catch (e) {
          this.forget(rec.id);
          await this.rollback([fcv.number]);
          throw e;
        }
        this.events.emit('config', 'KURA-I3152', rec.id, `Linked clone ${rec.id} of VVOL ${source.id} made for VM ${vm}.`);
        return { vvol: rec.id, warnings };
      }),
    );
  }

  /**
   * Full clone (VASA CloneVirtualVolume) into a container: a task that makes a
   * new LD and copies every byte through a replication pair; cancellable, with
   * progress. `migrate` uses it and then deletes the source.
   */
  clone(id: string, opts: { vm: string; container?: string | number; policy?: string; metadata?: Record<string, string> }): TaskInfo {
    const { src, pool, policy, metadata, vm } = this.checkCopy(id, opts.container, opts.vm, opts.policy, opts.metadata);
    return this.tasks.submit('clone', [src.id], async (ctx) => {
      const warnings: M.VvolWarning[] = [];
      const rec = await this.copy(ctx, src, pool, vm, policy, metadata, warnings);
      return { vvol: rec.id, warnings };
    });
  }

  /** Moves an unbound VVOL to another container (Storage vMotion of a powered-off VM, VVM 3.6). */
  migrate(id: string, container: string | number): TaskInfo {
    const rec = this.record(id);
    this.refuseWhileDeletingSnapshots(rec);
    if (this.bindings.isBound(rec.id)) throw M.vvolBound(rec.id, 'a migration');
    const deps = this.dependents(rec);
    if (deps.length > 0) throw M.vvolHasDependents(rec.id, deps.join(' and '));
    if (rec.snapshotOf !== null) throw M.snapshotReadOnly(rec.id, 'a migration');
    const { src, pool, policy } = this.checkCopy(id, container, rec.vm, rec.policy ?? undefined, undefined);
    if (pool.number === src.container) throw M.badCloneTarget('the VVOL is already in that container');
    return this.tasks.submit('migrate', [src.id], async (ctx) => {
      const warnings: M.VvolWarning[] = [];
      const md = this.store.metadata(src.id);
      const moved = await this.copy(ctx, src, pool, src.vm, policy, md, warnings);
      await this.exclusive(async () => {
        if (this.bindings.isBound(src.id)) {
          // Bound while copying: the copy may miss writes; the new VVOL goes, the old stays.
          this.forget(moved.id);
          await this.rollback([moved.ld, ...moved.backups.map((b) => b.ld)]);
          throw M.vvolBound(src.id, 'a migration');
        }
        await this.port.deleteLd(src.ld);
        // The source's backup volumes cannot serve the new VVOL (VVM L1538-L1541, L957-L959).
        await this.dropBackups(src, warnings);
        this.forget(src.id);
      });
      this.events.emit('config', 'KURA-I3154', moved.id, `VVOL ${src.id} migrated to container ${pool.name} as ${moved.id}.`);
      return { from: src.id, vvol: moved.id, warnings };
    });
  }

  private checkCopy(
    id: string,
    container: string | number | undefined,
    vmName: string,
    policyName: string | undefined,
    md: Record<string, string> | undefined,
  ) {
    const src = this.record(id);
    const vm = this.checkVm(vmName);
    this.requireLicense('DynamicDataReplication');
    if (!this.port.hasSsv()) throw M.noSsv();
    const pool = this.container(container ?? src.container);
    const policy = policyName !== undefined ? this.getPolicy(policyName) : null;
    if (policy) this.checkPolicyFits(policy, pool);
    const metadata = this.checkMetadata(md);
    this.refuseWhileDeletingSnapshots(src);
    const ld = this.ldOf(src);
    if (pool.free < ld.allocated) throw M.insufficientPoolSpace();
    return { src, pool, policy, metadata, vm };
  }

  private async copy(
    ctx: TaskContext,
    src: VvolRecord,
    pool: PortPool,
    vm: string,
    policy: StoragePolicy | null,
    metadata: Record<string, string | null>,
    warnings: M.VvolWarning[],
  ): Promise<VvolRecord> {
    const target = await this.exclusive(async () => {
      if (ctx.cancelled) throw M.taskCancelled(ctx.id);
      const ld = await this.createLd(pool.number, src.size, src.type);
      this.replicating.add(src.id);
      return ld;
    });
    const id = vvolId(this.wwn, target.number);
    this.replicating.add(id);
    try {
      const copy = this.port.fullCopy(src.ld, target.number);
      ctx.onCancel(() => copy.cancel());
      ctx.progressFrom(() => {
        const p = copy.progress();
        return p.total === 0 ? 0 : (100 * p.copied) / p.total;
      });
      await copy.done;
    } catch (e) {
      this.replicating.delete(src.id);
      this.replicating.delete(id);
      await this.rollback([target.number]);
      throw e;
    }
    this.replicating.delete(src.id);
    this.replicating.delete(id);
    return this.exclusive(async () => {
      const rec = newVvolRecord({
        id,
        ld: target.number,
        type: src.type,
        vm,
        container: pool.number,
        size: target.capacity,
        created: this.iso(),
      });
      try {
        await this.finish(rec, policy, metadata, warnings);
      } catch (e) {
        this.forget(rec.id);
        await this.rollback([...rec.backups.map((b) => b.ld), target.number]);
        throw e;
      }
      this.events.emit('config', 'KURA-I3153', rec.id, `Full clone ${rec.id} of VVOL ${src.id} made for VM ${vm} in container ${pool.name}.`);
      return rec;
    });
  }

  // ---- bitmaps ----

  private checkRange(rec: VvolRecord, offset: unknown, length: unknown): { offset: number; length: number } {
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
    if (!ok(offset) || !ok(length) || offset + length > rec.size) throw M.badRange(offset, length, rec.size);
    return { offset, length };
  }

  /** Which ranges of a VVOL hold data (VASA AllocatedBitmapVirtualVolume). */
  async allocatedBitmap(id: string, offset: number, length: number) {
    const rec = this.record(id);
    const r = this.checkRange(rec, offset, length);
    this.ldOf(rec);
    try {
      return await this.port.allocatedBitmap(rec.ld, r.offset, r.length);
    } catch (e) {
      throw M.bitmapFailed(whyOf(e));
    }
  }

  /**
   * Which ranges of a VVOL differ from a related one (VASA
   * UnsharedBitmapVirtualVolume): a snapshot of it, the VVOL it is a snapshot
   * of, or the source of its linked clone. Incremental backup reads these.
   */
  async unsharedBitmap(id: string, baseId: string, offset: number, length: number) {
    const rec = this.record(id);
    const base = this.record(baseId);
    const related =
      base.snapshotOf === rec.id || rec.snapshotOf === base.id || rec.linkedFrom === base.id || (rec.snapshotOf !== null && rec.snapshotOf === base.snapshotOf);
    if (!related) throw M.notASnapshotOf(base.id, rec.id);
    const r = this.checkRange(rec, offset, length);
    this.ldOf(rec);
    this.ldOf(base);
    try {
      return await this.port.unsharedBitmap(rec.ld, base.ld, r.offset, r.length);
    } catch (e) {
      throw M.bitmapFailed(whyOf(e));
    }
  }

  // ---- events ----

  getEvents(since = 0): VvolEvent[] {
    return this.events.list(since, 'config');
  }

  getAlarms(since = 0): VvolEvent[] {
    return this.events.list(since, 'alarm');
  }

  /** The ids this provider makes, for callers that hold LD or pool numbers. */
  ids(): { container: (pool: number) => string; vvol: (ld: number) => string; pe: (ld: number) => string } {
    return { container: (p) => containerId(this.wwn, p), vvol: (n) => vvolId(this.wwn, n), pe: (n) => peId(this.wwn, n) };
  }

  /** Task operations (VASA GetTaskUpdate, cancel). */
  getTask(id: string): TaskInfo {
    return this.tasks.get(id);
  }

  cancelTask(id: string): TaskInfo {
    return this.tasks.cancel(id);
  }

  waitTask(id: string): Promise<TaskInfo> {
    return this.tasks.wait(id);
  }
}
