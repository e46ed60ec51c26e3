// Bytes of I/O buffers the protocol front ends hold: request data read from a
// socket and not yet written to a device, and read data made for a reply and
// not yet handed to the kernel. One budget for the process, and per connection
// an account against it with a limit of its own. A request is read off the
// wire only when its bytes fit (backpressure): a client that sends requests
// without reading its replies stops being read instead of growing the heap.
//
// A client that never reads keeps what it holds. While others wait for the
// budget, the connection whose replies have been stuck longest (no byte
// accepted by the kernel for stallMs) is closed, so the budget cannot be held
// hostage by idle sockets.
import { IO_BUDGET_CLOSING } from '../catalogue/protocols.js';

/** The smallest budget: one largest request (32 MiB NBD READ/WRITE) must always fit, twice. */
export const MIN_IO_BUDGET = 64 * 1024 * 1024;
/** Default for the whole process (kura serve --io-memory). */
export const DEFAULT_IO_BUDGET = 256 * 1024 * 1024;
/** How long a connection's replies may be stuck before it may be closed to free the budget. */
export const DEFAULT_STALL_MS = 5000;

export interface IoBudgetOptions {
  limit?: number;
  stallMs?: number;
  log?: (msg: string) => void;
}

/** What the budget needs to know of a connection that holds bytes. */
export interface IoHolder {
  /** Since when the connection's queued replies have made no progress; undefined when nothing is queued. */
  stalledSince(): number | undefined;
  /** Closes the connection; its account is closed with it. */
  evict(why: string): void;
  describe(): string;
}

export class IoBudget {
  readonly limit: number;
  readonly stallMs: number;
  used = 0;
  private readonly log: (msg: string) => void;
  private readonly accounts = new Set<IoAccount>();
  /** Accounts that failed to take bytes for lack of global budget, woken when bytes come back. */
  private waiters = new Set<IoAccount>();
  private evictTimer: NodeJS.Timeout | undefined;

  constructor(o: IoBudgetOptions = {}) {
    this.limit = Math.max(MIN_IO_BUDGET, o.limit ?? DEFAULT_IO_BUDGET);
    this.stallMs = o.stallMs ?? DEFAULT_STALL_MS;
    this.log = o.log ?? (() => undefined);
  }

  /** A new account for one connection, holding at most `limit` bytes (one request more when it holds none). */
  account(limit: number, holder: IoHolder, wake: () => void): IoAccount {
    const a = new IoAccount(this, Math.min(limit, this.limit), holder, wake);
    this.accounts.add(a);
    return a;
  }

  /** @internal */
  take(n: number, a: IoAccount): boolean {
    if (this.used + n > this.limit) {
      this.waiters.add(a);
      this.pressure();
      return false;
    }
    this.used += n;
    return true;
  }

  /** @internal bytes that are in memory already (counted even above the limit). */
  force(n: number): void {
    this.used += n;
  }

  /** @internal */
  give(n: number): void {
    this.used -= n;
    if (this.waiters.size === 0 || this.used >= this.limit) return;
    const ws = this.waiters;
    this.waiters = new Set();
    // Each retries and registers again if its request still does not fit.
    for (const a of ws) a.wakeUp();
  }

  /** @internal */
  remove(a: IoAccount): void {
    this.accounts.delete(a);
    this.waiters.delete(a);
  }

  /** While requests wait for the budget, stalled holders are closed one at a time. */
  private pressure(): void {
    if (this.evictTimer) return;
    this.evictTimer = setInterval(() => this.evictStalled(), Math.max(100, Math.min(1000, this.stallMs / 2)));
    this.evictTimer.unref();
  }

  private evictStalled(): void {
    for (const w of this.waiters) if (w.closed) this.waiters.delete(w);
    if (this.waiters.size === 0) {
      clearInterval(this.evictTimer);
      this.evictTimer = undefined;
      return;
    }
    const now = Date.now();
    let victim: IoAccount | undefined;
    for (const a of this.accounts) {
      if (a.held === 0) continue;
      const since = a.holder.stalledSince();
      if (since === undefined || now - since < this.stallMs) continue;
      if (!victim || a.held > victim.held) victim = a;
    }
    if (!victim) return;
    const why = `the I/O buffer budget (${this.limit >> 20} MiB) is exhausted and its replies have not been read for ${Math.round((now - victim.holder.stalledSince()!) / 1000)} s`;
    this.log(`${IO_BUDGET_CLOSING.id} ${IO_BUDGET_CLOSING({ holder: victim.holder.describe(), why, mib: (victim.held / 1048576).toFixed(1) })}`);
    victim.holder.evict(why);
    victim.close();
  }
}

/** One connection's share of the budget. */
export class IoAccount {
  held = 0;
  closed = false;

  constructor(
    private readonly budget: IoBudget,
    readonly limit: number,
    readonly holder: IoHolder,
    private readonly wake: () => void,
  ) {}

  /**
   * Takes n bytes when the connection's limit and the process budget allow
   * (a connection holding nothing may take one request up to the budget).
   * When it cannot, the connection's wake() is called once bytes come back.
   */
  tryTake(n: number): boolean {
    if (this.closed) return false;
    if (n === 0) return true;
    if (this.held > 0 && this.held + n > this.limit) return false;
    if (!this.budget.take(n, this)) return false;
    this.held += n;
    return true;
  }

  /**
   * Counts bytes that are in memory already (or arriving unasked) beyond the
   * connection's limit, as long as the process budget stays within a quarter
   * above its limit; false when it would not (the caller refuses the request).
   */
  forceWithin(n: number): boolean {
    if (this.closed) return false;
    if (this.budget.used + n > this.budget.limit + this.budget.limit / 4) return false;
    this.force(n);
    return true;
  }

  /** Counts bytes that are already in memory, even above the limits. */
  force(n: number): void {
    if (this.closed || n === 0) return;
    this.held += n;
    this.budget.force(n);
  }

  give(n: number): void {
    if (this.closed || n === 0) return;
    const k = Math.min(n, this.held);
    this.held -= k;
    this.budget.give(k);
    this.wakeUp();
  }

  /** @internal */
  wakeUp(): void {
    if (!this.closed) this.wake();
  }

  /** The connection is gone: everything it held goes back. */
  close(): void {
    if (this.closed) return;
    const n = this.held;
    this.held = 0;
    this.closed = true;
    this.budget.remove(this);
    this.budget.give(n);
  }
}
