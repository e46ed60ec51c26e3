// Error catalogue: The disk array (KURA-E2xxx, KURA-W2xxx): objects, snapshots, clones, QoS, hosts, pairs, lock, events.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { CatalogueId, defineError, defineEvent } from '../errors.js';

export const ARRAY_CANNOT_OPEN = defineError(
  'KURA-E2001',
  'EIO',
  (p: { dataDir: string; reason: string }) => `The array in ${p.dataDir} cannot be opened: ${p.reason}.`,
  'Check that the data directory is readable and not used by another kura process.',
);
export const POOL_OUT_OF_SPACE = defineEvent(
  'KURA-E2003',
  (p: { pool: string; ld: string }) =>
    `Pool ${p.pool} is out of physical space: a write to LD ${p.ld} failed. Expand the pool (kura pool expand ${p.pool} --size SIZE) or free space.`,
  'Expand the pool (kura pool expand POOL --size SIZE) or free space.',
);
export const PD_FAILED = defineEvent(
  'KURA-E2004',
  (p: { number: number; path: string; pool: string; reason: string; state: string }) =>
    `PD ${p.number} (${p.path}) of pool ${p.pool} failed: ${p.reason}. Pool state is ${p.state}.`,
  "Replace the failed PD; kura pool show tells the pool's state.",
);
export const METADATA_COMMIT_FAILED_EVENT = defineEvent(
  'KURA-E2005',
  (p: { reason: string }) => `Metadata commit failed: ${p.reason}. Check the data directory's file system.`,
  "Check the data directory's file system.",
);
export const RESYNC_STOPPED = defineEvent(
  'KURA-E2008',
  (p: { pool: string; reason: string }) =>
    `Pool ${p.pool}: mirror resync stopped: ${p.reason}. Reads keep using one mirror; check the pool's PDs and restart the array to retry.`,
  "Check the pool's PDs and restart the array to retry.",
);
export const POOL_NOT_FOUND = defineError(
  'KURA-E2020',
  'ENOENT',
  (p: { ref: string | number }) => `Pool ${p.ref} does not exist.`,
  'List pools with kura pool list.',
);
export const POOL_EXISTS = defineError('KURA-E2021', 'EEXIST', (p: { name: string }) => `Pool ${p.name} already exists.`, 'Choose another name.');
export const LD_NOT_FOUND = defineError('KURA-E2030', 'ENOENT', (p: { ref: string | number }) => `LD ${p.ref} does not exist.`, 'List LDs with kura ld list.');
export const LD_EXISTS = defineError('KURA-E2031', 'EEXIST', (p: { name: string }) => `LD ${p.name} already exists.`, 'Choose another name.');
export const LD_ATTRIBUTE_UNKNOWN = defineError(
  'KURA-E2032',
  'EINVAL',
  (p: { attr: string }) => `LD attribute ${p.attr} is not known.`,
  'Give --attr ssv for the solution reserved volume, or no attribute.',
);
export const SSV_EXISTS = defineError(
  'KURA-E2033',
  'EEXIST',
  (p: { name: string }) => `The array already has a solution reserved volume (${p.name}).`,
  'An array has one SSV; use the existing one.',
);
export const SSV_NEEDED = defineError(
  'KURA-E2034',
  'EPERM',
  (p: { what: string }) => `${p.what} needs a solution reserved volume, and the array has none.`,
  'Create one with kura ld create NAME --pool POOL --attr ssv.',
);
export const LD_IS_ESV = defineError(
  'KURA-E2035',
  'EINVAL',
  (p: { ld: string; snapshot: string }) => `LD ${p.ld} is a snapshot generation (ESV).`,
  (p) => `Delete it with kura snapshot delete ${p.snapshot}.`,
);
export const LD_IS_FCV = defineError(
  'KURA-E2036',
  'EPERM',
  (p: { ld: string }) => `LD ${p.ld} is a fast clone (FCV).`,
  (p) => `Confirm with kura ld delete ${p.ld} --fcvforce.`,
);
export const LD_IS_EBV = defineError(
  'KURA-E2037',
  'EBUSY',
  (p: { ld: string; length: number }) => `LD ${p.ld} is the base (EBV) of ${p.length} snapshot generation(s).`,
  (p) => `Delete its snapshots first (kura snapshot delete-oldest ${p.ld} --count ${p.length}).`,
);
export const SSV_IN_USE = defineError(
  'KURA-E2038',
  'EBUSY',
  (p: { users: number }) => `The solution reserved volume is needed by ${p.users} snapshot(s) or clone(s).`,
  'Delete them first; --force is accepted only when the SSV is faulty.',
);
export const HOST_NOT_FOUND = defineError('KURA-E2040', 'ENOENT', (p: { name: string }) => `Host ${p.name} does not exist.`, 'List hosts with kura host list.');
export const HOST_EXISTS = defineError(
  'KURA-E2042',
  'EEXIST',
  (p: { name: string }) => `Host ${p.name} already exists.`,
  'Choose another name or add initiators to it.',
);
export const NOT_ISCSI_NAME = defineError(
  'KURA-E2043',
  'EINVAL',
  (p: { name: string; why: string }) => `${p.name} is not an iSCSI name: ${p.why}.`,
  'Give an iqn., eui. or naa. name, e.g. iqn.1994-05.com.redhat:host1.',
);
export const INITIATOR_TAKEN = defineError(
  'KURA-E2044',
  'EEXIST',
  (p: { iqn: string; owner: string }) => `Initiator ${p.iqn} already belongs to host ${p.owner}.`,
  'Remove it from that host first.',
);
export const INITIATOR_NOT_IN_HOST = defineError(
  'KURA-E2045',
  'ENOENT',
  (p: { iqn: string; name: string }) => `Initiator ${p.iqn} is not part of host ${p.name}.`,
  'Check kura host list.',
);
export const LUN_RANGE = defineError(
  'KURA-E2046',
  'EINVAL',
  (p: { lun: number; maxLun: number }) => `LUN ${p.lun} is out of range.`,
  (p) => `Give a LUN from 0 to ${p.maxLun}.`,
);
export const LUN_MAPPED = defineError(
  'KURA-E2047',
  'EEXIST',
  (p: { lun: number; name: string }) => `LUN ${p.lun} of host ${p.name} is already mapped.`,
  'Unmap it first or choose another LUN.',
);
export const LD_MAPPED_TO_HOST = defineError(
  'KURA-E2048',
  'EEXIST',
  (p: { name: string; l: number }) => `The LD is already mapped to host ${p.name} as LUN ${p.l}.`,
  'An LD appears once per host.',
);
export const LUN_NOT_MAPPED = defineError(
  'KURA-E2049',
  'ENOENT',
  (p: { lun: number; name: string }) => `LUN ${p.lun} of host ${p.name} is not mapped.`,
  'Check kura host list.',
);
export const CONTROLLER_NOT_FOUND = defineError(
  'KURA-E2050',
  'EINVAL',
  (p: { n: number; max: number }) => `Controller ${p.n} does not exist.`,
  (p) => `Give a controller number from 0 to ${p.max}.`,
);
export const HOST_PORT_NOT_FOUND = defineError(
  'KURA-E2051',
  'ENOENT',
  (p: { host: string; port: number }) => `Host port ${p.host}:${p.port} does not exist.`,
  'List host ports with kura array show.',
);
export const CONTROLLER_DOWN = defineError(
  'KURA-E2054',
  'EBUSY',
  (p: { host: string; port: number; controller: number }) => `Host port ${p.host}:${p.port} belongs to controller ${p.controller}, which is down.`,
  (p) => `Bring the controller up first (kura fault controller-up ${p.controller}).`,
);
export const LICENCE_UNKNOWN = defineError(
  'KURA-E2060',
  'EINVAL',
  (p: { name: string; licences: string }) => `There is no licence named ${p.name}.`,
  (p) => `Give one of ${p.licences}.`,
);
export const LICENCE_LOCKED = defineError(
  'KURA-E2061',
  'EPERM',
  (p: { what: string; name: string }) => `${p.what} needs the ${p.name} licence, which is locked on this array.`,
  (p) => `Unlock it with kura license unlock ${p.name}.`,
);
export const SNAPSHOT_NOT_FOUND = defineError(
  'KURA-E2070',
  'ENOENT',
  (p: { base: string; snap: string | number }) => `LD ${p.base} has no snapshot ${p.snap}.`,
  (p) => `List them with kura snapshot list ${p.base}.`,
);
export const SSV_SNAPSHOT = defineError(
  'KURA-E2071',
  'EINVAL',
  (p: { base: string }) => `LD ${p.base} is the solution reserved volume and cannot be snapshotted.`,
  'Snapshot an ordinary LD or a snapshot.',
);
export const SNAPSHOT_GENERATIONS_FULL = defineError(
  'KURA-E2072',
  'ENOSPC',
  (p: { base: string; maxGenerations: number }) => `LD ${p.base} already has ${p.maxGenerations} snapshot generations, the most an EBV may have.`,
  (p) => `Delete old generations (kura snapshot delete-oldest ${p.base} --count N).`,
);

