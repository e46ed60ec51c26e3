// REST routes of logical disks, with their I/O limits and plain NBD access.
import type { ApiRoute } from './route.js';

export const LDS = {
  list: { method: 'GET', path: '/api/v1/lds', tag: 'lds', summary: 'List logical disks' },
  create: {
    method: 'POST',
    path: '/api/v1/lds',
    tag: 'lds',
    summary: 'Create a thin logical disk (or the SSV with attr "ssv")',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'LD name (also its NBD export name)' },
      pool: { type: 'string', required: true, description: 'pool name or number' },
      size: { type: 'size', description: 'virtual capacity (required except for the SSV)' },
      attr: { type: 'string', description: '"ssv" for the solution reserved volume' },
      force: { type: 'boolean', description: 'create the SSV even in a pool with less than 4 GiB free (its space is then not reserved)' },
    },
  },
  show: { method: 'GET', path: '/api/v1/lds/{ref}', tag: 'lds', summary: 'Show a logical disk' },
  expand: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/expand',
    tag: 'lds',
    summary: 'Grow a logical disk: give exactly one of add (bytes to add) or total (the new virtual capacity)',
    body: {
      add: { type: 'size', description: 'capacity to add' },
      total: { type: 'size', description: 'new virtual capacity (larger than the current one)' },
      size: { type: 'size', description: 'new virtual capacity (older name of total)' },
    },
  },
  delete: {
    method: 'DELETE',
    path: '/api/v1/lds/{ref}',
    tag: 'lds',
    summary:
      'Delete a logical disk (refused while mapped or open unless ?force=true, which answers 200 with what it unmapped and cut off; ?fcvforce=true for a fast clone)',
    status: 204,
    query: {
      fcvforce: { type: 'boolean', description: 'confirm deleting a fast clone (FCV)' },
      force: {
        type: 'boolean',
        description:
          'unmap the LD from every host and delete it under open sessions (the answer lists them); also deletes a faulty SSV that snapshots still use',
      },
    },
  },
  setQos: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/qos',
    tag: 'lds',
    summary: 'Set I/O control limits (IOPS upper and lower; 0 clears)',
    body: {
      upper: { type: 'integer', description: 'IOPS upper limit, 10 to 1000000, 0 clears' },
      lower: { type: 'integer', description: 'IOPS lower (guaranteed) limit, 10 to 1000000, 0 clears' },
    },
  },
  setNbdPlain: {
    method: 'POST',
    path: '/api/v1/lds/{ref}/nbd-plain',
    tag: 'lds',
    summary: 'Open an LD (and its snapshots) to unidentified NBD clients while access control is on, or close it',
    body: { plain: { type: 'boolean', required: true, description: 'true: plain NBD clients may list and open the LD' } },
  },
} satisfies Record<string, ApiRoute>;
