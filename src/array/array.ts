// The disk array: the composition root. It opens the block engine, builds the
// shared pieces (catalog, configuration queue, events, front-end hooks) and one
// service per noun (src/array/<noun>/), and wires them. The agent contract and
// the front ends' calls are answered by the service that owns each verb; the
// LD device stack the front ends serve is assembled here (deviceOf).
import type { BlockDevice } from '../block/device.js';
import type { ExportProvider } from '../block/exports.js';
import type { BlockEngine } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import { QosScheduler } from '../block/qos.js';
import { Replicator } from '../block/replication.js';
import type { DataDirLock } from '../block/data-dir.js';
import type { ChapConfig } from '../iscsi/chap.js';
import type { ConglomerateRole, TargetPortGroupInfo } from '../scsi/types.js';
import type {
  AccessControlInfo,
  ArrayAgent,
  ArrayEvent,
  ArrayInfo,
  ArrayIoStats,
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
import type { ConglomerateService } from './conglomerates/service.js';
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
import { loadIdentity, wwnOf } from './identity.js';
import type { ArrayIdentity } from './identity.js';
import { LdExports } from './ld-exports.js';
import { LdLocks } from './ld-locks.js';
import { LdService, isThin } from './lds/service.js';
import { LicenseService } from './licenses/service.js';
import { LicenseTable } from './licenses/table.js';
import { ConfigLock } from './lock/config-lock.js';
import { LockService } from './lock/service.js';
import { ArrayShutdown, openDataDir } from './lifecycle.js';
import type { DataDirOptions } from './lifecycle.js';
import { PairService } from './pairs/service.js';
import { PoolService } from './pools/service.js';
import { QosService } from './qos/service.js';
import { QosSettings } from './qos/settings.js';
import { CloneService } from './snapshots/clones.js';
import { SnapshotService } from './snapshots/snapshots.js';
import { ContainerFlags } from './vvols/containers.js';
import { ConglomerateWiring } from './vvols/conglomerate-wiring.js';
import { VvolService } from './vvols/service.js';
import { ioStatsOf } from './stats/service.js';
import { IoStats } from '../io/io-counters.js';
import type { IoCounters } from '../io/io-counters.js';

export type { SnapshotInfo } from './agent.js';
export type { LdAttrs } from './catalog.js';
export { SSV_SIZE, parseRef } from './catalog.js';
export type { ExportEntry, ExportProvider, FrontEndHooks, OpenHandle } from './front-ends.js';
export { MAX_FCVS_PER_FEV, MAX_GENERATIONS, MAX_LAYERS } from './snapshots/rules.js';

export const KURA_VERSION = '0.1.0';
const CONTROLLERS = [0, 1];

export interface OpenArrayOptions extends DataDirOptions {
  /** iSCSI host ports: the n-th belongs to controller n mod 2. */
  portals?: Array<{ host: string; port: number }>;
}

export const DEFAULT_PORTALS = [
  { host: '127.0.0.1', port: 3260 },
  { host: '127.0.0.1', port: 3261 },
];

export class KuraArray implements ArrayAgent, IscsiArrayPort {
  readonly dataDir: string;
  readonly isNew: boolean;
  private readonly engine: BlockEngine;
  private readonly identity: ArrayIdentity;
  private readonly shutdown: ArrayShutdown;
  readonly hosts: HostTable;
  readonly licenses: LicenseTable;
  readonly qos = new QosScheduler();
  /** I/O counters of every LD and front-end port (metrics, performance history). */
  private readonly counters = new IoStats();
  readonly controllers: Controllers;
  readonly configLock: ConfigLock;
  private readonly config = new ConfigQueue();
  private readonly events = new EventHub();
  private readonly frontEnds: FrontEnds;
  private readonly ldExports: LdExports;
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
  private readonly conglomerateWiring: ConglomerateWiring;
  /** LUN conglomerates: VVOL protocol endpoints and the VVOLs bound behind them (the VVOL adapter calls it). */
  readonly conglomerates: ConglomerateService;
  private readonly vvolService: VvolService;

  private constructor(dataDir: string, engine: BlockEngine, portals: Array<{ host: string; port: number }>, dirLock: DataDirLock) {
    this.dataDir = dataDir;
    this.engine = engine;
    const store = engine.store;
    const identity = (this.identity = loadIdentity(store));
    this.isNew = identity.isNew;

    // Shared pieces.
    const { config, ldLocks } = this;
    const emit = this.events.emit;
    const hosts = (this.hosts = new HostTable(store.db));
    const licenses = (this.licenses = new LicenseTable(store.db));
    const controllers = (this.controllers = new Controllers(portals));
    this.configLock = new ConfigLock({
      get: () => store.getMeta('config_lock'),
      set: (v) => (v === undefined ? store.deleteMeta('config_lock') : store.setMeta('config_lock', v)),
    });
    const frontEnds = (this.frontEnds = new FrontEnds(store));
    const catalog = (this.catalog = new Catalog(engine, identity.serial, identity.isNew, () => {
      // Without host entries every LD is a LUN: initiators re-read their LUNs.
      if (hosts.open) frontEnds.lunsChangedAfter(() => undefined);
    }));
    const qos = new QosSettings(store, this.qos);
    engine.onEvent(engineEventRelay(emit));
    const replicator = (this.replicator = new Replicator(store, {
      commit: () => engine.commit(),
      ld: (id) => engine.lds.get(id),
      event: (e) => this.pairService.onReplicationEvent(e),
    }));
    this.shutdown = new ArrayShutdown(config, replicator, engine, dirLock);
    this.ldExports = new LdExports({
      engine,
      hosts,
      replicator,
      qos: this.qos,
      ioStats: this.counters,
      deviceLds: frontEnds.deviceLds,
      ldInfos: () => this.listLds(),
    });

    // One service per noun.
    const mappedTo = (l: LogicalDisk) => hosts.list().flatMap((h) => ([...h.luns.values()].includes(l.rec.number) ? [h.name] : []));
    const pairs = (this.pairService = new PairService(replicator, { ld: (ref) => catalog.ld(ref), licenses, attrs: attrsOf, mappedTo, emit, config }));
    ldLocks.addSource((l) => pairs.copyHold(l));
    const pools = (this.poolService = new PoolService({ engine, catalog, config, qos, containers: new ContainerFlags(store) }));
    this.conglomerateWiring = new ConglomerateWiring({ store, wwn: this.wwn(), catalog, hosts, frontEnds });
    const conglomerates = (this.conglomerates = this.conglomerateWiring.service);
    const vvols = (this.vvolService = new VvolService({ engine, catalog, config, qos, conglomerates }));
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
    const target = (this.targetService = new TargetService({ hosts, config, frontEnds, store, arrayName: identity.name, hostPorts: () => ctls.hostPorts() }));
    this.hostService = new HostService({ hosts, catalog, config, emit, frontEnds, pairs, ldInfo, targetSecret: () => target.mutualChap()?.secret });
    this.lockService = new LockService(this.configLock, emit);

    for (const l of engine.lds.values()) if (attrsOf(l).qos) qos.apply(l);
  }

  static open(opts: OpenArrayOptions): Promise<KuraArray> {
    return openDataDir(
      opts,
      (engine, lock) => new KuraArray(opts.dataDir, engine, opts.portals ?? DEFAULT_PORTALS, lock),
      async (array) => {
        await array.snapshotService.enforceAccessModes();
        // Copies the last run left resume in the background.
        await array.replicator.start();
      },
    );
  }

  /** The array's WWN, 16 hex digits from its serial: the VVOL provider makes VVOL, PE and container ids from it. */
  wwn(): string {
    return wwnOf(this.identity.serial);
  }

  info(): ArrayInfo {
    const mem = process.memoryUsage();
    return {
      name: this.identity.name,
      serial: this.identity.serial,
      version: KURA_VERSION,
      controllers: [...CONTROLLERS],
      memory: { ...this.engine.metadataMemory(), rss: mem.rss, heapUsed: mem.heapUsed },
    };
  }

  // ---- the agent contract: each verb is answered by its noun's service ----

  ioStats(): ArrayIoStats {
    return ioStatsOf(this.counters, this.engine, this.hostPorts());
  }
  portCounters(key: string): IoCounters {
    return this.counters.port(key);
  }

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
    return this.conglomerateWiring.conglomerateOf(l);
  }
  administrativeOf(l: LogicalDisk): LogicalDisk | undefined {
    return this.conglomerateWiring.administrativeOf(l);
  }
  subsidiaryFor(initiatorName: string, pe: LogicalDisk, slu: number): LogicalDisk | undefined {
    return this.conglomerateWiring.subsidiaryFor(initiatorName, pe, slu);
  }
  subsidiaryIdsFor(initiatorName: string, pe: LogicalDisk): number[] {
    return this.conglomerateWiring.subsidiaryIdsFor(initiatorName, pe);
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
  deviceOf(l: LogicalDisk): BlockDevice {
    return this.ldExports.deviceOf(l);
  }
  exports(): ExportProvider {
    return this.ldExports.exports();
  }
  nbdExports(): ExportProvider {
    return this.ldExports.nbdExports();
  }
  nbdPsk(identity: string): Buffer | undefined {
    return this.ldExports.nbdPsk(identity);
  }

  /** Commits every completed write (as a FLUSH would). */
  flush(): Promise<void> {
    return this.engine.commit();
  }

  close(): Promise<void> {
    return this.shutdown.close();
  }
}
