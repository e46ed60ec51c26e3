// REST routes of the redundant managers (kura manager --etcd): the managed arrays
// and the managers with their roles. Served by every manager of a deployment (any
// one answers); the embedded server (kura serve) has no such routes.
import type { ApiRoute } from './route.js';

export const HA = {
  arrays: { method: 'GET', path: '/api/v1/ha/arrays', tag: 'ha', summary: 'Registered arrays with their active and standby manager' },
  register: {
    method: 'POST',
    path: '/api/v1/ha/arrays',
    tag: 'ha',
    summary: 'Register an array (its agent URL and agent token) with the managers',
    status: 201,
    lockExempt: true,
    body: {
      url: { type: 'string', required: true, description: 'the array agent URL, http://HOST:PORT (kura array --agent)' },
      token: { type: 'string', required: true, description: "the array's agent token (its DATA/agent.token)" },
    },
  },
  managers: { method: 'GET', path: '/api/v1/ha/managers', tag: 'ha', summary: 'Managers, their state, their role per array and their lease time left' },
} satisfies Record<string, ApiRoute>;

/** kura array list --json */
export interface HaArrayView {
  id: string;
  name: string;
  url: string;
  active: string | null;
  standby: string | null;
  /** The standby has loaded the management data and confirmed. */
  standbyConfirmed: boolean;
}

/** kura manager list --json */
export interface HaManagerView {
  name: string;
  state: 'live';
  url: string;
  /** Seconds until the manager's lease expires unless refreshed. */
  leaseSecondsLeft: number | null;
  arrays: Array<{ id: string; role: 'active' | 'standby' }>;
}
