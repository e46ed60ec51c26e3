// Serialises commands that modify overlapping LBA ranges of one logical unit, in
// arrival order. COMPARE AND WRITE needs it to be atomic against every other
// write (SBC-3 5.2); plain writes take it too, since a write that slipped between
// the compare and the write of a COMPARE AND WRITE would be lost.

interface Held {
  lba: number;
  end: number;
  done: Promise<void>;
}

export class LbaLock {
  private held: Held[] = [];

  /** Waits for every earlier holder of an overlapping range; resolves to the release function. */
  async acquire(lba: number, blocks: number): Promise<() => void> {
    const end = lba + Math.max(blocks, 1);
    const waits: Promise<void>[] = [];
    for (const h of this.held) if (h.lba < end && lba < h.end) waits.push(h.done);
    let release!: () => void;
    const entry: Held = { lba, end, done: new Promise<void>((r) => (release = r)) };
    // Registered before waiting, so that later arrivals queue behind this one.
    this.held.push(entry);
    if (waits.length > 0) await Promise.all(waits);
    return () => {
      this.held = this.held.filter((h) => h !== entry);
      release();
    };
  }

  async run<T>(lba: number, blocks: number, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(lba, blocks);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
