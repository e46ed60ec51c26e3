// I/O control verbs (IOLoadManager): an LD's IOPS limits, a pool's defaults for
// new LDs and its I/O control mode.
import type { BlockEngine } from '../../block/engine.js';
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { Pool } from '../../block/pool.js';
import { attrsOf } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { LdInfo } from '../lds/agent.js';
import type { LicenseTable } from '../licenses/table.js';
import type { PoolInfo } from '../pools/agent.js';
import type { QosAgent } from './agent.js';
import type { QosSettings } from './settings.js';
import { QOS_MODE_OFF, QOS_MODE_UNKNOWN, QOS_NOT_APPLICABLE } from '../../catalogue/array.js';

export interface QosDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  licenses: LicenseTable;
  settings: QosSettings;
  ldInfo(l: LogicalDisk): LdInfo;
  poolInfo(p: Pool): PoolInfo;
}

export class QosService implements QosAgent {
  constructor(private readonly deps: QosDeps) {}

  setQos(ref: string | number, change: { upper?: number; lower?: number }): Promise<LdInfo> {
    return this.deps.config.run(async () => {
      const { settings } = this.deps;
      this.deps.licenses.require('IOLoadManager', 'Setting I/O limits');
      const ld = this.deps.catalog.ld(ref);
      const a = attrsOf(ld);
      if (a.esv || a.ssv) {
        throw QOS_NOT_APPLICABLE({ what: a.esv ? 'a snapshot (ESV)' : 'the solution reserved volume' });
      }
      const next = settings.merge(a.qos ?? { upper: 0, lower: 0 }, change);
      if (settings.poolMode(ld.pool) === 'off' && (next.upper > 0 || next.lower > 0)) {
        throw QOS_MODE_OFF({ ld: ld.name, pool: ld.pool.name });
      }
      if (next.upper === 0 && next.lower === 0) delete a.qos;
      else a.qos = next;
      await this.deps.engine.updateLd(ld);
      settings.apply(ld);
      return this.deps.ldInfo(ld);
    });
  }

  setPoolQosMode(ref: string | number, mode: string): Promise<PoolInfo> {
    return this.deps.config.run(() => {
      if (mode !== 'on' && mode !== 'off') {
        throw QOS_MODE_UNKNOWN({ mode: JSON.stringify(mode)?.slice(0, 40) });
      }
      this.deps.licenses.require('IOLoadManager', 'Changing the I/O control mode');
      const pool = this.deps.catalog.pool(ref);
      this.deps.settings.setPoolMode(pool, mode);
      for (const l of this.deps.engine.lds.values()) if (l.pool === pool) this.deps.settings.apply(l);
      return this.deps.poolInfo(pool);
    });
  }

  setPoolQosDefaults(ref: string | number, change: { upper?: number; lower?: number }): Promise<PoolInfo> {
    return this.deps.config.run(() => {
      this.deps.licenses.require('IOLoadManager', 'Setting I/O limit defaults');
      const pool = this.deps.catalog.pool(ref);
      const next = this.deps.settings.merge(this.deps.settings.poolDefaults(pool), change);
      this.deps.settings.setPoolDefaults(pool, next);
      return this.deps.poolInfo(pool);
    });
  }
}
