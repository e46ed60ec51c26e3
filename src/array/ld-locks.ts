// The per-LD lock (the seed's "configuration setting operation guard", VVM L2068:
// "The specified LD is locked."): while a running operation holds an LD (a pair's
// copy writing it, a snapshot restore, a clone being made of it, an expansion),
// other changes to that LD are refused with an id instead of racing it. Holds are
// explicit (taken and released around an operation) or derived from state that
// outlives a request (a background copy), asked of the holders' sources.
import type { LogicalDisk } from '../block/logical-disk.js';
import { LD_LOCKED } from '../catalogue/array.js';

/** Says what holds an LD now, if anything (e.g. a running pair copy). */
export type HoldSource = (l: LogicalDisk) => { what: string; action: string } | undefined;

export class LdLocks {
  private readonly held = new Map<LogicalDisk, string>();
  private readonly sources: HoldSource[] = [];

  addSource(s: HoldSource): void {
    this.sources.push(s);
  }

  /** Holds the LDs while `fn` runs (which must not be refused by its own hold: check first). */
  async during<T>(lds: LogicalDisk[], what: string, fn: () => Promise<T>): Promise<T> {
    const mine = lds.filter((l) => !this.held.has(l));
    for (const l of mine) this.held.set(l, what);
    try {
      return await fn();
    } finally {
      for (const l of mine) this.held.delete(l);
    }
  }

  /** Refuses `change` to the LD while something holds it. */
  check(l: LogicalDisk, change: string): void {
    const h = this.held.get(l);
    const hold = h !== undefined ? { what: h, action: 'Wait for it to finish' } : this.sources.map((s) => s(l)).find((x) => x !== undefined);
    if (!hold) return;
    throw LD_LOCKED({ l: l.name, what: hold.what, change, action: hold.action });
  }
}
