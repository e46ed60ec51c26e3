// Error catalogue: The VVOL provider (KURA-E3xxx, KURA-W3xxx): containers, protocol endpoints, VVOLs, bind/unbind, snapshots and clones, tasks, storage policies, sessions, alarms.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
// Where the seed (VVM Appendix B and the notes of chapters 2-3) has a message, the
// sentence is the seed's, word for word (its lines beside it; test/vvol/seed-messages
// compares them) and its "Measures" is the action. Callers format values (quoting,
// truncation, hex) in src/vvol/messages.ts; configuration events (KURA-I3xxx) are not ids of the catalogue.
import { defineError, defineEvent } from '../errors.js';

// ---- the ids the provider makes from the array's WWN ----

export const WWN_INVALID = defineError(
  'KURA-E3001',
  'EINVAL',
  (p: { wwn: string }) => `The array WWN ${p.wwn} is not 16 hex digits; VVOL, container and PE ids cannot be made from it.`,
  'Give the provider the array WWN as 16 hex digits.',
);
export const ID_NUMBER_RANGE = defineError(
  'KURA-E3002',
  'ERANGE',
  (p: { n: number }) => `Number ${p.n} does not fit the 4 hex digits of a VVOL, container or PE id.`,
  'Use pools and LDs numbered 0 to ffffh.',
);

// ---- containers ----

// VVM L204-L205
export const CONTAINER_HOLDS_LDS = defineError(
  'KURA-E3010',
  'EBUSY',
  'Before deleting the Storage Container, all logical disks created in the target Storage Container must be deleted.',
  (p: { lds: number; pool: string }) => `Delete the ${p.lds} logical disk(s) of pool ${p.pool} (VVOLs, PEs, snapshots, clones) first.`,
);
export const NOT_A_CONTAINER = defineError(
  'KURA-E3011',
  'EINVAL',
  (p: { pool: string }) => `Pool ${p.pool} is not a storage container: VVOLs live only in pools created with the container option.`,
  'Create a container (kura pool create NAME --size S --container) and use it.',
);
// VVM L197
export const CONTAINER_CONVERSION = defineError(
  'KURA-E3013',
  'EINVAL',
  'It is not possible to convert an existing pool into a Storage Container.',
  (p: { pool: string }) => `Pool ${p.pool} keeps its type; create a new pool with kura pool create NAME --size S --container for VVOLs.`,
);
export const CONTAINER_NOT_FOUND = defineError(
  'KURA-E3012',
  'ENOENT',
  (p: { ref: string }) => `There is no storage container ${p.ref}.`,
  'List containers with kura vvol containers (or kura pool list).',
);

// ---- protocol endpoints ----

// VVM L282
export const TOO_MANY_PES = defineError(
  'KURA-E3020',
  'ENOSPC',
  'Up to eight Protocol Endpoints can be created in a single disk array unit.',
  'Delete an unused Protocol Endpoint first; VVOLs bind through any PE their host sees.',
);
// VVM L265
export const PE_NEEDS_CONTAINER = defineError(
  'KURA-E3021',
  'EINVAL',
  'Create a Protocol Endpoint in a pool created as a Storage Container.',
  (p: { pool: string }) => `Pool ${p.pool} is not a Storage Container; give a container pool.`,
);
// VVM L307-L308
export const PE_HAS_BINDINGS = defineError(
  'KURA-E3022',
  'EBUSY',
  'Before deleting a created Protocol Endpoint, be sure to stop all virtual machines that use VVOLs in the disk array.',
  (p: { bound: number; pe: string }) => `${p.bound} VVOL(s) are bound through PE ${p.pe}; power off their virtual machines (unbind) first.`,
);
export const PE_NOT_FOUND = defineError(
  'KURA-E3023',
  'ENOENT',
  (p: { ref: string }) => `There is no protocol endpoint ${p.ref}.`,
  'List protocol endpoints with kura pe list.',
);
export const PE_OWNER_INVALID = defineError(
  'KURA-E3024',
  'EINVAL',
  (p: { owner: string }) => `Controller ${p.owner} cannot own a protocol endpoint.`,
  'Give --owner 0 or 1.',
);

// Object names (src/names.ts checkName makes the error; each kind keeps its own id).
type NameProblem = { kind: string; name: string; why: string; max: number };
const nameInvalid = (p: NameProblem) => `${p.kind} name ${p.name} is not valid: ${p.why}.`;
const nameAction = (p: NameProblem) => `Use 1 to ${p.max} letters, digits, "_", ".", ":" or "-", not "." or ".." and not a bare number.`;
export const PE_NAME_INVALID = defineError('KURA-E3025', 'EINVAL', nameInvalid, nameAction);

