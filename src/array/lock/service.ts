// Configuration lock verbs, with the events that say who took and released it.
import type { Emit } from '../events/hub.js';
import type { LockAgent, LockInfo } from './agent.js';
import type { ConfigLock } from './config-lock.js';
import { CONFIG_LOCK_FORCED } from '../../catalogue/array.js';

export class LockService implements LockAgent {
  constructor(
    private readonly lock: ConfigLock,
    private readonly emit: Emit,
  ) {}

  lockInfo(): LockInfo {
    return this.lock.info();
  }

  acquireLock(owner: string, ttlSeconds?: number): LockInfo {
    const l = this.lock.acquire(owner, ttlSeconds);
    this.emit({ id: 'KURA-I2405', severity: 'info', source: 'array', text: `Configuration lock taken (or renewed) by ${owner} until ${l.expires}.` });
    return l;
  }

  releaseLock(owner: string | undefined, force = false): LockInfo {
    const holder = this.lock.info().owner;
    const l = this.lock.release(owner, force);
    if (holder !== owner)
      this.emit({
        id: CONFIG_LOCK_FORCED.id,
        severity: 'warning',
        source: 'array',
        text: CONFIG_LOCK_FORCED({ holder, by: owner ?? 'a client without an owner name' }),
      });
    else this.emit({ id: 'KURA-I2407', severity: 'info', source: 'array', text: `Configuration lock released by ${owner}.` });
    return l;
  }

  checkLock(owner: string | undefined): void {
    this.lock.check(owner);
  }
}
