// Fast clones (FEV/FCV): a clone shares its source's chunks until either is
// written; the source becomes an FEV, the clone an FCV (a new LD of its own).
import type { BlockEngine } from '../../block/engine.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import { attrsOf, validateName } from '../catalog.js';
import type { Catalog, LdAttrs } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { LdLocks } from '../ld-locks.js';
import type { LdInfo } from '../lds/agent.js';
import type { LicenseTable } from '../licenses/table.js';
import type { QosSettings } from '../qos/settings.js';
import type { CloneAgent } from './agent.js';
import { MAX_FCVS_PER_FEV, MAX_LAYERS } from './rules.js';
import { CLONES_FULL, CLONE_LAYERS_FULL, SSV_CLONE } from '../../catalogue/array.js';

export interface CloneDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  licenses: LicenseTable;
  ldLocks: LdLocks;
  qos: QosSettings;
  ldInfo(l: LogicalDisk): LdInfo;
}

export class CloneService implements CloneAgent {
  constructor(private readonly deps: CloneDeps) {}

  createClone(srcRef: string | number, name: string): Promise<LdInfo> {
    return this.deps.config.run(async () => {
      const { catalog, ldLocks } = this.deps;
      this.deps.licenses.require('VolumeClone', 'Creating a fast clone');
      catalog.requireSsv('Creating a fast clone');
      const src = catalog.ld(srcRef);
      ldLocks.check(src, 'a clone');
      const a = attrsOf(src);
      if (a.ssv) throw SSV_CLONE();
      validateName('LD', name);
      catalog.checkFreeName(name);
      if (catalog.clonesOf(src).length >= MAX_FCVS_PER_FEV) {
        throw CLONES_FULL({ src: src.name, maxFcvsPerFev: MAX_FCVS_PER_FEV });
      }
      const layer = (a.layer ?? 0) + 1;
      if (layer > MAX_LAYERS) {
        throw CLONE_LAYERS_FULL({ src: src.name, layer, maxLayers: MAX_LAYERS });
      }
      if (!a.fev) {
        a.fev = true;
        await this.deps.engine.updateLd(src);
      }
      // A clone is a new LD: it gets the pool's initial I/O limits (VVM L1300-1303), not its source's.
      const attrs: LdAttrs = { fcv: { source: src.rec.id }, layer };
      const limits = this.deps.qos.newLdLimits(src.pool);
      if (limits) attrs.qos = limits;
      const fcv = await ldLocks.during([src], `the creation of clone ${name}`, () => catalog.newLd(name, src.pool, src.rec.capacity, attrs, src, false));
      if (attrs.qos) this.deps.qos.apply(fcv);
      return this.deps.ldInfo(fcv);
    });
  }
}
