// The provider's records: what it stores about protocol endpoints, VVOLs and
// their backup volumes. Containers are pools (the array holds them); bindings,
// policies and tasks have modules of their own.
import type { VmwareLdType } from './port.js';

/** VVOL types (VVM L602-L606); "data" is the seed's vmdk-VVOL. */
export const VVOL_TYPES = ['config', 'data', 'swap', 'memory'] as const;
export type VvolType = (typeof VVOL_TYPES)[number];

export function isVvolType(t: unknown): t is VvolType {
  return typeof t === 'string' && (VVOL_TYPES as readonly string[]).includes(t);
}

/** The LD's VMware Type for each VVOL type (VVM L717-L718). */
export function vmwareTypeOf(t: VvolType): VmwareLdType {
  return t === 'data' ? 'vmdk-VVOL' : `${t}-VVOL`;
}

export interface PeRecord {
  /** eui. form (VVM L826-L828). */
  id: string;
  ld: number;
  name: string;
  /** The container the PE was created in (VVM L265). */
  pool: number;
  created: string;
}

export interface BackupVolume {
  ld: number;
  pool: number;
  generation: number;
}

export interface VvolRecord {
  /** naa. form (VVM L814-L818): the LD number is part of it. */
  id: string;
  ld: number;
  type: VvolType;
  /** The virtual machine the VVOL belongs to (per-VM limits count by it). */
  vm: string;
  /** Pool number of the storage container. */
  container: number;
  size: number;
  created: string;
  /** Storage policy applied, or null. */
  policy: string | null;
  /** For a snapshot: the VVOL it was taken of (the EBV's VVOL) and its name. */
  snapshotOf: string | null;
  snapshotName: string | null;
  /** For a snapshot: the prepare it was taken under; one VM snapshot is one group (per-VM limit, VVM L1034). */
  snapshotGroup: string | null;
  /** For a linked clone: the VVOL it was cloned from (its FEV). */
  linkedFrom: string | null;
  /** Layers from the original volume through snapshots and clones (VVM L1078-L1081). */
  layer: number;
  /** IOPS limits the provider set on the LD for the policy's I/O control rule (0: none). */
  io: { upper: number; lower: number };
  /** Backup volumes (RVs) made for the policy's backup rule. */
  backups: BackupVolume[];
}

/** A VVOL record as a new volume starts: no policy, snapshot or clone relation, limits or backups yet. */
export function newVvolRecord(f: Pick<VvolRecord, 'id' | 'ld' | 'type' | 'vm' | 'container' | 'size' | 'created'>): VvolRecord {
  return {
    ...f,
    policy: null,
    snapshotOf: null,
    snapshotName: null,
    snapshotGroup: null,
    linkedFrom: null,
    layer: 0,
    io: { upper: 0, lower: 0 },
    backups: [],
  };
}

export interface VvolView extends VvolRecord {
  metadata: Record<string, string>;
  /** LD numbers of the PEs it is bound through (iSMview's Bound PE List, VVM L784-L785). */
  boundPes: number[];
  /** Allocated bytes of its LD. */
  allocated: number;
}
