// REST routes of pools.
import type { ApiRoute } from './route.js';

export const POOLS = {
  list: { method: 'GET', path: '/api/v1/pools', tag: 'pools', summary: 'List pools' },
  create: {
    method: 'POST',
    path: '/api/v1/pools',
    tag: 'pools',
    summary: 'Create a pool of new sparse PDs',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'pool name' },
      size: { type: 'size', required: true, description: 'usable capacity' },
      pds: { type: 'integer', description: 'PDs in the first RAID group' },
      raid: { type: 'string', description: 'RAID0, RAID1 (default) or RAID10' },
      chunk: { type: 'size', description: 'chunk size, a power of two from 64KiB to 64MiB (default 1MiB)' },
      threshold: { type: 'integer', description: 'actual-capacity threshold in percent (default 80)' },
      container: { type: 'boolean', description: "a Storage Container for VVOLs (VMware Type Container); fixed for the pool's life" },
    },
  },
  show: { method: 'GET', path: '/api/v1/pools/{ref}', tag: 'pools', summary: 'Show a pool' },
  set: {
    method: 'PATCH',
    path: '/api/v1/pools/{ref}',
    tag: 'pools',
    summary: 'Change pool settings: threshold, I/O limit defaults for new LDs',
    body: {
      threshold: { type: 'integer', description: 'actual-capacity threshold in percent' },
      qosUpper: { type: 'integer', description: 'default IOPS upper limit of new LDs (0 clears)' },
      qosLower: { type: 'integer', description: 'default IOPS lower limit of new LDs (0 clears)' },
      qosMode: { type: 'string', description: 'I/O control mode: on (LD limits act) or off' },
      container: { type: 'boolean', description: 'an existing pool cannot be converted to or from a Storage Container: refused' },
    },
  },
  expand: {
    method: 'POST',
    path: '/api/v1/pools/{ref}/expand',
    tag: 'pools',
    summary: 'Add capacity to a pool (a new RAID group of PDs), online: give exactly one of add (bytes to add) or total (the new capacity)',
    body: {
      add: { type: 'size', description: 'capacity to add' },
      total: { type: 'size', description: 'new total capacity (larger than the current one)' },
      size: { type: 'size', description: 'capacity to add (older name of add)' },
    },
  },
  delete: {
    method: 'DELETE',
    path: '/api/v1/pools/{ref}',
    tag: 'pools',
    summary: 'Delete a pool (refused while it holds LDs)',
    status: 204,
  },
} satisfies Record<string, ApiRoute>;
