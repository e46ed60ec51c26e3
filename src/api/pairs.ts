// REST routes of replication pairs (DynamicDataReplication).
import type { ApiRoute } from './route.js';

export const PAIRS = {
  list: { method: 'GET', path: '/api/v1/pairs', tag: 'pairs', summary: 'Replication pairs (MV → RV) with their states and copy progress' },
  create: {
    method: 'POST',
    path: '/api/v1/pairs',
    tag: 'pairs',
    summary: 'Pair two LDs of the same size (DynamicDataReplication licence); the pair starts separated',
    status: 201,
    body: {
      mv: { type: 'string', required: true, description: 'master volume: LD name or number' },
      rv: { type: 'string', required: true, description: 'replication volume: LD name or number (not mapped to a host)' },
    },
  },
  show: {
    method: 'GET',
    path: '/api/v1/pairs/{mv}/{rv}',
    tag: 'pairs',
    summary: 'One pair as iSMrc_query shows it: activity, sync state, differences, progress, remaining time',
  },
  replicate: {
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/replicate',
    tag: 'pairs',
    summary: 'Copy MV → RV in the background (all allocated chunks the first time, differences after), mirroring writes from then on',
    body: { force: { type: 'boolean', description: 'replicate even over an RV whose restore to the MV was cut short (the MV is then partly restored)' } },
  },
  separate: {
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/separate',
    tag: 'pairs',
    summary: 'Separate: freeze the RV and make it accessible; with a copy running, sep/exec until it ends (force: at once, RV incomplete)',
    body: {
      rvAccess: { type: 'string', enum: ['rw', 'ro'], description: 'RV access after the separate: rw (default) or ro' },
      force: { type: 'boolean', description: 'separate at once even if a copy is running (the RV is then incomplete: sync state fault)' },
    },
  },
  restore: {
    method: 'POST',
    path: '/api/v1/pairs/{mv}/{rv}/restore',
    tag: 'pairs',
    summary: 'Restore: copy RV → MV in the background; the MV stays readable and writable meanwhile',
  },
  delete: {
    method: 'DELETE',
    path: '/api/v1/pairs/{mv}/{rv}',
    tag: 'pairs',
    summary: 'Unpair (a separated pair; ?force=true in any state, stopping a running copy)',
    query: { force: { type: 'boolean', description: 'unpair even when not separated' } },
  },
} satisfies Record<string, ApiRoute>;
