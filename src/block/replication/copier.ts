// The background copier of replication pairs: copies the chunks the difference
// bitmap names in the pair's direction (MV → RV for replicate, RV → MV for
// restore), a few at a time under their chunk locks, and commits every batch
// before the cleared bits are stored, so a copy resumes where a crash left it.
// At its end it moves the pair on (copy-done); on an error it faults the pair.
// One copier per pair at a time: a command that starts a copy first waits for the
// copier of the previous one (Replicator), which may still be ending after the pair
// left its copying state (told to stop by a failed mirrored write, or finishing a
// separate behind host writes under way).
import type { Pair, ReplicationEvent } from './pair.js';
import { nowIso } from './pair.js';
import { COPIER_STILL_RUNNING } from '../../catalogue/block.js';

/** Chunks copied between two commits of the copier (its persisted cursor moves by this much). */
const BATCH = 16;
/** Chunks copied at once within a batch. */
const PARALLEL = 4;

/** What the copier needs of the replication engine. */
export interface CopierHost {
  /** The pair still exists: the copy of a deleted pair ends quietly. */
  paired(p: Pair): boolean;
  persist(p: Pair): void;
  /** An engine commit (noted for the intent log). */
  commit(): Promise<void>;
  event(e: ReplicationEvent): void;
}

export class Copier {
  constructor(private readonly host: CopierHost) {}

  /**
   * Starts the pair's copy. A copier still running here would end without starting it
   * (it was told to stop, or its copy is over): a bug, refused loudly, not skipped.
   */
  start(p: Pair): void {
    if (p.copier) throw COPIER_STILL_RUNNING({ pair: `${p.mv.name} → ${p.rv.name}`, sync: p.state.sync });
    p.stop = false;
    p.rateStart = Date.now();
    p.rateStartCopied = p.state.copied;
    p.copier = this.run(p).finally(() => {
      p.copier = null;
    });
  }

  /** Stops the pair's copy where it is (after the chunks under way) and waits until no copier runs. */
  async stop(p: Pair): Promise<void> {
    p.stop = true;
    while (p.copier) await p.copier;
  }

  private async run(p: Pair): Promise<void> {
    let cursor = 0;
    try {
      while (!p.stop && p.copying && this.host.paired(p)) {
        const batch: number[] = [];
        for (let c = p.diff.next(cursor); c >= 0 && batch.length < BATCH; c = p.diff.next(c + 1)) batch.push(c);
        if (batch.length === 0) {
          if (p.diff.count === 0) break;
          cursor = 0;
          continue;
        }
        cursor = batch[batch.length - 1]! + 1;
        // A stop takes effect between groups: a command waiting for this copier waits for a few chunks, not a batch.
        for (let i = 0; i < batch.length && !p.stop; i += PARALLEL) await Promise.all(batch.slice(i, i + PARALLEL).map((c) => this.copyChunk(p, c)));
        await this.checkpoint(p);
      }
    } catch (e) {
      if (!this.host.paired(p)) return;
      p.move('copy-failed');
      p.state.fault = `copy stopped: ${(e as Error)?.message ?? e}`;
      p.state.rvAccess = 'nr';
      this.host.persist(p);
      this.host.event({ kind: 'copy-failed', pair: p, error: e });
      return;
    }
    if (p.stop || !p.copying || !this.host.paired(p) || p.diff.count > 0) return;
    const s = p.state;
    s.complete = true;
    if (s.direction === 'mv-to-rv') s.rvBroken = false;
    const separating = s.sync === 'sep/exec';
    p.move('copy-done');
    if (separating) {
      await p.quiesce();
      s.sepEnd = nowIso();
      s.rvAccess = s.sepAccess;
    }
    this.host.persist(p);
    this.host.event({ kind: 'copy-done', pair: p });
  }

  /** Commits the copied chunks, then records their bits as clear. */
  private async checkpoint(p: Pair): Promise<void> {
    const covered = [...p.uncommitted];
    await this.host.commit();
    for (const c of covered) p.uncommitted.delete(c);
    if (this.host.paired(p)) this.host.persist(p);
  }

  /** Copies one chunk in the pair's direction (holes stay holes) unless it is already done. */
  async copyChunk(p: Pair, c: number): Promise<void> {
    await p.locks.acquire(c, true);
    try {
      if (!p.diff.get(c)) return;
      const [src, dst] = p.state.direction === 'mv-to-rv' ? [p.mv, p.rv] : [p.rv, p.mv];
      const bpc = p.chunkSize / src.blockSize;
      const lba = c * bpc;
      const blocks = Math.min(bpc, src.blockCount - lba);
      if (blocks > 0) {
        const ext = await src.allocation(lba, blocks);
        if (ext.every((e) => e.hole)) {
          const d = await dst.allocation(lba, blocks);
          if (d.some((e) => !e.hole)) await dst.unmap([{ lba, blocks }]);
        } else {
          await dst.write(lba, await src.read(lba, blocks));
        }
      }
      p.uncommitted.add(c);
      p.diff.clear(c);
      p.state.copied++;
    } finally {
      p.locks.release(c, true);
    }
  }
}
