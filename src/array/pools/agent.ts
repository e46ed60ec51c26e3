// The pools slice of the array agent contract.

export type RaidType = 'RAID0' | 'RAID1' | 'RAID10';

export interface PdInfo {
  /** PD number within the pool, NEC style "00-0000" is derived from it for display. */
  number: number;
  path: string;
  capacity: number;
  state: 'ready' | 'failed';
  group: number;
}

export interface PoolInfo {
  number: number;
  name: string;
  raid: RaidType;
  /** Pool type as the seed names it; Kura pools are always thin ("dynamic(virtual)"). */
  type: 'dynamic(virtual)';
  state: 'ready' | 'degraded' | 'offline';
  chunkSize: number;
  /** Usable (after RAID) physical capacity in bytes. */
  capacity: number;
  used: number;
  free: number;
  /** Sum of the virtual capacities of the pool's LDs (may exceed capacity: over-commit). */
  virtualCapacity: number;
  /** Actual-capacity threshold, percent of capacity. */
  threshold: number;
  overThreshold: boolean;
  /** I/O control limits given to new LDs of the pool (0: none). */
  qosDefaults: { upper: number; lower: number };
  /** I/O control mode: off, the limits of the pool's LDs are kept but do not act (VVM L1905-1910). */
  qosMode: 'on' | 'off';
  ldCount: number;
  /** VMware Type (VVM L661-L668): Container for a Storage Container, --- for every other pool. */
  vmwareType: 'Container' | '---';
  pds: PdInfo[];
  /** Mirror resync after an unclean shutdown: percent of the pool's mirrored chunks passed, or null when the mirrors agree. */
  resyncProgress: number | null;
  created: string;
}

export interface CreatePoolRequest {
  name: string;
  /** Usable capacity in bytes (after RAID). */
  size: number;
  pds?: number;
  raid?: RaidType;
  chunkSize?: number;
  threshold?: number;
  /** Make it a Storage Container for VVOLs (VVM L179-L192); fixed for the pool's life. */
  container?: boolean;
}

export interface PoolAgent {
  listPools(): PoolInfo[];
  /** Accepts a name or a number. Throws KuraError (ENOENT) when absent. */
  getPool(ref: string | number): PoolInfo;
  createPool(req: CreatePoolRequest): Promise<PoolInfo>;
  /** Adds `addBytes` of usable capacity as a new group of PDs; online. */
  expandPool(ref: string | number, addBytes: number): Promise<PoolInfo>;
  setPoolThreshold(ref: string | number, percent: number): Promise<PoolInfo>;
  /** Refused (EBUSY) while the pool holds LDs; a Storage Container with the seed's message (VVM L204). */
  deletePool(ref: string | number): Promise<void>;
}
