// Feature licences over REST.
import type { LicenseAgent } from '../../array/agent.js';
import { LICENSES } from '../../api/licenses.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';

export function licenseRoutes(agent: LicenseAgent, changed: Changed): Route[] {
  return bind(LICENSES, {
    list: () => agent.listLicenses(),
    unlock: async ({ params }) => {
      const out = await agent.unlockLicense(params['name']!);
      changed('KURA-I4050', 'array', `Licence ${params['name']} unlocked.`);
      return out;
    },
  });
}