// ---- VVOLs ----

// VVM L2092
export const VOLUME_OVER_10TB = defineError(
  'KURA-E3040',
  'EINVAL',
  'The volume capacity over 10TB is not supported.',
  'The logical disk capacity cannot be specified more than 10 TB, specify less than 10TB for the logical disk capacity and execute the operation again.',
);
export const VVOL_SIZE_INVALID = defineError(
  'KURA-E3041',
  'EINVAL',
  (p: { size: string }) => `VVOL size ${p.size} is not a positive whole number of bytes.`,
  'Give the size in bytes or with a unit (e.g. 10GiB).',
);
export const VVOL_TYPE_UNKNOWN = defineError(
  'KURA-E3042',
  'EINVAL',
  (p: { type: string }) => `VVOL type ${p.type} is not known.`,
  'Give config, data, swap or memory.',
);
// VVM L2051 ("The specified <aaa...a> does not exist.", aaa...a: target VVOL)
export const VVOL_NOT_FOUND = defineError(
  'KURA-E3043',
  'ENOENT',
  (p: { id: string }) => `The specified ${p.id} does not exist.`,
  'Check whether the deletion of the VVOL managed by vCenter Server affects the disk array system. Be sure to not delete the VVOL managed by vCenter Server by using other than vCenter Server.',
);
// VVM L2072
export const VVOL_LD_MISSING = defineError(
  'KURA-E3044',
  'ENOENT',
  'The specified LD does not exist.',
  'Check whether the deletion of the VVOL managed by vCenter Server affects the disk array system. Be sure to not delete the VVOL managed by vCenter Server by using other than vCenter Server.',
);
// VVM L1985
export const METADATA_WRITE_FAILED = defineError(
  'KURA-E3045',
  'EIO',
  'Failed to write metadata to the VVOL.',
  (p: { why: string }) => `Run the command again once the cause is gone (${p.why}).`,
);
export const METADATA_INVALID = defineError(
  'KURA-E3046',
  'EINVAL',
  (p: { why: string }) => `VVOL metadata is not valid: ${p.why}.`,
  'Give keys of 1 to 64 printable characters and string values of at most 4096 characters.',
);
export const VVOL_BOUND = defineError(
  'KURA-E3047',
  'EBUSY',
  (p: { id: string; what: string }) => `VVOL ${p.id} is bound to a protocol endpoint; ${p.what} needs it unbound.`,
  'Power off the virtual machine (unbind the VVOL from every host) first.',
);
export const VVOL_HAS_DEPENDENTS = defineError(
  'KURA-E3048',
  'EBUSY',
  (p: { id: string; what: string }) => `VVOL ${p.id} cannot be deleted: ${p.what} depend on it.`,
  'Delete those first.',
);
export const VVOL_SHRINK_REFUSED = defineError(
  'KURA-E3049',
  'EINVAL',
  (p: { id: string; from: number; to: number }) => `VVOL ${p.id} is ${p.from} bytes; a resize to ${p.to} bytes would shrink it, and a VVOL only grows.`,
  'Give a size at least as large as the present one.',
);
// VVM L1965
export const EXPAND_WHILE_REPLICATED = defineError(
  'KURA-E3050',
  'EBUSY',
  'Failed to expand the specified volume because the volume is being replicated.',
  'A logical disk in the replicate state cannot be expanded. Check that the target logical disk is in the separate state and expand its capacity again.',
);
// VVM L1949-L1950
export const EXPAND_FAILED_AFTER_BACKUP = defineError(
  'KURA-E3051',
  'EIO',
  (p: { backupMb: number }) => `Failed to expand the volume(But had succeed in expanding backup volume. Target capacity:${p.backupMb}).`,
  (p) => `Expand the VM again specifying a value equal to or larger than ${p.backupMb} for the capacity.`,
);
// VVM L1956-L1957
export const SECOND_BACKUP_EXPAND_FAILED = defineError(
  'KURA-E3052',
  'EIO',
  (p: { ld: string; mb: number }) => `Failed to expand the second backup volume(backup volume:${p.ld}, capacity:${p.mb}).`,
  (p) => `Expand the VM again specifying a value equal to or larger than ${p.mb} for the capacity.`,
);
// VVM L1990-L1991
export const BACKUP_LARGER_THAN_TARGET = defineError(
  'KURA-E3053',
  'EINVAL',
  (p: { targetMb: number; presentMb: number }) =>
    `Failed to expand the backup volume because the target capacity(${p.targetMb}) is less than the present one(${p.presentMb}).`,
  (p) => `Expand the virtual machine capacity again by specifying the capacity equal to or larger than ${p.presentMb}.`,
);
// VVM L1997
export const POOL_SPACE_INSUFFICIENT = defineError('KURA-E3054', 'ENOSPC', 'Insufficient pool space.', 'Check the datastore capacity.');
export const VM_NAME_INVALID = defineError(
  'KURA-E3055',
  'EINVAL',
  (p: { vm: string }) => `Virtual machine name ${p.vm} is not valid: it must be 1 to 80 printable characters.`,
  'Give the name vCenter knows the virtual machine by.',
);
// VVM L2025
export const LICENCE_VIRTUAL_VOLUME_LOCKED = defineError(
  'KURA-E3056',
  'EPERM',
  'The license for Virtual Volume is locked.',
  'Check the license status, and unlock the license.',
);
// VVM L1970
export const ARRAY_INFO_FAILED = defineError(
  'KURA-E3057',
  'EIO',
  'Failed to get information from the disk array.',
  (p: { why: string }) => `Run the command again once the array answers (${p.why}).`,
);
export const SNAPSHOT_READ_ONLY = defineError(
  'KURA-E3058',
  'EROFS',
  (p: { id: string; what: string }) => `VVOL ${p.id} is a snapshot; ${p.what} would change it.`,
  'Revert the VVOL it was taken from to it, or make a linked clone of it.',
);
export const VVOL_REQUEST_INVALID = defineError(
  'KURA-E3059',
  'EINVAL',
  (p: { why: string }) => `The VVOL request is not valid: ${p.why}.`,
  'Correct the request and send it again.',
);

