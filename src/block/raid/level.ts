// The contract of one RAID level. A level is pure arithmetic over PD indexes: it
// says where a chunk lives and what a set of failures means, and RaidGroup does the
// I/O. The stripe unit is the chunk, so a level places whole chunks; a parity level
// adds its own read and write members without touching RaidGroup's callers.

export type Raid = 'RAID0' | 'RAID1' | 'RAID10';

/** Where one chunk of a group lives: PD indexes within the group, and the row (chunk-sized slot) on them. */
export interface ChunkPlacement {
  row: number;
  /** PDs a read may use, any one of them holding the whole chunk. */
  read: number[];
  /** PDs every write of the chunk goes to. */
  write: number[];
}

export interface RaidLevel {
  readonly name: Raid;
  /** How the level is typed, after "RAID" is stripped: "1", "10", "1/10". */
  readonly spellings: readonly string[];
  /** PDs per group when none are given. */
  readonly defaultPdCount: number;
  /** The accepted PD counts in words, for the error that refuses another. */
  readonly pdCountRule: string;
  /** Whether a group of this level can be built from `pds` PDs (an integer; the cap of 64 is checked apart). */
  acceptsPdCount(pds: number): boolean;
  /** Distinct chunks one row of the group holds, so capacity is rows × width chunks. */
  stripeWidth(pds: number): number;
  /** Where the chunk at `index` (counted from the group's first chunk) lives. */
  place(index: number, pds: number): ChunkPlacement;
  /** Whether the group still serves all its data with the PDs at these indexes failed (which ones matter, not only how many). */
  survives(pds: number, failed: ReadonlySet<number>): boolean;
  /** Whether copies can disagree after an unclean shutdown, so the group needs a resync. */
  readonly needsResync: boolean;
}
