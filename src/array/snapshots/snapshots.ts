// Extended snapshots (EBV/ESV): generations of an LD taken into the solution
// reserved volume's care, read-only unless made writable, restorable into their
// base. A snapshot may be snapshotted in turn (it becomes an EBV too).
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
import {
  ESV_IS_EBV,
  SNAPSHOT_NAME_INVALID,
  GENERATION_COUNT_INVALID,
  RESTORE_INTO_READ_ONLY,
  SNAPSHOTS_MADE_READ_ONLY,
  SNAPSHOT_ACCESS_UNKNOWN,
  SNAPSHOT_EXISTS,
  SNAPSHOT_GENERATIONS_FULL,
  SNAPSHOT_LAYERS_FULL,
  SNAPSHOT_NOT_FOUND,
  SNAPSHOT_SIZE_DIFFERS,
  SSV_SNAPSHOT,
} from '../../catalogue/array.js';

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
      setImmediate(() =>
        this.deps.emit({
          id: SNAPSHOTS_MADE_READ_ONLY.id,
          severity: 'warning',
          source: 'array',
          text: SNAPSHOTS_MADE_READ_ONLY({ length: fixed.length, names: fixed.join(', ') }),
        }),
      );
    }
  }

  /**
   * A generation as iSMsc_query shows it (VVM L1800-1809): besides the absolute
   * generation, the relative one (-1 the newest), the ESV state (snap/active: every
   * Kura snapshot is usable once taken), the link state (unlink: hosts reach an ESV
   * directly, never through a link volume), and the base's state and reserve area.
   */
  private info(l: LogicalDisk, known?: { gens: LogicalDisk[]; ssv: LogicalDisk | undefined }): SnapshotInfo {
    const { catalog } = this.deps;
    const e = attrsOf(l).esv!;
    const base = this.deps.engine.lds.get(e.base);
    // A list passes its base's generations and the SSV, found once, not once per generation (each is a scan of every LD).
    const gens = known?.gens ?? (base ? catalog.snapshotsOf(base) : []);
    const newer = gens.filter((g) => attrsOf(g).esv!.generation > e.generation).length;
    const ssv = known ? known.ssv : catalog.ssv();
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
    const gens = this.deps.catalog.snapshotsOf(this.deps.catalog.ld(ldRef));
    const known = { gens, ssv: this.deps.catalog.ssv() };
    return gens.map((l) => this.info(l, known));
  }

  private snapshot(base: LogicalDisk, snap: string | number): LogicalDisk {
    const found = this.deps.catalog.snapshotsOf(base).find((l) => {
      const e = attrsOf(l).esv!;
      return typeof snap === 'number' ? e.generation === snap : e.name === snap || String(e.generation) === snap;
    });
    if (!found) throw SNAPSHOT_NOT_FOUND({ base: base.name, snap });
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
        throw SSV_SNAPSHOT({ base: base.name });
      }
      const gens = catalog.snapshotsOf(base);
      if (gens.length >= MAX_GENERATIONS) {
        throw SNAPSHOT_GENERATIONS_FULL({ base: base.name, maxGenerations: MAX_GENERATIONS });
      }
      const layer = (a.layer ?? 0) + 1;
      if (layer > MAX_LAYERS) {
        throw SNAPSHOT_LAYERS_FULL({ base: base.name, layer, maxLayers: MAX_LAYERS });
      }
      const generation = gens.length === 0 ? 1 : attrsOf(gens[gens.length - 1]!).esv!.generation + 1;
      const snapName = name ?? `gen${generation}`;
      checkName('Snapshot', snapName, SNAPSHOT_NAME_INVALID);
      if (gens.some((g) => attrsOf(g).esv!.name === snapName)) {
        throw SNAPSHOT_EXISTS({ base: base.name, snapName });
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
        throw SNAPSHOT_ACCESS_UNKNOWN({ access: JSON.stringify(access)?.slice(0, 40) });
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
        throw RESTORE_INTO_READ_ONLY({ base: base.name, ebv: base.name.slice(0, base.name.lastIndexOf('@')), esv: attrsOf(base).esv!.name });
      }
      const esv = this.snapshot(base, snap);
      const reverted = this.deps.pairs.beforeRevert(base);
      if (esv.rec.capacity !== base.rec.capacity) {
        throw SNAPSHOT_SIZE_DIFFERS({ snap, capacity: esv.rec.capacity, base: base.name, capacity2: base.rec.capacity });
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
        throw GENERATION_COUNT_INVALID({ count });
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
      throw ESV_IS_EBV({ esv: esv.name, length: inner.length, generations: inner.map((l) => attrsOf(l).esv!.name).join(', ') });
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
