// REST routes of the VVOL provider (the VASA provider role, VVM chapter 3).
// Kura models the VASA operation set (vasa-summary.md) behind its own API
// under /api/v1/vasa; it is not VMware's SOAP interface (docs/vvol.md).
import type { ApiRoute, FieldSpec } from './route.js';

const ids: FieldSpec = { type: 'string[]', required: true, description: 'VVOL ids (naa.…)' };
const since: FieldSpec = { type: 'integer', description: 'only entries with a sequence number above this' };

export const VASA = {
  limits: {
    method: 'GET',
    path: '/api/v1/vasa/limits',
    tag: 'vasa',
    summary: 'The limits the provider advertises (maxBindVirtualVolume, concurrent requests per session, ...)',
  },
  capabilities: {
    method: 'GET',
    path: '/api/v1/vasa/capabilities',
    tag: 'vasa',
    summary: 'Capability metadata: the rules a storage policy may set (com.nec.jp.ism.vasaprovider)',
  },
  events: { method: 'GET', path: '/api/v1/vasa/events', tag: 'vasa', summary: 'Provider events (configuration changes), oldest first', query: { since } },
  alarms: { method: 'GET', path: '/api/v1/vasa/alarms', tag: 'vasa', summary: 'Provider alarms (warnings), oldest first', query: { since } },
  task: { method: 'GET', path: '/api/v1/vasa/tasks/{id}', tag: 'vasa', summary: 'A task: state, progress (percent), result or error' },
  cancelTask: {
    method: 'POST',
    path: '/api/v1/vasa/tasks/{id}/cancel',
    tag: 'vasa',
    summary: 'Cancel a task: a queued one at once, a running full copy stops and its partial volume is deleted',
  },
} satisfies Record<string, ApiRoute>;

export const CONTAINERS = {
  list: { method: 'GET', path: '/api/v1/vasa/containers', tag: 'vasa', summary: 'Storage containers (container pools) with space stats' },
  show: { method: 'GET', path: '/api/v1/vasa/containers/{ref}', tag: 'vasa', summary: 'A storage container (pool number, pool name or container id)' },
  compliance: {
    method: 'GET',
    path: '/api/v1/vasa/containers/{ref}/compliance',
    tag: 'vasa',
    summary: 'Whether a container satisfies a storage policy, rule by rule',
    query: { policy: { type: 'string', required: true, description: 'storage policy name' } },
  },
} satisfies Record<string, ApiRoute>;

export const PES = {
  list: { method: 'GET', path: '/api/v1/vasa/pes', tag: 'vasa', summary: 'Protocol endpoints with their bound VVOLs' },
  create: {
    method: 'POST',
    path: '/api/v1/vasa/pes',
    tag: 'vasa',
    summary: 'Create a protocol endpoint (the administrative LU of a LUN conglomerate) in a storage container; at most 8 per array',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'PE (LD) name' },
      pool: { type: 'string', required: true, description: 'storage container: pool name or number' },
      owner: { type: 'integer', description: 'owner controller, 0 or 1' },
    },
  },
  show: { method: 'GET', path: '/api/v1/vasa/pes/{ref}', tag: 'vasa', summary: 'A protocol endpoint (name, LD number or eui. id)' },
  delete: {
    method: 'DELETE',
    path: '/api/v1/vasa/pes/{ref}',
    tag: 'vasa',
    summary: 'Delete a protocol endpoint (refused while VVOLs are bound through it)',
    status: 204,
  },
} satisfies Record<string, ApiRoute>;

