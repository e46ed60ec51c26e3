// The replication pairs slice of the array agent contract (DynamicDataReplication).

/** A replication pair as iSMrc_query shows it. */
export interface PairInfo {
  mv: string;
  mvNumber: number;
  rv: string;
  rvNumber: number;
  /** replicate, separate or restore. */
  activity: 'replicate' | 'separate' | 'restore';
  /** rpl/exec, rpl/sync, sep/exec, sep/end, rst/exec, rst/sync or fault. */
  sync: string;
  previousSync: string | null;
  /** "background copy" while copying, "sync" while mirroring, "-" when separated. */
  copyControl: string;
  direction: 'mv-to-rv' | 'rv-to-mv';
  separateStart: string | null;
  separateEnd: string | null;
  /** Bytes changed on either volume since the separate (0 unless separated). */
  separateDiffBytes: number;
  /** Bytes the running copy still has to copy, or a replicate/restore would copy. */
  copyDiffBytes: number;
  /** Bytes the running (or last) copy has copied. */
  copiedBytes: number;
  /** Percent of the running (or last) copy done. */
  progress: number;
  /** Seconds the running copy still needs at its rate so far; null while unknown, 0 when not copying. */
  remainingSeconds: number | null;
  rvAccess: 'rw' | 'ro' | 'nr';
  /** The RV holds a whole image: the MV's as of the last finished replicate, or the one a restore copies from (even a restore cut short). */
  rvComplete: boolean;
  fault: string | null;
  created: string;
}

export interface PairAgent {
  listPairs(): PairInfo[];
  getPair(mv: string | number, rv: string | number): PairInfo;
  /** Pairs two LDs of the same size (DynamicDataReplication licence); the pair starts separated. */
  createPair(mv: string | number, rv: string | number): Promise<PairInfo>;
  /** Starts copying MV → RV (differences only after the first time); writes are mirrored from then on. */
  replicatePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo>;
  /** Freezes the RV (rw or ro); with a copy still running, waits for it unless forced. */
  separatePair(mv: string | number, rv: string | number, opts?: { rvAccess?: string; force?: boolean }): Promise<PairInfo>;
  /** Copies RV → MV in the background; the MV stays usable. */
  restorePair(mv: string | number, rv: string | number): Promise<PairInfo>;
  /** Unpairs a separated pair (any pair with force); returns the pair as it was. */
  deletePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo>;
}
