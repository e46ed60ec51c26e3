// REST routes of the path states pathd agents report: each `kura pathd
// --manager URL` sends the state of every path of its logical units,
// periodically and when one changes; the manager keeps the newest report per
// host (src/ops/paths/) and marks it stale when no report came in time.
import type { ApiRoute } from './route.js';

/** A path's state as pathd names it (unavailable is what other multipath software calls offline). */
export const PATH_STATE_NAMES = ['in-use', 'active', 'standby', 'failed', 'unavailable'];

/** One path in a report: what pathd sends and the manager keeps and serves. */
export interface ReportedPath {
  /** The multipath device's export name on the host (mpatha). */
  device: string;
  /** Its logical unit's identifier (naa.…). */
  deviceId: string;
  /** The path number (portal index:0:target:lun). */
  path: string;
  portal: string;
  target: string;
  /** The array controller behind the portal (its target port group), null when not known yet. */
  controller: number | null;
  alua: string;
  /** One of PATH_STATE_NAMES. */
  state: string;
  /** When the path's state or ALUA state last changed (ISO time). */
  since: string;
}

/** The list answer: each host's newest report. */
export interface HostPaths {
  host: string;
  reportedAt: string;
  intervalSeconds: number;
  /** No report came within three intervals: the states below are the last known, not the current. */
  stale: boolean;
  paths: ReportedPath[];
}

export const PATH_STATES = {
  list: {
    method: 'GET',
    path: '/api/v1/path-states',
    tag: 'paths',
    summary: 'The path states each host reported: per logical unit and path its portal, controller, ALUA state, state and last change; stale hosts marked',
  },
  report: {
    method: 'POST',
    path: '/api/v1/path-states',
    tag: 'paths',
    summary: "A host's report of its paths (sent by kura pathd --manager); it replaces the host's previous report",
    body: {
      host: { type: 'string', required: true, description: 'the reporting host: HOSTNAME/INITIATOR, at most 128 characters' },
      intervalSeconds: {
        type: 'integer',
        required: true,
        description: 'seconds until the next report at the latest, 1 to 3600; three missed make the report stale',
      },
      paths: {
        type: 'object[]',
        required: true,
        description:
          'one object per path: device (export name), deviceId, path (number), portal, target, controller (integer or null), alua, state (one of PATH_STATE_NAMES), since (ISO time of its last change)',
      },
    },
    lockExempt: true,
  },
} satisfies Record<string, ApiRoute>;