// ---- bind / unbind ----

// VVM L1932
export const BIND_FAILED = defineError(
  'KURA-E3100',
  'EIO',
  'Failed to bind PE and VVOL.',
  (p: { why: string }) => `Run the command again once the cause is gone (${p.why}).`,
);
// VVM L1980
export const UNBIND_FAILED = defineError(
  'KURA-E3101',
  'EIO',
  'Failed to unbind PE and VVOL.',
  (p: { why: string }) => `Run the command again once the cause is gone (${p.why}).`,
);
export const NO_HOST_ENTRY = defineError(
  'KURA-E3102',
  'ENOENT',
  (p: { host: string }) => `The array has no host entry ${p.host}.`,
  'Create the host entry (kura host create, or kura vsim host add) and map the PEs to it.',
);
export const HOST_SEES_NO_PE = defineError(
  'KURA-E3103',
  'ENOENT',
  (p: { host: string }) => `Host ${p.host} sees no protocol endpoint, so no VVOL can be bound for it.`,
  'Map the protocol endpoints to the host at the same LUN on every host (VVM L295-L298).',
);
export const TOO_MANY_IN_REQUEST = defineError(
  'KURA-E3104',
  'EINVAL',
  (p: { n: number; max: number }) => `The request names ${p.n} VVOLs; at most ${p.max} are accepted in one request.`,
  (p) => `Split it into requests of at most ${p.max} VVOLs (the provider advertises this limit).`,
);
export const CONGLOMERATE_FULL = defineError(
  'KURA-E3105',
  'ENOSPC',
  (p: { pe: string }) => `Protocol endpoint ${p.pe} has no free subsidiary LU id left.`,
  'Unbind VVOLs that are not in use, or create another protocol endpoint.',
);
export const NOT_BOUND_FOR_HOST = defineError(
  'KURA-E3106',
  'ENOENT',
  (p: { id: string; host: string }) => `VVOL ${p.id} is not bound for host ${p.host}.`,
  'List its bindings with kura vvol show ID.',
);

// ---- snapshots, clones, bitmaps ----

