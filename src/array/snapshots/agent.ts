// The snapshots and clones slice of the array agent contract (EBV/ESV, FEV/FCV).
import type { LdInfo } from '../lds/agent.js';

export interface SnapshotInfo {
  name: string;
  generation: number;
  created: string;
  state: 'active';
  ldNumber: number;
  ld: string;
  allocated: number;
  /** rw once made read/write (kura snapshot set-access); ro otherwise. */
  access: 'rw' | 'ro';
  /** iSMsc_query's relative generation: -1 the newest, -2 the one before, ... */
  relativeGeneration: number;
  /** iSMsc_query's ESV state. */
  status: 'snap/active';
  /** iSMsc_query's link state: Kura has no link volumes. */
  link: 'unlink';
  /** The base (EBV), its state and the state of the reserve area (the SSV). */
  bv: string;
  bvState: 'normal' | 'fault';
  reserveArea: 'verified' | 'unverified';
}

export interface SnapshotAgent {
  listSnapshots(ld: string | number): SnapshotInfo[];
  createSnapshot(ld: string | number, name?: string): Promise<SnapshotInfo>;
  restoreSnapshot(ld: string | number, snap: string): Promise<LdInfo>;
  /** Makes a snapshot read/write (rw) or read-only (ro), kept across restarts. */
  setSnapshotAccess(ld: string | number, snap: string, access: string): Promise<SnapshotInfo>;
  deleteSnapshot(ld: string | number, snap: string): Promise<void>;
  deleteOldestSnapshots(ld: string | number, count: number): Promise<SnapshotInfo[]>;
}

export interface CloneAgent {
  createClone(source: string | number, name: string): Promise<LdInfo>;
}
