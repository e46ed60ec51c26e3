// Logical disks: thin LDs in a pool (and the solution reserved volume), their
// iSMview view, growth, and deletion with what it takes down with it.
import { humanSize } from '../../units.js';
import type { BlockEngine } from '../../block/engine.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { Replicator } from '../../block/replication.js';
import { SSV_SIZE, attrsOf, validateName } from '../catalog.js';
import type { Catalog, LdAttrs } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { Controllers } from '../controllers/controllers.js';
import type { Emit } from '../events/hub.js';
import type { FrontEnds } from '../front-ends.js';
import type { HostTable } from '../hosts/table.js';
import type { LdLocks } from '../ld-locks.js';
import type { LicenseTable } from '../licenses/table.js';
import type { PairService } from '../pairs/service.js';
import type { QosSettings } from '../qos/settings.js';
import { refuseIfFev } from '../snapshots/rules.js';
import type { RaidType } from '../pools/agent.js';
import type { LdVvolView } from '../vvols/service.js';
import type { CreateLdRequest, LdAgent, LdDeleteResult, LdInfo } from './agent.js';
import {
  SSV_LICENCE_LOCKED,
  LD_ATTRIBUTE_UNKNOWN,
  LD_DELETED_BY_FORCE,
  LD_IS_EBV,
  LD_IS_ESV,
  LD_IS_FCV,
  LD_MAPPED,
  LD_OPEN,
  SSV_CREATED_BY_FORCE,
  SSV_EXISTS,
  SSV_IN_USE,
  SSV_POOL_TOO_SMALL,
} from '../../catalogue/array.js';

/** What the VVOL side says of an LD (its VMware Type, bound lists) and when it may go. */
export interface LdVvolHooks {
  view(l: LogicalDisk): LdVvolView;
  refuseDelete(l: LogicalDisk): void;
  deleted(l: LogicalDisk): void;
}

export interface LdDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  emit: Emit;
  controllers: Controllers;
  hosts: HostTable;
  licenses: LicenseTable;
  ldLocks: LdLocks;
  pairs: PairService;
  replicator: Replicator;
  qos: QosSettings;
  frontEnds: FrontEnds;
  vvols: LdVvolHooks;
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

/** Thin LDs report logical block provisioning; the SSV is fully allocated. */
export function isThin(l: LogicalDisk): boolean {
  return !attrsOf(l).ssv;
}

export class LdService implements LdAgent {
  constructor(private readonly deps: LdDeps) {}

