// The promises of I/O still running, so that a barrier, a quiesce or a close
// can wait for them without stopping new I/O from starting.
export class Inflight {
  private readonly running = new Set<Promise<unknown>>();

  get size(): number {
    return this.running.size;
  }

  /** Tracks p until it settles, and returns it. */
  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = (): void => {
      this.running.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Settles once every promise running now has settled (later ones are not waited for). */
  settled(): Promise<unknown> {
    return this.running.size === 0 ? Promise.resolve() : Promise.allSettled([...this.running]);
  }
}
