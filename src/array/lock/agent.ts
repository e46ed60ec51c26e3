// The configuration lock slice of the array agent contract.

export interface LockInfo {
  held: boolean;
  owner: string | null;
  acquired: string | null;
  expires: string | null;
  /** Seconds until it expires (0 when free). */
  remainingSeconds: number;
}

export interface LockAgent {
  /** The configuration lock: who holds it and until when. */
  lockInfo(): LockInfo;
  /** Takes (or, for its holder, renews) the configuration lock; EBUSY while another owner holds it. */
  acquireLock(owner: string, ttlSeconds?: number): LockInfo;
  /** Releases it; another owner's lock only with force. */
  releaseLock(owner: string | undefined, force?: boolean): LockInfo;
  /** Refuses (EBUSY, KURA-E2400) a configuration change by anybody but the lock's holder. */
  checkLock(owner: string | undefined): void;
}
