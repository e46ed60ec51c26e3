// BackupArrayPort: what the backup engine asks of the disk array, in LD
// numbers: the replication pairs between a VVOL's LD (the MV) and its backup
// volumes (the RVs), and the names the seed's displays show. The composition
// root hands the engine ArrayBackupPort (./array-port.ts) over the array agent.

/** A pair as the engine needs it (the array's iSMrc_query view, trimmed). */
export interface BackupPairState {
  /** rpl/exec, rpl/sync, sep/exec, sep/end, rst/exec, rst/sync or fault. */
  sync: string;
  /** Percent of the running (or last) copy done. */
  progress: number;
  /** Seconds the running copy still needs; null while unknown. */
  remainingSeconds: number | null;
  /** Bytes the running copy still has to copy. */
  copyDiffBytes: number;
  fault: string | null;
}

export interface BackupLd {
  number: number;
  name: string;
  pool: number;
  poolName: string;
  vmwareType: string;
  capacity: number;
}

export interface BackupArrayPort {
  /** The array's name, serial, WWN (16 hex digits) and model, as the relation views show them. */
  identity(): { name: string; serial: string; wwn: string; model: string };
  ld(number: number): BackupLd | undefined;
  /** LDs in the vvolbackup pools (for the backup volumes no VVOL claims any more). */
  backupPoolLds(): BackupLd[];
  /** Every LD whose VMware Type is a VVOL's (config-, vmdk-, swap-, memory-VVOL). */
  vvolLds(): BackupLd[];
  /** undefined when the two LDs are not paired. */
  pair(mv: number, rv: number): BackupPairState | undefined;
  createPair(mv: number, rv: number): Promise<void>;
  /** Copies MV → RV (differences only after the first copy); writes are mirrored from then on. */
  replicate(mv: number, rv: number): Promise<void>;
  /** Freezes the RV; `force` stops a running copy (the RV is then incomplete). */
  separate(mv: number, rv: number, force: boolean): Promise<void>;
  /** Copies RV → MV in the background; the MV stays usable. */
  restore(mv: number, rv: number): Promise<void>;
}
