// I/O control state: the limit defaults and mode of each pool (in the array's
// metadata), the seed's rules for limits, and what the scheduler is given for
// each LD. Pools, LDs and clones read it; the QoS verbs change it.
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { MetaStore } from '../../block/meta-store.js';
import type { Pool } from '../../block/pool.js';
import { QOS_MAX, QOS_MIN } from '../../block/qos.js';
import type { QosLimits, QosScheduler } from '../../block/qos.js';
import { attrsOf } from '../catalog.js';
import { IOPS_RANGE, IOPS_UPPER_BELOW_LOWER } from '../../catalogue/array.js';

export class QosSettings {
  constructor(
    private readonly store: MetaStore,
    readonly scheduler: QosScheduler,
  ) {}

  poolDefaults(p: Pool): QosLimits {
    const raw = this.store.getMeta(`pool_qos:${p.id}`);
    return raw ? (JSON.parse(raw) as QosLimits) : { upper: 0, lower: 0 };
  }

  setPoolDefaults(p: Pool, limits: QosLimits): void {
    this.store.setMeta(`pool_qos:${p.id}`, JSON.stringify(limits));
  }

  /** The pool's I/O control mode (VVM L1905-1910): off, its LDs' limits are kept but do not act. New pools start on. */
  poolMode(p: Pool): 'on' | 'off' {
    return this.store.getMeta(`pool_qos_mode:${p.id}`) === 'off' ? 'off' : 'on';
  }

  setPoolMode(p: Pool, mode: 'on' | 'off'): void {
    this.store.setMeta(`pool_qos_mode:${p.id}`, mode);
  }

  /** Merges a change into current limits and checks the seed's rules: 10 to 1,000,000 IOPS, upper above lower. */
  merge(cur: QosLimits, change: { upper?: number; lower?: number }): QosLimits {
    const next = { upper: change.upper ?? cur.upper, lower: change.lower ?? cur.lower };
    for (const [k, v] of Object.entries(next)) {
      if (!Number.isInteger(v) || (v !== 0 && (v < QOS_MIN || v > QOS_MAX))) {
        throw IOPS_RANGE({ k, v, qosMin: QOS_MIN, qosMax: QOS_MAX.toLocaleString('en-US') });
      }
    }
    if (next.upper > 0 && next.lower > 0 && next.upper <= next.lower) {
      throw IOPS_UPPER_BELOW_LOWER({ upper: next.upper, lower: next.lower });
    }
    return next;
  }

  /** The limits a new LD of the pool starts with (its pool's defaults), or undefined for none. */
  newLdLimits(p: Pool): QosLimits | undefined {
    const defaults = this.poolDefaults(p);
    return defaults.upper > 0 || defaults.lower > 0 ? defaults : undefined;
  }

  /** The limits act: some are set and the pool's I/O control mode is on. */
  active(l: LogicalDisk): boolean {
    return attrsOf(l).qos !== undefined && this.poolMode(l.pool) === 'on';
  }

  /** Gives the scheduler an LD's limits, or none while its pool's I/O control mode is off. */
  apply(l: LogicalDisk): void {
    const q = attrsOf(l).qos;
    this.scheduler.setLimits(String(l.rec.id), q && this.poolMode(l.pool) === 'on' ? q : { upper: 0, lower: 0 });
  }

  /** The LD is gone: the scheduler forgets it. */
  remove(l: LogicalDisk): void {
    this.scheduler.remove(String(l.rec.id));
  }
}
