// A replication pair (MV → RV) as the data path holds it: its persisted state,
// the difference bitmap, the chunk locks that order copies against host I/O, the
// regions of the mirrored-write intent log, and the host I/O under way.
import type { LogicalDisk } from '../logical-disk.js';
import { ChunkBitmap, ChunkLocks } from '../chunk-bitmap.js';
import { COPYING, MIRRORING, transition } from './pair-states.js';
import type { PairEvent, PairState } from './pair-states.js';
import { Inflight } from '../inflight.js';

export type ReplicationEvent =
  | { kind: 'copy-done'; pair: Pair }
  | { kind: 'copy-failed'; pair: Pair; error: unknown }
  | { kind: 'mirror-failed'; pair: Pair; error: unknown }
  | { kind: 'resumed'; pair: Pair; unclean: boolean };

export class Pair {
  /** Replaced (grown) when either LD is expanded while separated. */
  diff: ChunkBitmap;
  readonly chunkSize: number;
  readonly locks = new ChunkLocks();
  /** Copied chunks whose bits are clear in memory but whose copy no commit has covered yet. */
  readonly uncommitted = new Set<number>();
  /** Regions stored in the bitmap because mirrored writes may be under way there (intent log). */
  readonly intent = new Set<number>();
  /** Mirrored writes under way per region, and how many have started (a region idle across a commit is clean). */
  readonly intentBusy = new Map<number, number>();
  readonly intentStarts = new Map<number, number>();
  /** Host I/O under way through the pair's devices. */
  readonly inflight = new Inflight();
  copier: Promise<void> | null = null;
  stop = false;
  /** Rate of the running copy, for the remaining time. */
  rateStart = 0;
  rateStartCopied = 0;

  constructor(
    readonly mv: LogicalDisk,
    readonly rv: LogicalDisk,
    public state: PairState,
    bitmap?: Uint8Array,
  ) {
    this.chunkSize = mv.pool.chunkSize;
    this.diff = new ChunkBitmap(this.chunks(), bitmap);
  }

  /** Chunks the bitmap covers: the larger volume's (an LD may grow while separated). */
  chunks(): number {
    return Math.ceil(Math.max(this.mv.rec.capacity, this.rv.rec.capacity) / this.chunkSize);
  }

  /**
   * The RV holds a whole image: after a finished replicate, or as the source of a
   * restore (which writes the RV only with mirrored host writes), even one cut short.
   */
  get rvValid(): boolean {
    if (this.state.rvBroken) return false;
    if (this.state.direction === 'rv-to-mv') return true;
    return this.state.complete && this.state.sync !== 'fault';
  }

  /** Moves the sync state on the event, through the transition table (the only way it changes). */
  move(event: PairEvent): void {
    transition(this.state, event, `${this.mv.name} → ${this.rv.name}`);
  }

  get mirroring(): boolean {
    return MIRRORING.has(this.state.sync);
  }
  get copying(): boolean {
    return COPYING.has(this.state.sync);
  }
  /** Separated (or faulted): changes to either volume are recorded in the bitmap. */
  get tracking(): boolean {
    return !this.mirroring;
  }
  /** A restore is running: MV chunks still to come from the RV are copied before I/O touches them. */
  get restoring(): boolean {
    return this.copying && this.state.direction === 'rv-to-mv';
  }

  /** Bytes the bitmap names (the last chunk may be short). */
  diffBytes(): number {
    const cap = this.mv.rec.capacity;
    let n = this.diff.count * this.chunkSize;
    const last = this.diff.size - 1;
    if (last >= 0 && this.diff.get(last)) n -= this.diff.size * this.chunkSize - cap;
    return n;
  }

  /** Seconds the running copy still needs at its rate so far, or null before a rate is known. */
  remainingSeconds(): number | null {
    if (!this.copying) return 0;
    const done = this.state.copied - this.rateStartCopied;
    const secs = (Date.now() - this.rateStart) / 1000;
    if (done <= 0 || secs <= 0) return null;
    return Math.ceil(this.diff.count / (done / secs));
  }

  progress(): number {
    const t = this.state.copyTotal;
    if (t === 0) return 100;
    return Math.min(100, Math.floor((Math.min(this.state.copied, t) * 100) / t));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    return this.inflight.track(p);
  }

  /** Runs I/O with the chunks [first, last] held shared. */
  withShared<T>(first: number, last: number, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      for (let c = first; c <= last; c++) await this.locks.acquire(c, false);
      try {
        return await fn();
      } finally {
        for (let c = first; c <= last; c++) this.locks.release(c, false);
      }
    };
    return this.track(run());
  }

  async quiesce(): Promise<void> {
    while (this.inflight.size > 0) await this.inflight.settled();
  }
}

/** Times in a pair's state (separate start and end, creation). */
export function nowIso(): string {
  return new Date().toISOString();
}