export const VVOLS = {
  list: {
    method: 'GET',
    path: '/api/v1/vasa/vvols',
    tag: 'vasa',
    summary: 'VVOLs, optionally by container, VM or type',
    query: {
      container: { type: 'string', description: 'container: pool name, number or container id' },
      vm: { type: 'string', description: 'virtual machine' },
      type: { type: 'string', description: 'config, data, swap or memory', enum: ['config', 'data', 'swap', 'memory'] },
    },
  },
  create: {
    method: 'POST',
    path: '/api/v1/vasa/vvols',
    tag: 'vasa',
    summary: 'Create a VVOL (an LD with Purpose VVOL) in a storage container; below 1 GB it is made at 1 GB with a warning',
    status: 201,
    body: {
      container: { type: 'string', required: true, description: 'container: pool name, number or container id' },
      type: { type: 'string', required: true, description: 'config, data, swap or memory', enum: ['config', 'data', 'swap', 'memory'] },
      size: { type: 'size', required: true, description: 'capacity' },
      vm: { type: 'string', required: true, description: 'the virtual machine it belongs to' },
      policy: { type: 'string', description: 'storage policy name' },
      metadata: { type: 'map', description: 'key/value metadata' },
    },
  },
  show: { method: 'GET', path: '/api/v1/vasa/vvols/{id}', tag: 'vasa', summary: 'A VVOL with its metadata and bound PEs' },
  metadata: {
    method: 'PATCH',
    path: '/api/v1/vasa/vvols/{id}/metadata',
    tag: 'vasa',
    summary: 'Set (string) or remove (null) metadata keys',
    body: { metadata: { type: 'map', required: true, description: 'keys to set (a string) or remove (null)' } },
  },
  resize: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/resize',
    tag: 'vasa',
    summary: 'Grow a VVOL (its backup volumes first)',
    body: { size: { type: 'size', required: true, description: 'new capacity' } },
  },
  delete: { method: 'DELETE', path: '/api/v1/vasa/vvols/{id}', tag: 'vasa', summary: 'Delete a VVOL (a snapshot is deleted by the array in a task)' },
  deleteBatch: { method: 'POST', path: '/api/v1/vasa/vvols/batch-delete', tag: 'vasa', summary: 'Delete several VVOLs: one result per VVOL', body: { ids } },
  revert: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/revert',
    tag: 'vasa',
    summary: 'Revert an unbound VVOL to one of its snapshots',
    body: { snapshot: { type: 'string', required: true, description: 'the snapshot VVOL id' } },
  },
  fastClone: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/fast-clone',
    tag: 'vasa',
    summary: 'Linked clone (an FCV sharing the data): starts a task',
    status: 202,
    body: {
      vm: { type: 'string', required: true, description: 'the VM the clone belongs to' },
      policy: { type: 'string', description: 'storage policy name' },
      metadata: { type: 'map', description: 'key/value metadata' },
    },
  },
  clone: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/clone',
    tag: 'vasa',
    summary: 'Full clone through a replication pair: starts a task with progress, cancellable',
    status: 202,
    body: {
      vm: { type: 'string', required: true, description: 'the VM the clone belongs to' },
      container: { type: 'string', description: 'target container (default the source one)' },
      policy: { type: 'string', description: 'storage policy name' },
      metadata: { type: 'map', description: 'key/value metadata' },
    },
  },
  migrate: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/migrate',
    tag: 'vasa',
    summary: 'Move a VVOL to another container (full copy, then the source goes): starts a task',
    status: 202,
    body: { container: { type: 'string', required: true, description: 'target container' } },
  },
  space: { method: 'GET', path: '/api/v1/vasa/vvols/{id}/space', tag: 'vasa', summary: 'Capacity and allocated bytes of a VVOL' },
  allocatedBitmap: {
    method: 'GET',
    path: '/api/v1/vasa/vvols/{id}/bitmaps/allocated',
    tag: 'vasa',
    summary: 'Allocated bitmap: one bit per chunk that holds data (base64, most significant bit first)',
    query: { offset: { type: 'size', description: 'first byte (default 0)' }, length: { type: 'size', description: 'bytes (default to the end)' } },
  },
  unsharedBitmap: {
    method: 'GET',
    path: '/api/v1/vasa/vvols/{id}/bitmaps/unshared',
    tag: 'vasa',
    summary: 'Unshared bitmap against a base VVOL (a snapshot or clone relative): one bit per chunk that differs',
    query: {
      base: { type: 'string', required: true, description: 'the base VVOL id' },
      offset: { type: 'size', description: 'first byte (default 0)' },
      length: { type: 'size', description: 'bytes (default to the end)' },
    },
  },
  setPolicy: {
    method: 'POST',
    path: '/api/v1/vasa/vvols/{id}/policy',
    tag: 'vasa',
    summary: 'Apply a storage policy to a VVOL (or clear it)',
    body: { policy: { type: 'string', description: 'storage policy name; absent clears it' } },
  },
  compliance: { method: 'GET', path: '/api/v1/vasa/vvols/{id}/compliance', tag: 'vasa', summary: 'Whether a VVOL satisfies its storage policy, rule by rule' },
  snapshots: { method: 'GET', path: '/api/v1/vasa/vvols/{id}/snapshots', tag: 'vasa', summary: 'Snapshots of a VVOL, oldest first' },
  bindings: { method: 'GET', path: '/api/v1/vasa/vvols/{id}/bindings', tag: 'vasa', summary: 'Bindings of a VVOL: PE, subsidiary LU id, bind count per host' },
  bind: {
    method: 'POST',
    path: '/api/v1/vasa/bind',
    tag: 'vasa',
    summary: 'Bind VVOLs for a host (reference counted): each becomes a subsidiary LU behind a PE the host sees',
    body: { ids, host: { type: 'string', required: true, description: 'host entry name' } },
  },
  unbind: {
    method: 'POST',
    path: '/api/v1/vasa/unbind',
    tag: 'vasa',
    summary: 'Take one bind of a host away from each VVOL',
    body: { ids, host: { type: 'string', required: true, description: 'host entry name' } },
  },
  unbindAll: { method: 'POST', path: '/api/v1/vasa/unbind-all', tag: 'vasa', summary: 'Unbind VVOLs from every host', body: { ids } },
  prepareSnapshot: {
    method: 'POST',
    path: '/api/v1/vasa/snapshots/prepare',
    tag: 'vasa',
    summary: 'First phase of a VM snapshot: check and reserve; returns a prepare id',
    body: { ids },
  },
  abandonSnapshot: {
    method: 'POST',
    path: '/api/v1/vasa/snapshots/{prepareId}/abandon',
    tag: 'vasa',
    summary: "Drop a prepared snapshot that will not be taken (frees the VM's snapshot slot it reserved)",
  },
  snapshot: {
    method: 'POST',
    path: '/api/v1/vasa/snapshots/{prepareId}/take',
    tag: 'vasa',
    summary: 'Second phase: take the prepared snapshot (ESVs) in a task',
    status: 202,
    body: { name: { type: 'string', description: 'snapshot name' } },
  },
} satisfies Record<string, ApiRoute>;