// VVM L2110-L2111 (the seed's text says 256: the last slot is a revert's temporary snapshot, L2114-L2115)
export const TOO_MANY_SNAPSHOTS = defineError(
  'KURA-E3150',
  'ENOSPC',
  'You cannot create any more snapshot because the number of snapshots is limited to 256 per virtual machine.',
  'Delete unnecessary snapshots and execute the operation again. Note that a temporary snapshot may be created when a virtual machine is restored from a snapshot.',
);
// VVM L2000
export const NO_SSV = defineError('KURA-E3151', 'ENOENT', 'No SSV is created.', 'Create a solution reserved volume, and execute the operation again.');
// VVM L2022
export const LICENCE_SNAPSHOT_LOCKED = defineError(
  'KURA-E3152',
  'EPERM',
  'The license for snapshot is locked.',
  'Check the license status, and unlock the license.',
);
// VVM L2028
export const LICENCE_VOLUME_CLONE_LOCKED = defineError(
  'KURA-E3153',
  'EPERM',
  'The license for Volume Clone is locked.',
  'Check the license status, and unlock the license.',
);
// VVM L2019
export const LICENCE_REPLICATION_LOCKED = defineError(
  'KURA-E3154',
  'EPERM',
  'The license for DynamicDataReplication is locked.',
  'Check the license status, and unlock the license.',
);
// VVM L2105-L2106
export const TOO_MANY_FCVS = defineError(
  'KURA-E3155',
  'ENOSPC',
  'You cannot create any more FCV because the number of FCVs of the specified FEV has reached the upper limit.',
  'Delete unnecessary fast clone volumes and execute the operation again.',
);
// VVM L2042
export const TOO_MANY_LAYERS = defineError(
  'KURA-E3156',
  'ENOSPC',
  'The number of volume layers has reached the upper limit.',
  'Delete unnecessary snapshots or fast clone volumes and execute the operation again.',
);
// VVM L2046-L2047
export const DELETING_SNAPSHOTS = defineError(
  'KURA-E3157',
  'EBUSY',
  'The process cannot run on the virtual machine because the disk array is deleting snapshots.',
  'After deleting snapshot has completed in disk array, execute the operation again.',
);
// VVM L2078
export const POOL_NO_SNAPSHOT = defineError(
  'KURA-E3158',
  'EINVAL',
  'The specified pool does not support this function (DynamicSnapVolume).',
  'Specify a virtual capacity pool.',
);
// VVM L2082
export const POOL_NO_CLONE = defineError(
  'KURA-E3159',
  'EINVAL',
  'The specified pool does not support this function (Volume Clone).',
  'Specify a virtual capacity pool.',
);
export const PREPARED_SNAPSHOT_NOT_FOUND = defineError(
  'KURA-E3160',
  'ENOENT',
  (p: { id: string }) => `There is no prepared snapshot ${p.id} (it was taken, abandoned, or the provider restarted).`,
  'Prepare the snapshot again, then take it.',
);
export const NOT_A_SNAPSHOT_OF = defineError(
  'KURA-E3162',
  'EINVAL',
  (p: { snap: string; id: string }) => `VVOL ${p.snap} is not a snapshot of VVOL ${p.id}.`,
  'Give a snapshot taken of that VVOL.',
);
// VVM L1975
export const BITMAP_FAILED = defineError(
  'KURA-E3163',
  'EIO',
  'Failed to get the information (bitmap) on the specified VVOLs.',
  (p: { why: string }) => `Run the command again once the cause is gone (${p.why}).`,
);
export const RANGE_OUTSIDE_VVOL = defineError(
  'KURA-E3164',
  'ERANGE',
  (p: { offset: string; length: string; size: number }) => `Range offset ${p.offset} length ${p.length} is not inside the VVOL's ${p.size} bytes.`,
  'Give a non-negative offset and length that end within the VVOL.',
);
export const CLONE_TARGET_INVALID = defineError(
  'KURA-E3165',
  'EINVAL',
  (p: { why: string }) => `The clone cannot be made: ${p.why}.`,
  'Clone within the VVOL datastore, from a VVOL of a VVOL datastore (VVM L1544-L1545).',
);
export const VVOL_SNAPSHOT_NAME_INVALID = defineError('KURA-E3166', 'EINVAL', nameInvalid, nameAction);

// ---- tasks ----

export const TASK_NOT_FOUND = defineError(
  'KURA-E3200',
  'ENOENT',
  (p: { id: string }) => `There is no task ${p.id} (finished tasks are kept for a while, then forgotten).`,
  'List tasks with kura vvol tasks.',
);
export const TASK_ENDED = defineError(
  'KURA-E3201',
  'EINVAL',
  (p: { id: string; state: string }) => `Task ${p.id} has already ended (${p.state}); it cannot be cancelled.`,
  'Nothing to do.',
);
export const TASK_CANCELLED = defineError(
  'KURA-E3202',
  'EINVAL',
  (p: { id: string }) => `Task ${p.id} was cancelled before it finished.`,
  'Start the operation again if it is still wanted.',
);
export const TASK_INTERRUPTED = defineError(
  'KURA-E3203',
  'EIO',
  (p: { id: string }) => `Task ${p.id} was interrupted: the provider stopped before it finished.`,
  'Start the operation again; look for an LD the task may have left behind (kura ld list, VMware Type) and delete it.',
);

