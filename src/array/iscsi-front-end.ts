// The array's iSCSI front end: one target (the array's IQN) with a portal per
// host port of each controller. It joins the three parts that know nothing of
// each other: access control (which LD an initiator sees at which LUN), the SCSI
// logical units (one per LD, created on first use and kept while the LD lives),
// and the transport (portals that fault injection takes down and up).
import type { ChapConfig } from '../iscsi/chap.js';
import type { IoBudget } from '../limits/io-budget.js';
import type { TargetOffers } from '../iscsi/params.js';
import { IscsiTargetServer } from '../iscsi/server.js';
import type { SessionInfo } from '../iscsi/server.js';
import type { PortalConfig } from '../iscsi/types.js';
import { LogicalUnit } from '../scsi/logical-unit.js';
import { ASYMMETRIC_ACCESS_STATE_CHANGED, CAPACITY_DATA_HAS_CHANGED, REPORTED_LUNS_DATA_HAS_CHANGED } from '../scsi/spec/sense.js';
import type { SenseCode } from '../scsi/spec/sense.js';
import { ScsiTarget } from '../scsi/target.js';
import { conglomerateLun, lunParts } from '../scsi/spec/luns.js';
import type { ConglomerateRole, ItNexus, PrStore, TargetPortGroupInfo } from '../scsi/types.js';
import type { BlockDevice } from '../block/device.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { HostPort } from './controllers/controllers.js';
import type { IoCounters } from '../io/io-counters.js';
import type { FrontEndHooks, OpenHandle } from './front-ends.js';

export const PRODUCT = 'Kura LD';
export const VENDOR = 'KURA';
export const REVISION = '0.1';

export interface IscsiFrontEndOptions {
  chap?: ChapConfig;
  offers?: Partial<TargetOffers>;
  keepaliveMs?: number;
  log?: (msg: string) => void;
  /** Resource limits (src/limits): the I/O budget shared with NBD, connections per portal. */
  ioBudget?: IoBudget;
  maxConnectionsPerPortal?: number;
}

/** What the iSCSI front end asks of the array (KuraArray answers it). */
export interface IscsiArrayPort {
  /** The target's name and alias (the array's name). */
  targetName(): string;
  info(): { name: string };
  hostPorts(): HostPort[];
  /** A portal configured with port 0 was bound to this port. */
  bindHostPort(relativeTargetPortId: number, port: number): void;
  chapConfig(): ChapConfig;
  /** Access control: which LD an initiator sees at which LUN. */
  lunsFor(initiatorName: string): Map<number, LogicalDisk>;
  /** lunsFor(initiatorName).get(lun), at the cost of one LUN, not of every LD. */
  ldAtLun(initiatorName: string, lun: number): LogicalDisk | undefined;
  /** The LD's data path as front ends serve it. */
  deviceOf(l: LogicalDisk): BlockDevice;
  portGroupsOf(l: LogicalDisk): TargetPortGroupInfo[];
  isThin(l: LogicalDisk): boolean;
  /** LUN conglomerates (VVOL protocol endpoints and the VVOLs bound behind them): the LD's part in one now. */
  conglomerateOf(l: LogicalDisk): ConglomerateRole | undefined;
  /** The PE a bound VVOL LD sits behind: a subsidiary LU takes its ALUA state. */
  administrativeOf(l: LogicalDisk): LogicalDisk | undefined;
  /** The VVOL LD bound for the initiator's host as subsidiary LU `slu` of the PE, if any. */
  subsidiaryFor(initiatorName: string, pe: LogicalDisk, slu: number): LogicalDisk | undefined;
  /** The subsidiary LU ids bound for the initiator's host behind the PE, ascending. */
  subsidiaryIdsFor(initiatorName: string, pe: LogicalDisk): number[];
  ldExists(id: number): boolean;
  ldNumberOf(id: number): number | undefined;
  /** Durable state of the LUs (persistent reservations). */
  getFrontEndState(key: string): string | undefined;
  setFrontEndState(key: string, value: string | undefined): void;
  registerFrontEnd(hooks: FrontEndHooks): void;
  registerSessionSource(fn: () => OpenHandle[]): void;
  /** The I/O counters of a front-end port (src/io/io-counters.ts), for metrics. */
  portCounters?(key: string): IoCounters | undefined;
}

