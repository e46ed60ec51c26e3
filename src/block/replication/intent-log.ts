// The mirrored-write intent log of replication pairs. Before a mirrored write its
// regions (16 chunks each) are stored in the pair's bitmap, so that after a crash
// the pair copies again where MV and RV may differ. A region leaves the log once
// no mirrored write is under way there and a commit that started after it fell
// idle (a FLUSH, a FUA write, a copy checkpoint) made the last writes durable.
import type { Pair } from './pair.js';

/** Chunks per region of the mirrored-write intent log. */
const INTENT_REGION = 16;
/** How often idle regions are looked at for dropping from the intent log. */
const INTENT_CLEAR_MS = 2000;
/**
 * Idle regions leave the log after the next commit that started once they were idle:
 * a FLUSH, a FUA write or a copy checkpoint. Without one for this long the log forces a
 * commit itself (rarely, so a streaming writer is not made to fdatasync every few seconds).
 */
const INTENT_FORCE_MS = 30_000;

/** What the intent log needs of the replication engine. */
export interface IntentLogHost {
  /** The pairs now (a deleted pair's regions go with it). */
  pairs(): readonly Pair[];
  /** The engine closed: nothing is stored any more. */
  closed(): boolean;
  persist(p: Pair): void;
  /** An engine commit. */
  commit(): Promise<void>;
}

export class IntentLog {
  private clearing = false;
  /** Orders intent snapshots and commit starts: a commit clears a snapshot's regions if it started after it. */
  private seq = 0;
  private lastCommitStart = 0;
  private pending: { seq: number; at: number; regions: Map<Pair, Array<[number, number]>> } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly host: IntentLogHost) {
    this.timer = setInterval(() => void this.clear(), INTENT_CLEAR_MS);
    this.timer.unref();
  }

  /** Chunks of the pair's regions in the log: stored in its bitmap along with the differences. */
  chunks(p: Pair): number[] {
    const out: number[] = [];
    for (const r of p.intent) for (let c = r * INTENT_REGION; c < Math.min(p.diff.size, (r + 1) * INTENT_REGION); c++) out.push(c);
    return out;
  }

  /** Before a mirrored write to chunks [first, last]: its regions reach the store first. */
  begin(p: Pair, first: number, last: number): void {
    let changed = false;
    for (let r = Math.floor(first / INTENT_REGION); r <= Math.floor(last / INTENT_REGION); r++) {
      p.intentBusy.set(r, (p.intentBusy.get(r) ?? 0) + 1);
      p.intentStarts.set(r, (p.intentStarts.get(r) ?? 0) + 1);
      if (!p.intent.has(r)) {
        p.intent.add(r);
        changed = true;
      }
    }
    if (changed) this.host.persist(p);
  }

  /** After the mirrored write settled on every side. */
  end(p: Pair, first: number, last: number): void {
    for (let r = Math.floor(first / INTENT_REGION); r <= Math.floor(last / INTENT_REGION); r++) {
      const n = (p.intentBusy.get(r) ?? 1) - 1;
      if (n > 0) p.intentBusy.set(r, n);
      else p.intentBusy.delete(r);
    }
  }

  /** Runs a commit (an LD's FLUSH or an engine commit) and notes when it started. */
  async noteCommit(run: () => Promise<void>): Promise<void> {
    const started = ++this.seq;
    await run();
    this.lastCommitStart = Math.max(this.lastCommitStart, started);
  }

  /** Drops regions that were idle across a commit: MV and RV agree there durably. */
  private async clear(): Promise<void> {
    if (this.clearing || this.host.closed()) return;
    this.clearing = true;
    try {
      const pending = this.pending;
      if (pending) {
        if (this.lastCommitStart <= pending.seq) {
          if (Date.now() - pending.at < INTENT_FORCE_MS) return;
          await this.noteCommit(() => this.host.commit());
        }
        this.pending = null;
        for (const [p, list] of pending.regions) {
          if (this.host.closed() || !this.host.pairs().includes(p)) continue;
          let changed = false;
          for (const [r, starts] of list) {
            if (p.intentBusy.has(r) || (p.intentStarts.get(r) ?? 0) !== starts) continue;
            p.intent.delete(r);
            p.intentStarts.delete(r);
            changed = true;
          }
          if (changed) this.host.persist(p);
        }
      }
      const regions = new Map<Pair, Array<[number, number]>>();
      for (const p of this.host.pairs()) {
        const list: Array<[number, number]> = [];
        for (const r of p.intent) if (!p.intentBusy.has(r)) list.push([r, p.intentStarts.get(r) ?? 0]);
        if (list.length > 0) regions.set(p, list);
      }
      if (regions.size > 0) this.pending = { seq: ++this.seq, at: Date.now(), regions };
    } catch {
      // The commit failed: keep the regions; a later round tries again.
    } finally {
      this.clearing = false;
    }
  }

  /** No more rounds (the engine is closing). */
  stop(): void {
    clearInterval(this.timer);
  }
}
