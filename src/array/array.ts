// The disk array: the composition root. It opens the block engine, builds the
// shared pieces (catalog, configuration queue, events, front-end hooks) and one
// service per noun (src/array/<noun>/), and wires them. The agent contract is
// noun-keyed: `array.pools.createPool(...)` is answered by the pool service
// itself, so a new verb touches its noun's files only. The front ends hold
// `array.frontEnd`, which serves each LD through its device stack (deviceOf).
import type { BlockEngine } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import { QosScheduler } from '../block/qos.js';
import { Replicator } from '../block/replication.js';
import type { DataDirLock } from '../block/data-dir.js';
import type { ArrayAgent, ArrayInfo, ArrayIoStats } from './agent.js';
import { ioStatsOf } from './stats/service.js';
import { IoStats } from '../io/io-counters.js';
import type { IoCounters } from '../io/io-counters.js';
import { Catalog, attrsOf } from './catalog.js';
import { ConfigQueue } from './config-queue.js';
import type { ConglomerateService } from './conglomerates/service.js';
import { Controllers } from './controllers/controllers.js';
import { ControllerService } from './controllers/service.js';
import { EventHub } from './events/hub.js';
import { engineEventRelay } from './events/engine-events.js';
import { FrontEndPort } from './front-end-port.js';
import { FrontEnds } from './front-ends.js';
import { HostService } from './hosts/service.js';
import { HostTable } from './hosts/table.js';
import { TargetService } from './hosts/target.js';
import { loadIdentity, wwnOf } from './identity.js';
import type { ArrayIdentity } from './identity.js';
import { LdExports } from './ld-exports.js';
import { LdLocks } from './ld-locks.js';
import { LdService } from './lds/service.js';
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

export type { SnapshotInfo } from './agent.js';
export type { LdAttrs } from './catalog.js';
export { SSV_SIZE, parseRef } from './catalog.js';
export type { ExportEntry, ExportProvider, FrontEndHooks, OpenHandle } from './front-ends.js';
export { FrontEndPort } from './front-end-port.js';
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

export class KuraArray implements ArrayAgent {
  readonly dataDir: string;
  readonly isNew: boolean;

  // The agent contract, one service per noun.
  readonly pools: PoolService;
  readonly lds: LdService;
  readonly snapshots: SnapshotService;
  readonly clones: CloneService;
  readonly qos: QosService;
  readonly licenses: LicenseService;
  readonly hosts: HostService;
  readonly target: TargetService;
  readonly controllers: ControllerService;
  readonly pairs: PairService;
  readonly lock: LockService;
  readonly events = new EventHub();
  readonly vvols: VvolService;
  /** LUN conglomerates: VVOL protocol endpoints and the VVOLs bound behind them (the VVOL adapter calls it). */
  readonly conglomerates: ConglomerateService;
  /** What the iSCSI and NBD front ends ask of the array. */
  readonly frontEnd: FrontEndPort;

  // Shared pieces the services are built on (tests and `kura serve` read some of them).
  readonly hostTable: HostTable;
  readonly licenseTable: LicenseTable;
  readonly qosScheduler = new QosScheduler();
  /** I/O counters of every LD and front-end port (metrics, performance history). */
  private readonly counters = new IoStats();
  readonly controllerTable: Controllers;
  readonly configLock: ConfigLock;
  private readonly engine: BlockEngine;
  private readonly identity: ArrayIdentity;
  private readonly shutdown: ArrayShutdown;
  private readonly replicator: Replicator;

