// The LUN conglomerates wired into the array: the service built over the
// array's metadata, kept in step with LD deletion and access changes, and the
// lookups the iSCSI front end makes by LD (role, administrative LU, subsidiaries
// a host may reach).
import type { MetaStore } from '../../block/meta-store.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { ConglomerateRole } from '../../scsi/types.js';
import type { Catalog } from '../catalog.js';
import { ConglomerateService } from '../conglomerates/service.js';
import type { FrontEnds } from '../front-ends.js';
import type { HostTable } from '../hosts/table.js';

export interface ConglomerateWiringDeps {
  store: MetaStore;
  wwn: string;
  catalog: Catalog;
  hosts: HostTable;
  frontEnds: FrontEnds;
}

export class ConglomerateWiring {
  readonly service: ConglomerateService;

  constructor(private readonly deps: ConglomerateWiringDeps) {
    const { store, wwn, catalog, hosts, frontEnds } = deps;
    this.service = new ConglomerateService({
      db: store.db,
      wwn,
      ldExists: (n) => catalog.ldByNumber(n) !== undefined,
      hostExists: (h) => hosts.list().some((e) => e.name === h),
      changed: (pe, host) => frontEnds.conglomerateChanged(pe, hosts.list().find((e) => e.name === host)?.initiators ?? []),
    });
    // A deleted LD leaves its conglomerate (its number may come back for another LD).
    this.service.prune();
    frontEnds.onAccessChanged(() => this.service.prune());
  }

  conglomerateOf(l: LogicalDisk): ConglomerateRole | undefined {
    return this.service.role(l.rec.number);
  }

  administrativeOf(l: LogicalDisk): LogicalDisk | undefined {
    const pe = this.service.adminOf(l.rec.number);
    return pe === undefined ? undefined : this.deps.catalog.ldByNumber(pe);
  }

  subsidiaryFor(initiatorName: string, pe: LogicalDisk, slu: number): LogicalDisk | undefined {
    const n = this.service.resolve(pe.rec.number, slu, this.deps.hosts.ofInitiator(initiatorName)?.name);
    return n === undefined ? undefined : this.deps.catalog.ldByNumber(n);
  }

  subsidiaryIdsFor(initiatorName: string, pe: LogicalDisk): number[] {
    return this.service.boundFor(pe.rec.number, this.deps.hosts.ofInitiator(initiatorName)?.name);
  }
}
