// The configuration lock (the seed's "another user is configuring the disk
// array"): an administrator takes it for a series of changes; while it is held,
// configuration changes from any other owner are refused. It lives in the
// array's metadata store so that it outlasts a manager restart, and it expires
// so that a client that died cannot hold it for ever. A forced release (the
// seed's "setseize -mode off -force") frees it for somebody else.
import type { KuraError } from '../../errors.js';

export const DEFAULT_LOCK_TTL_S = 600;
export const MAX_LOCK_TTL_S = 24 * 3600;
const OWNER_RE = /^[\x21-\x7e]{1,64}$/;

import type { LockInfo } from './agent.js';
import { CONFIG_LOCKED, LOCK_HELD_BY_OTHER, LOCK_NOT_HELD, LOCK_OWNER_INVALID, LOCK_TTL_RANGE } from '../../catalogue/array.js';

interface Held {
  owner: string;
  acquired: string;
  expires: number;
  ttl: number;
}

export interface LockStorage {
  get(): string | undefined;
  set(v: string | undefined): void;
}

export class ConfigLock {
  constructor(
    private readonly storage: LockStorage,
    private readonly now: () => number = Date.now,
  ) {}

  private held(): Held | undefined {
    const raw = this.storage.get();
    if (raw === undefined) return undefined;
    const h = JSON.parse(raw) as Held;
    if (h.expires <= this.now()) {
      this.storage.set(undefined);
      return undefined;
    }
    return h;
  }

  info(): LockInfo {
    const h = this.held();
    if (!h) return { held: false, owner: null, acquired: null, expires: null, remainingSeconds: 0 };
    return {
      held: true,
      owner: h.owner,
      acquired: h.acquired,
      expires: new Date(h.expires).toISOString(),
      remainingSeconds: Math.ceil((h.expires - this.now()) / 1000),
    };
  }

  static validateOwner(owner: unknown): string {
    if (typeof owner !== 'string' || !OWNER_RE.test(owner)) {
      throw LOCK_OWNER_INVALID({ owner: JSON.stringify(owner)?.slice(0, 70) });
    }
    return owner;
  }

  /** Takes the lock, or renews it when the owner already holds it. */
  acquire(owner: string, ttlSeconds = DEFAULT_LOCK_TTL_S): LockInfo {
    ConfigLock.validateOwner(owner);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LOCK_TTL_S) {
      throw LOCK_TTL_RANGE({ ttlSeconds, maxLockTtlS: MAX_LOCK_TTL_S });
    }
    const h = this.held();
    if (h && h.owner !== owner) throw this.busy(h);
    const now = this.now();
    this.storage.set(
      JSON.stringify({ owner, acquired: h?.acquired ?? new Date(now).toISOString(), expires: now + ttlSeconds * 1000, ttl: ttlSeconds } satisfies Held),
    );
    return this.info();
  }

  /** Releases the lock; another owner needs force. Releasing a free lock is refused so that a typo shows. */
  release(owner: string | undefined, force = false): LockInfo {
    const h = this.held();
    if (!h) throw LOCK_NOT_HELD();
    if (h.owner !== owner && !force) {
      throw LOCK_HELD_BY_OTHER({ owner: h.owner, caller: owner ?? 'this client' });
    }
    this.storage.set(undefined);
    return this.info();
  }

  /** Refuses a configuration change by anybody but the holder; the holder's change renews the lock. */
  check(owner: string | undefined): void {
    const h = this.held();
    if (!h) return;
    if (h.owner !== owner) throw this.busy(h);
    const now = this.now();
    this.storage.set(JSON.stringify({ ...h, expires: now + h.ttl * 1000 }));
  }

  private busy(h: Held): KuraError {
    const left = Math.ceil((h.expires - this.now()) / 1000);
    return CONFIG_LOCKED({ owner: h.owner, left });
  }
}
