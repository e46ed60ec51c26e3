// Configuration changes run one at a time, in the order they were asked for;
// one that fails does not stop the ones after it. Every noun service runs its
// changes through the array's one queue.

export class ConfigQueue {
  private chain: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Settles once every change asked for so far has ended. */
  idle(): Promise<unknown> {
    return this.chain;
  }
}
