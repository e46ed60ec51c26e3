// The configuration lock over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { LOCK } from '../../api/lock.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import { LOCK_OWNER_MISSING } from '../../catalogue/array.js';

export function lockRoutes(agent: Pick<ArrayAgent, 'lock'>): Route[] {
  return bind(LOCK, {
    show: () => agent.lock.lockInfo(),
    acquire: ({ body, owner }) => {
      const who = (body['owner'] as string | undefined) ?? owner;
      if (who === undefined) throw LOCK_OWNER_MISSING();
      return agent.lock.acquireLock(who, body['ttl'] as number | undefined);
    },
    release: ({ query, owner }) => agent.lock.releaseLock((query['owner'] as string | undefined) ?? owner, query['force'] === true),
  });
}
