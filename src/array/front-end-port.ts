// What the protocol front ends (iSCSI, NBD) ask of the array, answered by the
// service that owns each answer. The front ends hold this port, not the array:
// they see LUNs, devices, ports and credentials, never the management verbs.
import type { IoCounters } from '../io/io-counters.js';
import type { BlockDevice } from '../block/device.js';
import type { ExportProvider } from '../block/exports.js';
import type { BlockEngine } from '../block/engine.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { ChapConfig } from '../iscsi/chap.js';
import type { ConglomerateRole, TargetPortGroupInfo } from '../scsi/types.js';
import type { Catalog } from './catalog.js';
import type { HostPort } from './controllers/controllers.js';
import type { ControllerService } from './controllers/service.js';
import type { FrontEndHooks, FrontEnds, OpenHandle } from './front-ends.js';
import type { HostService } from './hosts/service.js';
import type { TargetService } from './hosts/target.js';
import type { IscsiArrayPort } from './iscsi-front-end.js';
import type { LdExports } from './ld-exports.js';
import { isThin } from './lds/service.js';
import type { ConglomerateWiring } from './vvols/conglomerate-wiring.js';

export interface FrontEndPortDeps {
  engine: BlockEngine;
  catalog: Catalog;
  frontEnds: FrontEnds;
  ldExports: LdExports;
  hosts: HostService;
  target: TargetService;
  controllers: ControllerService;
  conglomerates: ConglomerateWiring;
  arrayName: () => string;
  /** The I/O counters of a front-end port (metrics). */
  portCounters?: (key: string) => IoCounters;
}

export class FrontEndPort implements IscsiArrayPort {
  constructor(private readonly d: FrontEndPortDeps) {}

  info(): { name: string } {
    return { name: this.d.arrayName() };
  }

  portCounters(key: string): IoCounters | undefined {
    return this.d.portCounters?.(key);
  }

  // Identity and credentials.
  targetName(): string {
    return this.d.target.targetName();
  }
  chapConfig(): ChapConfig {
    return this.d.target.chapConfig();
  }
  nbdPsk(identity: string): Buffer | undefined {
    return this.d.ldExports.nbdPsk(identity);
  }

  // Ports and ALUA.
  hostPorts(): HostPort[] {
    return this.d.controllers.hostPorts();
  }
  bindHostPort(relativeTargetPortId: number, port: number): void {
    this.d.controllers.bindHostPort(relativeTargetPortId, port);
  }
  portGroupsOf(l: LogicalDisk): TargetPortGroupInfo[] {
    return this.d.controllers.portGroupsOf(l);
  }

  // Which LD an initiator sees where, and its data path.
  lunsFor(initiatorName: string): Map<number, LogicalDisk> {
    return this.d.hosts.lunsFor(initiatorName);
  }
  ldAtLun(initiatorName: string, lun: number): LogicalDisk | undefined {
    return this.d.hosts.ldAtLun(initiatorName, lun);
  }
  deviceOf(l: LogicalDisk): BlockDevice {
    return this.d.ldExports.deviceOf(l);
  }
  /** Every LD by name with no access check, for in-process users; clients get nbdExports(). */
  exports(): ExportProvider {
    return this.d.ldExports.exports();
  }
  nbdExports(): ExportProvider {
    return this.d.ldExports.nbdExports();
  }
  isThin(l: LogicalDisk): boolean {
    return isThin(l);
  }
  ldByNumber(n: number): LogicalDisk | undefined {
    return this.d.catalog.ldByNumber(n);
  }
  allLds(): LogicalDisk[] {
    return this.d.catalog.lds();
  }
  ldExists(id: number): boolean {
    return this.d.engine.lds.has(id);
  }
  ldNumberOf(id: number): number | undefined {
    return this.d.engine.lds.get(id)?.rec.number;
  }

  // LUN conglomerates (VVOL protocol endpoints and their bound VVOLs).
  conglomerateOf(l: LogicalDisk): ConglomerateRole | undefined {
    return this.d.conglomerates.conglomerateOf(l);
  }
  administrativeOf(l: LogicalDisk): LogicalDisk | undefined {
    return this.d.conglomerates.administrativeOf(l);
  }
  subsidiaryFor(initiatorName: string, pe: LogicalDisk, slu: number): LogicalDisk | undefined {
    return this.d.conglomerates.subsidiaryFor(initiatorName, pe, slu);
  }
  subsidiaryIdsFor(initiatorName: string, pe: LogicalDisk): number[] {
    return this.d.conglomerates.subsidiaryIdsFor(initiatorName, pe);
  }

  // The front ends' own registrations and durable state.
  registerFrontEnd(hooks: FrontEndHooks): void {
    this.d.frontEnds.register(hooks);
  }
  registerSessionSource(fn: () => OpenHandle[]): void {
    this.d.frontEnds.registerSessionSource(fn);
  }
  onAccessChanged(fn: () => void): void {
    this.d.frontEnds.onAccessChanged(fn);
  }
  sessionsOf(l: LogicalDisk): string[] {
    return this.d.frontEnds.sessionsOf(l);
  }
  getFrontEndState(key: string): string | undefined {
    return this.d.frontEnds.getState(key);
  }
  setFrontEndState(key: string, value: string | undefined): void {
    this.d.frontEnds.setState(key, value);
  }
}
