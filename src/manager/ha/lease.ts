// The manager's etcd lease and Patroni's rule: a manager that has not refreshed its
// lease for `ttl - margin` stops acting (acting() turns false at once, not at the
// next timer), well before etcd lets the lease expire and hands its roles on. The
// renewal time counted is when the keepalive was sent, never when its answer came.
import type { Etcd3, Lease } from 'etcd3';

export interface LeaseOptions {
  ttlSeconds: number;
  log: (m: string) => void;
  /** The lease is gone (expired or revoked): every role bound to it is gone too. */
  onLost: () => void;
}

export class MemberLease {
  private lease: Lease | null = null;
  private id = '';
  private renewedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lost = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly o: LeaseOptions,
  ) {}

  get leaseId(): string {
    return this.id;
  }

  /** Grants a new lease (the previous one, if any, is forgotten). */
  async grant(): Promise<string> {
    const sentAt = Date.now();
    const lease = this.etcd.lease(this.o.ttlSeconds, { autoKeepAlive: false });
    this.id = await lease.grant();
    this.lease = lease;
    this.renewedAt = sentAt;
    this.lost = false;
    this.schedule();
    return this.id;
  }

  /** The latest time up to which this manager may act. */
  actingUntil(): number {
    const ttl = this.o.ttlSeconds * 1000;
    return this.renewedAt + ttl - Math.max(500, Math.floor(ttl / 3));
  }

  acting(): boolean {
    return this.lease !== null && !this.lost && Date.now() < this.actingUntil();
  }

  /** Seconds of the lease left as this manager counts it (etcd's count is at least this). */
  secondsLeft(): number {
    return Math.max(0, (this.renewedAt + this.o.ttlSeconds * 1000 - Date.now()) / 1000);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew(), Math.max(100, Math.floor((this.o.ttlSeconds * 1000) / 4)));
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease || this.closed) return;
    const sentAt = Date.now();
    try {
      const res = await lease.keepaliveOnce({ deadline: Date.now() + Math.max(500, (this.o.ttlSeconds * 1000) / 3) });
      if (lease !== this.lease) return;
      if (Number(res.TTL) <= 0) {
        this.markLost('etcd says the lease expired');
        return;
      }
      this.renewedAt = sentAt;
    } catch (e) {
      const msg = (e as Error).message;
      if (/lease.*not found|expired or revoked/i.test(msg)) {
        this.markLost(msg);
        return;
      }
      if (lease === this.lease && !this.acting()) this.o.log(`lease ${this.id}: cannot refresh (${msg}); not acting`);
    }
    this.schedule();
  }

  private markLost(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.o.log(`lease ${this.id} lost: ${why}`);
    this.o.onLost();
  }

  isLost(): boolean {
    return this.lost;
  }

  async close(revoke: boolean): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (revoke && this.lease) await this.lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
  }
}
