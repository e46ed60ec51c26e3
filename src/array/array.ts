// The disk array: the composition root. It opens the block engine, builds the
// shared pieces (catalog, configuration queue, events, front-end hooks) and one
// service per noun (src/array/<noun>/), and wires them. The agent contract and
// the front ends' calls are answered by the service that owns each verb; the
// LD device stack the front ends serve is assembled here (deviceOf).
import crypto from 'node:crypto';
import path from 'node:path';
import { KuraError } from '../errors.js';
import type { BlockDevice } from '../block/device.js';
import type { ExportProvider } from '../block/exports.js';
import { BlockEngine } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import { QosScheduler, qosLayer } from '../block/qos.js';
import { Replicator, replicationLayer } from '../block/replication.js';
import { buildStack } from '../block/stack.js';
import { DataDirLock, makeDataDir, tightenDataDir, tightenedText } from '../block/data-dir.js';
import type { ChapConfig } from '../iscsi/chap.js';
import type { ConglomerateRole, TargetPortGroupInfo } from '../scsi/types.js';
import type {
  AccessControlInfo,
  ArrayAgent,
  ArrayEvent,
  ArrayInfo,
  ControllerInfo,
  CreateLdRequest,
  CreatePoolRequest,
  CreateVvolLdRequest,
  HostInfo,
  LdBitmap,
  LdDeleteResult,
  LdInfo,
  LicenseInfo,
  LockInfo,
  PairInfo,
  PoolInfo,
  SnapshotInfo,
  SubsidiaryBinding,
  TargetInfo,
  VmwareLdType,
} from './agent.js';
import { Catalog, attrsOf } from './catalog.js';
import { ConfigQueue } from './config-queue.js';
import { ConglomerateService } from './conglomerates/service.js';
import { Controllers } from './controllers/controllers.js';
import type { HostPort } from './controllers/controllers.js';
import { ControllerService } from './controllers/service.js';
import { EventHub } from './events/hub.js';
import { engineEventRelay } from './events/engine-events.js';
import { FrontEnds } from './front-ends.js';
import type { FrontEndHooks, OpenHandle } from './front-ends.js';
import { HostService } from './hosts/service.js';
import { HostTable } from './hosts/table.js';
import { TargetService } from './hosts/target.js';
import type { IscsiArrayPort } from './iscsi-front-end.js';
import { LdLocks } from './ld-locks.js';
import { LdService, isThin } from './lds/service.js';
import { LicenseService } from './licenses/service.js';
import { LicenseTable } from './licenses/table.js';
import { ConfigLock } from './lock/config-lock.js';
import { LockService } from './lock/service.js';
import { nbdExports } from './nbd-access.js';
import { PairService } from './pairs/service.js';
import { PoolService } from './pools/service.js';
import { QosService } from './qos/service.js';
import { QosSettings } from './qos/settings.js';
import { CloneService } from './snapshots/clones.js';
import { SnapshotService } from './snapshots/snapshots.js';
import { ARRAY_CANNOT_OPEN } from '../catalogue/array.js';
import { ContainerFlags } from './vvols/containers.js';
import { VvolService } from './vvols/service.js';

export type { SnapshotInfo } from './agent.js';
export type { LdAttrs } from './catalog.js';
export { SSV_SIZE, parseRef } from './catalog.js';
export type { ExportEntry, ExportProvider, FrontEndHooks, OpenHandle } from './front-ends.js';
export { MAX_FCVS_PER_FEV, MAX_GENERATIONS, MAX_LAYERS } from './snapshots/rules.js';

export const KURA_VERSION = '0.1.0';
const CONTROLLERS = [0, 1];

export interface OpenArrayOptions {
  dataDir: string;
  /** iSCSI host ports: the n-th belongs to controller n mod 2. */
  portals?: Array<{ host: string; port: number }>;
  /** Where opening says what it changed (modes tightened); default stderr. */
  log?: (m: string) => void;
}

export const DEFAULT_PORTALS = [
  { host: '127.0.0.1', port: 3260 },
  { host: '127.0.0.1', port: 3261 },
];

