// Error catalogue: Redundant management (KURA-E8000..E8199, KURA-W8000..W8099): the array
// agent over HTTP with fencing tokens, managers on etcd (roles, failover, recruitment,
// replication of management data).
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError, defineEvent } from '../errors.js';
import type { CapReport } from './protocols.js';

export const FENCING_TOKEN_STALE = defineError(
  'KURA-E8001',
  'EPERM',
  (p: { role: string; token: number; highest: number }) =>
    `The array refused a change fenced with ${p.role} token ${p.token}: it has already seen token ${p.highest} for that role (a newer manager took over).`,
  'Nothing to do on this manager: it is no longer the active one. Send the request to the active manager (kura array list).',
  409,
);
export const FENCING_TOKEN_MISSING = defineError(
  'KURA-E8002',
  'EPERM',
  (p: { method: string }) =>
    `The array refused ${p.method}: a change through the array agent API must carry a fencing token (header x-kura-fencing: ROLE:TOKEN).`,
  'Change the array through its active manager; only a manager holding the active role has a fencing token.',
  403,
);
export const AGENT_TOKEN_MISSING = defineError(
  'KURA-E8003',
  'EPERM',
  'The request has no valid array agent token.',
  'Send "Authorization: Bearer TOKEN" with the token from the array\'s DATA/agent.token.',
  401,
);
export const AGENT_METHOD_UNKNOWN = defineError(
  'KURA-E8004',
  'EINVAL',
  (p: { method: string }) => `The array agent has no method ${p.method}.`,
  'Use a method of the ArrayAgent contract (src/array/agent.ts); the manager and the array may be of different versions.',
);
export const AGENT_REQUEST_INVALID = defineError(
  'KURA-E8005',
  'EINVAL',
  (p: { reason: string }) => `The array agent request is not valid: ${p.reason}.`,
  'Send a JSON object {"method": NAME, "args": [...]}.',
);
export const AGENT_UNREACHABLE = defineError(
  'KURA-E8006',
  'EIO',
  (p: { url: string; reason: string }) => `The array agent at ${p.url} cannot be reached: ${p.reason}.`,
  'Check that kura array runs there (it prints "ready") and that the URL and token file are right.',
  502,
);
export const AGENT_TOKEN_FILE = defineError(
  'KURA-E8007',
  'EIO',
  (p: { file: string; reason: string }) => `The array agent token file ${p.file} cannot be used: ${p.reason}.`,
  "Give the agent.token file from the array's data directory (mode 0600); delete a broken one to have the array make a new one.",
);
export const AGENT_NO_FENCING = defineError(
  'KURA-E8008',
  'EPERM',
  (p: { array: string }) => `This manager does not hold the active role for array ${p.array}: it may not change the array.`,
  'Send the request to the active manager of the array (kura array list); any manager forwards it there.',
  409,
);
export const ETCD_UNREACHABLE = defineError(
  'KURA-E8010',
  'EIO',
  (p: { endpoints: string; reason: string }) => `etcd at ${p.endpoints} cannot be reached: ${p.reason}.`,
  'Start etcd (Debian etcd-server) or give the right client URLs with --etcd URL,URL,...',
  503,
);
export const ARRAY_NOT_REGISTERED = defineError(
  'KURA-E8011',
  'ENOENT',
  (p: { array: string }) => `No array ${p.array} is registered with the managers.`,
  'See kura array list; register an array with kura array register AGENT_URL --token-file FILE.',
  404,
);
export const ARRAY_CHOICE_NEEDED = defineError(
  'KURA-E8012',
  'EINVAL',
  (p: { arrays: string }) => `Several arrays are registered (${p.arrays}): the request does not say which one.`,
  'Give --array ID (or KURA_ARRAY, header x-kura-array); kura array list shows the ids.',
);
export const NO_ARRAY_REGISTERED = defineError(
  'KURA-E8013',
  'ENOENT',
  'No array is registered with the managers yet.',
  'Register one: kura array register AGENT_URL --token-file DIR/agent.token.',
  404,
);
export const NO_ACTIVE_MANAGER = defineError(
  'KURA-E8014',
  'EBUSY',
  (p: { array: string }) => `Array ${p.array} has no active manager at the moment (a failover is under way).`,
  'Retry in a few seconds; kura array list shows when an active manager serves the array again.',
  503,
);
export const ACTIVE_MANAGER_UNREACHABLE = defineError(
  'KURA-E8015',
  'EIO',
  (p: { array: string; manager: string; reason: string }) => `The active manager ${p.manager} of array ${p.array} cannot be reached: ${p.reason}.`,
  'Retry in a few seconds: if it has failed, its standby takes over once its lease expires.',
  502,
);
export const MANAGER_NOT_ACTING = defineError(
  'KURA-E8016',
  'EBUSY',
  'This manager cannot refresh its etcd lease: it has stopped acting until it reaches etcd again.',
  "Check the manager's connection to etcd; another manager takes over its arrays.",
  503,
);
export const REPLICATION_REFUSED = defineError(
  'KURA-E8017',
  'EBUSY',
  (p: { array: string; reason: string }) => `Replication of array ${p.array}'s management data refused: ${p.reason}.`,
  'Nothing to do: the active manager recruits or resends when roles settle.',
  409,
);
export const ARRAY_ALREADY_REGISTERED = defineError(
  'KURA-E8018',
  'EEXIST',
  (p: { array: string; url: string }) => `Array ${p.array} is already registered (agent ${p.url}).`,
  'Nothing to do; kura array list shows it.',
);
export const MANAGER_OPTIONS = defineError('KURA-E8019', 'EINVAL', (p: { problem: string }) => `kura manager: ${p.problem}.`, 'See kura manager --help.');