  private constructor(dataDir: string, engine: BlockEngine, portals: Array<{ host: string; port: number }>, dirLock: DataDirLock) {
    this.dataDir = dataDir;
    this.engine = engine;
    const store = engine.store;
    const identity = (this.identity = loadIdentity(store));
    this.isNew = identity.isNew;

    // Shared pieces.
    const config = new ConfigQueue();
    const ldLocks = new LdLocks();
    const emit = this.events.emit;
    const hosts = (this.hostTable = new HostTable(store.db));
    const licenses = (this.licenseTable = new LicenseTable(store.db));
    const controllers = (this.controllerTable = new Controllers(portals));
    this.configLock = new ConfigLock({
      get: () => store.getMeta('config_lock'),
      set: (v) => (v === undefined ? store.deleteMeta('config_lock') : store.setMeta('config_lock', v)),
    });
    const frontEnds = new FrontEnds(store);
    const catalog = new Catalog(engine, identity.serial, identity.isNew, () => {
      // Without host entries every LD is a LUN: initiators re-read their LUNs.
      if (hosts.open) frontEnds.lunsChangedAfter(() => undefined);
    });
    const qos = new QosSettings(store, this.qosScheduler);
    engine.onEvent(engineEventRelay(emit));
    const replicator = (this.replicator = new Replicator(store, {
      commit: () => engine.commit(),
      ld: (id) => engine.lds.get(id),
      event: (e) => this.pairs.onReplicationEvent(e),
    }));
    this.shutdown = new ArrayShutdown(config, replicator, engine, dirLock);
    const ldExports = new LdExports({
      engine,
      hosts,
      replicator,
      qos: this.qosScheduler,
      ioStats: this.counters,
      deviceLds: frontEnds.deviceLds,
      ldInfos: () => this.lds.listLds(),
    });

    // One service per noun.
    const mappedTo = (l: LogicalDisk) => hosts.list().flatMap((h) => ([...h.luns.values()].includes(l.rec.number) ? [h.name] : []));
    const pairs = (this.pairs = new PairService(replicator, { ld: (ref) => catalog.ld(ref), licenses, attrs: attrsOf, mappedTo, emit, config }));
    ldLocks.addSource((l) => pairs.copyHold(l));
    const pools = (this.pools = new PoolService({ engine, catalog, config, qos, containers: new ContainerFlags(store) }));
    const conglomerateWiring = new ConglomerateWiring({ store, wwn: this.wwn(), catalog, hosts, frontEnds });
    const conglomerates = (this.conglomerates = conglomerateWiring.service);
    const vvols = (this.vvols = new VvolService({ engine, catalog, config, qos, conglomerates }));
    const deps = { engine, catalog, config, emit, controllers, hosts, licenses, ldLocks, pairs, replicator, qos, frontEnds, vvols };
    const lds = (this.lds = new LdService(deps));
    const ldInfo = (l: LogicalDisk) => lds.info(l);
    this.snapshots = new SnapshotService({ ...deps, ldInfo });
    this.clones = new CloneService({ ...deps, ldInfo });
    this.qos = new QosService({ ...deps, settings: qos, ldInfo, poolInfo: (p) => pools.info(p) });
    this.licenses = new LicenseService(licenses, config, emit);
    const ctls = (this.controllers = new ControllerService({ controllers, config, emit, frontEnds, lds: () => catalog.lds() }));
    const target = (this.target = new TargetService({ hosts, config, frontEnds, store, arrayName: identity.name, hostPorts: () => ctls.hostPorts() }));
    this.hosts = new HostService({ ...deps, ldInfo, targetSecret: () => target.mutualChap()?.secret });
    this.lock = new LockService(this.configLock, emit);
    this.frontEnd = new FrontEndPort({
      engine,
      catalog,
      frontEnds,
      ldExports,
      hosts: this.hosts,
      target,
      controllers: ctls,
      conglomerates: conglomerateWiring,
      arrayName: () => identity.name,
      portCounters: (key) => this.counters.port(key),
    });

    for (const l of engine.lds.values()) if (attrsOf(l).qos) qos.apply(l);
  }

  static open(opts: OpenArrayOptions): Promise<KuraArray> {
    return openDataDir(
      opts,
      (engine, lock) => new KuraArray(opts.dataDir, engine, opts.portals ?? DEFAULT_PORTALS, lock),
      async (array) => {
        await array.snapshots.enforceAccessModes();
        // Copies the last run left resume in the background.
        await array.replicator.start();
      },
    );
  }

  /** The array's WWN, 16 hex digits from its serial: the VVOL provider makes VVOL, PE and container ids from it. */
  wwn(): string {
    return wwnOf(this.identity.serial);
  }

  /** Counters since start of every live LD and front-end port (the agent's optional stats). */
  ioStats(): ArrayIoStats {
    return ioStatsOf(this.counters, this.engine, this.controllers.hostPorts());
  }
  portCounters(key: string): IoCounters {
    return this.counters.port(key);
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

  /** Commits every completed write (as a FLUSH would). */
  flush(): Promise<void> {
    return this.engine.commit();
  }

  close(): Promise<void> {
    return this.shutdown.close();
  }
}
