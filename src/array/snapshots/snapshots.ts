// Extended snapshots (EBV/ESV): generations of an LD taken into the solution
// reserved volume's care, read-only unless made writable, restorable into their
// base. A snapshot may be snapshotted in turn (it becomes an EBV too).
import { KuraError } from '../../errors.js';
import { checkName } from '../../names.js';
import type { BlockEngine } from '../../block/engine.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import { attrsOf } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { Emit } from '../events/hub.js';
import type { HostTable } from '../hosts/table.js';
import type { LdLocks } from '../ld-locks.js';
import type { LdInfo } from '../lds/agent.js';
import type { LicenseTable } from '../licenses/table.js';
import type { PairService } from '../pairs/service.js';
import type { SnapshotAgent, SnapshotInfo } from './agent.js';
import { MAX_GENERATIONS, MAX_LAYERS, refuseIfFev } from './rules.js';

export interface SnapshotDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  emit: Emit;
  hosts: HostTable;
  licenses: LicenseTable;
  ldLocks: LdLocks;
  pairs: PairService;
  ldInfo(l: LogicalDisk): LdInfo;
}

export class SnapshotService implements SnapshotAgent {
  constructor(private readonly deps: SnapshotDeps) {}

  /**
   * Snapshots (ESVs) are read-only unless made writable (kura snapshot set-access,
   * which records access rw in the ESV's attributes): metadata written by a Kura
   * that did not keep the access mode (every ESV came back writable after a
   * restart) is corrected here, durably, before any front end serves the LD.
   */
  async enforceAccessModes(): Promise<void> {
    const fixed: string[] = [];
    for (const l of this.deps.engine.lds.values()) {
      const esv = attrsOf(l).esv;
      if (esv && esv.access !== 'rw' && !l.readOnly) {
        await this.deps.engine.setReadOnly(l, true);
        fixed.push(l.name);
      }
    }
    if (fixed.length > 0) {
      // On the next turn, so that the opener can subscribe to events first.
      setImmediate(() => this.deps.emit({ id: 'KURA-W2500', severity: 'warning', source: 'array', text: `${fixed.length} snapshot(s) (${fixed.join(', ')}) were stored as writable by an earlier version and are read-only again. Writes made to them while they were writable remain in them.` }));
    }
  }

  /**
   * A generation as iSMsc_query shows it (VVM L1800-1809): besides the absolute
   * generation, the relative one (-1 the newest), the ESV state (snap/active: every
   * Kura snapshot is usable once taken), the link state (unlink: hosts reach an ESV
   * directly, never through a link volume), and the base's state and reserve area.
   */
  private info(l: LogicalDisk): SnapshotInfo {
    const { catalog } = this.deps;
    const e = attrsOf(l).esv!;
    const base = this.deps.engine.lds.get(e.base);
    const newer = base ? catalog.snapshotsOf(base).filter((g) => attrsOf(g).esv!.generation > e.generation).length : 0;
    const ssv = catalog.ssv();
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
    return this.deps.catalog.snapshotsOf(this.deps.catalog.ld(ldRef)).map((l) => this.info(l));
  }

  private snapshot(base: LogicalDisk, snap: string | number): LogicalDisk {
    const found = this.deps.catalog.snapshotsOf(base).find((l) => {
      const e = attrsOf(l).esv!;
      return typeof snap === 'number' ? e.generation === snap : e.name === snap || String(e.generation) === snap;
    });
    if (!found) throw new KuraError('KURA-E2070', 'ENOENT', `LD ${base.name} has no snapshot ${snap}.`, `List them with kura snapshot list ${base.name}.`);
    return found;
  }

  createSnapshot(ldRef: string | number, name?: string): Promise<SnapshotInfo> {
    return this.deps.config.run(async () => {
      const { catalog } = this.deps;
      this.deps.licenses.require('DynamicSnapVolume', 'Creating a snapshot');
      catalog.requireSsv('Creating a snapshot');
      const base = catalog.ld(ldRef);
      this.deps.ldLocks.check(base, 'a snapshot');
      const a = attrsOf(base);
      // A snapshot of a snapshot is allowed (VVM L1080-1081): the ESV becomes an EBV too, within MAX_LAYERS.
      if (a.ssv) {
        throw new KuraError('KURA-E2071', 'EINVAL', `LD ${base.name} is the solution reserved volume and cannot be snapshotted.`, 'Snapshot an ordinary LD or a snapshot.');
      }
      const gens = catalog.snapshotsOf(base);
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
      catalog.checkFreeName(ldName);
      if (!a.ebv) {
        a.ebv = true;
        await this.deps.engine.updateLd(base);
      }
      const esv = await catalog.newLd(ldName, base.pool, base.rec.capacity, { esv: { base: base.rec.id, generation, name: snapName }, layer }, base, true);
      return this.info(esv);
    });
  }

