// Requests in flight per session (VASA's maxConcurrentRequestsPerSession): a
// session (one vCenter or ESXi client) may have at most `max` at once; more
// are refused, not queued, so a runaway client cannot starve the others.
import { sessionBusy } from './messages.js';

export class SessionGate {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly max: number) {}

  async run<T>(session: string, fn: () => Promise<T>): Promise<T> {
    const n = this.inFlight.get(session) ?? 0;
    if (n >= this.max) throw sessionBusy(session, this.max);
    this.inFlight.set(session, n + 1);
    try {
      return await fn();
    } finally {
      const left = (this.inFlight.get(session) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(session);
      else this.inFlight.set(session, left);
    }
  }

  active(session: string): number {
    return this.inFlight.get(session) ?? 0;
  }
}
