// Pools: thin pools of PDs in RAID groups, named and numbered by the array.
import { CONTAINER_HOLDS_LDS } from '../../catalogue/vvol.js';
import type { BlockEngine } from '../../block/engine.js';
import type { Pool } from '../../block/pool.js';
import { parseRaid } from '../../block/raid-group.js';
import { lowestFree, validateName } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import type { ConfigQueue } from '../config-queue.js';
import type { QosSettings } from '../qos/settings.js';
import type { ContainerFlags } from '../vvols/containers.js';
import type { CreatePoolRequest, PoolAgent, PoolInfo, RaidType } from './agent.js';
import { POOL_EXISTS } from '../../catalogue/array.js';

export interface PoolDeps {
  engine: BlockEngine;
  catalog: Catalog;
  config: ConfigQueue;
  qos: QosSettings;
  containers: ContainerFlags;
}

export class PoolService implements PoolAgent {
  constructor(private readonly deps: PoolDeps) {}

  info(p: Pool): PoolInfo {
    const lds = [...this.deps.engine.lds.values()].filter((l) => l.pool === p);
    const cs = p.chunkSize;
    return {
      number: p.number,
      name: p.name,
      raid: p.raid as RaidType,
      type: 'dynamic(virtual)',
      state: p.state,
      chunkSize: cs,
      capacity: p.capacityChunks * cs,
      used: p.usedChunks * cs,
      free: (p.capacityChunks - p.usedChunks) * cs,
      virtualCapacity: lds.reduce((s, l) => s + l.rec.capacity, 0),
      threshold: p.threshold,
      overThreshold: p.overThreshold,
      qosDefaults: this.deps.qos.poolDefaults(p),
      qosMode: this.deps.qos.poolMode(p),
      ldCount: lds.length,
      vmwareType: this.deps.containers.isContainer(p) ? 'Container' : '---',
      pds: p.groups.flatMap((g) => g.pds.map((pd) => ({ number: pd.number, path: pd.path, capacity: pd.size, state: pd.state, group: g.number }))),
      resyncProgress: resyncPercent(p.resyncProgress()),
      created: p.created,
    };
  }

  listPools(): PoolInfo[] {
    return this.deps.catalog.pools().map((p) => this.info(p));
  }

  getPool(ref: string | number): PoolInfo {
    return this.info(this.deps.catalog.pool(ref));
  }

  createPool(req: CreatePoolRequest): Promise<PoolInfo> {
    return this.deps.config.run(() => {
      const { engine } = this.deps;
      const name = validateName('Pool', req.name);
      if ([...engine.pools.values()].some((p) => p.name === name)) {
        throw POOL_EXISTS({ name });
      }
      const raid = parseRaid(req.raid ?? 'RAID1');
      const number = lowestFree([...engine.pools.values()].map((p) => p.number));
      const pool = engine.createPool({ number, name, size: req.size, raid, pds: req.pds, chunkSize: req.chunkSize, threshold: req.threshold });
      if (req.container) this.deps.containers.mark(pool);
      return this.info(pool);
    });
  }

  expandPool(ref: string | number, addBytes: number): Promise<PoolInfo> {
    return this.deps.config.run(() => {
      const pool = this.deps.catalog.pool(ref);
      this.deps.engine.expandPool(pool, addBytes);
      return this.info(pool);
    });
  }

  setPoolThreshold(ref: string | number, percent: number): Promise<PoolInfo> {
    return this.deps.config.run(() => {
      const pool = this.deps.catalog.pool(ref);
      this.deps.engine.setThreshold(pool, percent);
      return this.info(pool);
    });
  }

  deletePool(ref: string | number): Promise<void> {
    return this.deps.config.run(async () => {
      const pool = this.deps.catalog.pool(ref);
      const { containers, engine } = this.deps;
      if (containers.isContainer(pool)) {
        const lds = [...engine.lds.values()].filter((l) => l.pool === pool).length;
        if (lds > 0) throw CONTAINER_HOLDS_LDS({ lds, pool: pool.name });
      }
      await engine.deletePool(pool);
      containers.forget(pool);
    });
  }
}

function resyncPercent(r: { done: number; total: number } | null): number | null {
  return r === null ? null : r.total === 0 ? 100 : Math.floor((r.done * 100) / r.total);
}
