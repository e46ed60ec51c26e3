// Every REST route description, grouped by noun, in the order the manager
// serves them and the OpenAPI document lists them.
import { ALERTS } from './alerts.js';
import { ARRAY } from './array.js';
import { EVENTS } from './events.js';
import { FAULTS } from './faults.js';
import { HOSTS } from './hosts.js';
import { LDS } from './lds.js';
import { LICENSES } from './licenses.js';
import { LOCK } from './lock.js';
import { PAIRS } from './pairs.js';
import { PATH_STATES } from './path-states.js';
import { PERF } from './perf.js';
import { POOLS } from './pools.js';
import type { ApiRoute } from './route.js';
import { SNAPSHOTS } from './snapshots.js';
import { SUPPORT } from './support.js';
import { CONTAINERS, PES, POLICIES, VASA, VVOLS } from './vasa.js';
import { BACKUPS, PROVIDER } from './backup.js';

export const ROUTE_GROUPS: ReadonlyArray<Record<string, ApiRoute>> = [
  ARRAY,
  POOLS,
  LDS,
  SNAPSHOTS,
  HOSTS,
  FAULTS,
  LICENSES,
  PAIRS,
  LOCK,
  EVENTS,
  VASA,
  CONTAINERS,
  PES,
  VVOLS,
  POLICIES,
  BACKUPS,
  PROVIDER,
  ALERTS,
  PERF,
  PATH_STATES,
  SUPPORT,
];

/** Every route description, in serving order. */
export function allRoutes(): ApiRoute[] {
  return ROUTE_GROUPS.flatMap((g) => Object.values(g));
}