export const POLICIES = {
  list: { method: 'GET', path: '/api/v1/vasa/policies', tag: 'vasa', summary: 'Storage policies' },
  create: {
    method: 'POST',
    path: '/api/v1/vasa/policies',
    tag: 'vasa',
    summary: 'Create a storage policy (rules under com.nec.jp.ism.vasaprovider)',
    status: 201,
    body: {
      name: { type: 'string', required: true, description: 'policy name' },
      raid: { type: 'string', description: 'RAID0, RAID1 or RAID10' },
      pdType: { type: 'string', description: 'SSD, SAS, NLSAS or FILE' },
      encryption: { type: 'boolean', description: 'Specify Encrypt PD' },
      backup: { type: 'boolean', description: 'Enable Backup' },
      generations: { type: 'integer', description: 'backup generations, 1 or 2' },
      autoDelete: { type: 'boolean', description: 'delete backup volumes with their VVOL' },
      iopsUpper: { type: 'integer', description: 'I/O upper limit, 10 to 1,000,000 IOPS' },
      iopsLower: { type: 'integer', description: 'I/O lower limit, 10 to 1,000,000 IOPS, below the upper' },
    },
  },
  show: { method: 'GET', path: '/api/v1/vasa/policies/{name}', tag: 'vasa', summary: 'A storage policy' },
  delete: { method: 'DELETE', path: '/api/v1/vasa/policies/{name}', tag: 'vasa', summary: 'Delete a storage policy (refused while VVOLs use it)', status: 204 },
} satisfies Record<string, ApiRoute>;