/** A snapshot or clone would be deeper than the layer limit. */
const KURA_E2073 = new CatalogueId('KURA-E2073', 'ENOSPC', 'A snapshot or clone would be deeper than the layer limit.');
export const SNAPSHOT_LAYERS_FULL = KURA_E2073.error(
  (p: { base: string; layer: number; maxLayers: number }) =>
    `A snapshot of LD ${p.base} would be layer ${p.layer}; at most ${p.maxLayers} layers of snapshots and clones are allowed.`,
  'Snapshot or clone an LD closer to the original.',
);
export const CLONE_LAYERS_FULL = KURA_E2073.error(
  (p: { src: string; layer: number; maxLayers: number }) =>
    `A clone of LD ${p.src} would be layer ${p.layer}; at most ${p.maxLayers} layers of snapshots and clones are allowed.`,
  'Clone an LD closer to the original.',
);
export const SNAPSHOT_EXISTS = defineError(
  'KURA-E2075',
  'EEXIST',
  (p: { base: string; snapName: string }) => `LD ${p.base} already has a snapshot named ${p.snapName}.`,
  'Choose another name.',
);
export const SNAPSHOT_SIZE_DIFFERS = defineError(
  'KURA-E2076',
  'EINVAL',
  (p: { snap: string | number; capacity: number; base: string; capacity2: number }) =>
    `Snapshot ${p.snap} is ${p.capacity} bytes but LD ${p.base} is now ${p.capacity2}.`,
  'Restore a snapshot taken at the current size.',
);
export const GENERATION_COUNT_INVALID = defineError(
  'KURA-E2077',
  'EINVAL',
  (p: { count: number }) => `Count ${p.count} is not a positive number of generations.`,
  'Give --count 1 or more.',
);
export const LD_IS_FEV = defineError(
  'KURA-E2080',
  'EBUSY',
  (p: { l: string; n: number }) => `LD ${p.l} is the source (FEV) of ${p.n} fast clone(s).`,
  'Delete its clones (kura ld delete NAME --fcvforce) first.',
);
export const SSV_CLONE = defineError('KURA-E2081', 'EINVAL', 'The solution reserved volume cannot be cloned.', 'Clone an ordinary LD or a snapshot.');
export const CLONES_FULL = defineError(
  'KURA-E2082',
  'ENOSPC',
  (p: { src: string; maxFcvsPerFev: number }) => `LD ${p.src} already has ${p.maxFcvsPerFev} fast clones, the most an FEV may have.`,
  'Delete a clone or clone another LD.',
);
export const IOPS_RANGE = defineError(
  'KURA-E2090',
  'EINVAL',
  (p: { k: string; v: number; qosMin: number; qosMax: string }) => `IOPS ${p.k} limit ${p.v} is out of range.`,
  (p) => `Give ${p.qosMin} to ${p.qosMax} IOPS, or 0 to clear it.`,
);
export const IOPS_UPPER_BELOW_LOWER = defineError(
  'KURA-E2091',
  'EINVAL',
  (p: { upper: number; lower: number }) => `The upper limit (${p.upper}) must be above the lower limit (${p.lower}).`,
  'Raise the upper limit or lower the lower one.',
);
export const QOS_NOT_APPLICABLE = defineError(
  'KURA-E2092',
  'EINVAL',
  (p: { what: string }) => `I/O control does not apply to ${p.what}.`,
  'Set limits on its base LD or on an ordinary LD.',
);
export const CHAP_USER_INVALID = defineError(
  'KURA-E2100',
  'EINVAL',
  'The CHAP user name is empty, too long or holds spaces or control characters.',
  'Give 1 to 255 printable characters without spaces.',
);
export const CHAP_SECRET_LENGTH = defineError(
  'KURA-E2101',
  'EINVAL',
  (p: { minSecret: number; maxSecret: number }) => `The CHAP secret must be ${p.minSecret} to ${p.maxSecret} printable characters.`,
  'Choose a longer secret; initiators such as Windows and ESXi accept 12 to 16 characters.',
);
export const HOST_HAS_NO_CHAP = defineError(
  'KURA-E2102',
  'ENOENT',
  (p: { name: string }) => `Host ${p.name} has no CHAP credentials.`,
  'Nothing to clear; kura host list shows which hosts use CHAP.',
);
export const TARGET_HAS_NO_MUTUAL_CHAP = defineError(
  'KURA-E2103',
  'ENOENT',
  'The target has no mutual CHAP credentials.',
  'Nothing to clear; kura target show tells what is set.',
);
export const PAIR_WITH_ITSELF = defineError(
  'KURA-E2301',
  'EINVAL',
  (p: { mv: string }) => `LD ${p.mv} cannot be paired with itself.`,
  'Give two different LDs: the MV (source) and the RV (copy).',
);
export const PAIR_SIZES_DIFFER = defineError(
  'KURA-E2302',
  'EINVAL',
  (p: { mv: string; capacity: number; rv: string; capacity2: number }) => `MV ${p.mv} is ${p.capacity} bytes but RV ${p.rv} is ${p.capacity2}.`,
  'Pair LDs of the same size (kura ld create RV --pool POOL --size SIZE-OF-MV).',
);
/** A volume the pair rules exclude from a role (VVM Table 4-1). */
const KURA_E2303 = new CatalogueId('KURA-E2303', 'EINVAL', 'A volume cannot take this role in a replication pair.');
export const PAIR_ROLE_NOT_ALLOWED = KURA_E2303.error(
  (p: { ld: string; what: string; role: string }) => `LD ${p.ld} is ${p.what} and cannot be an ${p.role}.`,
  'Pair ordinary LDs, snapshots (as MV), EBVs or FCVs.',
);
export const SNAPSHOT_AS_RV = KURA_E2303.error(
  (p: { ld: string; what: string; role: string }) => `LD ${p.ld} is ${p.what} and cannot be an ${p.role}.`,
  'A snapshot may be the MV of a pair; give an ordinary LD, EBV or FCV as the RV.',
);
export const RV_MAPPED = defineError(
  'KURA-E2305',
  'EBUSY',
  (p: { rv: string; hosts: string }) => `LD ${p.rv} is mapped to host(s) ${p.hosts} and would be overwritten as an RV.`,
  'Unmap it first (kura host unmap HOST LUN).',
);
/** Formerly KURA-E2306. */
export const MV_IS_RV = defineError(
  'KURA-E2700',
  'EBUSY',
  (p: { mv: string; mv2: string }) => `LD ${p.mv} is already the RV of MV ${p.mv2}.`,
  'An RV cannot be an MV too; unpair it first.',
);
export const RV_IN_PAIR = defineError(
  'KURA-E2306',
  'EBUSY',
  (p: { rv: string; attribute: string }) => `LD ${p.rv} is already in a replication pair (${p.attribute}).`,
  'Choose an LD that is in no pair as the RV.',
);
export const RVS_FULL = defineError(
  'KURA-E2307',
  'ENOSPC',
  (p: { mv: string; maxRvsPerMv: number }) => `MV ${p.mv} already has ${p.maxRvsPerMv} RVs, the most one LD may be paired with.`,
  'Delete a pair of it first (kura pair delete MV RV).',
);
export const PAIR_NOT_FOUND = defineError(
  'KURA-E2308',
  'ENOENT',
  (p: { mv: string; rv: string }) => `LDs ${p.mv} and ${p.rv} are not a replication pair (MV ${p.mv}, RV ${p.rv}).`,
  'List pairs with kura pair list.',
);
export const PAIR_COPYING = defineError(
  'KURA-E2310',
  'EBUSY',
  (p: { mv: string; rv: string; what: string; sync: string; arg: number }) =>
    `Pair ${p.mv} → ${p.rv} cannot ${p.what} now: it is in ${p.sync} with a copy ${p.arg}% done.`,
  'Wait for the copy to finish (kura pair show MV RV, or --wait), or separate it with --force.',
);
export const MV_RESTORING = defineError(
  'KURA-E2311',
  'EBUSY',
  (p: { mv: string; rv: string }) => `MV ${p.mv} is being restored from RV ${p.rv}.`,
  'Wait for the restore to finish (kura pair show), then replicate.',
);
export const RV_INCOMPLETE = defineError(
  'KURA-E2312',
  'EINVAL',
  (p: { rv: string; mv: string }) => `RV ${p.rv} does not hold a complete copy of MV ${p.mv} (the last copy did not finish).`,
  (p) => `Replicate the pair first (kura pair replicate ${p.mv} ${p.rv}).`,
);
export const MV_PAIR_NOT_SEPARATED = defineError(
  'KURA-E2313',
  'EBUSY',
  (p: { mv: string; rv: string }) => `MV ${p.mv} is also paired with RV ${p.rv}, which is not separated.`,
  (p) => `Separate that pair first (kura pair separate ${p.mv} ${p.rv}).`,
);
export const PAIR_SEPARATED_ALREADY = defineError(
  'KURA-E2314',
  'EINVAL',
  (p: { mv: string; rv: string }) => `Pair ${p.mv} → ${p.rv} is already separated.`,
  (p) => `Replicate it first (kura pair replicate ${p.mv} ${p.rv}).`,
);
export const PAIR_SEPARATING = defineError(
  'KURA-E2315',
  'EBUSY',
  (p: { mv: string; rv: string; arg: number }) => `Pair ${p.mv} → ${p.rv} is already separating; its copy is ${p.arg}% done.`,
  'Wait for it (kura pair show), or give --force to separate at once with an incomplete RV.',
);
export const PAIR_NOT_SEPARATED = defineError(
  'KURA-E2316',
  'EBUSY',
  (p: { mv: string; rv: string; sync: string }) => `Pair ${p.mv} → ${p.rv} is not separated (${p.sync}).`,
  (p) => `Separate it first (kura pair separate ${p.mv} ${p.rv}), or give --force.`,
);
export const RV_ACCESS_UNKNOWN = defineError(
  'KURA-E2317',
  'EINVAL',
  (p: { access: string }) => `RV access ${p.access} is not known.`,
  'Give rw (read/write, the default) or ro (read-only).',
);
export const LD_IN_PAIR = defineError(
  'KURA-E2318',
  'EBUSY',
  (p: { l: string; role: string; mv: string; rv: string }) => `LD ${p.l} is the ${p.role} of a replication pair (${p.mv} → ${p.rv}).`,
  (p) => `Unpair it first (kura pair separate ${p.mv} ${p.rv}; kura pair delete ${p.mv} ${p.rv}).`,
);
export const EXPAND_IN_PAIR = defineError(
  'KURA-E2319',
  'EBUSY',
  (p: { l: string; mv: string; rv: string; sync: string }) =>
    `Failed to expand the specified volume because the volume is being replicated: LD ${p.l} is in pair ${p.mv} → ${p.rv} (${p.sync}).`,
  (p) => `A logical disk in the replicate state cannot be expanded: separate the pair (kura pair separate ${p.mv} ${p.rv}), then expand it.`,
);
export const REVERT_IN_PAIR = defineError(
  'KURA-E2320',
  'EBUSY',
  (p: { l: string; mv: string; rv: string; sync: string }) =>
    `LD ${p.l} is in replication pair ${p.mv} → ${p.rv} (${p.sync}); restoring a snapshot would bypass it.`,
  (p) => `Separate the pair first (kura pair separate ${p.mv} ${p.rv}).`,
);
export const MV_PARTLY_RESTORED = defineError(
  'KURA-E2321',
  'EBUSY',
  (p: { mv: string; rv: string }) =>
    `MV ${p.mv} is only partly restored from RV ${p.rv} (the restore was cut short); a replicate would copy it over the whole RV.`,
  (p) => `Restore again (kura pair restore ${p.mv} ${p.rv}), or give --force to replicate anyway.`,
);
export const RV_NOT_READY = defineError(
  'KURA-E2330',
  'ENOTREADY',
  (p: { ld: string; sync: string; mv: string; rv: string }) => `LD ${p.ld} is the RV of a replication pair in ${p.sync} and is not ready (RV access nr).`,
  (p) => `Separate the pair (kura pair separate ${p.mv} ${p.rv}) to use the RV.`,
);
export const RV_READ_ONLY = defineError(
  'KURA-E2331',
  'EROFS',
  (p: { ld: string }) => `LD ${p.ld} is a separated RV with read-only access.`,
  'Separate it with --rv-access rw to write to it.',
);
export const PAIR_COPY_STOPPED = defineEvent(
  'KURA-E2343',
  (p: { mv: string; rv: string; reason: string }) =>
    `Pair ${p.mv} → ${p.rv}: copy stopped: ${p.reason}. The pair is in fault; the copy target is incomplete. Fix the cause and replicate (or restore) again.`,
  'Fix the cause and replicate (or restore) again.',
);
export const PAIR_MIRROR_WRITE_FAILED = defineEvent(
  'KURA-E2345',
  (p: { mv: string; rv: string; reason: string }) =>
    `Pair ${p.mv} → ${p.rv}: a mirrored write to RV ${p.rv} failed: ${p.reason}. The MV write stands; the pair is in fault and records the differences. Fix the cause and replicate again.`,
  'Fix the cause and replicate again; the pair records the differences meanwhile.',
);
export const CONFIG_LOCKED = defineError(
  'KURA-E2400',
  'EBUSY',
  (p: { owner: string; left: number }) =>
    `Another user (${p.owner}) is configuring the disk array; the configuration lock expires in ${p.left} s unless renewed.`,
  'Wait until that user releases it (kura lock show), or, if nobody is configuring any more, take it away with kura lock release --force.',
  423,
);
export const LOCK_OWNER_INVALID = defineError(
  'KURA-E2401',
  'EINVAL',
  (p: { owner: string }) => `Lock owner ${p.owner} is not valid.`,
  'Give 1 to 64 printable characters without spaces (the CLI sends user@host unless --owner or KURA_OWNER says otherwise).',
);
export const LOCK_TTL_RANGE = defineError(
  'KURA-E2402',
  'EINVAL',
  (p: { ttlSeconds: number; maxLockTtlS: number }) => `Lock lifetime ${p.ttlSeconds} s is out of range.`,
  (p) => `Give 1 to ${p.maxLockTtlS} seconds.`,
);
export const LOCK_NOT_HELD = defineError(
  'KURA-E2403',
  'ENOENT',
  'Nobody holds the configuration lock.',
  'Nothing to release; kura lock show tells who holds it.',
);
export const LOCK_HELD_BY_OTHER = defineError(
  'KURA-E2404',
  'EPERM',
  (p: { owner: string; caller: string }) => `The configuration lock is held by ${p.owner}, not by ${p.caller}.`,
  'Release it as its owner, or take it away with kura lock release --force.',
);
export const LOCK_OWNER_MISSING = defineError(
  'KURA-E2408',
  'EINVAL',
  'The lock needs an owner name.',
  'Give owner in the body or send the X-Kura-Owner header.',
);
export const LD_MAPPED = defineError(
  'KURA-E2501',
  'EBUSY',
  (p: { ld: string; where: string }) => `LD ${p.ld} is mapped to ${p.where}; a host may be using it.`,
  'Unmap it first (kura host unmap HOST LUN), or give --force to unmap it and delete it.',
);
export const LD_OPEN = defineError(
  'KURA-E2502',
  'EBUSY',
  (p: { ld: string; sessions: string }) => `LD ${p.ld} is open: ${p.sessions}.`,
  'Disconnect those clients first, or give --force to delete it under them (they get an error for every later request).',
);
export const RV_MAP_REFUSED = defineError(
  'KURA-E2505',
  'EBUSY',
  (p: { l: string; mv: string; rv: string }) =>
    `LD ${p.l} is the RV of replication pair ${p.mv} → ${p.rv} and cannot be mapped to a host: the pair's copies would overwrite it under the host.`,
  (p) => `Map the MV (${p.mv}) instead, or delete the pair first (kura pair delete ${p.mv} ${p.rv}).`,
);
export const SSV_POOL_TOO_SMALL = defineError(
  'KURA-E2506',
  'ENOSPC',
  (p: { pool: string; free: string; needed: string }) => `Pool ${p.pool} has ${p.free} free; the solution reserved volume needs ${p.needed}.`,
  (p) => `Expand the pool (kura pool expand ${p.pool} --size SIZE) or choose a larger one; --force creates the SSV anyway, without reserving its space.`,
);
export const PATH_LU_CHANGED = defineEvent(
  'KURA-E2510',
  (p: { name: string; number: string; portal: string; lun: number; id: string; arg: string }) =>
    `${p.name}: path ${p.number} (${p.portal}) LUN ${p.lun} no longer reaches logical unit ${p.id}: it holds ${p.arg}; the path is out of use for good (no I/O of ${p.name} goes to another LU)`,
  'Stop using the device; kura path show lists the devices there are now.',
);