// ---- storage policies ----

export const POLICY_NAME_INVALID = defineError('KURA-E3250', 'EINVAL', nameInvalid, nameAction);
export const POLICY_EXISTS = defineError(
  'KURA-E3251',
  'EEXIST',
  (p: { name: string }) => `Storage policy ${p.name} already exists.`,
  'Choose another name, or delete the old policy first.',
);
export const POLICY_NOT_FOUND = defineError(
  'KURA-E3252',
  'ENOENT',
  (p: { name: string }) => `There is no storage policy ${p.name}.`,
  'List policies with kura policy list.',
);
export const POLICY_INVALID = defineError(
  'KURA-E3253',
  'EINVAL',
  (p: { why: string }) => `The storage policy is not valid: ${p.why}.`,
  'Correct the rule; kura policy create --help lists the capabilities and their values.',
);
// VVM L1916-L1917 (the rule: L1209)
export const IO_LOWER_ABOVE_UPPER = defineError(
  'KURA-E3254',
  'EINVAL',
  'Failed to apply the storage policy because the I/O Lower Limit is larger than the I/O Upper Limit.',
  'Edit the virtual machine storage policy so that the I/O upper limit is larger than the I/O lower limit, and then execute the failed operation again.',
);
// VVM L1905-L1906
export const IO_CONTROL_MODE_OFF = defineError(
  'KURA-E3255',
  'EINVAL',
  'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.',
  'Enable the I/O upper or lower control mode for the pool, rescan the storage provider, and execute the failed operation again.',
);
// VVM L1922-L1923
export const LICENCE_IO_LOAD_MANAGER_LOCKED = defineError(
  'KURA-E3256',
  'EPERM',
  'Failed to apply the storage policy because the license for I/O Load Manager is locked.',
  'Check the license status and unlock the license.',
);
// VVM L1926
export const IO_CONTROL_FAILED = defineError(
  'KURA-E3257',
  'EIO',
  'Failed to apply the storage policy due to I/O control configuration error.',
  (p: { why: string }) =>
    `If a system volume has not been created, create it. If a system volume has been created, configure the I/O Control setting again (${p.why}).`,
);
// VVM L1911
export const NO_BACKUP_POOL = defineError(
  'KURA-E3258',
  'ENOENT',
  'Failed to apply the storage policy because no pool for backup exists.',
  'Create a backup pool whose name begins with "vvolbackup". "vvolbackup" must be lower-case. After creating a backup volume, rescan the storage provider and then create a virtual machine again.',
);
/** VVM L2058-L2060 for one rule; also the text of a compliance result (src/vvol/policy.ts). */
export const datastoreRuleText = (p: { rule: string; datastore: string; policy: string }) =>
  `The specified datastore does not satisfy the rule(${p.rule}) in the storage policy for the virtual machines. The value of the datastore's capability is "${p.datastore}" while the value in the storage policy for the virtual machines is "${p.policy}."`;
export const DATASTORE_RULE = defineError(
  'KURA-E3259',
  'EINVAL',
  datastoreRuleText,
  'Specify the datastore that satisfies the rule of the virtual machine storage policy and execute the operation again.',
);
// VVM L2116-L2117 (the rule: L1144-L1150)
export const FEWER_GENERATIONS = defineError(
  'KURA-E3260',
  'EINVAL',
  "You cannot delete a virtual machine's backup volume only by applying a new backup policy.",
  'To decrease the number of backup generations, delete unnecessary backup volume and apply a policy whose number of backup generations matches the number of backup volumes of the target VM.',
);
/** VVM L1879-L1880; also the text of a compliance result (src/vvol/policy.ts). */
export const BACKUP_MISMATCH_TEXT =
  "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.";
