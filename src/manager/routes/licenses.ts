// Feature licences over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { LICENSES } from '../../api/licenses.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';

export function licenseRoutes(agent: Pick<ArrayAgent, 'licenses'>, changed: Changed): Route[] {
  return bind(LICENSES, {
    list: () => agent.licenses.listLicenses(),
    unlock: async ({ params }) => {
      const out = await agent.licenses.unlockLicense(params['name']!);
      changed('KURA-I4050', 'array', `Licence ${params['name']} unlocked.`);
      return out;
    },
  });
}
