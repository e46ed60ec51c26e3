// The configuration lock over REST.
import type { LockAgent } from '../../array/agent.js';
import { LOCK } from '../../api/lock.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import { LOCK_OWNER_MISSING } from '../../catalogue/array.js';

export function lockRoutes(agent: LockAgent): Route[] {
  return bind(LOCK, {
    show: () => agent.lockInfo(),
    acquire: ({ body, owner }) => {
      const who = (body['owner'] as string | undefined) ?? owner;
      if (who === undefined) throw LOCK_OWNER_MISSING();
      return agent.acquireLock(who, body['ttl'] as number | undefined);
    },
    release: ({ query, owner }) => agent.releaseLock((query['owner'] as string | undefined) ?? owner, query['force'] === true),
  });
}
