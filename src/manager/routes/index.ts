// The REST API: every noun's routes, in the order of the route descriptions
// (src/api/index.ts), each bound to its handler. Mutating routes record the
// configuration change they made as an event.
import type { ArrayAgent } from '../../array/agent.js';
import type { EventStore } from '../events.js';
import type { Route } from '../router.js';
import { arrayRoutes } from './array.js';
import { eventRoutes } from './events.js';
import { faultRoutes } from './faults.js';
import { hostRoutes } from './hosts.js';
import { ldRoutes } from './lds.js';
import { licenseRoutes } from './licenses.js';
import { lockRoutes } from './lock.js';
import { pairRoutes } from './pairs.js';
import { poolRoutes } from './pools.js';
import { snapshotRoutes } from './snapshots.js';
import { vasaRoutes } from './vasa.js';
import type { VvolProvider } from '../../vvol/provider.js';
import type { Changed } from './bind.js';

export { bytesText } from './params.js';

export function apiRoutes(agent: ArrayAgent, events: EventStore, openapi: () => unknown, vvol: VvolProvider): Route[] {
  const changed: Changed = (id, source, text) => events.record({ id, severity: 'info', source, text });
  return [
    ...arrayRoutes(agent, openapi),
    ...poolRoutes(agent, changed),
    ...ldRoutes(agent, changed),
    ...snapshotRoutes(agent, changed),
    ...hostRoutes(agent, changed, (host) => vvol.dropHost(host)),
    ...faultRoutes(agent, changed),
    ...licenseRoutes(agent, changed),
    ...pairRoutes(agent, changed),
    ...lockRoutes(agent),
    ...eventRoutes(events),
    ...vasaRoutes(vvol),
  ];
}