export const BACKUP_COUNT_MISMATCH = defineError(
  'KURA-E3261',
  'EINVAL',
  BACKUP_MISMATCH_TEXT,
  'Apply a policy whose number of backup generations matches the number of backup volumes of the VM after a backup volume of that VM is manually deleted.',
);
export const POLICY_IN_USE = defineError(
  'KURA-E3262',
  'EBUSY',
  (p: { name: string; n: number }) => `Storage policy ${p.name} is applied to ${p.n} VVOL(s).`,
  'Apply another policy to them (or delete them) first.',
);

// ---- sessions and batches ----

export const SESSION_BUSY = defineError(
  'KURA-E3300',
  'EBUSY',
  (p: { session: string; max: number }) => `Session ${p.session} already has ${p.max} requests in flight, the most one session may have.`,
  'Wait for a request to finish; the provider advertises this limit (maxConcurrentRequestsPerSession).',
);
export const BATCH_TOO_LARGE = defineError(
  'KURA-E3301',
  'EINVAL',
  (p: { n: number; max: number }) => `The batch names ${p.n} items; at most ${p.max} are accepted.`,
  (p) => `Split it into batches of at most ${p.max}.`,
);

// ---- the array side of VVOLs and the provider's REST API ----

export const SLU_MISMATCH = defineError(
  'KURA-E3400',
  'EIO',
  (p: { pe: number; vvol: number; got: number; want: number }) =>
    `The array made LD ${p.vvol} subsidiary LU ${p.got} of PE LD ${p.pe}; the provider's binding table says ${p.want}.`,
  'Unbind the VVOL from every host and bind it again; report the problem if it persists.',
);
export const VVOL_LD_NOT_FOUND = defineError(
  'KURA-E3401',
  'ENOENT',
  (p: { ld: number }) => `LD ${p.ld} does not exist on the array.`,
  'List LDs with kura ld list; the VVOL provider refers to LDs by number.',
);
export const BITMAP_RANGE = defineError(
  'KURA-E3402',
  'EINVAL',
  (p: { offset: number; length: number; capacity: number }) => `The range ${p.offset}+${p.length} is not inside the LD's ${p.capacity} bytes.`,
  'Give an offset and length within the volume.',
);
export const COPY_STOPPED = defineError(
  'KURA-E3403',
  'EIO',
  (p: { mv: number; rv: number }) => `The full copy from LD ${p.mv} to LD ${p.rv} was stopped.`,
  'Start the clone again.',
);
export const COPY_FAILED = defineError(
  'KURA-E3404',
  'EIO',
  (p: { mv: number; rv: number; why: string }) => `The full copy from LD ${p.mv} to LD ${p.rv} failed: ${p.why}.`,
  'Check the pair (kura pair list) and the pools, then start the clone again.',
);
export const PROVIDER_FIELD_INVALID = defineError(
  'KURA-E3405',
  'EINVAL',
  (p: { field: string; why: string }) => `Field ${p.field} is not valid: ${p.why}.`,
  'Correct the request and send it again.',
);

export const BINDING_NOT_RESTORED = defineEvent(
  'KURA-W3400',
  (p: { what: string }) => `A VVOL binding was not restored after the restart: ${p.what}.`,
  'Unbind the VVOL from its hosts and bind it again (power the VM off and on).',
);

// ---- warnings: returned with the operation's result and raised as alarms ----

// VVM L2097-L2099 (Measures: None)
export const SIZE_RAISED_TO_1GB = defineEvent(
  'KURA-W3000',
  (p: { mb: string; id: string }) =>
    `The volume size you have specified (${p.mb}MB) is less than 1 GB. But the volume (${p.id}) is created with 1 GB in the disk array because a volume requires at least 1 GB.`,
  "None: the array's smallest logical disk is 1 GB.",
);
// VVM L2003 (and L1167-L1171; Measures: None)
export const ONE_BACKUP_POOL = defineEvent(
  'KURA-W3001',
  'The disk array has only one pool for backup.',
  'None: both backup generations are in the one backup pool; a second pool whose name begins with vvolbackup keeps them apart.',
);
// VVM L1896 (and L1172-L1174; Measures: None)
export const LINKED_CLONE_NO_BACKUP = defineEvent('KURA-W3002', 'Backup can not be done for linked clones.', 'None: a linked clone has no backup volume.');
export const BACKUPS_KEPT = defineEvent(
  'KURA-W3003',
  (p: { id: string; lds: string }) =>
    `VVOL ${p.id} was deleted; its backup volume(s) LD ${p.lds} are kept because the policy does not delete them automatically (VVM L1101-L1103).`,
  'Delete the backup volumes (kura ld delete) once they are no longer needed.',
);
