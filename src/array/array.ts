// The disk array: names, numbers and identities of pools and LDs on top of the
// block engine, the exports that protocol front ends serve, and the events the
// array raises itself. Configuration changes are serialized.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KuraError } from '../errors.js';
import type { BlockDevice } from '../block/device.js';
import { BlockEngine } from '../block/engine.js';
import type { EngineEvent } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { Pool } from '../block/pool.js';
import { parseRaid } from '../block/raid-group.js';
import type { ArrayAgent, ArrayEvent, ArrayInfo, ControllerInfo, CreateLdRequest, CreatePoolRequest, HostInfo, LdInfo, PoolInfo, RaidType } from './agent.js';
import { Controllers } from './controllers.js';
import { HostTable } from './hosts.js';
import type { HostEntry } from './hosts.js';

export const KURA_VERSION = '0.1.0';
/** IEEE company id used in NAA 6 designators (a placeholder until Kura has its own). */
const KURA_OUI = '0014ee';
const CONTROLLERS = [0, 1];
/** ENOSPC events for a pool are raised at most this often. */
const NO_SPACE_EVENT_INTERVAL_MS = 10_000;

export interface ExportEntry {
  name: string;
  description?: string;
}

/** What protocol front ends (NBD now, iSCSI later) see of the array. */
export interface ExportProvider {
  list(): ExportEntry[];
  open(name: string): BlockDevice | undefined;
}

export interface OpenArrayOptions {
  dataDir: string;
  /** iSCSI host ports: the n-th belongs to controller n mod 2. */
  portals?: Array<{ host: string; port: number }>;
}

export const DEFAULT_PORTALS = [
  { host: '127.0.0.1', port: 3260 },
  { host: '127.0.0.1', port: 3261 },
];

/** What the array asks of its protocol front ends when controllers or ports change. */
export interface FrontEndHooks {
  portDown(host: string, port: number): void;
  portUp(host: string, port: number): Promise<void>;
  /** Ownership (ALUA states) of some LDs changed. */
  aluaChanged(ldNumbers: number[]): void;
}

const NAME_RE = /^[A-Za-z0-9_.:-]{1,32}$/;

/** A reference to a pool or LD: a number (decimal, or NEC hex like 0001h) or a name. */
export function parseRef(ref: string | number): number | string {
  if (typeof ref === 'number') return ref;
  const s = ref.trim();
  if (/^[0-9]+$/.test(s)) return Number(s);
  if (/^[0-9a-fA-F]+h$/.test(s)) return parseInt(s.slice(0, -1), 16);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  return s;
}