  /**
   * Makes a snapshot read/write or read-only (the seed's iSMsc_chgmod -volacc, VVM
   * L1811-1816), durably. Writes to a read/write ESV go to its own chunks (copy on
   * write): the base never changes.
   */
  setSnapshotAccess(ldRef: string | number, snap: string | number, access: string): Promise<SnapshotInfo> {
    return this.deps.config.run(async () => {
      if (access !== 'rw' && access !== 'ro') {
        throw new KuraError('KURA-E2602', 'EINVAL', `Snapshot access ${JSON.stringify(access)?.slice(0, 40)} is not known.`, 'Give rw (read/write) or ro (read-only).');
      }
      const base = this.deps.catalog.ld(ldRef);
      const esv = this.snapshot(base, snap);
      this.deps.ldLocks.check(esv, 'an access change');
      const e = attrsOf(esv).esv!;
      if (access === 'rw') e.access = 'rw';
      else delete e.access;
      await this.deps.engine.setReadOnly(esv, access === 'ro');
      return this.info(esv);
    });
  }

  restoreSnapshot(ldRef: string | number, snap: string | number): Promise<LdInfo> {
    return this.deps.config.run(async () => {
      const { ldLocks } = this.deps;
      this.deps.licenses.require('DynamicSnapVolume', 'Restoring a snapshot');
      const base = this.deps.catalog.ld(ldRef);
      if (base.readOnly && attrsOf(base).esv) {
        throw new KuraError('KURA-E2603', 'EROFS', `LD ${base.name} is a read-only snapshot; restoring a generation into it would change it.`, `Make it read/write first (kura snapshot set-access ${base.name.slice(0, base.name.lastIndexOf('@'))} ${attrsOf(base).esv!.name} --access rw).`);
      }
      const esv = this.snapshot(base, snap);
      const reverted = this.deps.pairs.beforeRevert(base);
      if (esv.rec.capacity !== base.rec.capacity) {
        throw new KuraError('KURA-E2076', 'EINVAL', `Snapshot ${snap} is ${esv.rec.capacity} bytes but LD ${base.name} is now ${base.rec.capacity}.`, 'Restore a snapshot taken at the current size.');
      }
      ldLocks.check(base, 'a snapshot restore');
      reverted();
      await ldLocks.during([base, esv], `the restore of ${base.name} from snapshot ${esv.name}`, () => this.deps.engine.revertLd(base, esv));
      return this.deps.ldInfo(base);
    });
  }

  deleteSnapshot(ldRef: string | number, snap: string | number): Promise<void> {
    return this.deps.config.run(async () => {
      const base = this.deps.catalog.ld(ldRef);
      await this.drop(base, this.snapshot(base, snap));
    });
  }

  /** Deletes the oldest `count` generations (the seed's generationdel). */
  deleteOldestSnapshots(ldRef: string | number, count: number): Promise<SnapshotInfo[]> {
    return this.deps.config.run(async () => {
      const base = this.deps.catalog.ld(ldRef);
      if (!Number.isInteger(count) || count < 1) {
        throw new KuraError('KURA-E2077', 'EINVAL', `Count ${count} is not a positive number of generations.`, 'Give --count 1 or more.');
      }
      const gens = this.deps.catalog.snapshotsOf(base);
      const victims = gens.slice(0, count);
      // All or nothing: a generation that is itself snapshotted stops the whole deletion.
      for (const v of victims) this.refuseIfEbv(v);
      const out = victims.map((v) => this.info(v));
      for (const v of victims) await this.drop(base, v);
      return out;
    });
  }

  /** A snapshot that has snapshots of its own (it is their EBV) goes after them. */
  private refuseIfEbv(esv: LogicalDisk): void {
    const inner = this.deps.catalog.snapshotsOf(esv);
    if (inner.length > 0) {
      throw new KuraError('KURA-E2601', 'EBUSY', `Snapshot ${esv.name} is the base (EBV) of ${inner.length} snapshot generation(s) of its own: ${inner.map((l) => attrsOf(l).esv!.name).join(', ')}.`, `Delete those first (kura snapshot delete-oldest ${esv.name} --count ${inner.length}).`);
    }
  }

  private async drop(base: LogicalDisk, esv: LogicalDisk): Promise<void> {
    this.refuseIfEbv(esv);
    refuseIfFev(this.deps.catalog, esv);
    this.deps.pairs.refuseDelete(esv);
    this.deps.hosts.unmapLd(esv.rec.number);
    await this.deps.engine.deleteLd(esv);
    if (this.deps.catalog.snapshotsOf(base).length === 0 && attrsOf(base).ebv) {
      delete attrsOf(base).ebv;
      await this.deps.engine.updateLd(base);
    }
  }
}
