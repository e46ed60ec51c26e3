// REST routes of feature licences.
import type { ApiRoute } from './route.js';

export const LICENSES = {
  list: { method: 'GET', path: '/api/v1/licenses', tag: 'licenses', summary: 'Feature licences and their states' },
  unlock: {
    method: 'POST',
    path: '/api/v1/licenses/{name}/unlock',
    tag: 'licenses',
    summary: 'Unlock a feature licence',
  },
} satisfies Record<string, ApiRoute>;