/** The logical unit a multipath device stands for is gone from the array. */
const KURA_E2511 = new CatalogueId('KURA-E2511', 'EIO', 'The logical unit a multipath device stands for is gone from the array.');
export const LU_GONE = KURA_E2511.error(
  (p: { name: string; id: string }) =>
    `${p.name}: logical unit ${p.id} is gone from the array (its LUN holds another logical unit, or none); I/O to ${p.name} fails`,
  'The LD was deleted on the array: stop using this device; kura path show lists the devices there are now.',
);
export const PATH_LU_GONE = KURA_E2511.error(
  (p: { name: string; number: string; id: string }) => `${p.name}: path ${p.number} no longer reaches logical unit ${p.id}`,
  'Use another path (kura path show).',
);
/** Another process holds the data directory's lock. */
const KURA_E2520 = new CatalogueId('KURA-E2520', 'EBUSY', 'The data directory is in use by another Kura process.');
export const DATA_DIR_IN_USE = KURA_E2520.error(
  (p: { dir: string }) => `The data directory ${p.dir} is in use by another Kura process.`,
  'Stop the kura serve (or kura check) that uses it, or give another --data directory.',
);
export const DATA_DIR_IN_USE_BY_PID = KURA_E2520.error(
  (p: { dir: string; pid: number }) => `The data directory ${p.dir} is in use by another Kura process (pid ${p.pid}).`,
  (p) => `Stop that process first (kill -TERM ${p.pid}), or give another --data directory.`,
);
export const DATA_DIR_LOCK_FAILED = defineError(
  'KURA-E2521',
  'EIO',
  (p: { abs: string; arg: string }) => `Cannot lock the data directory ${p.abs}: ${p.arg}.`,
  'Check that the directory exists and that this user may write to it.',
);
export const MUTUAL_SECRET_IS_HOST_SECRET = defineError(
  'KURA-E2522',
  'EINVAL',
  (p: { host: string }) => `The mutual CHAP secret is the CHAP secret of host ${p.host}; one secret must not authenticate both directions (RFC 7143, 12.1.3).`,
  'Choose a secret no host entry uses.',
);
export const HOST_SECRET_IS_MUTUAL_SECRET = defineError(
  'KURA-E2523',
  'EINVAL',
  (p: { name: string }) =>
    `The CHAP secret for host ${p.name} is the target's mutual CHAP secret; one secret must not authenticate both directions (RFC 7143, 12.1.3).`,
  "Choose a different secret for the host, or change the target's (kura target set-chap).",
);
export const ACCESS_STOP_NEEDS_FORCE = defineError(
  'KURA-E2524',
  'EPERM',
  (p: { ignoring: string }) => `Stopping access control lets every initiator see every LD at LUN = LD number${p.ignoring}.`,
  'If that is what you want, repeat with --force (API: {"force": true}).',
);
export const ESV_IS_EBV = defineError(
  'KURA-E2601',
  'EBUSY',
  (p: { esv: string; length: number; generations: string }) =>
    `Snapshot ${p.esv} is the base (EBV) of ${p.length} snapshot generation(s) of its own: ${p.generations}.`,
  (p) => `Delete those first (kura snapshot delete-oldest ${p.esv} --count ${p.length}).`,
);
export const SNAPSHOT_ACCESS_UNKNOWN = defineError(
  'KURA-E2602',
  'EINVAL',
  (p: { access: string }) => `Snapshot access ${p.access} is not known.`,
  'Give rw (read/write) or ro (read-only).',
);
export const RESTORE_INTO_READ_ONLY = defineError(
  'KURA-E2603',
  'EROFS',
  (p: { base: string; ebv: string; esv: string }) => `LD ${p.base} is a read-only snapshot; restoring a generation into it would change it.`,
  (p) => `Make it read/write first (kura snapshot set-access ${p.ebv} ${p.esv} --access rw).`,
);
export const PAIR_CAPACITIES_DIFFER = defineError(
  'KURA-E2606',
  'EINVAL',
  (p: { what: string; mv: string; rv: string; rvNumber: string; rvCapacity: string; mvCapacity: string; small: string; big: string; capacity: number }) =>
    `Failed to ${p.what} pair ${p.mv} → ${p.rv} because the capacities differ (backup volume:${p.rvNumber}, capacity:${p.rvCapacity}; MV capacity:${p.mvCapacity}).`,
  (p) => `Expand ${p.small} to the capacity of ${p.big} (kura ld expand ${p.small} --size ${p.capacity}), then ${p.what} again.`,
);
export const RESTORE_TO_READ_ONLY_MV = defineError(
  'KURA-E2607',
  'EROFS',
  (p: { mv: string; base: string; snapshot: string }) => `MV ${p.mv} is a read-only snapshot; a restore would write to it.`,
  (p) => `Make it read/write first (kura snapshot set-access ${p.base} ${p.snapshot} --access rw).`,
);
export const LD_LOCKED = defineError(
  'KURA-E2610',
  'EBUSY',
  (p: { l: string; what: string; change: string; action: string }) => `The specified LD is locked: LD ${p.l} is held by ${p.what}, so ${p.change} is refused.`,
  (p) => `${p.action}, then run the command again.`,
);
export const QOS_MODE_OFF = defineError(
  'KURA-E2611',
  'EPERM',
  (p: { ld: string; pool: string }) => `Failed to set the I/O limits of LD ${p.ld} because I/O control mode is disabled in pool ${p.pool}.`,
  (p) => `Enable I/O control mode (kura pool set ${p.pool} --qos-mode on), then set the limits again.`,
);
export const QOS_MODE_UNKNOWN = defineError('KURA-E2612', 'EINVAL', (p: { mode: string }) => `I/O control mode ${p.mode} is not known.`, 'Give on or off.');
export const POOL_THRESHOLD_REACHED = defineEvent(
  'KURA-W2001',
  (p: { pool: string; percent: string; threshold: number }) =>
    `Pool ${p.pool} used capacity reached ${p.percent}%, at or above its threshold of ${p.threshold}%. Expand the pool or free space.`,
  'Expand the pool or free space.',
);
export const POOL_RESYNC_STARTED = defineEvent(
  'KURA-W2006',
  (p: { pool: string }) =>
    `Pool ${p.pool}: the array did not shut down cleanly; resyncing the mirrors of its allocated chunks in the background (reads use one mirror until a chunk is resynced).`,
  'None: reads use one mirror until a chunk is resynced.',
);
/** A pair separated by force before its copy finished. */
const KURA_W2341 = new CatalogueId('KURA-W2341', undefined, 'A pair was separated by force before its copy finished.');
export const RV_INCOMPLETE_AFTER_FORCE = KURA_W2341.event(
  (p: { mv: string; rv: string; bytes: number }) =>
    `Pair ${p.mv} → ${p.rv} separated by force before its copy finished; RV ${p.rv} is incomplete (${p.bytes} bytes not copied). Replicate again to complete it.`,
  'Replicate the pair again to complete the copy.',
);
export const MV_PARTLY_RESTORED_AFTER_FORCE = KURA_W2341.event(
  (p: { mv: string; rv: string; bytes: number }) =>
    `Pair ${p.mv} → ${p.rv} separated by force during a restore; MV ${p.mv} is partly restored (${p.bytes} bytes not copied). Restore again to complete it.`,
  'Restore the pair again to complete the copy.',
);
export const PAIR_DELETED_UNFINISHED = defineEvent(
  'KURA-W2342',
  (p: { mv: string; rv: string; target: string }) => `Pair ${p.mv} → ${p.rv} deleted with a copy unfinished: ${p.target} holds a partial copy.`,
  'Do not use the partial copy; create the pair again to copy anew.',
);
/** A pair's copy starts again after a restart. */
const KURA_W2344 = new CatalogueId('KURA-W2344', undefined, 'A pair copy resumed after a restart.');
export const PAIR_COPY_AFTER_UNCLEAN = KURA_W2344.event(
  (p: { mv: string; rv: string; bytes: number; sync: string }) =>
    `Pair ${p.mv} → ${p.rv}: the array did not shut down cleanly; copying again the ${p.bytes} bytes where writes were under way or not yet copied (${p.sync}).`,
  'None: the copy completes by itself (kura pair show).',
);
export const PAIR_COPY_RESUMED = KURA_W2344.event(
  (p: { mv: string; rv: string; bytes: number; sync: string }) => `Pair ${p.mv} → ${p.rv}: copy resumed after a restart (${p.sync}, ${p.bytes} bytes to go).`,
  'None: the copy completes by itself (kura pair show).',
);
export const CONFIG_LOCK_FORCED = defineEvent(
  'KURA-W2406',
  (p: { holder: string | null; by: string }) => `Configuration lock of ${p.holder} released by force by ${p.by}.`,
  'None, if the forced release was intended; kura lock show tells who holds the lock.',
);
export const SNAPSHOTS_MADE_READ_ONLY = defineEvent(
  'KURA-W2500',
  (p: { length: number; names: string }) =>
    `${p.length} snapshot(s) (${p.names}) were stored as writable by an earlier version and are read-only again. Writes made to them while they were writable remain in them.`,
  'None: writes made while they were writable remain in them.',
);
export const LD_DELETED_BY_FORCE = defineEvent(
  'KURA-W2503',
  (p: { ld: string; what: string }) => `LD ${p.ld} deleted by force: ${p.what}.`,
  'None: the clients of the LD get an error for every later request.',
);
export const SSV_CREATED_BY_FORCE = defineEvent(
  'KURA-W2507',
  (p: { ld: string; pool: string; free: string; size: string }) =>
    `Solution reserved volume ${p.ld} created by force in pool ${p.pool}, which had ${p.free} free: its ${p.size} are not reserved. Expand the pool.`,
  "Expand the pool so the SSV's space is there when it is needed.",
);
export const ACCESS_CONTROL_STOPPED = defineEvent(
  'KURA-W2525',
  'Access control stopped: every initiator sees every LD at LUN = LD number, whatever the host entries say.',
  'Start access control again (kura host access-control on) unless every initiator may see every LD.',
);

