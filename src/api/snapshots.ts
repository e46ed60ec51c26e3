// REST routes of snapshot generations (EBV/ESV) and fast clones (FEV/FCV).
import type { ApiRoute } from './route.js';

export const SNAPSHOTS = {
  list: { method: 'GET', path: '/api/v1/lds/{ref}/snapshots', tag: 'snapshots', summary: 'List snapshot generations of an LD' },
  create: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots',
    tag: 'snapshots',
    summary: 'Take a snapshot (the LD becomes an EBV, the snapshot an ESV)',
    status: 201,
    body: { name: { type: 'string', description: 'snapshot name (default genN)' } },
  },
  restore: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/{snap}/restore',
    tag: 'snapshots',
    summary: 'Revert the LD to a snapshot generation',
  },
  setAccess: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/{snap}/access',
    tag: 'snapshots',
    summary: 'Make a snapshot read/write or read-only (iSMsc_chgmod -volacc); writes to it never change the base',
    body: { access: { type: 'string', required: true, description: 'rw or ro' } },
  },
  delete: {
    method: 'DELETE',
    path: '/api/v1/lds/{ref}/snapshots/{snap}',
    tag: 'snapshots',
    summary: 'Delete a snapshot generation',
    status: 204,
  },
  deleteOldest: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/snapshots/delete-oldest',
    tag: 'snapshots',
    summary: 'Delete the oldest N generations (generationdel)',
    body: { count: { type: 'integer', required: true, description: 'how many generations' } },
  },
  createClone: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/clones',
    tag: 'snapshots',
    summary: 'Make a fast clone (the source becomes an FEV, the clone an FCV)',
    status: 201,
    body: { name: { type: 'string', required: true, description: 'name of the new clone LD' } },
  },
} satisfies Record<string, ApiRoute>;
