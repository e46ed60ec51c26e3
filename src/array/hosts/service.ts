// Host entries and access control verbs: which initiators a host has, which LD
// each of its LUNs maps, its CHAP credentials and NBD key, and whether access
// control is on (LUN = LD number for everybody while it is off).
import type { LogicalDisk } from '../../block/logical-disk.js';
import { lowestFree } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { Emit } from '../events/hub.js';
import type { FrontEnds } from '../front-ends.js';
import type { LdInfo } from '../lds/agent.js';
import type { PairService } from '../pairs/service.js';
import type { AccessControlInfo, HostAgent, HostInfo } from './agent.js';
import { validateNbdPsk } from './table.js';
import type { HostEntry, HostTable } from './table.js';
import { ACCESS_CONTROL_STOPPED } from '../../catalogue/array.js';

export interface HostDeps {
  hosts: HostTable;
  catalog: Catalog;
  config: ConfigQueue;
  emit: Emit;
  frontEnds: FrontEnds;
  pairs: PairService;
  ldInfo(l: LogicalDisk): LdInfo;
  /** The target's mutual CHAP secret, which no host may use as its own. */
  targetSecret(): string | undefined;
}

export class HostService implements HostAgent {
  constructor(private readonly deps: HostDeps) {}

  private info(h: HostEntry): HostInfo {
    const luns = [...h.luns].sort((a, b) => a[0] - b[0]).map(([lun, n]) => ({ lun, ld: this.deps.catalog.ldByNumber(n)?.name ?? '?', ldNumber: n }));
    return { name: h.name, initiators: [...h.initiators], luns, chap: h.chap ? { user: h.chap.user } : null, nbdPsk: h.nbdPsk ? { identity: h.name } : null };
  }

  /** LUN → LD visible to an initiator: everything at LUN = LD number while access control is off. */
  /**
   * The LD at one LUN of the initiator: what lunsFor(initiatorName).get(lun) says,
   * without building that map of every LD (every iSCSI command asks this).
   */
  ldAtLun(initiatorName: string, lun: number): LogicalDisk | undefined {
    const { hosts, catalog } = this.deps;
    if (hosts.open) return catalog.ldByNumber(lun);
    const n = hosts.ofInitiator(initiatorName)?.luns.get(lun);
    return n === undefined ? undefined : catalog.ldByNumber(n);
  }

  lunsFor(initiatorName: string): Map<number, LogicalDisk> {
    const out = new Map<number, LogicalDisk>();
    const { hosts, catalog } = this.deps;
    if (hosts.open) {
      for (const l of catalog.lds()) out.set(l.rec.number, l);
      return out;
    }
    const h = hosts.ofInitiator(initiatorName);
    if (!h) return out;
    for (const [lun, n] of h.luns) {
      const l = catalog.ldByNumber(n);
      if (l) out.set(lun, l);
    }
    return out;
  }

  listHosts(): HostInfo[] {
    return this.deps.hosts.list().map((h) => this.info(h));
  }

  createHost(name: string, initiators: string[]): Promise<HostInfo> {
    const { hosts, frontEnds } = this.deps;
    return this.deps.config.run(() =>
      frontEnds.lunsChangedAfter(() => {
        const starts = hosts.open;
        const h = this.info(hosts.create(name, initiators));
        if (!starts) return h;
        this.deps.emit({
          id: 'KURA-I2526',
          severity: 'info',
          source: 'access',
          text: `Access control started by host entry ${name}: initiators see only the LDs mapped to their host entry; deleting host entries does not stop it (kura host access stop --force does).`,
        });
        return { ...h, accessControlStarted: true };
      }),
    );
  }

  accessControl(): AccessControlInfo {
    return { enabled: !this.deps.hosts.open, hosts: this.deps.hosts.size };
  }

  setAccessControl(enabled: boolean, force = false): Promise<AccessControlInfo> {
    const { hosts, frontEnds, emit } = this.deps;
    return this.deps.config.run(() =>
      frontEnds.lunsChangedAfter(() => {
        if (hosts.setAccessControl(enabled, force)) {
          if (enabled)
            emit({
              id: 'KURA-I2526',
              severity: 'info',
              source: 'access',
              text: `Access control started: initiators see only the LDs mapped to their host entry (${hosts.size} host entr${hosts.size === 1 ? 'y' : 'ies'}).`,
            });
          else emit({ id: ACCESS_CONTROL_STOPPED.id, severity: 'warning', source: 'access', text: ACCESS_CONTROL_STOPPED() });
        }
        return this.accessControl();
      }),
    );
  }

  deleteHost(name: string): Promise<void> {
    return this.deps.config.run(() => this.deps.frontEnds.lunsChangedAfter(() => this.deps.hosts.delete(name)));
  }

  addInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.lunsChangedAfter(() => this.info(this.deps.hosts.addInitiator(host, iqn))));
  }

  removeInitiator(host: string, iqn: string): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.lunsChangedAfter(() => this.info(this.deps.hosts.removeInitiator(host, iqn))));
  }

  mapLun(host: string, ldRef: string | number, lun?: number): Promise<HostInfo> {
    return this.deps.config.run(() => {
      const { hosts } = this.deps;
      const h = hosts.get(host);
      const ld = this.deps.catalog.ld(ldRef);
      this.deps.pairs.refuseMap(ld);
      const chosen = lun ?? lowestFree(h.luns.keys());
      return this.deps.frontEnds.lunsChangedAfter(() => this.info(hosts.map(host, chosen, ld.rec.number)));
    });
  }

  unmapLun(host: string, lun: number): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.lunsChangedAfter(() => this.info(this.deps.hosts.unmap(host, lun))));
  }

  setHostChap(host: string, user: string, secret: string): Promise<HostInfo> {
    return this.deps.config.run(() =>
      this.deps.frontEnds.authChangedAfter(() => this.info(this.deps.hosts.setChap(host, user, secret, this.deps.targetSecret()))),
    );
  }

  clearHostChap(host: string): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.authChangedAfter(() => this.info(this.deps.hosts.clearChap(host))));
  }

  setHostNbdPsk(host: string, key: string): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.authChangedAfter(() => this.info(this.deps.hosts.setNbdPsk(host, validateNbdPsk(key)))));
  }

  clearHostNbdPsk(host: string): Promise<HostInfo> {
    return this.deps.config.run(() => this.deps.frontEnds.authChangedAfter(() => this.info(this.deps.hosts.clearNbdPsk(host))));
  }

  /** Opens an LD (and its snapshots) to unidentified NBD clients while access control is on, or closes it again. */
  setLdNbdPlain(ref: string | number, on: boolean): Promise<LdInfo> {
    return this.deps.config.run(() => {
      const l = this.deps.catalog.ld(ref);
      this.deps.hosts.setNbdPlain(l.rec.number, on);
      this.deps.frontEnds.accessChanged();
      return this.deps.ldInfo(l);
    });
  }
}
