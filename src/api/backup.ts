// REST routes of VM backup and restore (VVM 4.1, App. E, F.3), the VM-VVOL
// relation (App. E.1.2, App. C) and the provider settings (VVM 2.2-2.3):
// Kura's own API under /api/v1/vasa, like the rest of the provider.
import type { ApiRoute, FieldSpec } from './route.js';

const datacenter: FieldSpec = { type: 'string', description: "the VM's datacenter (its only one, else dc0, when left out)" };

export const BACKUPS = {
  list: { method: 'GET', path: '/api/v1/vasa/backups', tag: 'backup', summary: "Backup state of every VM (the seed's Virtual Volume VM list)" },
  show: {
    method: 'GET',
    path: '/api/v1/vasa/backups/vms/{vm}',
    tag: 'backup',
    summary: 'Backup state of a VM and of each disk: state, backupState, last and previous backups',
    query: { datacenter },
  },
  run: {
    method: 'POST',
    path: '/api/v1/vasa/backups/vms/{vm}/run',
    tag: 'backup',
    summary: 'Start an online backup of a VM (onlineBackup VM DATACENTER); a job, queued behind 4 running backups',
    status: 202,
    body: { datacenter },
  },
  cancel: {
    method: 'POST',
    path: '/api/v1/vasa/backups/vms/{vm}/cancel',
    tag: 'backup',
    summary: 'Cancel the backup of a VM: it ends as "Backup failed" (Backup is interrupted)',
    body: { datacenter },
  },
  restore: {
    method: 'POST',
    path: '/api/v1/vasa/backups/vms/{vm}/restore',
    tag: 'backup',
    summary: 'Restore a VM from its last or previous backup (data VVOLs; the config VVOL with config); copies in the background',
    status: 202,
    body: {
      datacenter,
      from: { type: 'string', required: true, enum: ['last', 'previous'], description: 'which backup' },
      disks: { type: 'string[]', description: 'disk names to restore (default: every data disk)' },
      config: { type: 'boolean', description: 'restore the config VVOL too' },
    },
  },
  job: {
    method: 'GET',
    path: '/api/v1/vasa/backups/jobs/{id}',
    tag: 'backup',
    summary: 'A backup or restore job: phase, progress, time left, the lines to print',
  },
  relation: {
    method: 'GET',
    path: '/api/v1/vasa/vms/{vm}/relation',
    tag: 'backup',
    summary: 'The relation between a VM and its VVOLs (VM-VVOLRelation VM DATACENTER)',
    query: { datacenter },
  },
  script: {
    method: 'GET',
    path: '/api/v1/vasa/vms/{vm}/backup-script',
    tag: 'backup',
    summary: "A shell script that backs the VM up (the seed's generated backup script)",
    query: { datacenter },
  },
} satisfies Record<string, ApiRoute>;

export const PROVIDER = {
  show: {
    method: 'GET',
    path: '/api/v1/vasa/provider/settings',
    tag: 'backup',
    summary: 'Provider settings: users, registered arrays, vCenter endpoint, output interval',
  },
  set: {
    method: 'PATCH',
    path: '/api/v1/vasa/provider/settings',
    tag: 'backup',
    summary: 'Change provider settings (SetProviderConf -s, -a, -d, -v, -t)',
    body: {
      user: { type: 'string', description: 'provider user name (with password)' },
      password: { type: 'string', description: 'provider password' },
      addArray: { type: 'string', description: 'register a disk array by its IPv4 address' },
      deleteArray: { type: 'string', description: 'unregister a disk array' },
      vcenterIp: { type: 'string', description: 'vCenter Server IPv4 address' },
      vcenterPort: { type: 'integer', description: 'vCenter Server HTTPS port (443)' },
      vcenterUser: { type: 'string', description: 'vCenter Single Sign On user' },
      vcenterPassword: { type: 'string', description: 'vCenter Single Sign On password' },
      interval: { type: 'integer', description: 'relation file output interval, 5-1440 minutes' },
    },
  },
  writeRelation: {
    method: 'POST',
    path: '/api/v1/vasa/provider/relation/write',
    tag: 'backup',
    summary: 'Run the configuration check now: write a relation file if the configuration changed',
  },
} satisfies Record<string, ApiRoute>;