function validateName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name) || typeof parseRef(name) === 'number') {
    throw new KuraError(
      'KURA-E2010',
      'EINVAL',
      `${kind} name ${JSON.stringify(name)} is not valid.`,
      'Use 1 to 32 letters, digits, "_", ".", ":" or "-", not a bare number (numbers refer to objects by number).',
    );
  }
  return name;
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
  private lastNoSpace = new Map<number, number>();
  readonly hosts: HostTable;
  readonly controllers: Controllers;
  private frontEnds: FrontEndHooks[] = [];

  private constructor(dataDir: string, engine: BlockEngine, portals: Array<{ host: string; port: number }>) {
    this.dataDir = dataDir;
    this.engine = engine;
    this.hosts = new HostTable(engine.store.db);
    this.controllers = new Controllers(portals);
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
    engine.onEvent((e) => this.onEngineEvent(e));
  }

  static async open(opts: OpenArrayOptions): Promise<KuraArray> {
    const dir = path.join(opts.dataDir, 'array');
    fs.mkdirSync(dir, { recursive: true });
    try {
      return new KuraArray(opts.dataDir, BlockEngine.open(dir), opts.portals ?? DEFAULT_PORTALS);
    } catch (e) {
      if (e instanceof KuraError) throw e;
      throw new KuraError('KURA-E2001', 'EIO', `The array in ${opts.dataDir} cannot be opened: ${(e as Error).message}.`, 'Check that the data directory is readable and not used by another kura process.');
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
      ldCount: lds.length,
      pds: p.groups.flatMap((g) => g.pds.map((pd) => ({ number: pd.number, path: pd.path, capacity: pd.size, state: pd.state, group: g.number }))),
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
      capacityAllocation: 'virtual',
      accessMode: l.readOnly ? 'ReadOnly' : 'ReadWrite',
      currentOwner: current,
      defaultOwner: owner,
      purpose: (l.rec.attrs['purpose'] as string | undefined) ?? '---',
      rplAttribute: 'IV',
      snapshotAttribute: '---',
      cloneAttribute: '---',
      naa: l.rec.naa,
      serial: l.rec.serial,
      created: l.rec.created,
    };
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
      if ([...this.engine.lds.values()].some((l) => l.rec.name === name)) {
        throw new KuraError('KURA-E2031', 'EEXIST', `LD ${name} already exists.`, 'Choose another name.');
      }
      const pool = this.pool(req.pool);
      const number = lowestFree([...this.engine.lds.values()].map((l) => l.rec.number));
      const numHex = number.toString(16).padStart(16, '0');
      const ld = await this.engine.createLd({
        number,
        name,
        pool,
        capacity: req.size,
        defaultOwner: number % CONTROLLERS.length,
        naa: `6${KURA_OUI}${this.serial.slice(0, 9)}${numHex}`,
        serial: `${this.serial}${number.toString(16).padStart(4, '0')}`,
      });
      return this.ldInfo(ld);
    });
  }

  expandLd(ref: string | number, newSize: number): Promise<LdInfo> {
    return this.config(async () => {
      const ld = this.ld(ref);
      await this.engine.expandLd(ld, newSize);
      return this.ldInfo(ld);
    });
  }

  deleteLd(ref: string | number): Promise<void> {
    return this.config(async () => {
      const ld = this.ld(ref);
      this.hosts.unmapLd(ld.rec.number);
      await this.engine.deleteLd(ld);
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
    return { name: h.name, initiators: [...h.initiators], luns };
  }

  listHosts(): HostInfo[] {
    return this.hosts.list().map((h) => this.hostInfo(h));
  }

  createHost(name: string, initiators: string[]): Promise<HostInfo> {
    return this.config(() => this.hostInfo(this.hosts.create(name, initiators)));
  }

  deleteHost(name: string): Promise<void> {
    return this.config(() => this.hosts.delete(name));
  }

  addInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.config(() => this.hostInfo(this.hosts.addInitiator(host, iqn)));
  }

  removeInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.config(() => this.hostInfo(this.hosts.removeInitiator(host, iqn)));
  }

  mapLun(host: string, ldRef: string | number, lun?: number): Promise<HostInfo> {
    return this.config(() => {
      const h = this.hosts.get(host);
      const ld = this.ld(ldRef);
      const chosen = lun ?? lowestFree(h.luns.keys());
      return this.hostInfo(this.hosts.map(host, chosen, ld.rec.number));
    });
  }

  unmapLun(host: string, lun: number): Promise<HostInfo> {
    return this.config(() => this.hostInfo(this.hosts.unmap(host, lun)));
  }

  /** LUN → LD visible to an initiator: everything at LUN = LD number while no host entry exists. */
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

  exports(): ExportProvider {
    return {
      list: () => this.listLds().map((l) => ({ name: l.name, description: `LD ${l.number.toString(16).padStart(4, '0')}h in pool ${l.pool}` })),
      open: (name: string) => {
        for (const l of this.engine.lds.values()) if (l.rec.name === name) return l;
        return undefined;
      },
    };
  }

  /** Commits every completed write (as a FLUSH would). */
  flush(): Promise<void> {
    return this.engine.commit();
  }

  async close(): Promise<void> {
    await this.configChain;
    await this.engine.close();
  }
}