/** The key of an iSCSI host port's I/O counters: "iscsi-" controller "-" relative target port id. */
export function iscsiPortKey(p: { controller: number; relativeTargetPortId: number }): string {
  return `iscsi-${p.controller}-${p.relativeTargetPortId}`;
}

interface LuEntry {
  ldId: number;
  naa: string;
  lu: LogicalUnit;
  /** Initiators that reached it as a subsidiary LU (a bound VVOL): they hold it only while it stays bound for them. */
  viaSubsidiary: Set<string>;
}

export class IscsiFrontEnd {
  readonly server: IscsiTargetServer;
  readonly target: ScsiTarget;
  private readonly units = new Map<number, LuEntry>();
  /** One object the login code keeps reading; refreshed in place when credentials change. */
  private readonly chap: ChapConfig;
  /** Credentials given by the caller (tests) are kept; otherwise they follow the array. */
  private readonly fixedChap: boolean;

  constructor(
    private readonly array: IscsiArrayPort,
    opts: IscsiFrontEndOptions = {},
  ) {
    this.fixedChap = opts.chap !== undefined;
    this.chap = opts.chap ?? array.chapConfig();
    this.target = new ScsiTarget({
      luns: (nexus) => [...this.array.lunsFor(nexus.initiatorName).keys()].sort((a, b) => a - b),
      lookup: (nexus, lun) => this.lookup(nexus, lun),
      subsidiaries: (nexus, admin) => {
        const pe = this.array.ldAtLun(nexus.initiatorName, admin);
        return pe ? this.array.subsidiaryIdsFor(nexus.initiatorName, pe).map((slu) => conglomerateLun(admin, slu)) : [];
      },
    });
    const portals: PortalConfig[] = array.hostPorts().map((p) => ({
      host: p.host,
      port: p.port,
      controller: p.controller,
      portalGroupTag: p.portalGroupTag,
      relativeTargetPortId: p.relativeTargetPortId,
      counters: array.portCounters?.(iscsiPortKey(p)),
    }));
    this.server = new IscsiTargetServer({
      targetName: array.targetName(),
      alias: array.info().name,
      portals,
      scsi: this.target,
      chap: this.chap,
      offers: opts.offers,
      keepaliveMs: opts.keepaliveMs,
      log: opts.log,
      ioBudget: opts.ioBudget,
      maxConnectionsPerPortal: opts.maxConnectionsPerPortal,
    });
    array.registerFrontEnd({
      portDown: (host, port) => this.server.portalDown(host, port),
      portUp: (host, port) => this.server.portalUp(host, port),
      aluaChanged: (lds) => this.notify(lds, ASYMMETRIC_ACCESS_STATE_CHANGED),
      capacityChanged: (lds) => this.notify(lds, CAPACITY_DATA_HAS_CHANGED),
      lunsChanged: () => {
        this.refreshChap();
        this.lunsChanged();
      },
      authChanged: () => this.refreshChap(),
      conglomerateChanged: (pe, initiators) => this.conglomerateChanged(pe, initiators),
    });
    array.registerSessionSource(() => this.openUnits());
  }

  /** Each LU's device with the live sessions that have sent it commands (an LD's deletion asks). */
  private openUnits(): OpenHandle[] {
    const live = new Map<string, SessionInfo>();
    for (const s of this.server.sessions()) live.set(`${s.initiatorName},i,0x${s.isid}`, s);
    const out: OpenHandle[] = [];
    for (const e of this.units.values()) {
      for (const key of e.lu.ua.known()) {
        const s = live.get(key.slice(0, key.lastIndexOf('|')));
        // An unbound VVOL is out of its former host's reach: the provider deletes or moves it without --force.
        if (s && e.viaSubsidiary.has(s.initiatorName) && !this.reaches(s.initiatorName, e.ldId)) continue;
        if (s) out.push({ device: e.lu.device, holder: `iSCSI initiator ${s.initiatorName} (ISID ${s.isid}, TSIH ${s.tsih})` });
      }
    }
    return out;
  }

  /** Host entries and their initiators decide who must authenticate: re-read them. */
  private refreshChap(): void {
    if (this.fixedChap) return;
    const next = this.array.chapConfig();
    for (const k of Object.keys(this.chap) as Array<keyof ChapConfig>) delete this.chap[k];
    Object.assign(this.chap, next);
  }