export class KuraArray implements ArrayAgent, IscsiArrayPort {
  readonly dataDir: string;
  readonly isNew: boolean;
  private readonly engine: BlockEngine;
  private readonly serial: string;
  private readonly name: string;
  private closed = false;
  /** The data directory's lock, held from open() to close(). */
  private dirLock: DataDirLock | undefined;
  readonly hosts: HostTable;
  readonly licenses: LicenseTable;
  readonly qos = new QosScheduler();
  readonly controllers: Controllers;
  readonly configLock: ConfigLock;
  private readonly config = new ConfigQueue();
  private readonly events = new EventHub();
  private readonly frontEnds: FrontEnds;
  /** The LD behind each device handed to a front end (to tell whose sessions hold an LD). */
  private readonly deviceLds: WeakMap<BlockDevice, LogicalDisk>;
  private readonly ldLocks = new LdLocks();
  private readonly replicator: Replicator;
  private readonly catalog: Catalog;
  private readonly poolService: PoolService;
  private readonly ldService: LdService;
  private readonly snapshotService: SnapshotService;
  private readonly cloneService: CloneService;
  private readonly qosService: QosService;
  private readonly licenseService: LicenseService;
  private readonly hostService: HostService;
  private readonly targetService: TargetService;
  private readonly controllerService: ControllerService;
  private readonly pairService: PairService;
  private readonly lockService: LockService;
  /** LUN conglomerates: VVOL protocol endpoints and the VVOLs bound behind them (the VVOL adapter calls it). */
  readonly conglomerates: ConglomerateService;
  private readonly vvolService: VvolService;

  private constructor(dataDir: string, engine: BlockEngine, portals: Array<{ host: string; port: number }>) {
    this.dataDir = dataDir;
    this.engine = engine;
    const store = engine.store;
    const serial = store.getMeta('array_serial');
    this.isNew = serial === undefined;
    if (serial === undefined) {
      this.serial = crypto.randomBytes(6).toString('hex');
      store.setMeta('array_serial', this.serial);
      store.setMeta('array_name', `kura-${this.serial.slice(0, 6)}`);
    } else {
      this.serial = serial;
    }
    this.name = store.getMeta('array_name') ?? `kura-${this.serial.slice(0, 6)}`;

    // Shared pieces.
    const { config } = this;
    const emit = this.events.emit;
    const hosts = (this.hosts = new HostTable(store.db));
    const licenses = (this.licenses = new LicenseTable(store.db));
    const controllers = (this.controllers = new Controllers(portals));
    this.configLock = new ConfigLock({
      get: () => store.getMeta('config_lock'),
      set: (v) => (v === undefined ? store.deleteMeta('config_lock') : store.setMeta('config_lock', v)),
    });
    const frontEnds = (this.frontEnds = new FrontEnds(store));
    this.deviceLds = frontEnds.deviceLds;
    const catalog = (this.catalog = new Catalog(engine, this.serial, this.isNew, () => {
      // Without host entries every LD is a LUN: initiators re-read their LUNs.
      if (hosts.open) frontEnds.lunsChangedAfter(() => undefined);
    }));
    const qos = new QosSettings(store, this.qos);
    engine.onEvent(engineEventRelay(emit));
    this.replicator = new Replicator(store, {
      commit: () => engine.commit(),
      ld: (id) => engine.lds.get(id),
      event: (e) => this.pairService.onReplicationEvent(e),
    });
    const { ldLocks, replicator } = this;

    // One service per noun.
    const pairs = (this.pairService = new PairService(replicator, {
      ld: (ref) => catalog.ld(ref),
      licenses,
      attrs: (l) => attrsOf(l),
      mappedTo: (l) =>
        hosts
          .list()
          .filter((h) => [...h.luns.values()].includes(l.rec.number))
          .map((h) => h.name),
      emit,
      config,
    }));
    ldLocks.addSource((l) => pairs.copyHold(l));
    const pools = (this.poolService = new PoolService({ engine, catalog, config, qos, containers: new ContainerFlags(store) }));
    this.conglomerates = new ConglomerateService({
      db: store.db,
      wwn: this.wwn(),
      ldExists: (n) => catalog.ldByNumber(n) !== undefined,
      hostExists: (h) => hosts.list().some((e) => e.name === h),
      changed: (pe, host) => frontEnds.conglomerateChanged(pe, hosts.list().find((e) => e.name === host)?.initiators ?? []),
    });
    // A deleted LD leaves its conglomerate (its number may come back for another LD).
    this.conglomerates.prune();
    frontEnds.onAccessChanged(() => this.conglomerates.prune());
    const vvols = (this.vvolService = new VvolService({ engine, catalog, config, qos, conglomerates: this.conglomerates }));
    const lds = (this.ldService = new LdService({
      engine,
      catalog,
      config,
      emit,
      controllers,
      hosts,
      licenses,
      ldLocks,
      pairs,
      replicator,
      qos,
      frontEnds,
      vvols,
    }));
    const ldInfo = (l: LogicalDisk) => lds.info(l);
    this.snapshotService = new SnapshotService({ engine, catalog, config, emit, hosts, licenses, ldLocks, pairs, ldInfo });
    this.cloneService = new CloneService({ engine, catalog, config, licenses, ldLocks, qos, ldInfo });
    this.qosService = new QosService({ engine, catalog, config, licenses, settings: qos, ldInfo, poolInfo: (p) => pools.info(p) });
    this.licenseService = new LicenseService(licenses, config, emit);
    const ctls = (this.controllerService = new ControllerService({ controllers, config, emit, frontEnds, lds: () => catalog.lds() }));
    const target = (this.targetService = new TargetService({ hosts, config, frontEnds, store, arrayName: this.name, hostPorts: () => ctls.hostPorts() }));
    this.hostService = new HostService({ hosts, catalog, config, emit, frontEnds, pairs, ldInfo, targetSecret: () => target.mutualChap()?.secret });
    this.lockService = new LockService(this.configLock, emit);

    for (const l of engine.lds.values()) if (attrsOf(l).qos) qos.apply(l);
  }

