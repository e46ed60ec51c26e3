// The disk array: names, numbers and identities of pools and LDs on top of the
// block engine, the exports that protocol front ends serve, and the events the
// array raises itself. Configuration changes are serialized.
import crypto from 'node:crypto';
import path from 'node:path';
import { KuraError } from '../errors.js';
import { humanSize } from '../units.js';
import { checkName } from '../names.js';
import type { BlockDevice } from '../block/device.js';
import type { ExportProvider } from '../block/exports.js';
import { BlockEngine } from '../block/engine.js';
import { scrubWal } from '../block/meta-store.js';
import type { EngineEvent } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { Pool } from '../block/pool.js';
import { parseRaid } from '../block/raid-group.js';
import { QOS_MAX, QOS_MIN, QosScheduler, qosLayer } from '../block/qos.js';
import type { QosLimits } from '../block/qos.js';
import type { AccessControlInfo, ArrayAgent, ArrayEvent, ArrayInfo, ControllerInfo, CreateLdRequest, CreatePoolRequest, HostInfo, LdDeleteResult, LdInfo, LockInfo, PairInfo, PoolInfo, RaidType, SnapshotInfo, TargetInfo } from './agent.js';
export type { SnapshotInfo } from './agent.js';
import { Controllers } from './controllers.js';
import type { HostPort } from './controllers.js';
import type { TargetPortGroupInfo } from '../scsi/types.js';
import { DataDirLock, makeDataDir, tightenDataDir, tightenedText } from '../block/data-dir.js';
import { HostTable, validateChap, validateNbdPsk } from './hosts.js';
import type { ChapCredentials } from './hosts.js';
import type { ChapConfig } from '../iscsi/chap.js';
import { LicenseTable } from './licenses.js';
import type { LicenseInfo } from './licenses.js';
import type { HostEntry } from './hosts.js';
import { ConfigLock } from './config-lock.js';
import { LdLocks } from './ld-locks.js';
import { Replicator, replicationLayer } from '../block/replication.js';
import { buildStack } from '../block/stack.js';
import { PairService } from './pairs.js';
import { nbdExports } from './nbd-access.js';

export const KURA_VERSION = '0.1.0';
/** IEEE company id used in NAA 6 designators (a placeholder until Kura has its own). */
const KURA_OUI = '0014ee';
const CONTROLLERS = [0, 1];
/** ENOSPC events for a pool are raised at most this often. */
const NO_SPACE_EVENT_INTERVAL_MS = 10_000;

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

/** A device a front end's client holds, and who that is in words ("NBD client 127.0.0.1:5000"). */
export interface OpenHandle {
  device: BlockDevice;
  holder: string;
}

/** What the array asks of its protocol front ends when controllers or ports change. */
export interface FrontEndHooks {
  portDown(host: string, port: number): void;
  portUp(host: string, port: number): Promise<void>;
  /** Ownership (ALUA states) of some LDs changed. */
  aluaChanged(ldNumbers: number[]): void;
  /** Some LDs changed size. */
  capacityChanged?(ldNumbers: number[]): void;
  /** Host entries or LUN mappings changed: initiators may see other LUNs. */
  lunsChanged?(): void;
  /** CHAP credentials changed: later logins use the new ones (sessions stay). */
  authChanged?(): void;
}

/** Meta key: the next LD identity (NAA designator and serial); identities are never handed out twice. */
const IDENTITY_KEY = 'ld_identity_next';
/** Identities of arrays made before the counter were LD numbers, all below this. */
const LEGACY_IDENTITY_LIMIT = 0x10000;
/** Metadata key (under fe/) of the target's mutual CHAP credentials. */
const MUTUAL_CHAP_KEY = 'iscsi/mutual-chap';
/** The solution reserved volume's fixed size. */
export const SSV_SIZE = 4 * 2 ** 30;
export const MAX_GENERATIONS = 256;
export const MAX_FCVS_PER_FEV = 256;
export const MAX_LAYERS = 64;

/** Data-service attributes of an LD, kept in its record. */
export interface LdAttrs {
  purpose?: string;
  ssv?: boolean;
  /** Base of extended snapshots. */
  ebv?: boolean;
  /** A snapshot generation of the EBV with LD id `base`; `access: 'rw'` once made writable (iSMsc_chgmod -volacc rw). */
  esv?: { base: number; generation: number; name: string; access?: 'rw' };
  /** Source of fast clones. */
  fev?: boolean;
  /** A fast clone of the LD with id `source`. */
  fcv?: { source: number };
  /** Snapshot/clone layer: 0 for an ordinary LD, +1 per snapshot or clone step. */
  layer?: number;
  /** I/O control limits. */
  qos?: QosLimits;
}


/** A reference to a pool or LD: a number (decimal, or NEC hex like 0001h) or a name. */
export function parseRef(ref: string | number): number | string {
  if (typeof ref === 'number') return ref;
  const s = ref.trim();
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (/^[0-9a-fA-F]+h$/.test(s)) return parseInt(s.slice(0, -1), 16);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  return s;
}

/** Pool, LD and clone names: the array's one naming rule (src/names.ts). */
function validateName(kind: string, name: unknown): string {
  return checkName(kind, name, 'KURA-E2010');
}

function attrsOf(l: LogicalDisk): LdAttrs {
  return l.rec.attrs as LdAttrs;
}

function purposeOf(a: LdAttrs): string {
  if (a.ssv) return 'Solution Reserved Volume';
  // An FCV keeps Purpose Clone when it is snapshotted (an EBV too, VVM L1657-1691).
  if (a.fcv && a.ebv && !a.fev) return 'Clone';
  if (a.esv || a.ebv) return a.fev ? 'Snapshot/Clone' : 'Snapshot';
  if (a.fev) return 'Snapshot/Clone';
  if (a.fcv) return 'Clone';
  return a.purpose ?? '---';
}

function lowestFree(used: Iterable<number>): number {
  const set = new Set(used);
  let n = 0;
  while (set.has(n)) n++;
  return n;
}

export class KuraArray implements ArrayAgent {
  readonly dataDir: string;
  readonly isNew: boolean;
  private readonly engine: BlockEngine;
  private readonly serial: string;
  private readonly name: string;
  private listeners: Array<(e: ArrayEvent) => void> = [];
  private configChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private lastNoSpace = new Map<number, number>();
  readonly hosts: HostTable;
  readonly licenses: LicenseTable;
  readonly qos = new QosScheduler();
  readonly controllers: Controllers;
  private frontEnds: FrontEndHooks[] = [];
  private sessionSources: Array<() => OpenHandle[]> = [];
  /** The LD behind each device handed to a front end (to tell whose sessions hold an LD). */
  private readonly deviceLds = new WeakMap<BlockDevice, LogicalDisk>();
  readonly configLock: ConfigLock;
  private readonly ldLocks = new LdLocks();
  private readonly replicator: Replicator;
  private readonly pairs: PairService;
  /** The data directory's lock, held from open() to close(). */
  private lock: DataDirLock | undefined;