  info(l: LogicalDisk): LdInfo {
    const owner = l.rec.defaultOwner;
    const current = this.deps.controllers.currentOwner(owner);
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
      capacityAllocation: isThin(l) || l.allocatedBytes() < l.rec.capacity ? 'virtual' : 'actual',
      accessMode: this.accessMode(l),
      currentOwner: current,
      defaultOwner: owner,
      purpose: purposeOf(attrsOf(l)),
      rplAttribute: this.deps.pairs.attribute(l),
      snapshotAttribute: attrsOf(l).esv ? 'ESV' : attrsOf(l).ebv ? 'EBV' : '---',
      cloneAttribute: attrsOf(l).fcv ? 'FCV' : attrsOf(l).fev ? 'FEV' : '---',
      qos: { ...(attrsOf(l).qos ?? { upper: 0, lower: 0 }) },
      qosActive: this.deps.qos.active(l),
      nbdPlain: this.deps.hosts.isNbdPlain(l.rec.number),
      naa: l.rec.naa,
      serial: l.rec.serial,
      created: l.rec.created,
      osType: '',
      pdType: 'FILE',
      group: 'Preserve',
      readCacheMode: 'on',
      writeCacheMode: 'on',
      ...this.deps.vvols.view(l),
    };
  }

  /** What a host may do with the LD now: snapshots are read-only, an RV follows its pair's RV access. */
  private accessMode(l: LogicalDisk): LdInfo['accessMode'] {
    if (l.readOnly) return 'ReadOnly';
    const rv = this.deps.pairs.rvAccess(l);
    return rv === 'nr' ? 'NotReady' : rv === 'ro' ? 'ReadOnly' : 'ReadWrite';
  }

  listLds(): LdInfo[] {
    return this.deps.catalog.lds().map((l) => this.info(l));
  }

  getLd(ref: string | number): LdInfo {
    return this.info(this.deps.catalog.ld(ref));
  }

  createLd(req: CreateLdRequest): Promise<LdInfo> {
    return this.deps.config.run(async () => {
      const { catalog, engine } = this.deps;
      const name = validateName('LD', req.name);
      catalog.checkFreeName(name);
      const pool = catalog.pool(req.pool);
      const attrs: LdAttrs = {};
      let size = req.size;
      if (req.attr !== undefined && req.attr !== 'ssv') {
        throw LD_ATTRIBUTE_UNKNOWN({ attr: JSON.stringify(req.attr) });
      }
      let reserve = true;
      if (req.attr === 'ssv') {
        if (catalog.ssv()) throw SSV_EXISTS({ name: catalog.ssv()!.name });
        this.deps.licenses.requireAny(['VolumeClone', 'DynamicSnapVolume'], SSV_LICENCE_LOCKED, 'Creating the solution reserved volume');
        attrs.ssv = true;
        size = SSV_SIZE;
        // Reserving 4 GiB in a pool without them would fill it to its last chunk (and fail there).
        const free = (pool.capacityChunks - pool.usedChunks) * pool.chunkSize;
        if (free < SSV_SIZE) {
          if (!req.force) {
            throw SSV_POOL_TOO_SMALL({ pool: pool.name, free: humanSize(free), needed: humanSize(SSV_SIZE) });
          }
          reserve = false;
        }
      }
      const limits = this.deps.qos.newLdLimits(pool);
      if (!attrs.ssv && limits) attrs.qos = limits;
      const ld = await catalog.newLd(name, pool, size, attrs);
      if (attrs.qos) this.deps.qos.apply(ld);
      if (attrs.ssv && reserve) {
        try {
          await engine.preallocate(ld);
        } catch (e) {
          await engine.deleteLd(ld);
          throw e;
        }
      }
      if (attrs.ssv && !reserve) {
        this.deps.emit({
          id: SSV_CREATED_BY_FORCE.id,
          severity: 'warning',
          source: `ld/${ld.name}`,
          text: SSV_CREATED_BY_FORCE({
            ld: ld.name,
            pool: pool.name,
            free: humanSize(ld.pool.capacityChunks * ld.pool.chunkSize - ld.pool.usedChunks * ld.pool.chunkSize),
            size: humanSize(SSV_SIZE),
          }),
        });
      }
      return this.info(ld);
    });
  }

  expandLd(ref: string | number, newSize: number): Promise<LdInfo> {
    return this.deps.config.run(async () => {
      const { ldLocks } = this.deps;
      const ld = this.deps.catalog.ld(ref);
      this.deps.pairs.refuseExpand(ld);
      ldLocks.check(ld, 'an expansion');
      await ldLocks.during([ld], `the expansion of ${ld.name}`, () => this.deps.engine.expandLd(ld, newSize));
      this.deps.replicator.resized(ld);
      this.deps.frontEnds.capacityChanged([ld.rec.number]);
      return this.info(ld);
    });
  }

  /** Host LUNs that map the LD. */
  private mappingsOf(l: LogicalDisk): Array<{ host: string; lun: number }> {
    const out: Array<{ host: string; lun: number }> = [];
    for (const h of this.deps.hosts.list()) for (const [lun, n] of h.luns) if (n === l.rec.number) out.push({ host: h.name, lun });
    return out.sort((a, b) => a.host.localeCompare(b.host) || a.lun - b.lun);
  }

  /**
   * Deletes an LD. One that a host entry maps, or that NBD clients or iSCSI sessions
   * have open, is refused unless `force`, which unmaps it and says what it unmapped and
   * whom it cut off. Those clients then get an error for the LD that is gone (NBD
   * ESHUTDOWN, iSCSI LOGICAL UNIT NOT SUPPORTED), never the data of a later LD.
   */
  deleteLd(ref: string | number, opts: { fcvforce?: boolean; force?: boolean } = {}): Promise<LdDeleteResult> {
    return this.deps.config.run(async () => {
      const { catalog, engine, frontEnds } = this.deps;
      const ld = catalog.ld(ref);
      const a = attrsOf(ld);
      if (a.esv) {
        throw LD_IS_ESV({ ld: ld.name, snapshot: ld.name.replace('@', ' ') });
      }
      if (a.fcv && !opts.fcvforce) {
        throw LD_IS_FCV({ ld: ld.name });
      }
      refuseIfFev(catalog, ld);
      this.deps.pairs.refuseDelete(ld);
      this.deps.vvols.refuseDelete(ld);
      this.deps.ldLocks.check(ld, 'its deletion');
      const snaps = catalog.snapshotsOf(ld);
      if (snaps.length > 0) {
        throw LD_IS_EBV({ ld: ld.name, length: snaps.length });
      }
      if (a.ssv) {
        const users = catalog.lds().filter((l) => attrsOf(l).esv || attrsOf(l).fcv).length;
        if (users > 0 && !(opts.force && ld.pool.state !== 'ready')) {
          throw SSV_IN_USE({ users });
        }
      }
      const unmapped = this.mappingsOf(ld);
      const sessions = frontEnds.sessionsOf(ld);
      if (!opts.force && unmapped.length > 0) {
        const where = unmapped.map((m) => `host ${m.host} LUN ${m.lun}`).join(', ');
        throw LD_MAPPED({ ld: ld.name, where });
      }
      if (!opts.force && sessions.length > 0) {
        throw LD_OPEN({ ld: ld.name, sessions: sessions.join('; ') });
      }
      this.deps.hosts.unmapLd(ld.rec.number);
      this.deps.qos.remove(ld);
      const source = a.fcv ? catalog.lds().find((l) => l.rec.id === a.fcv!.source) : undefined;
      await engine.deleteLd(ld);
      this.deps.vvols.deleted(ld);
      // Reservations belong to the LU that is gone.
      frontEnds.setState(`pr/${ld.rec.id}`, undefined);
      if (source && catalog.clonesOf(source).length === 0 && attrsOf(source).fev) {
        delete attrsOf(source).fev;
        await engine.updateLd(source);
      }
      if (unmapped.length > 0 || sessions.length > 0) {
        const what = [
          ...(unmapped.length > 0 ? [`unmapped from ${unmapped.map((m) => `host ${m.host} LUN ${m.lun}`).join(', ')}`] : []),
          ...(sessions.length > 0 ? [`cut off ${sessions.join('; ')}`] : []),
        ];
        this.deps.emit({
          id: LD_DELETED_BY_FORCE.id,
          severity: 'warning',
          source: `ld/${ld.name}`,
          text: LD_DELETED_BY_FORCE({ ld: ld.name, what: what.join('; ') }),
        });
      }
      // Initiators re-read their LUNs: the LD's LUN is gone (REPORTED LUNS DATA HAS CHANGED).
      frontEnds.lunsChangedAfter(() => undefined);
      return { name: ld.name, number: ld.rec.number, unmapped, sessions };
    });
  }
}
