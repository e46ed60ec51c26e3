// REST routes of the configuration lock.
import type { ApiRoute } from './route.js';
import { CONFIG_LOCKED } from '../catalogue/array.js';

export const LOCK = {
  show: { method: 'GET', path: '/api/v1/lock', tag: 'lock', summary: 'The configuration lock: holder and expiry' },
  acquire: {
    method: 'POST',
    path: '/api/v1/lock',
    tag: 'lock',
    summary: `Take (or renew) the configuration lock; while held, changes from other owners (header X-Kura-Owner) are refused with ${CONFIG_LOCKED.id}`,
    lockExempt: true,
    body: {
      owner: { type: 'string', description: 'owner name (default: the X-Kura-Owner header)' },
      ttl: { type: 'integer', description: 'seconds until it expires unless renewed (default 600); every change by the holder renews it' },
    },
  },
  release: {
    method: 'DELETE',
    path: '/api/v1/lock',
    tag: 'lock',
    summary: "Release the configuration lock (?force=true releases another owner's lock)",
    lockExempt: true,
    query: {
      force: { type: 'boolean', description: 'release even when another owner holds it' },
      owner: { type: 'string', description: 'owner name (default: the X-Kura-Owner header)' },
    },
  },
} satisfies Record<string, ApiRoute>;