  static async open(opts: OpenArrayOptions): Promise<KuraArray> {
    const dir = path.join(opts.dataDir, 'array');
    makeDataDir(dir);
    // One process per data directory: a second server would interleave metadata.
    const lock = DataDirLock.acquire(opts.dataDir);
    let array: KuraArray | undefined;
    try {
      const tightened = tightenedText(opts.dataDir, tightenDataDir(opts.dataDir));
      if (tightened) (opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(tightened);
      array = new KuraArray(opts.dataDir, BlockEngine.open(dir), opts.portals ?? DEFAULT_PORTALS);
      array.dirLock = lock;
      await array.snapshotService.enforceAccessModes();
      // Copies the last run left resume in the background.
      await array.replicator.start();
      return array;
    } catch (e) {
      if (array) await array.close().catch(() => undefined);
      lock.release();
      if (e instanceof KuraError) throw e;
      throw ARRAY_CANNOT_OPEN({ dataDir: opts.dataDir, reason: (e as Error).message });
    }
  }

  /** The array's WWN, 16 hex digits from its serial: the VVOL provider makes VVOL, PE and container ids from it. */
  wwn(): string {
    return `2000${this.serial
      .toLowerCase()
      .replace(/[^0-9a-f]/g, '0')
      .padStart(12, '0')
      .slice(-12)}`;
  }

  info(): ArrayInfo {
    const mem = process.memoryUsage();
    return {
      name: this.name,
      serial: this.serial,
      version: KURA_VERSION,
      controllers: [...CONTROLLERS],
      memory: { ...this.engine.metadataMemory(), rss: mem.rss, heapUsed: mem.heapUsed },
    };
  }

  // ---- the agent contract: each verb is answered by its noun's service ----

  listPools(): PoolInfo[] {
    return this.poolService.listPools();
  }
  getPool(ref: string | number): PoolInfo {
    return this.poolService.getPool(ref);
  }
  createPool(req: CreatePoolRequest): Promise<PoolInfo> {
    return this.poolService.createPool(req);
  }
  expandPool(ref: string | number, addBytes: number): Promise<PoolInfo> {
    return this.poolService.expandPool(ref, addBytes);
  }
  setPoolThreshold(ref: string | number, percent: number): Promise<PoolInfo> {
    return this.poolService.setPoolThreshold(ref, percent);
  }
  deletePool(ref: string | number): Promise<void> {
    return this.poolService.deletePool(ref);
  }

  listLds(): LdInfo[] {
    return this.ldService.listLds();
  }
  getLd(ref: string | number): LdInfo {
    return this.ldService.getLd(ref);
  }
  createLd(req: CreateLdRequest): Promise<LdInfo> {
    return this.ldService.createLd(req);
  }
  expandLd(ref: string | number, newSize: number): Promise<LdInfo> {
    return this.ldService.expandLd(ref, newSize);
  }
  deleteLd(ref: string | number, opts?: { fcvforce?: boolean; force?: boolean }): Promise<LdDeleteResult> {
    return this.ldService.deleteLd(ref, opts);
  }

  listSnapshots(ld: string | number): SnapshotInfo[] {
    return this.snapshotService.listSnapshots(ld);
  }
  createSnapshot(ld: string | number, name?: string): Promise<SnapshotInfo> {
    return this.snapshotService.createSnapshot(ld, name);
  }
  restoreSnapshot(ld: string | number, snap: string | number): Promise<LdInfo> {
    return this.snapshotService.restoreSnapshot(ld, snap);
  }
  setSnapshotAccess(ld: string | number, snap: string | number, access: string): Promise<SnapshotInfo> {
    return this.snapshotService.setSnapshotAccess(ld, snap, access);
  }
  deleteSnapshot(ld: string | number, snap: string | number): Promise<void> {
    return this.snapshotService.deleteSnapshot(ld, snap);
  }
  deleteOldestSnapshots(ld: string | number, count: number): Promise<SnapshotInfo[]> {
    return this.snapshotService.deleteOldestSnapshots(ld, count);
  }
  createClone(source: string | number, name: string): Promise<LdInfo> {
    return this.cloneService.createClone(source, name);
  }

  setQos(ld: string | number, limits: { upper?: number; lower?: number }): Promise<LdInfo> {
    return this.qosService.setQos(ld, limits);
  }
  setPoolQosDefaults(pool: string | number, limits: { upper?: number; lower?: number }): Promise<PoolInfo> {
    return this.qosService.setPoolQosDefaults(pool, limits);
  }
  setPoolQosMode(pool: string | number, mode: string): Promise<PoolInfo> {
    return this.qosService.setPoolQosMode(pool, mode);
  }

  listLicenses(): LicenseInfo[] {
    return this.licenseService.listLicenses();
  }
  unlockLicense(name: string): Promise<LicenseInfo[]> {
    return this.licenseService.unlockLicense(name);
  }

  listHosts(): HostInfo[] {
    return this.hostService.listHosts();
  }
  createHost(name: string, initiators: string[]): Promise<HostInfo> {
    return this.hostService.createHost(name, initiators);
  }
  deleteHost(name: string): Promise<void> {
    return this.hostService.deleteHost(name);
  }
  addInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.hostService.addInitiator(host, iqn);
  }
  removeInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.hostService.removeInitiator(host, iqn);
  }
  mapLun(host: string, ld: string | number, lun?: number): Promise<HostInfo> {
    return this.hostService.mapLun(host, ld, lun);
  }
  unmapLun(host: string, lun: number): Promise<HostInfo> {
    return this.hostService.unmapLun(host, lun);
  }
  accessControl(): AccessControlInfo {
    return this.hostService.accessControl();
  }
  setAccessControl(enabled: boolean, force?: boolean): Promise<AccessControlInfo> {
    return this.hostService.setAccessControl(enabled, force);
  }
  setHostChap(host: string, user: string, secret: string): Promise<HostInfo> {
    return this.hostService.setHostChap(host, user, secret);
  }
  clearHostChap(host: string): Promise<HostInfo> {
    return this.hostService.clearHostChap(host);
  }
  setHostNbdPsk(host: string, key: string): Promise<HostInfo> {
    return this.hostService.setHostNbdPsk(host, key);
  }
  clearHostNbdPsk(host: string): Promise<HostInfo> {
    return this.hostService.clearHostNbdPsk(host);
  }
  setLdNbdPlain(ld: string | number, on: boolean): Promise<LdInfo> {
    return this.hostService.setLdNbdPlain(ld, on);
  }
  targetInfo(): TargetInfo {
    return this.targetService.targetInfo();
  }
  setTargetChap(user: string, secret: string): Promise<TargetInfo> {
    return this.targetService.setTargetChap(user, secret);
  }
  clearTargetChap(): Promise<TargetInfo> {
    return this.targetService.clearTargetChap();
  }

  listControllers(): ControllerInfo[] {
    return this.controllerService.listControllers();
  }
  setControllerState(n: number, state: 'online' | 'down'): Promise<ControllerInfo[]> {
    return this.controllerService.setControllerState(n, state);
  }
  setPortState(host: string, port: number, state: 'up' | 'down'): Promise<ControllerInfo[]> {
    return this.controllerService.setPortState(host, port, state);
  }

  listPairs(): PairInfo[] {
    return this.pairService.listPairs();
  }
  getPair(mv: string | number, rv: string | number): PairInfo {
    return this.pairService.getPair(mv, rv);
  }
  createPair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.pairService.createPair(mv, rv);
  }
  replicatePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo> {
    return this.pairService.replicatePair(mv, rv, opts);
  }
  separatePair(mv: string | number, rv: string | number, opts?: { rvAccess?: string; force?: boolean }): Promise<PairInfo> {
    return this.pairService.separatePair(mv, rv, opts);
  }
  restorePair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.pairService.restorePair(mv, rv);
  }
  deletePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo> {
    return this.pairService.deletePair(mv, rv, opts);
  }

  lockInfo(): LockInfo {
    return this.lockService.lockInfo();
  }
  acquireLock(owner: string, ttlSeconds?: number): LockInfo {
    return this.lockService.acquireLock(owner, ttlSeconds);
  }
  releaseLock(owner: string | undefined, force?: boolean): LockInfo {
    return this.lockService.releaseLock(owner, force);
  }
  checkLock(owner: string | undefined): void {
    this.lockService.checkLock(owner);
  }

  onEvent(listener: (e: ArrayEvent) => void): () => void {
    return this.events.onEvent(listener);
  }

  createVvolLd(req: CreateVvolLdRequest): Promise<number> {
    return this.vvolService.createVvolLd(req);
  }
  tagVvolLd(ld: number, vmwareType: VmwareLdType): Promise<void> {
    return this.vvolService.tagVvolLd(ld, vmwareType);
  }
  allocatedBitmap(ld: number, offset: number, length: number): LdBitmap {
    return this.vvolService.allocatedBitmap(ld, offset, length);
  }
  unsharedBitmap(ld: number, base: number, offset: number, length: number): LdBitmap {
    return this.vvolService.unsharedBitmap(ld, base, offset, length);
  }
  bindSubsidiary(peLd: number, vvolLd: number, host: string, slu?: number): number {
    return this.vvolService.bindSubsidiary(peLd, vvolLd, host, slu);
  }
  unbindSubsidiary(peLd: number, vvolLd: number, host: string): void {
    this.vvolService.unbindSubsidiary(peLd, vvolLd, host);
  }
  subsidiaries(peLd: number): SubsidiaryBinding[] {
    return this.vvolService.subsidiaries(peLd);
  }

  // ---- what the front ends ask (IscsiArrayPort, NBD exports) ----

  targetName(): string {
    return this.targetService.targetName();
  }
  chapConfig(): ChapConfig {
    return this.targetService.chapConfig();
  }
  lunsFor(initiatorName: string): Map<number, LogicalDisk> {
    return this.hostService.lunsFor(initiatorName);
  }
  hostPorts(): HostPort[] {
    return this.controllerService.hostPorts();
  }
  bindHostPort(relativeTargetPortId: number, port: number): void {
    this.controllerService.bindHostPort(relativeTargetPortId, port);
  }
  portGroupsOf(l: LogicalDisk): TargetPortGroupInfo[] {
    return this.controllerService.portGroupsOf(l);
  }
  isThin(l: LogicalDisk): boolean {
    return isThin(l);
  }
  conglomerateOf(l: LogicalDisk): ConglomerateRole | undefined {
    return this.conglomerates.role(l.rec.number);
  }
  administrativeOf(l: LogicalDisk): LogicalDisk | undefined {
    const pe = this.conglomerates.adminOf(l.rec.number);
    return pe === undefined ? undefined : this.catalog.ldByNumber(pe);
  }
  subsidiaryFor(initiatorName: string, pe: LogicalDisk, slu: number): LogicalDisk | undefined {
    const n = this.conglomerates.resolve(pe.rec.number, slu, this.hosts.ofInitiator(initiatorName)?.name);
    return n === undefined ? undefined : this.catalog.ldByNumber(n);
  }
  subsidiaryIdsFor(initiatorName: string, pe: LogicalDisk): number[] {
    return this.conglomerates.boundFor(pe.rec.number, this.hosts.ofInitiator(initiatorName)?.name);
  }
  ldByNumber(n: number): LogicalDisk | undefined {
    return this.catalog.ldByNumber(n);
  }
  allLds(): LogicalDisk[] {
    return this.catalog.lds();
  }
  ldExists(id: number): boolean {
    return this.engine.lds.has(id);
  }
  ldNumberOf(id: number): number | undefined {
    return this.engine.lds.get(id)?.rec.number;
  }
  registerFrontEnd(hooks: FrontEndHooks): void {
    this.frontEnds.register(hooks);
  }
  registerSessionSource(fn: () => OpenHandle[]): void {
    this.frontEnds.registerSessionSource(fn);
  }
  onAccessChanged(fn: () => void): void {
    this.frontEnds.onAccessChanged(fn);
  }
  sessionsOf(l: LogicalDisk): string[] {
    return this.frontEnds.sessionsOf(l);
  }
  getFrontEndState(key: string): string | undefined {
    return this.frontEnds.getState(key);
  }
  setFrontEndState(key: string, value: string | undefined): void {
    this.frontEnds.setState(key, value);
  }

  /** An LD's data path as front ends serve it: its layers, bottom (on the LD) first. */
  deviceOf(l: LogicalDisk): BlockDevice {
    const d = buildStack(l, [replicationLayer(this.replicator), qosLayer(this.qos)]);
    this.deviceLds.set(d, l);
    return d;
  }

  /** Every LD by name, with no access check: for in-process users. Clients get nbdExports(). */
  exports(): ExportProvider {
    return {
      list: () => this.listLds().map((l) => ({ name: l.name, description: `LD ${l.number.toString(16).padStart(4, '0')}h in pool ${l.pool}` })),
      open: (name: string) => {
        for (const l of this.engine.lds.values()) if (l.rec.name === name) return this.deviceOf(l);
        return undefined;
      },
    };
  }

  /** The LDs an NBD client may list and open, decided by host entries (nbd-access.ts). */
  nbdExports(): ExportProvider {
    return nbdExports({
      hosts: this.hosts,
      lds: () => [...this.engine.lds.values()],
      ldInfos: () => this.listLds(),
      byId: (id) => this.engine.lds.get(id),
      device: (l) => this.deviceOf(l),
    });
  }

  /** The key of an NBD TLS-PSK identity (a host name), if that host has one. */
  nbdPsk(identity: string): Buffer | undefined {
    return this.hosts.ofNbdIdentity(identity)?.nbdPsk;
  }

  /** Commits every completed write (as a FLUSH would). */
  flush(): Promise<void> {
    return this.engine.commit();
  }

  async close(): Promise<void> {
    await this.config.idle();
    // A second close (a test's cleanup after its own) has nothing left to do.
    if (this.closed) return;
    this.closed = true;
    try {
      await this.replicator.close();
      await this.engine.close();
    } finally {
      // Last: the directory is free for the next process only once the metadata is closed.
      this.dirLock?.release();
      this.dirLock = undefined;
    }
  }
}