  /** Binds every portal; with port 0 the OS picks one and the array learns which. */
  async listen(): Promise<void> {
    await this.server.listen();
    for (const a of this.server.addresses()) this.array.bindHostPort(a.relativeTargetPortId, a.port);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  sessions(): SessionInfo[] {
    return this.server.sessions();
  }

  /** The LU at a LUN number: an LD mapped for the initiator, or a VVOL bound for its host behind a PE so mapped. */
  private lookup(nexus: ItNexus, lun: number): LogicalUnit | undefined {
    const { admin, slu } = lunParts(lun);
    // Every command comes here: one LUN's LD, not a map of every LD the initiator sees.
    const head = this.array.ldAtLun(nexus.initiatorName, admin);
    if (!head) return undefined;
    if (slu === 0) return this.unitOf(head);
    const ld = this.array.subsidiaryFor(nexus.initiatorName, head, slu);
    if (!ld) return undefined;
    const lu = this.unitOf(ld);
    this.units.get(ld.rec.id)?.viaSubsidiary.add(nexus.initiatorName);
    return lu;
  }

  /** Whether the initiator reaches the LD now, at a LUN or as a subsidiary LU behind one. */
  private reaches(initiatorName: string, ldId: number): boolean {
    for (const head of this.array.lunsFor(initiatorName).values()) {
      if (head.rec.id === ldId) return true;
      for (const slu of this.array.subsidiaryIdsFor(initiatorName, head)) if (this.array.subsidiaryFor(initiatorName, head, slu)?.rec.id === ldId) return true;
    }
    return false;
  }

  /** The LD's logical unit, made on first use and kept while the LD lives. */
  private unitOf(ld: LogicalDisk): LogicalUnit {
    const id = ld.rec.id;
    const have = this.units.get(id);
    if (have && have.naa === ld.rec.naa) return have.lu;
    this.prune();
    const store: PrStore = {
      load: () => {
        const s = this.array.getFrontEndState(`pr/${id}`);
        return s === undefined ? undefined : (JSON.parse(s) as unknown);
      },
      save: (_luId, state) => this.array.setFrontEndState(`pr/${id}`, JSON.stringify(state)),
    };
    const lu = new LogicalUnit(
      {
        naa: ld.rec.naa,
        serial: ld.rec.serial,
        device: this.array.deviceOf(ld),
        vendor: VENDOR,
        product: PRODUCT,
        revision: REVISION,
        // A subsidiary LU is in the ALUA state of the PE it is bound behind.
        portGroups: () => this.array.portGroupsOf(this.array.administrativeOf(ld) ?? ld),
        thin: this.array.isThin(ld),
        conglomerate: () => this.array.conglomerateOf(ld),
      },
      store,
    );
    this.units.set(id, { ldId: id, naa: ld.rec.naa, lu, viaSubsidiary: new Set() });
    return lu;
  }

  /** Drops the units of LDs that no longer exist (their PR state goes with them). */
  private prune(): void {
    for (const [id] of this.units) {
      if (!this.array.ldExists(id)) {
        this.units.delete(id);
        this.array.setFrontEndState(`pr/${id}`, undefined);
      }
    }
  }

  /** Tells every nexus of these LDs' units. */
  private notify(ldNumbers: number[], code: SenseCode): void {
    const wanted = new Set(ldNumbers);
    for (const e of this.units.values()) {
      const n = this.array.ldNumberOf(e.ldId);
      if (n !== undefined && wanted.has(n)) e.lu.queueUnitAttention(code, 'all');
    }
  }

  /** A VVOL was bound or unbound behind a PE for a host: that host's nexuses re-read the PE's conglomerate. */
  private conglomerateChanged(peLdNumber: number, initiators: string[]): void {
    for (const e of this.units.values()) {
      if (this.array.ldNumberOf(e.ldId) === peLdNumber) e.lu.queueUnitAttentionForInitiators(REPORTED_LUNS_DATA_HAS_CHANGED, initiators);
    }
  }

  /** A host entry or mapping changed: every nexus re-reads REPORT LUNS. */
  private lunsChanged(): void {
    this.prune();
    for (const e of this.units.values()) e.lu.queueUnitAttention(REPORTED_LUNS_DATA_HAS_CHANGED, 'all');
  }
}
