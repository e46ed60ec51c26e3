// I/O control verbs (IOLoadManager): an LD's IOPS limits, a pool's defaults for
// new LDs and its I/O control mode.
import { KuraError } from '../../errors.js';
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
        throw new KuraError('KURA-E2092', 'EINVAL', `I/O control does not apply to ${a.esv ? 'a snapshot (ESV)' : 'the solution reserved volume'}.`, 'Set limits on its base LD or on an ordinary LD.');
      }
      const next = settings.merge(a.qos ?? { upper: 0, lower: 0 }, change);
      if (settings.poolMode(ld.pool) === 'off' && (next.upper > 0 || next.lower > 0)) {
        throw new KuraError('KURA-E2611', 'EPERM', `Failed to set the I/O limits of LD ${ld.name} because I/O control mode is disabled in pool ${ld.pool.name}.`, `Enable I/O control mode (kura pool set ${ld.pool.name} --qos-mode on), then set the limits again.`);
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
        throw new KuraError('KURA-E2612', 'EINVAL', `I/O control mode ${JSON.stringify(mode)?.slice(0, 40)} is not known.`, 'Give on or off.');
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