// Object names (src/names.ts checkName): each kind keeps its own id, stable for scripts.
type NameProblem = { kind: string; name: string; why: string; max: number };
const nameInvalid = (p: NameProblem) => `${p.kind} name ${p.name} is not valid: ${p.why}.`;
const nameAction = (p: NameProblem) => `Use 1 to ${p.max} letters, digits, "_", ".", ":" or "-", not "." or ".." and not a bare number.`;
export const NAME_INVALID = defineError('KURA-E2010', 'EINVAL', nameInvalid, nameAction);
export const HOST_NAME_INVALID = defineError('KURA-E2041', 'EINVAL', nameInvalid, nameAction);
export const SNAPSHOT_NAME_INVALID = defineError('KURA-E2074', 'EINVAL', nameInvalid, nameAction);

export const SSV_LICENCE_LOCKED = defineError(
  'KURA-E2600',
  'EPERM',
  (p: { what: string; licences: string; last: string }) => `${p.what} needs the ${p.licences} licence; both are locked on this array.`,
  (p) => `Unlock one of them, e.g. kura license unlock ${p.last}.`,
);

export const CONTROLLER_DOWN_EVENT = defineEvent(
  'KURA-E2052',
  (p: { controller: string; moved: number }) => `Controller ${p.controller} is down; ${p.moved} LD(s) moved to the surviving controller.`,
  'Bring the controller up (kura fault controller-up N) once it works again.',
);
export const PORT_DOWN_EVENT = defineEvent(
  'KURA-W2055',
  (p: { host: string; port: number; controller: number }) => `Host port ${p.host}:${p.port} (controller ${p.controller}) is down.`,
  'Bring the port up (kura fault port-up HOST:PORT) once it works again.',
);
export const DATA_DIR_TIGHTENED = defineEvent(
  'KURA-W2528',
  (p: { dir: string; count: number; paths: string }) =>
    `the data directory ${p.dir} was readable by other users; tightened ${p.count} path(s) to 0700 (directories) and 0600 (files): ${p.paths}`,
  'None: check who could read the data directory before.',
);
