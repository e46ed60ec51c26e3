// The configuration lock over REST.
import type { LockAgent } from '../../array/agent.js';
import { LOCK } from '../../api/lock.js';
import { KuraError } from '../../errors.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function lockRoutes(agent: LockAgent): Route[] {
  return bind(LOCK, {
    show: () => agent.lockInfo(),
    acquire: ({ body, owner }) => {
      const who = (body['owner'] as string | undefined) ?? owner;
      if (who === undefined) throw new KuraError('KURA-E2408', 'EINVAL', 'The lock needs an owner name.', 'Give owner in the body or send the X-Kura-Owner header.');
      return agent.acquireLock(who, body['ttl'] as number | undefined);
    },
    release: ({ query, owner }) => agent.releaseLock((query['owner'] as string | undefined) ?? owner, query['force'] === true),
  });
}