  private constructor(dataDir: string, engine: BlockEngine, portals: Array<{ host: string; port: number }>) {
    this.dataDir = dataDir;
    this.engine = engine;
    this.hosts = new HostTable(engine.store.db);
    this.licenses = new LicenseTable(engine.store.db);
    this.controllers = new Controllers(portals);
    this.configLock = new ConfigLock({ get: () => engine.store.getMeta('config_lock'), set: (v) => (v === undefined ? engine.store.deleteMeta('config_lock') : engine.store.setMeta('config_lock', v)) });
    const serial = engine.store.getMeta('array_serial');
    this.isNew = serial === undefined;
    if (serial === undefined) {
      this.serial = crypto.randomBytes(6).toString('hex');
      engine.store.setMeta('array_serial', this.serial);
      engine.store.setMeta('array_name', `kura-${this.serial.slice(0, 6)}`);
    } else {
      this.serial = serial;
    }
    this.name = engine.store.getMeta('array_name') ?? `kura-${this.serial.slice(0, 6)}`;
    if (engine.store.getMeta(IDENTITY_KEY) === undefined) {
      // Before the counter, an LD's identity was its (reused) number: an array made
      // then starts above every number it can have given out.
      engine.store.setMeta(IDENTITY_KEY, String(this.isNew ? 0 : LEGACY_IDENTITY_LIMIT));
    }
    engine.onEvent((e) => this.onEngineEvent(e));
    this.replicator = new Replicator(engine.store, { commit: () => engine.commit(), ld: (id) => engine.lds.get(id), event: (e) => this.pairs.onReplicationEvent(e) });
    this.pairs = new PairService(this.replicator, {
      ld: (ref) => this.ld(ref),
      licenses: this.licenses,
      attrs: (l) => attrsOf(l),
      mappedTo: (l) => this.hosts.list().filter((h) => [...h.luns.values()].includes(l.rec.number)).map((h) => h.name),
      emit: (e) => this.emit(e),
    });
    this.ldLocks.addSource((l) => this.pairs.copyHold(l));
    for (const l of engine.lds.values()) {
      const q = attrsOf(l).qos;
      if (q) this.applyQos(l);
    }
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
      array.lock = lock;
      await array.enforceAccessModes();
      // Copies the last run left resume in the background.
      await array.replicator.start();
      return array;
    } catch (e) {
      if (array) await array.close().catch(() => undefined);
      lock.release();
      if (e instanceof KuraError) throw e;
      throw new KuraError('KURA-E2001', 'EIO', `The array in ${opts.dataDir} cannot be opened: ${(e as Error).message}.`, 'Check that the data directory is readable and not used by another kura process.');
    }
  }

  /**
   * Snapshots (ESVs) are read-only unless made writable (kura snapshot set-access,
   * which records access rw in the ESV's attributes): metadata written by a Kura
   * that did not keep the access mode (every ESV came back writable after a
   * restart) is corrected here, durably, before any front end serves the LD.
   */
  private async enforceAccessModes(): Promise<void> {
    const fixed: string[] = [];
    for (const l of this.engine.lds.values()) {
      const esv = attrsOf(l).esv;
      if (esv && esv.access !== 'rw' && !l.readOnly) {
        await this.engine.setReadOnly(l, true);
        fixed.push(l.name);
      }
    }
    if (fixed.length > 0) {
      // On the next turn, so that the opener can subscribe to events first.
      setImmediate(() => this.emit({ id: 'KURA-W2500', severity: 'warning', source: 'array', text: `${fixed.length} snapshot(s) (${fixed.join(', ')}) were stored as writable by an earlier version and are read-only again. Writes made to them while they were writable remain in them.` }));
    }
  }

  private emit(e: Omit<ArrayEvent, 'time'>): void {
    const ev: ArrayEvent = { time: new Date().toISOString(), ...e };
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // Listeners must not disturb the array.
      }
    }
  }

  private onEngineEvent(e: EngineEvent): void {
    switch (e.kind) {
      case 'threshold':
        if (e.over) {
          this.emit({ id: 'KURA-W2001', severity: 'warning', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} used capacity reached ${e.pool.usagePercent().toFixed(1)}%, at or above its threshold of ${e.pool.threshold}%. Expand the pool or free space.` });
        } else {
          this.emit({ id: 'KURA-I2002', severity: 'info', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} used capacity fell to ${e.pool.usagePercent().toFixed(1)}%, below its threshold of ${e.pool.threshold}%.` });
        }
        return;
      case 'no-space': {
        const now = Date.now();
        if (now - (this.lastNoSpace.get(e.pool.id) ?? 0) < NO_SPACE_EVENT_INTERVAL_MS) return;
        this.lastNoSpace.set(e.pool.id, now);
        this.emit({ id: 'KURA-E2003', severity: 'error', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name} is out of physical space: a write to LD ${e.ld.name} failed. Expand the pool (kura pool expand ${e.pool.name} --size SIZE) or free space.` });
        return;
      }
      case 'pd-failed':
        this.emit({ id: 'KURA-E2004', severity: 'error', source: `pool/${e.pool.name}`, text: `PD ${e.pd.number} (${e.pd.path}) of pool ${e.pool.name} failed: ${(e.error as Error)?.message ?? e.error}. Pool state is ${e.pool.state}.` });
        return;
      case 'resync-started':
        this.emit({ id: 'KURA-W2006', severity: 'warning', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: the array did not shut down cleanly; resyncing the mirrors of its allocated chunks in the background (reads use one mirror until a chunk is resynced).` });
        return;
      case 'resync-finished':
        this.emit({ id: 'KURA-I2007', severity: 'info', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: mirror resync finished; ${e.checked} allocated chunks checked, ${e.copied} copied to make the mirrors agree.` });
        return;
      case 'resync-failed':
        this.emit({ id: 'KURA-E2008', severity: 'error', source: `pool/${e.pool.name}`, text: `Pool ${e.pool.name}: mirror resync stopped: ${(e.error as Error)?.message ?? e.error}. Reads keep using one mirror; check the pool's PDs and restart the array to retry.` });
        return;
      case 'commit-failed':
        this.emit({ id: 'KURA-E2005', severity: 'error', source: 'array', text: `Metadata commit failed: ${(e.error as Error)?.message ?? e.error}. Check the data directory's file system.` });
        return;
    }
  }

  /** Runs configuration changes one at a time. */
  private config<T>(fn: () => T | Promise<T>): Promise<T> {
    const p = this.configChain.then(fn, fn);
    this.configChain = p.catch(() => undefined);
    return p;
  }

  // ---- replication pairs (DynamicDataReplication) ----

  listPairs(): PairInfo[] {
    return this.pairs.list();
  }

  getPair(mv: string | number, rv: string | number): PairInfo {
    return this.pairs.get(mv, rv);
  }

  createPair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.config(() => this.pairs.create(mv, rv));
  }

  replicatePair(mv: string | number, rv: string | number, opts: { force?: boolean } = {}): Promise<PairInfo> {
    return this.config(() => this.pairs.replicate(mv, rv, opts.force ?? false));
  }

  separatePair(mv: string | number, rv: string | number, opts: { rvAccess?: string; force?: boolean } = {}): Promise<PairInfo> {
    return this.config(() => this.pairs.separate(mv, rv, opts));
  }

  restorePair(mv: string | number, rv: string | number): Promise<PairInfo> {
    return this.config(() => this.pairs.restore(mv, rv));
  }

  deletePair(mv: string | number, rv: string | number, opts: { force?: boolean } = {}): Promise<PairInfo> {
    return this.config(() => this.pairs.remove(mv, rv, opts.force ?? false));
  }

  // ---- configuration lock (held by an administrator across requests) ----

  lockInfo(): LockInfo {
    return this.configLock.info();
  }

  acquireLock(owner: string, ttlSeconds?: number): LockInfo {
    const l = this.configLock.acquire(owner, ttlSeconds);
    this.emit({ id: 'KURA-I2405', severity: 'info', source: 'array', text: `Configuration lock taken (or renewed) by ${owner} until ${l.expires}.` });
    return l;
  }

  releaseLock(owner: string | undefined, force = false): LockInfo {
    const holder = this.configLock.info().owner;
    const l = this.configLock.release(owner, force);
    if (holder !== owner) this.emit({ id: 'KURA-W2406', severity: 'warning', source: 'array', text: `Configuration lock of ${holder} released by force by ${owner ?? 'a client without an owner name'}.` });
    else this.emit({ id: 'KURA-I2407', severity: 'info', source: 'array', text: `Configuration lock released by ${owner}.` });
    return l;
  }

  checkLock(owner: string | undefined): void {
    this.configLock.check(owner);
  }

  onEvent(listener: (e: ArrayEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
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

  /** The array's iSCSI target name. */
  targetName(): string {
    return `iqn.2026-11.io.kura:${this.name}`;
  }

  // ---- pools ----

  private pool(ref: string | number): Pool {
    const r = parseRef(ref);
    for (const p of this.engine.pools.values()) if (typeof r === 'number' ? p.number === r : p.name === r) return p;
    throw new KuraError('KURA-E2020', 'ENOENT', `Pool ${ref} does not exist.`, 'List pools with kura pool list.');
  }

  private poolInfo(p: Pool): PoolInfo {
    const lds = [...this.engine.lds.values()].filter((l) => l.pool === p);
    const cs = p.chunkSize;
    return {
      number: p.number,
      name: p.name,
      raid: p.raid as RaidType,
      type: 'dynamic(virtual)',
      state: p.state,
      chunkSize: cs,
      capacity: p.capacityChunks * cs,
      used: p.usedChunks * cs,
      free: (p.capacityChunks - p.usedChunks) * cs,
      virtualCapacity: lds.reduce((s, l) => s + l.rec.capacity, 0),
      threshold: p.threshold,
      overThreshold: p.overThreshold,
      qosDefaults: this.poolQosDefaults(p),
      qosMode: this.poolQosMode(p),
      ldCount: lds.length,
      pds: p.groups.flatMap((g) => g.pds.map((pd) => ({ number: pd.number, path: pd.path, capacity: pd.size, state: pd.state, group: g.number }))),
      resyncProgress: resyncPercent(p.resyncProgress()),
      created: p.created,
    };
  }

  listPools(): PoolInfo[] {
    return [...this.engine.pools.values()].sort((a, b) => a.number - b.number).map((p) => this.poolInfo(p));
  }

  getPool(ref: string | number): PoolInfo {
    return this.poolInfo(this.pool(ref));
  }

  createPool(req: CreatePoolRequest): Promise<PoolInfo> {
    return this.config(() => {
      const name = validateName('Pool', req.name);
      if ([...this.engine.pools.values()].some((p) => p.name === name)) {
        throw new KuraError('KURA-E2021', 'EEXIST', `Pool ${name} already exists.`, 'Choose another name.');
      }
      const raid = parseRaid(req.raid ?? 'RAID1');
      const number = lowestFree([...this.engine.pools.values()].map((p) => p.number));
      const pool = this.engine.createPool({ number, name, size: req.size, raid, pds: req.pds, chunkSize: req.chunkSize, threshold: req.threshold });
      return this.poolInfo(pool);
    });
  }

  expandPool(ref: string | number, addBytes: number): Promise<PoolInfo> {
    return this.config(() => {
      const pool = this.pool(ref);
      this.engine.expandPool(pool, addBytes);
      return this.poolInfo(pool);
    });
  }

  setPoolThreshold(ref: string | number, percent: number): Promise<PoolInfo> {
    return this.config(() => {
      const pool = this.pool(ref);
      this.engine.setThreshold(pool, percent);
      return this.poolInfo(pool);
    });
  }

  deletePool(ref: string | number): Promise<void> {
    return this.config(() => this.engine.deletePool(this.pool(ref)));
  }

  // ---- LDs ----

  private ld(ref: string | number): LogicalDisk {
    const r = parseRef(ref);
    for (const l of this.engine.lds.values()) if (typeof r === 'number' ? l.rec.number === r : l.rec.name === r) return l;
    throw new KuraError('KURA-E2030', 'ENOENT', `LD ${ref} does not exist.`, 'List LDs with kura ld list.');
  }

  private ldInfo(l: LogicalDisk): LdInfo {
    const owner = l.rec.defaultOwner;
    const current = this.controllers.currentOwner(owner);
    return {
      number: l.rec.number,
      name: l.rec.name,
      pool: l.pool.name,
      poolNumber: l.pool.number,
      capacity: l.rec.capacity,
      blockSize: l.blockSize,
      allocated: l.allocatedBytes(),
      raid: l.pool.raid as RaidType,
      state: l.pool.state === 'offline' ? 'offline' : 'ready',
      capacityAllocation: this.isThin(l) || l.allocatedBytes() < l.rec.capacity ? 'virtual' : 'actual',
      accessMode: this.accessMode(l),
      currentOwner: current,
      defaultOwner: owner,
      purpose: purposeOf(attrsOf(l)),
      rplAttribute: this.pairs.attribute(l),
      snapshotAttribute: attrsOf(l).esv ? 'ESV' : attrsOf(l).ebv ? 'EBV' : '---',
      cloneAttribute: attrsOf(l).fcv ? 'FCV' : attrsOf(l).fev ? 'FEV' : '---',
      qos: { ...(attrsOf(l).qos ?? { upper: 0, lower: 0 }) },
      qosActive: attrsOf(l).qos !== undefined && this.poolQosMode(l.pool) === 'on',
      nbdPlain: this.hosts.isNbdPlain(l.rec.number),
      naa: l.rec.naa,
      serial: l.rec.serial,
      created: l.rec.created,
      osType: '',
      pdType: 'FILE',
      group: 'Preserve',
      readCacheMode: 'on',
      writeCacheMode: 'on',
      vmwareType: '---',
      boundPeList: [],
      boundVvolList: [],
    };
  }

  /** What a host may do with the LD now: snapshots are read-only, an RV follows its pair's RV access. */
  private accessMode(l: LogicalDisk): LdInfo['accessMode'] {
    if (l.readOnly) return 'ReadOnly';
    const rv = this.pairs.rvAccess(l);
    return rv === 'nr' ? 'NotReady' : rv === 'ro' ? 'ReadOnly' : 'ReadWrite';
  }

  listLds(): LdInfo[] {
    return [...this.engine.lds.values()].sort((a, b) => a.rec.number - b.rec.number).map((l) => this.ldInfo(l));
  }

  getLd(ref: string | number): LdInfo {
    return this.ldInfo(this.ld(ref));
  }

  createLd(req: CreateLdRequest): Promise<LdInfo> {
    return this.config(async () => {
      const name = validateName('LD', req.name);
      this.checkFreeName(name);
      const pool = this.pool(req.pool);
      const attrs: LdAttrs = {};
      let size = req.size;
      if (req.attr !== undefined && req.attr !== 'ssv') {
        throw new KuraError('KURA-E2032', 'EINVAL', `LD attribute ${JSON.stringify(req.attr)} is not known.`, 'Give --attr ssv for the solution reserved volume, or no attribute.');
      }
      let reserve = true;
      if (req.attr === 'ssv') {
        if (this.ssv()) throw new KuraError('KURA-E2033', 'EEXIST', `The array already has a solution reserved volume (${this.ssv()!.name}).`, 'An array has one SSV; use the existing one.');
        this.licenses.requireAny(['VolumeClone', 'DynamicSnapVolume'], 'KURA-E2600', 'Creating the solution reserved volume');
        attrs.ssv = true;
        size = SSV_SIZE;
        // Reserving 4 GiB in a pool without them would fill it to its last chunk (and fail there).
        const free = (pool.capacityChunks - pool.usedChunks) * pool.chunkSize;
        if (free < SSV_SIZE) {
          if (!req.force) {
            throw new KuraError('KURA-E2506', 'ENOSPC', `Pool ${pool.name} has ${humanSize(free)} free; the solution reserved volume needs ${humanSize(SSV_SIZE)}.`, `Expand the pool (kura pool expand ${pool.name} --size SIZE) or choose a larger one; --force creates the SSV anyway, without reserving its space.`);
          }
          reserve = false;
        }
      }
      const defaults = this.poolQosDefaults(pool);
      if (!attrs.ssv && (defaults.upper > 0 || defaults.lower > 0)) attrs.qos = defaults;
      const ld = await this.newLd(name, pool, size, attrs);
      if (attrs.qos) this.applyQos(ld);
      if (attrs.ssv && reserve) {
        try {
          await this.engine.preallocate(ld);
        } catch (e) {
          await this.engine.deleteLd(ld);
          throw e;
        }
      }
      if (attrs.ssv && !reserve) {
        this.emit({ id: 'KURA-W2507', severity: 'warning', source: `ld/${ld.name}`, text: `Solution reserved volume ${ld.name} created by force in pool ${pool.name}, which had ${humanSize(ld.pool.capacityChunks * ld.pool.chunkSize - ld.pool.usedChunks * ld.pool.chunkSize)} free: its ${humanSize(SSV_SIZE)} are not reserved. Expand the pool.` });
      }
      return this.ldInfo(ld);
    });
  }

  private checkFreeName(name: string): void {
    if ([...this.engine.lds.values()].some((l) => l.rec.name === name)) {
      throw new KuraError('KURA-E2031', 'EEXIST', `LD ${name} already exists.`, 'Choose another name.');
    }
  }

  /**
   * Creates the LD record with a fresh number and identity; `source` makes it share
   * that LD's map. The number is a slot (the seed's LDN: the lowest free one, so a
   * deleted LD's number comes back); the identity hosts know the LU by (NAA
   * designator, serial) comes from a stored counter and never comes back, so a host
   * that held a deleted LD can tell that the LD now at its LUN is another one.
   */
  private newLd(name: string, pool: Pool, size: number, attrs: LdAttrs, source?: LogicalDisk, readOnly = false): Promise<LogicalDisk> {
    const number = lowestFree([...this.engine.lds.values()].map((l) => l.rec.number));
    const identity = Number(this.engine.store.getMeta(IDENTITY_KEY) ?? LEGACY_IDENTITY_LIMIT);
    // Stored before the LD exists: a failed or interrupted create leaves a gap, never a reuse.
    this.engine.store.setMeta(IDENTITY_KEY, String(identity + 1));
    return this.engine.createLd(
      {
        number,
        name,
        pool,
        capacity: size,
        defaultOwner: number % CONTROLLERS.length,
        naa: `6${KURA_OUI}${this.serial.slice(0, 9)}${identity.toString(16).padStart(16, '0')}`,
        serial: `${this.serial}${identity.toString(16).padStart(4, '0')}`,
        attrs: attrs as Record<string, unknown>,
      },
      source,
      readOnly,
    ).then((ld) => {
      // Without host entries every LD is a LUN: initiators re-read their LUNs.
      if (this.hosts.open) this.lunsChangedAfter(() => undefined);
      return ld;
    });
  }

  private ssv(): LogicalDisk | undefined {
    return this.allLds().find((l) => attrsOf(l).ssv);
  }

  private requireSsv(what: string): void {
    if (!this.ssv()) {
      throw new KuraError('KURA-E2034', 'EPERM', `${what} needs a solution reserved volume, and the array has none.`, 'Create one with kura ld create NAME --pool POOL --attr ssv.');
    }
  }

  // ---- extended snapshots (EBV/ESV) ----

  private snapshotsOf(base: LogicalDisk): LogicalDisk[] {
    return this.allLds()
      .filter((l) => attrsOf(l).esv?.base === base.rec.id)
      .sort((a, b) => attrsOf(a).esv!.generation - attrsOf(b).esv!.generation);
  }

  /**
   * A generation as iSMsc_query shows it (VVM L1800-1809): besides the absolute
   * generation, the relative one (-1 the newest), the ESV state (snap/active: every
   * Kura snapshot is usable once taken), the link state (unlink: hosts reach an ESV
   * directly, never through a link volume), and the base's state and reserve area.
   */
  private snapshotInfo(l: LogicalDisk): SnapshotInfo {
    const e = attrsOf(l).esv!;
    const base = this.engine.lds.get(e.base);
    const newer = base ? this.snapshotsOf(base).filter((g) => attrsOf(g).esv!.generation > e.generation).length : 0;
    const ssv = this.ssv();
    return {
      name: e.name,
      generation: e.generation,
      created: l.rec.created,
      state: 'active',
      ldNumber: l.rec.number,
      ld: l.rec.name,
      allocated: l.allocatedBytes(),
      access: l.readOnly ? 'ro' : 'rw',
      relativeGeneration: -(newer + 1),
      status: 'snap/active',
      link: 'unlink',
      bv: base?.name ?? '?',
      bvState: base && base.pool.state === 'ready' ? 'normal' : 'fault',
      reserveArea: ssv && ssv.pool.state === 'ready' ? 'verified' : 'unverified',
    };
  }

  listSnapshots(ldRef: string | number): SnapshotInfo[] {
    return this.snapshotsOf(this.ld(ldRef)).map((l) => this.snapshotInfo(l));
  }

  private snapshot(base: LogicalDisk, snap: string | number): LogicalDisk {
    const found = this.snapshotsOf(base).find((l) => {
      const e = attrsOf(l).esv!;
      return typeof snap === 'number' ? e.generation === snap : e.name === snap || String(e.generation) === snap;
    });
    if (!found) throw new KuraError('KURA-E2070', 'ENOENT', `LD ${base.name} has no snapshot ${snap}.`, `List them with kura snapshot list ${base.name}.`);
    return found;
  }

  createSnapshot(ldRef: string | number, name?: string): Promise<SnapshotInfo> {
    return this.config(async () => {
      this.licenses.require('DynamicSnapVolume', 'Creating a snapshot');
      this.requireSsv('Creating a snapshot');
      const base = this.ld(ldRef);
      this.ldLocks.check(base, 'a snapshot');
      const a = attrsOf(base);
      // A snapshot of a snapshot is allowed (VVM L1080-1081): the ESV becomes an EBV too, within MAX_LAYERS.
      if (a.ssv) {
        throw new KuraError('KURA-E2071', 'EINVAL', `LD ${base.name} is the solution reserved volume and cannot be snapshotted.`, 'Snapshot an ordinary LD or a snapshot.');
      }
      const gens = this.snapshotsOf(base);
      if (gens.length >= MAX_GENERATIONS) {
        throw new KuraError('KURA-E2072', 'ENOSPC', `LD ${base.name} already has ${MAX_GENERATIONS} snapshot generations, the most an EBV may have.`, `Delete old generations (kura snapshot delete-oldest ${base.name} --count N).`);
      }
      const layer = (a.layer ?? 0) + 1;
      if (layer > MAX_LAYERS) {
        throw new KuraError('KURA-E2073', 'ENOSPC', `A snapshot of LD ${base.name} would be layer ${layer}; at most ${MAX_LAYERS} layers of snapshots and clones are allowed.`, 'Snapshot or clone an LD closer to the original.');
      }
      const generation = gens.length === 0 ? 1 : attrsOf(gens[gens.length - 1]!).esv!.generation + 1;
      const snapName = name ?? `gen${generation}`;
      checkName('Snapshot', snapName, 'KURA-E2074');
      if (gens.some((g) => attrsOf(g).esv!.name === snapName)) {
        throw new KuraError('KURA-E2075', 'EEXIST', `LD ${base.name} already has a snapshot named ${snapName}.`, 'Choose another name.');
      }
      const ldName = `${base.name}@${snapName}`;
      this.checkFreeName(ldName);
      if (!a.ebv) {
        a.ebv = true;
        await this.engine.updateLd(base);
      }
      const esv = await this.newLd(ldName, base.pool, base.rec.capacity, { esv: { base: base.rec.id, generation, name: snapName }, layer }, base, true);
      return this.snapshotInfo(esv);
    });
  }

  /**
   * Makes a snapshot read/write or read-only (the seed's iSMsc_chgmod -volacc, VVM
   * L1811-1816), durably. Writes to a read/write ESV go to its own chunks (copy on
   * write): the base never changes.
   */
  setSnapshotAccess(ldRef: string | number, snap: string | number, access: string): Promise<SnapshotInfo> {
    return this.config(async () => {
      if (access !== 'rw' && access !== 'ro') {
        throw new KuraError('KURA-E2602', 'EINVAL', `Snapshot access ${JSON.stringify(access)?.slice(0, 40)} is not known.`, 'Give rw (read/write) or ro (read-only).');
      }
      const base = this.ld(ldRef);
      const esv = this.snapshot(base, snap);
      this.ldLocks.check(esv, 'an access change');
      const e = attrsOf(esv).esv!;
      if (access === 'rw') e.access = 'rw';
      else delete e.access;
      await this.engine.setReadOnly(esv, access === 'ro');
      return this.snapshotInfo(esv);
    });
  }

  restoreSnapshot(ldRef: string | number, snap: string | number): Promise<LdInfo> {
    return this.config(async () => {
      this.licenses.require('DynamicSnapVolume', 'Restoring a snapshot');
      const base = this.ld(ldRef);
      if (base.readOnly && attrsOf(base).esv) {
        throw new KuraError('KURA-E2603', 'EROFS', `LD ${base.name} is a read-only snapshot; restoring a generation into it would change it.`, `Make it read/write first (kura snapshot set-access ${base.name.slice(0, base.name.lastIndexOf('@'))} ${attrsOf(base).esv!.name} --access rw).`);
      }
      const esv = this.snapshot(base, snap);
      const reverted = this.pairs.beforeRevert(base);
      if (esv.rec.capacity !== base.rec.capacity) {
        throw new KuraError('KURA-E2076', 'EINVAL', `Snapshot ${snap} is ${esv.rec.capacity} bytes but LD ${base.name} is now ${base.rec.capacity}.`, 'Restore a snapshot taken at the current size.');
      }
      this.ldLocks.check(base, 'a snapshot restore');
      reverted();
      await this.ldLocks.during([base, esv], `the restore of ${base.name} from snapshot ${esv.name}`, () => this.engine.revertLd(base, esv));
      return this.ldInfo(base);
    });
  }

  deleteSnapshot(ldRef: string | number, snap: string | number): Promise<void> {
    return this.config(async () => {
      const base = this.ld(ldRef);
      await this.dropSnapshot(base, this.snapshot(base, snap));
    });
  }

  /** Deletes the oldest `count` generations (the seed's generationdel). */
  deleteOldestSnapshots(ldRef: string | number, count: number): Promise<SnapshotInfo[]> {
    return this.config(async () => {
      const base = this.ld(ldRef);
      if (!Number.isInteger(count) || count < 1) {
        throw new KuraError('KURA-E2077', 'EINVAL', `Count ${count} is not a positive number of generations.`, 'Give --count 1 or more.');
      }
      const gens = this.snapshotsOf(base);
      const victims = gens.slice(0, count);
      // All or nothing: a generation that is itself snapshotted stops the whole deletion.
      for (const v of victims) this.refuseIfEbv(v);
      const out = victims.map((v) => this.snapshotInfo(v));
      for (const v of victims) await this.dropSnapshot(base, v);
      return out;
    });
  }

  /** A snapshot that has snapshots of its own (it is their EBV) goes after them. */
  private refuseIfEbv(esv: LogicalDisk): void {
    const inner = this.snapshotsOf(esv);
    if (inner.length > 0) {
      throw new KuraError('KURA-E2601', 'EBUSY', `Snapshot ${esv.name} is the base (EBV) of ${inner.length} snapshot generation(s) of its own: ${inner.map((l) => attrsOf(l).esv!.name).join(', ')}.`, `Delete those first (kura snapshot delete-oldest ${esv.name} --count ${inner.length}).`);
    }
  }

  private async dropSnapshot(base: LogicalDisk, esv: LogicalDisk): Promise<void> {
    this.refuseIfEbv(esv);
    this.refuseIfFev(esv);
    this.pairs.refuseDelete(esv);
    this.hosts.unmapLd(esv.rec.number);
    await this.engine.deleteLd(esv);
    if (this.snapshotsOf(base).length === 0 && attrsOf(base).ebv) {
      delete attrsOf(base).ebv;
      await this.engine.updateLd(base);
    }
  }

  // ---- fast clones (FEV/FCV) ----

  private clonesOf(src: LogicalDisk): LogicalDisk[] {
    return this.allLds().filter((l) => attrsOf(l).fcv?.source === src.rec.id);
  }

  private refuseIfFev(l: LogicalDisk): void {
    const n = this.clonesOf(l).length;
    if (n > 0) {
      throw new KuraError('KURA-E2080', 'EBUSY', `LD ${l.name} is the source (FEV) of ${n} fast clone(s).`, 'Delete its clones (kura ld delete NAME --fcvforce) first.');
    }
  }

  createClone(srcRef: string | number, name: string): Promise<LdInfo> {
    return this.config(async () => {
      this.licenses.require('VolumeClone', 'Creating a fast clone');
      this.requireSsv('Creating a fast clone');
      const src = this.ld(srcRef);
      this.ldLocks.check(src, 'a clone');
      const a = attrsOf(src);
      if (a.ssv) throw new KuraError('KURA-E2081', 'EINVAL', 'The solution reserved volume cannot be cloned.', 'Clone an ordinary LD or a snapshot.');
      validateName('LD', name);
      this.checkFreeName(name);
      if (this.clonesOf(src).length >= MAX_FCVS_PER_FEV) {
        throw new KuraError('KURA-E2082', 'ENOSPC', `LD ${src.name} already has ${MAX_FCVS_PER_FEV} fast clones, the most an FEV may have.`, 'Delete a clone or clone another LD.');
      }
      const layer = (a.layer ?? 0) + 1;
      if (layer > MAX_LAYERS) {
        throw new KuraError('KURA-E2073', 'ENOSPC', `A clone of LD ${src.name} would be layer ${layer}; at most ${MAX_LAYERS} layers of snapshots and clones are allowed.`, 'Clone an LD closer to the original.');
      }
      if (!a.fev) {
        a.fev = true;
        await this.engine.updateLd(src);
      }
      // A clone is a new LD: it gets the pool's initial I/O limits (VVM L1300-1303), not its source's.
      const attrs: LdAttrs = { fcv: { source: src.rec.id }, layer };
      const defaults = this.poolQosDefaults(src.pool);
      if (defaults.upper > 0 || defaults.lower > 0) attrs.qos = defaults;
      const fcv = await this.ldLocks.during([src], `the creation of clone ${name}`, () => this.newLd(name, src.pool, src.rec.capacity, attrs, src, false));
      if (attrs.qos) this.applyQos(fcv);
      return this.ldInfo(fcv);
    });
  }

  expandLd(ref: string | number, newSize: number): Promise<LdInfo> {
    return this.config(async () => {
      const ld = this.ld(ref);
      this.pairs.refuseExpand(ld);
      this.ldLocks.check(ld, 'an expansion');
      await this.ldLocks.during([ld], `the expansion of ${ld.name}`, () => this.engine.expandLd(ld, newSize));
      this.replicator.resized(ld);
      for (const f of this.frontEnds) f.capacityChanged?.([ld.rec.number]);
      return this.ldInfo(ld);
    });
  }

  /** Host LUNs that map the LD. */
  private mappingsOf(l: LogicalDisk): Array<{ host: string; lun: number }> {
    const out: Array<{ host: string; lun: number }> = [];
    for (const h of this.hosts.list()) for (const [lun, n] of h.luns) if (n === l.rec.number) out.push({ host: h.name, lun });
    return out.sort((a, b) => a.host.localeCompare(b.host) || a.lun - b.lun);
  }

  /** Who has the LD open on a front end now (NBD clients in transmission, iSCSI sessions that used its LU). */
  sessionsOf(l: LogicalDisk): string[] {
    const out = new Set<string>();
    for (const src of this.sessionSources) for (const h of src()) if (this.deviceLds.get(h.device) === l) out.add(h.holder);
    return [...out].sort();
  }

  /** Front ends report the LD devices their clients hold (an LD's deletion asks them). */
  registerSessionSource(fn: () => OpenHandle[]): void {
    this.sessionSources.push(fn);
  }

  /**
   * Deletes an LD. One that a host entry maps, or that NBD clients or iSCSI sessions
   * have open, is refused unless `force`, which unmaps it and says what it unmapped and
   * whom it cut off. Those clients then get an error for the LD that is gone (NBD
   * ESHUTDOWN, iSCSI LOGICAL UNIT NOT SUPPORTED), never the data of a later LD.
   */
  deleteLd(ref: string | number, opts: { fcvforce?: boolean; force?: boolean } = {}): Promise<LdDeleteResult> {
    return this.config(async () => {
      const ld = this.ld(ref);
      const a = attrsOf(ld);
      if (a.esv) {
        throw new KuraError('KURA-E2035', 'EINVAL', `LD ${ld.name} is a snapshot generation (ESV).`, `Delete it with kura snapshot delete ${ld.name.replace('@', ' ')}.`);
      }
      if (a.fcv && !opts.fcvforce) {
        throw new KuraError('KURA-E2036', 'EPERM', `LD ${ld.name} is a fast clone (FCV).`, `Confirm with kura ld delete ${ld.name} --fcvforce.`);
      }
      this.refuseIfFev(ld);
      this.pairs.refuseDelete(ld);
      this.ldLocks.check(ld, 'its deletion');
      const snaps = this.snapshotsOf(ld);
      if (snaps.length > 0) {
        throw new KuraError('KURA-E2037', 'EBUSY', `LD ${ld.name} is the base (EBV) of ${snaps.length} snapshot generation(s).`, `Delete its snapshots first (kura snapshot delete-oldest ${ld.name} --count ${snaps.length}).`);
      }
      if (a.ssv) {
        const users = this.allLds().filter((l) => attrsOf(l).esv || attrsOf(l).fcv).length;
        if (users > 0 && !(opts.force && ld.pool.state !== 'ready')) {
          throw new KuraError('KURA-E2038', 'EBUSY', `The solution reserved volume is needed by ${users} snapshot(s) or clone(s).`, 'Delete them first; --force is accepted only when the SSV is faulty.');
        }
      }
      const unmapped = this.mappingsOf(ld);
      const sessions = this.sessionsOf(ld);
      if (!opts.force && unmapped.length > 0) {
        const where = unmapped.map((m) => `host ${m.host} LUN ${m.lun}`).join(', ');
        throw new KuraError('KURA-E2501', 'EBUSY', `LD ${ld.name} is mapped to ${where}; a host may be using it.`, `Unmap it first (kura host unmap HOST LUN), or give --force to unmap it and delete it.`);
      }
      if (!opts.force && sessions.length > 0) {
        throw new KuraError('KURA-E2502', 'EBUSY', `LD ${ld.name} is open: ${sessions.join('; ')}.`, 'Disconnect those clients first, or give --force to delete it under them (they get an error for every later request).');
      }
      this.hosts.unmapLd(ld.rec.number);
      this.qos.remove(String(ld.rec.id));
      const source = a.fcv ? this.allLds().find((l) => l.rec.id === a.fcv!.source) : undefined;
      await this.engine.deleteLd(ld);
      // Reservations belong to the LU that is gone.
      this.setFrontEndState(`pr/${ld.rec.id}`, undefined);
      if (source && this.clonesOf(source).length === 0 && attrsOf(source).fev) {
        delete attrsOf(source).fev;
        await this.engine.updateLd(source);
      }
      if (unmapped.length > 0 || sessions.length > 0) {
        const what = [
          ...(unmapped.length > 0 ? [`unmapped from ${unmapped.map((m) => `host ${m.host} LUN ${m.lun}`).join(', ')}`] : []),
          ...(sessions.length > 0 ? [`cut off ${sessions.join('; ')}`] : []),
        ];
        this.emit({ id: 'KURA-W2503', severity: 'warning', source: `ld/${ld.name}`, text: `LD ${ld.name} deleted by force: ${what.join('; ')}.` });
      }
      // Initiators re-read their LUNs: the LD's LUN is gone (REPORTED LUNS DATA HAS CHANGED).
      this.lunsChangedAfter(() => undefined);
      return { name: ld.name, number: ld.rec.number, unmapped, sessions };
    });
  }

  // ---- I/O control ----

  private poolQosDefaults(p: Pool): QosLimits {
    const raw = this.engine.store.getMeta(`pool_qos:${p.id}`);
    return raw ? (JSON.parse(raw) as QosLimits) : { upper: 0, lower: 0 };
  }

  /** Merges a change into current limits and checks the seed's rules: 10 to 1,000,000 IOPS, upper above lower. */
  private mergeQos(cur: QosLimits, change: { upper?: number; lower?: number }): QosLimits {
    const next = { upper: change.upper ?? cur.upper, lower: change.lower ?? cur.lower };
    for (const [k, v] of Object.entries(next)) {
      if (!Number.isInteger(v) || (v !== 0 && (v < QOS_MIN || v > QOS_MAX))) {
        throw new KuraError('KURA-E2090', 'EINVAL', `IOPS ${k} limit ${v} is out of range.`, `Give ${QOS_MIN} to ${QOS_MAX.toLocaleString('en-US')} IOPS, or 0 to clear it.`);
      }
    }
    if (next.upper > 0 && next.lower > 0 && next.upper <= next.lower) {
      throw new KuraError('KURA-E2091', 'EINVAL', `The upper limit (${next.upper}) must be above the lower limit (${next.lower}).`, 'Raise the upper limit or lower the lower one.');
    }
    return next;
  }

  setQos(ref: string | number, change: { upper?: number; lower?: number }): Promise<LdInfo> {
    return this.config(async () => {
      this.licenses.require('IOLoadManager', 'Setting I/O limits');
      const ld = this.ld(ref);
      const a = attrsOf(ld);
      if (a.esv || a.ssv) {
        throw new KuraError('KURA-E2092', 'EINVAL', `I/O control does not apply to ${a.esv ? 'a snapshot (ESV)' : 'the solution reserved volume'}.`, 'Set limits on its base LD or on an ordinary LD.');
      }
      const next = this.mergeQos(a.qos ?? { upper: 0, lower: 0 }, change);
      if (this.poolQosMode(ld.pool) === 'off' && (next.upper > 0 || next.lower > 0)) {
        throw new KuraError('KURA-E2611', 'EPERM', `Failed to set the I/O limits of LD ${ld.name} because I/O control mode is disabled in pool ${ld.pool.name}.`, `Enable I/O control mode (kura pool set ${ld.pool.name} --qos-mode on), then set the limits again.`);
      }
      if (next.upper === 0 && next.lower === 0) delete a.qos;
      else a.qos = next;
      await this.engine.updateLd(ld);
      this.applyQos(ld);
      return this.ldInfo(ld);
    });
  }

  /** The pool's I/O control mode (VVM L1905-1910): off, its LDs' limits are kept but do not act. New pools start on. */
  private poolQosMode(p: Pool): 'on' | 'off' {
    return this.engine.store.getMeta(`pool_qos_mode:${p.id}`) === 'off' ? 'off' : 'on';
  }

  /** Gives the scheduler an LD's limits, or none while its pool's I/O control mode is off. */
  private applyQos(l: LogicalDisk): void {
    const q = attrsOf(l).qos;
    this.qos.setLimits(String(l.rec.id), q && this.poolQosMode(l.pool) === 'on' ? q : { upper: 0, lower: 0 });
  }

  setPoolQosMode(ref: string | number, mode: string): Promise<PoolInfo> {
    return this.config(() => {
      if (mode !== 'on' && mode !== 'off') {
        throw new KuraError('KURA-E2612', 'EINVAL', `I/O control mode ${JSON.stringify(mode)?.slice(0, 40)} is not known.`, 'Give on or off.');
      }
      this.licenses.require('IOLoadManager', 'Changing the I/O control mode');
      const pool = this.pool(ref);
      this.engine.store.setMeta(`pool_qos_mode:${pool.id}`, mode);
      for (const l of this.engine.lds.values()) if (l.pool === pool) this.applyQos(l);
      return this.poolInfo(pool);
    });
  }

  setPoolQosDefaults(ref: string | number, change: { upper?: number; lower?: number }): Promise<PoolInfo> {
    return this.config(() => {
      this.licenses.require('IOLoadManager', 'Setting I/O limit defaults');
      const pool = this.pool(ref);
      const next = this.mergeQos(this.poolQosDefaults(pool), change);
      this.engine.store.setMeta(`pool_qos:${pool.id}`, JSON.stringify(next));
      return this.poolInfo(pool);
    });
  }

  // ---- licences ----

  listLicenses(): LicenseInfo[] {
    return this.licenses.list();
  }

  unlockLicense(name: string): Promise<LicenseInfo[]> {
    return this.config(() => {
      this.licenses.unlock(LicenseTable.parse(name));
      this.emit({ id: 'KURA-I2062', severity: 'info', source: 'array', text: `Licence ${LicenseTable.parse(name)} unlocked.` });
      return this.licenses.list();
    });
  }

  /** The LD with this number, if any (front ends resolve LUNs through it). */
  ldByNumber(n: number): LogicalDisk | undefined {
    for (const l of this.engine.lds.values()) if (l.rec.number === n) return l;
    return undefined;
  }

  /** All LDs, for the front ends. */
  allLds(): LogicalDisk[] {
    return [...this.engine.lds.values()].sort((a, b) => a.rec.number - b.rec.number);
  }

  // ---- hosts (access control) ----

  private hostInfo(h: HostEntry): HostInfo {
    const luns = [...h.luns].sort((a, b) => a[0] - b[0]).map(([lun, n]) => ({ lun, ld: this.ldByNumber(n)?.name ?? '?', ldNumber: n }));
    return { name: h.name, initiators: [...h.initiators], luns, chap: h.chap ? { user: h.chap.user } : null, nbdPsk: h.nbdPsk ? { identity: h.name } : null };
  }

  setHostNbdPsk(host: string, key: string): Promise<HostInfo> {
    return this.config(() => this.authChangedAfter(() => this.hostInfo(this.hosts.setNbdPsk(host, validateNbdPsk(key)))));
  }

  clearHostNbdPsk(host: string): Promise<HostInfo> {
    return this.config(() => this.authChangedAfter(() => this.hostInfo(this.hosts.clearNbdPsk(host))));
  }

  /** Opens an LD (and its snapshots) to unidentified NBD clients while access control is on, or closes it again. */
  setLdNbdPlain(ref: string | number, on: boolean): Promise<LdInfo> {
    return this.config(() => {
      const l = this.ld(ref);
      this.hosts.setNbdPlain(l.rec.number, on);
      this.accessChanged();
      return this.ldInfo(l);
    });
  }

  setHostChap(host: string, user: string, secret: string): Promise<HostInfo> {
    return this.config(() => this.authChangedAfter(() => this.hostInfo(this.hosts.setChap(host, user, secret, this.mutualChap()?.secret))));
  }

  clearHostChap(host: string): Promise<HostInfo> {
    return this.config(() => this.authChangedAfter(() => this.hostInfo(this.hosts.clearChap(host))));
  }

  targetInfo(): TargetInfo {
    const mutual = this.mutualChap();
    return {
      name: this.targetName(),
      portals: this.hostPorts().map((p) => ({ host: p.host, port: p.port, controller: p.controller, state: p.state })),
      mutualChap: mutual ? { user: mutual.user } : null,
    };
  }

  setTargetChap(user: string, secret: string): Promise<TargetInfo> {
    return this.config(() =>
      this.authChangedAfter(() => {
        const c = validateChap(user, secret);
        // RFC 7143, 12.1.3: the secret a target answers with must differ from every initiator's.
        const host = this.hosts.hostWithSecret(c.secret);
        if (host !== undefined) {
          throw new KuraError(
            'KURA-E2522',
            'EINVAL',
            `The mutual CHAP secret is the CHAP secret of host ${host}; one secret must not authenticate both directions (RFC 7143, 12.1.3).`,
            'Choose a secret no host entry uses.',
          );
        }
        const replaced = this.mutualChap()?.secret;
        this.setFrontEndState(MUTUAL_CHAP_KEY, JSON.stringify(c));
        if (replaced !== undefined && replaced !== c.secret) scrubWal(this.engine.store.db);
        return this.targetInfo();
      }),
    );
  }

  clearTargetChap(): Promise<TargetInfo> {
    return this.config(() =>
      this.authChangedAfter(() => {
        if (!this.mutualChap()) throw new KuraError('KURA-E2103', 'ENOENT', 'The target has no mutual CHAP credentials.', 'Nothing to clear; kura target show tells what is set.');
        this.setFrontEndState(MUTUAL_CHAP_KEY, undefined);
        // The secret's old page images live in the WAL until a checkpoint.
        scrubWal(this.engine.store.db);
        return this.targetInfo();
      }),
    );
  }

  private mutualChap(): ChapCredentials | undefined {
    const v = this.getFrontEndState(MUTUAL_CHAP_KEY);
    return v === undefined ? undefined : (JSON.parse(v) as ChapCredentials);
  }

  /**
   * What the iSCSI login checks: the credentials of every host entry with CHAP
   * (keyed by its initiators), and the target's own for mutual CHAP. Initiators
   * of hosts without CHAP log in without it.
   */
  chapConfig(): ChapConfig {
    const initiators: Record<string, { user: string; secret: string }> = {};
    for (const h of this.hosts.list()) if (h.chap) for (const i of h.initiators) initiators[i] = { ...h.chap };
    const mutual = this.mutualChap();
    return { initiators, unlistedMaySkip: true, mutualUser: mutual?.user, mutualSecret: mutual?.secret };
  }

  private authChangedAfter<T>(fn: () => T): T {
    const r = fn();
    for (const f of this.frontEnds) f.authChanged?.();
    this.accessChanged();
    return r;
  }

  private accessListeners: Array<() => void> = [];

  /** Calls `fn` after every change of who may use which LD (host entries, mappings, keys, plain NBD access). */
  onAccessChanged(fn: () => void): void {
    this.accessListeners.push(fn);
  }

  private accessChanged(): void {
    for (const f of this.accessListeners) f();
  }

  listHosts(): HostInfo[] {
    return this.hosts.list().map((h) => this.hostInfo(h));
  }

  createHost(name: string, initiators: string[]): Promise<HostInfo> {
    return this.config(() =>
      this.lunsChangedAfter(() => {
        const starts = this.hosts.open;
        const h = this.hostInfo(this.hosts.create(name, initiators));
        if (!starts) return h;
        this.emit({ id: 'KURA-I2526', severity: 'info', source: 'access', text: `Access control started by host entry ${name}: initiators see only the LDs mapped to their host entry; deleting host entries does not stop it (kura host access stop --force does).` });
        return { ...h, accessControlStarted: true };
      }),
    );
  }

  accessControl(): AccessControlInfo {
    return { enabled: !this.hosts.open, hosts: this.hosts.size };
  }

  setAccessControl(enabled: boolean, force = false): Promise<AccessControlInfo> {
    return this.config(() =>
      this.lunsChangedAfter(() => {
        if (this.hosts.setAccessControl(enabled, force)) {
          if (enabled) this.emit({ id: 'KURA-I2526', severity: 'info', source: 'access', text: `Access control started: initiators see only the LDs mapped to their host entry (${this.hosts.size} host entr${this.hosts.size === 1 ? 'y' : 'ies'}).` });
          else this.emit({ id: 'KURA-W2525', severity: 'warning', source: 'access', text: 'Access control stopped: every initiator sees every LD at LUN = LD number, whatever the host entries say.' });
        }
        return this.accessControl();
      }),
    );
  }

  deleteHost(name: string): Promise<void> {
    return this.config(() => this.lunsChangedAfter(() => this.hosts.delete(name)));
  }

  addInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.config(() => this.lunsChangedAfter(() => this.hostInfo(this.hosts.addInitiator(host, iqn))));
  }

  removeInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.config(() => this.lunsChangedAfter(() => this.hostInfo(this.hosts.removeInitiator(host, iqn))));
  }

  mapLun(host: string, ldRef: string | number, lun?: number): Promise<HostInfo> {
    return this.config(() => {
      const h = this.hosts.get(host);
      const ld = this.ld(ldRef);
      this.pairs.refuseMap(ld);
      const chosen = lun ?? lowestFree(h.luns.keys());
      return this.lunsChangedAfter(() => this.hostInfo(this.hosts.map(host, chosen, ld.rec.number)));
    });
  }

  unmapLun(host: string, lun: number): Promise<HostInfo> {
    return this.config(() => this.lunsChangedAfter(() => this.hostInfo(this.hosts.unmap(host, lun))));
  }

  /** LUN → LD visible to an initiator: everything at LUN = LD number while access control is off. */
  lunsFor(initiatorName: string): Map<number, LogicalDisk> {
    const out = new Map<number, LogicalDisk>();
    if (this.hosts.open) {
      for (const l of this.engine.lds.values()) out.set(l.rec.number, l);
      return out;
    }
    const h = this.hosts.ofInitiator(initiatorName);
    if (!h) return out;
    for (const [lun, n] of h.luns) {
      const l = this.ldByNumber(n);
      if (l) out.set(lun, l);
    }
    return out;
  }

  // ---- controllers, ports, fault injection ----

  registerFrontEnd(hooks: FrontEndHooks): void {
    this.frontEnds.push(hooks);
  }

  private lunsChangedAfter<T>(fn: () => T): T {
    const r = fn();
    for (const f of this.frontEnds) f.lunsChanged?.();
    this.accessChanged();
    return r;
  }

  /** Every host port (iSCSI portal) of both controllers. */
  hostPorts(): HostPort[] {
    return this.controllers.ports.map((p) => ({ ...p }));
  }

  /** A front end bound a host port configured with port 0 to this port. */
  bindHostPort(relativeTargetPortId: number, port: number): void {
    const p = this.controllers.ports.find((x) => x.relativeTargetPortId === relativeTargetPortId);
    if (p) p.port = port;
  }

  /** An LD's data path as front ends serve it: its layers, bottom (on the LD) first. */
  deviceOf(l: LogicalDisk): BlockDevice {
    const d = buildStack(l, [replicationLayer(this.replicator), qosLayer(this.qos)]);
    this.deviceLds.set(d, l);
    return d;
  }

  /** ALUA target port groups of an LD, with their states now. */
  portGroupsOf(l: LogicalDisk): TargetPortGroupInfo[] {
    return this.controllers.portGroups(l.rec.defaultOwner);
  }

  /** Thin LDs report logical block provisioning; the SSV is fully allocated. */
  isThin(l: LogicalDisk): boolean {
    return !attrsOf(l).ssv;
  }

  ldExists(id: number): boolean {
    return this.engine.lds.has(id);
  }

  ldNumberOf(id: number): number | undefined {
    return this.engine.lds.get(id)?.rec.number;
  }

  /** Small durable state front ends keep (persistent reservations with APTPL). */
  getFrontEndState(key: string): string | undefined {
    return this.engine.store.getMeta(`fe/${key}`);
  }

  setFrontEndState(key: string, value: string | undefined): void {
    if (value === undefined) this.engine.store.deleteMeta(`fe/${key}`);
    else this.engine.store.setMeta(`fe/${key}`, value);
  }

  listControllers(): ControllerInfo[] {
    return this.controllers.states.map((state, number) => ({
      number,
      state,
      ports: this.controllers.ports
        .filter((p) => p.controller === number)
        .map((p) => ({ host: p.host, port: p.port, state: p.state, portalGroupTag: p.portalGroupTag, relativeTargetPortId: p.relativeTargetPortId })),
    }));
  }

  setControllerState(n: number, state: 'online' | 'down'): Promise<ControllerInfo[]> {
    return this.config(async () => {
      this.controllers.check(n);
      if (this.controllers.states[n] === state) return this.listControllers();
      const before = new Map(this.allLds().map((l) => [l.rec.number, this.controllers.currentOwner(l.rec.defaultOwner)]));
      this.controllers.states[n] = state;
      for (const p of this.controllers.ports.filter((x) => x.controller === n)) {
        if (state === 'down') {
          p.state = 'down';
          for (const f of this.frontEnds) f.portDown(p.host, p.port);
        } else {
          p.state = 'up';
          for (const f of this.frontEnds) await f.portUp(p.host, p.port);
        }
      }
      const moved = this.allLds().filter((l) => before.get(l.rec.number) !== this.controllers.currentOwner(l.rec.defaultOwner));
      this.emit({
        id: state === 'down' ? 'KURA-E2052' : 'KURA-I2053',
        severity: state === 'down' ? 'error' : 'info',
        source: `controller/${n}`,
        text:
          state === 'down'
            ? `Controller ${String(n).padStart(2, '0')} is down; ${moved.length} LD(s) moved to the surviving controller.`
            : `Controller ${String(n).padStart(2, '0')} is online; ${moved.length} LD(s) returned to their default owner.`,
      });
      // Every LU's ALUA states change when a controller's state does (its group turns unavailable or back).
      for (const f of this.frontEnds) f.aluaChanged(this.allLds().map((l) => l.rec.number));
      return this.listControllers();
    });
  }

  setPortState(host: string, port: number, state: 'up' | 'down'): Promise<ControllerInfo[]> {
    return this.config(async () => {
      const p = this.controllers.port(host, port);
      if (state === 'up' && this.controllers.states[p.controller] !== 'online') {
        throw new KuraError('KURA-E2054', 'EBUSY', `Host port ${host}:${port} belongs to controller ${p.controller}, which is down.`, `Bring the controller up first (kura fault controller-up ${p.controller}).`);
      }
      if (p.state === state) return this.listControllers();
      p.state = state;
      if (state === 'down') for (const f of this.frontEnds) f.portDown(host, port);
      else for (const f of this.frontEnds) await f.portUp(host, port);
      this.emit({
        id: state === 'down' ? 'KURA-W2055' : 'KURA-I2056',
        severity: state === 'down' ? 'warning' : 'info',
        source: `port/${host}:${port}`,
        text: state === 'down' ? `Host port ${host}:${port} (controller ${p.controller}) is down.` : `Host port ${host}:${port} (controller ${p.controller}) is up.`,
      });
      return this.listControllers();
    });
  }

  // ---- front ends ----

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
    await this.configChain;
    // A second close (a test's cleanup after its own) has nothing left to do.
    if (this.closed) return;
    this.closed = true;
    try {
      await this.replicator.close();
      await this.engine.close();
    } finally {
      // Last: the directory is free for the next process only once the metadata is closed.
      this.lock?.release();
      this.lock = undefined;
    }
  }
}

function resyncPercent(r: { done: number; total: number } | null): number | null {
  return r === null ? null : r.total === 0 ? 100 : Math.floor((r.done * 100) / r.total);
}