export const CHANGE_NOT_REPLICATED = defineError(
  'KURA-E8020',
  'EIO',
  (p: { array: string }) =>
    `The change to array ${p.array} was made, but the standby manager did not acknowledge its record and this manager is no longer sure to be the active one: the record may be missing after a failover.`,
  'Check the result (kura array list shows the active manager; list the object on it) and repeat the change if it is not there.',
  503,
);
export const REPLICA_FILE_TOO_LARGE = defineError(
  'KURA-E8021',
  'EINVAL',
  (p: { array: string; file: string; max: number }) =>
    `Array ${p.array}: the replicated file ${p.file} exceeds ${p.max} bytes; the standby refused it and kept its previous copy.`,
  "Trim the active manager's event log (or the VVOL store) or raise the limit; until then the standby cannot confirm.",
  413,
);
export const REPLICA_TRANSFER_CUT = defineError(
  'KURA-E8022',
  'EIO',
  (p: { array: string; file: string; reason: string }) =>
    `Array ${p.array}: the transfer of ${p.file} was cut before it was complete (${p.reason}); the standby discarded the partial copy.`,
  'Nothing to do: the active manager sends the file again.',
  400,
);

export const STANDBY_LOST = defineEvent(
  'KURA-W8001',
  (p: { array: string; manager: string; active: string }) =>
    `Array ${p.array}: standby manager ${p.manager} is gone (its lease ended); active manager ${p.active} recruits a new standby.`,
  'None: a new standby is recruited among the live managers.',
);
export const ACTIVE_LOST = defineEvent(
  'KURA-W8002',
  (p: { array: string; manager: string; successor: string; token: number }) =>
    `Array ${p.array}: active manager ${p.manager} is gone (its lease expired); standby ${p.successor} took over as active with fencing token ${p.token}.`,
  'None: the new active manager recruits a new standby; restart the failed manager to have a spare again.',
);
export const NO_SPARE_MANAGER = defineEvent(
  'KURA-W8003',
  (p: { array: string; active: string }) =>
    `Array ${p.array}: no live manager is free to become standby for active manager ${p.active}; the array runs without a standby.`,
  'Start another kura manager on the same etcd: it is recruited as standby.',
);
export const ACTIVE_WITHOUT_STANDBY = defineEvent(
  'KURA-W8004',
  (p: { array: string; manager: string; token: number }) =>
    `Array ${p.array}: manager ${p.manager} became active with fencing token ${p.token} without a confirmed standby; management data recorded since the last replication may be missing.`,
  'None; check kura events for a gap.',
);
// The array agent listener's connection cap (src/limits/http-server.ts), the same sentence as the other listeners'.
export const AGENT_CONNECTION_CAP = defineEvent(
  'KURA-W8005',
  (p: CapReport) =>
    `${p.listener}: ${p.max} connections open, the cap; refused ${p.refused} new connection(s) since the last report. Raise ${p.option} or find the client holding connections open.`,
  'Raise the cap option named in the text, or find the client holding connections open.',
);
