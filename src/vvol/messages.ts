// The provider's errors and warnings. Where the seed (VVM Appendix B and the
// notes of chapters 2-3) has a message for a situation, the sentence is the
// seed's, quoted exactly (line number beside it) and its "Measures" become the
// action; situations the seed does not name get Kura's own sentence. Ids:
// KURA-E3000..E3999 and KURA-W3000..W3999 (issue 11).
import { KuraError, type ErrorCode } from '../errors.js';

const err = (id: string, code: ErrorCode, message: string, action: string): KuraError => new KuraError(id, code, message, action);

/** A warning: the operation went ahead, the caller is told (and an event is raised). */
export interface VvolWarning {
  id: string;
  text: string;
}

// ---- containers ----

export const containerHoldsLds = (pool: string, lds: number): KuraError =>
  // VVM L204-L205
  err('KURA-E3010', 'EBUSY', 'Before deleting the Storage Container, all logical disks created in the target Storage Container must be deleted.', `Delete the ${lds} logical disk(s) of pool ${pool} (VVOLs, PEs, snapshots, clones) first.`);

export const notAContainer = (pool: string): KuraError =>
  err('KURA-E3011', 'EINVAL', `Pool ${pool} is not a storage container: VVOLs live only in pools created with the container option.`, 'Create a container (kura pool create NAME --size S --container) and use it.');

export const noSuchContainer = (ref: string): KuraError =>
  err('KURA-E3012', 'ENOENT', `There is no storage container ${JSON.stringify(ref).slice(0, 80)}.`, 'List containers with kura vvol containers (or kura pool list).');

// ---- protocol endpoints ----

export const tooManyPes = (): KuraError =>
  // VVM L282
  err('KURA-E3020', 'ENOSPC', 'Up to eight Protocol Endpoints can be created in a single disk array unit.', 'Delete an unused Protocol Endpoint first; VVOLs bind through any PE their host sees.');

export const peNeedsContainer = (pool: string): KuraError =>
  // VVM L265
  err('KURA-E3021', 'EINVAL', 'Create a Protocol Endpoint in a pool created as a Storage Container.', `Pool ${pool} is not a Storage Container; give a container pool.`);

export const peHasBindings = (pe: string, bound: number): KuraError =>
  // VVM L307-L308
  err('KURA-E3022', 'EBUSY', 'Before deleting a created Protocol Endpoint, be sure to stop all virtual machines that use VVOLs in the disk array.', `${bound} VVOL(s) are bound through PE ${pe}; power off their virtual machines (unbind) first.`);

export const noSuchPe = (ref: string): KuraError =>
  err('KURA-E3023', 'ENOENT', `There is no protocol endpoint ${JSON.stringify(ref).slice(0, 80)}.`, 'List protocol endpoints with kura pe list.');

export const PE_NAME_ID = 'KURA-E3025';

export const badOwner = (owner: unknown): KuraError =>
  err('KURA-E3024', 'EINVAL', `Controller ${JSON.stringify(owner)?.slice(0, 20)} cannot own a protocol endpoint.`, 'Give --owner 0 or 1.');

// ---- VVOLs ----

export const tooLarge = (): KuraError =>
  // VVM L2092
  err('KURA-E3040', 'EINVAL', 'The volume capacity over 10TB is not supported.', 'The logical disk capacity cannot be specified more than 10 TB, specify less than 10TB for the logical disk capacity and execute the operation again.');

export const badSize = (size: unknown): KuraError =>
  err('KURA-E3041', 'EINVAL', `VVOL size ${JSON.stringify(size)?.slice(0, 40)} is not a positive whole number of bytes.`, 'Give the size in bytes or with a unit (e.g. 10GiB).');

export const badType = (type: unknown): KuraError =>
  err('KURA-E3042', 'EINVAL', `VVOL type ${JSON.stringify(type)?.slice(0, 40)} is not known.`, 'Give config, data, swap or memory.');

export const noSuchVvol = (id: string): KuraError =>
  // VVM L2051 ("The specified <aaa...a> does not exist.", aaa...a: target VVOL)
  err('KURA-E3043', 'ENOENT', `The specified ${id.slice(0, 80)} does not exist.`, 'Check whether the deletion of the VVOL managed by vCenter Server affects the disk array system. Be sure to not delete the VVOL managed by vCenter Server by using other than vCenter Server.');

export const ldMissing = (): KuraError =>
  // VVM L2072
  err('KURA-E3044', 'ENOENT', 'The specified LD does not exist.', 'Check whether the deletion of the VVOL managed by vCenter Server affects the disk array system. Be sure to not delete the VVOL managed by vCenter Server by using other than vCenter Server.');

export const metadataWriteFailed = (why: string): KuraError =>
  // VVM L1985
  err('KURA-E3045', 'EIO', 'Failed to write metadata to the VVOL.', `Run the command again once the cause is gone (${why.slice(0, 200)}).`);

export const badMetadata = (why: string): KuraError =>
  err('KURA-E3046', 'EINVAL', `VVOL metadata is not valid: ${why}.`, 'Give keys of 1 to 64 printable characters and string values of at most 4096 characters.');

export const vvolBound = (id: string, what: string): KuraError =>
  err('KURA-E3047', 'EBUSY', `VVOL ${id} is bound to a protocol endpoint; ${what} needs it unbound.`, 'Power off the virtual machine (unbind the VVOL from every host) first.');

export const vvolHasDependents = (id: string, what: string): KuraError =>
  err('KURA-E3048', 'EBUSY', `VVOL ${id} cannot be deleted: ${what} depend on it.`, 'Delete those first.');

export const shrinkRefused = (id: string, from: number, to: number): KuraError =>
  err('KURA-E3049', 'EINVAL', `VVOL ${id} is ${from} bytes; a resize to ${to} bytes would shrink it, and a VVOL only grows.`, 'Give a size at least as large as the present one.');

export const resizeWhileReplicated = (): KuraError =>
  // VVM L1965
  err('KURA-E3050', 'EBUSY', 'Failed to expand the specified volume because the volume is being replicated.', 'A logical disk in the replicate state cannot be expanded. Check that the target logical disk is in the separate state and expand its capacity again.');

export const expandFailedAfterBackup = (backupMb: number): KuraError =>
  // VVM L1949-L1950
  err('KURA-E3051', 'EIO', `Failed to expand the volume(But had succeed in expanding backup volume. Target capacity:${backupMb}).`, `Expand the VM again specifying a value equal to or larger than ${backupMb} for the capacity.`);

export const secondBackupExpandFailed = (ld: number, mb: number): KuraError =>
  // VVM L1956-L1957
  err('KURA-E3052', 'EIO', `Failed to expand the second backup volume(backup volume:${ld.toString(16).padStart(4, '0')}, capacity:${mb}).`, `Expand the VM again specifying a value equal to or larger than ${mb} for the capacity.`);

export const backupLargerThanTarget = (targetMb: number, presentMb: number): KuraError =>
  // VVM L1990-L1991
  err('KURA-E3053', 'EINVAL', `Failed to expand the backup volume because the target capacity(${targetMb}) is less than the present one(${presentMb}).`, `Expand the virtual machine capacity again by specifying the capacity equal to or larger than ${presentMb}.`);

export const insufficientPoolSpace = (): KuraError =>
  // VVM L1997
  err('KURA-E3054', 'ENOSPC', 'Insufficient pool space.', 'Check the datastore capacity.');

export const badVmName = (vm: unknown): KuraError =>
  err('KURA-E3055', 'EINVAL', `Virtual machine name ${JSON.stringify(vm)?.slice(0, 80)} is not valid: it must be 1 to 80 printable characters.`, 'Give the name vCenter knows the virtual machine by.');

export const licenseVirtualVolume = (): KuraError =>
  // VVM L2025
  err('KURA-E3056', 'EPERM', 'The license for Virtual Volume is locked.', 'Check the license status, and unlock the license.');

export const arrayInfoFailed = (why: string): KuraError =>
  // VVM L1970
  err('KURA-E3057', 'EIO', 'Failed to get information from the disk array.', `Run the command again once the array answers (${why.slice(0, 200)}).`);

export const snapshotReadOnly = (id: string, what: string): KuraError =>
  err('KURA-E3058', 'EROFS', `VVOL ${id} is a snapshot; ${what} would change it.`, 'Revert the VVOL it was taken from to it, or make a linked clone of it.');

export const badVvolRequest = (why: string): KuraError =>
  err('KURA-E3059', 'EINVAL', `The VVOL request is not valid: ${why}.`, 'Correct the request and send it again.');

// ---- bind / unbind ----

export const bindFailed = (why: string): KuraError =>
  // VVM L1932
  err('KURA-E3100', 'EIO', 'Failed to bind PE and VVOL.', `Run the command again once the cause is gone (${why.slice(0, 200)}).`);

export const unbindFailed = (why: string): KuraError =>
  // VVM L1980
  err('KURA-E3101', 'EIO', 'Failed to unbind PE and VVOL.', `Run the command again once the cause is gone (${why.slice(0, 200)}).`);

export const noSuchHost = (host: string): KuraError =>
  err('KURA-E3102', 'ENOENT', `The array has no host entry ${JSON.stringify(host).slice(0, 80)}.`, 'Create the host entry (kura host create, or kura vsim host add) and map the PEs to it.');

export const hostSeesNoPe = (host: string): KuraError =>
  err('KURA-E3103', 'ENOENT', `Host ${host} sees no protocol endpoint, so no VVOL can be bound for it.`, 'Map the protocol endpoints to the host at the same LUN on every host (VVM L295-L298).');

export const tooManyInRequest = (n: number, max: number): KuraError =>
  err('KURA-E3104', 'EINVAL', `The request names ${n} VVOLs; at most ${max} are accepted in one request.`, `Split it into requests of at most ${max} VVOLs (the provider advertises this limit).`);

export const conglomerateFull = (pe: string): KuraError =>
  err('KURA-E3105', 'ENOSPC', `Protocol endpoint ${pe} has no free subsidiary LU id left.`, 'Unbind VVOLs that are not in use, or create another protocol endpoint.');

export const notBoundForHost = (id: string, host: string): KuraError =>
  err('KURA-E3106', 'ENOENT', `VVOL ${id} is not bound for host ${host}.`, 'List its bindings with kura vvol show ID.');

// ---- snapshots, clones, bitmaps ----

export const tooManySnapshots = (): KuraError =>
  // VVM L2110-L2111 (the seed's text says 256: the last slot is a revert's temporary snapshot, L2114-L2115)
  err('KURA-E3150', 'ENOSPC', 'You cannot create any more snapshot because the number of snapshots is limited to 256 per virtual machine.', 'Delete unnecessary snapshots and execute the operation again. Note that a temporary snapshot may be created when a virtual machine is restored from a snapshot.');

export const noSsv = (): KuraError =>
  // VVM L2000
  err('KURA-E3151', 'ENOENT', 'No SSV is created.', 'Create a solution reserved volume, and execute the operation again.');

export const licenseSnapshot = (): KuraError =>
  // VVM L2022
  err('KURA-E3152', 'EPERM', 'The license for snapshot is locked.', 'Check the license status, and unlock the license.');

export const licenseVolumeClone = (): KuraError =>
  // VVM L2028
  err('KURA-E3153', 'EPERM', 'The license for Volume Clone is locked.', 'Check the license status, and unlock the license.');

export const licenseReplication = (): KuraError =>
  // VVM L2019
  err('KURA-E3154', 'EPERM', 'The license for DynamicDataReplication is locked.', 'Check the license status, and unlock the license.');

export const tooManyFcvs = (): KuraError =>
  // VVM L2105-L2106
  err('KURA-E3155', 'ENOSPC', 'You cannot create any more FCV because the number of FCVs of the specified FEV has reached the upper limit.', 'Delete unnecessary fast clone volumes and execute the operation again.');

export const tooManyLayers = (): KuraError =>
  // VVM L2042
  err('KURA-E3156', 'ENOSPC', 'The number of volume layers has reached the upper limit.', 'Delete unnecessary snapshots or fast clone volumes and execute the operation again.');

export const deletingSnapshots = (): KuraError =>
  // VVM L2046-L2047
  err('KURA-E3157', 'EBUSY', 'The process cannot run on the virtual machine because the disk array is deleting snapshots.', 'After deleting snapshot has completed in disk array, execute the operation again.');

export const poolNoSnapshot = (): KuraError =>
  // VVM L2078
  err('KURA-E3158', 'EINVAL', 'The specified pool does not support this function (DynamicSnapVolume).', 'Specify a virtual capacity pool.');

export const poolNoClone = (): KuraError =>
  // VVM L2082
  err('KURA-E3159', 'EINVAL', 'The specified pool does not support this function (Volume Clone).', 'Specify a virtual capacity pool.');

export const SNAPSHOT_NAME_ID = 'KURA-E3166';

export const noSuchPrepare = (id: string): KuraError =>
  err('KURA-E3160', 'ENOENT', `There is no prepared snapshot ${JSON.stringify(id).slice(0, 80)} (it was taken, abandoned, or the provider restarted).`, 'Prepare the snapshot again, then take it.');

export const notASnapshotOf = (snap: string, id: string): KuraError =>
  err('KURA-E3162', 'EINVAL', `VVOL ${snap} is not a snapshot of VVOL ${id}.`, 'Give a snapshot taken of that VVOL.');

export const bitmapFailed = (why: string): KuraError =>
  // VVM L1975
  err('KURA-E3163', 'EIO', 'Failed to get the information (bitmap) on the specified VVOLs.', `Run the command again once the cause is gone (${why.slice(0, 200)}).`);

export const badRange = (offset: unknown, length: unknown, size: number): KuraError =>
  err('KURA-E3164', 'ERANGE', `Range offset ${String(offset).slice(0, 20)} length ${String(length).slice(0, 20)} is not inside the VVOL's ${size} bytes.`, 'Give a non-negative offset and length that end within the VVOL.');

export const badCloneTarget = (why: string): KuraError =>
  err('KURA-E3165', 'EINVAL', `The clone cannot be made: ${why}.`, 'Clone within the VVOL datastore, from a VVOL of a VVOL datastore (VVM L1544-L1545).');

// ---- tasks ----

export const noSuchTask = (id: string): KuraError =>
  err('KURA-E3200', 'ENOENT', `There is no task ${JSON.stringify(id).slice(0, 80)} (finished tasks are kept for a while, then forgotten).`, 'List tasks with kura vvol tasks.');

export const taskFinished = (id: string, state: string): KuraError =>
  err('KURA-E3201', 'EINVAL', `Task ${id} has already ended (${state}); it cannot be cancelled.`, 'Nothing to do.');

export const taskCancelled = (id: string): KuraError =>
  err('KURA-E3202', 'EINVAL', `Task ${id} was cancelled before it finished.`, 'Start the operation again if it is still wanted.');

export const taskInterrupted = (id: string): KuraError =>
  err('KURA-E3203', 'EIO', `Task ${id} was interrupted: the provider stopped before it finished.`, 'Start the operation again; look for an LD the task may have left behind (kura ld list, VMware Type) and delete it.');

// ---- storage policies ----

export const POLICY_NAME_ID = 'KURA-E3250';

export const policyExists = (name: string): KuraError =>
  err('KURA-E3251', 'EEXIST', `Storage policy ${name} already exists.`, 'Choose another name, or delete the old policy first.');

export const noSuchPolicy = (name: string): KuraError =>
  err('KURA-E3252', 'ENOENT', `There is no storage policy ${JSON.stringify(name).slice(0, 80)}.`, 'List policies with kura policy list.');

export const badCapability = (why: string): KuraError =>
  err('KURA-E3253', 'EINVAL', `The storage policy is not valid: ${why}.`, 'Correct the rule; kura policy create --help lists the capabilities and their values.');

export const lowerAboveUpper = (): KuraError =>
  // VVM L1916-L1917 (the rule: L1209)
  err('KURA-E3254', 'EINVAL', 'Failed to apply the storage policy because the I/O Lower Limit is larger than the I/O Upper Limit.', 'Edit the virtual machine storage policy so that the I/O upper limit is larger than the I/O lower limit, and then execute the failed operation again.');

export const ioControlModeOff = (): KuraError =>
  // VVM L1905-L1906
  err('KURA-E3255', 'EINVAL', 'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.', 'Enable the I/O upper or lower control mode for the pool, rescan the storage provider, and execute the failed operation again.');

export const licenseIoLoadManager = (): KuraError =>
  // VVM L1922-L1923
  err('KURA-E3256', 'EPERM', 'Failed to apply the storage policy because the license for I/O Load Manager is locked.', 'Check the license status and unlock the license.');

export const ioControlFailed = (why: string): KuraError =>
  // VVM L1926
  err('KURA-E3257', 'EIO', 'Failed to apply the storage policy due to I/O control configuration error.', `If a system volume has not been created, create it. If a system volume has been created, configure the I/O Control setting again (${why.slice(0, 200)}).`);

export const noBackupPool = (): KuraError =>
  // VVM L1911
  err('KURA-E3258', 'ENOENT', 'Failed to apply the storage policy because no pool for backup exists.', 'Create a backup pool whose name begins with "vvolbackup". "vvolbackup" must be lower-case. After creating a backup volume, rescan the storage provider and then create a virtual machine again.');

/** The text of VVM L2058-L2060 for one rule, also used in compliance results. */
export const ruleText = (rule: string, datastore: string, policy: string): string =>
  `The specified datastore does not satisfy the rule(${rule}) in the storage policy for the virtual machines. The value of the datastore's capability is "${datastore}" while the value in the storage policy for the virtual machines is "${policy}."`;

export const datastoreRule = (rule: string, datastore: string, policy: string): KuraError =>
  // VVM L2058-L2060
  err('KURA-E3259', 'EINVAL', ruleText(rule, datastore, policy), 'Specify the datastore that satisfies the rule of the virtual machine storage policy and execute the operation again.');

export const fewerGenerations = (): KuraError =>
  // VVM L2116-L2117 (the rule: L1144-L1150)
  err('KURA-E3260', 'EINVAL', "You cannot delete a virtual machine's backup volume only by applying a new backup policy.", 'To decrease the number of backup generations, delete unnecessary backup volume and apply a policy whose number of backup generations matches the number of backup volumes of the target VM.');

/** The text of VVM L1879-L1880, also used in compliance results. */
export const BACKUP_MISMATCH_TEXT = "After deleting a virtual machine's backup volume by manual operation, you should apply a new backup policy to fit its real generation number.";

export const backupCountMismatch = (): KuraError =>
  // VVM L1879-L1880
  err('KURA-E3261', 'EINVAL', BACKUP_MISMATCH_TEXT, 'Apply a policy whose number of backup generations matches the number of backup volumes of the VM after a backup volume of that VM is manually deleted.');

export const policyInUse = (name: string, n: number): KuraError =>
  err('KURA-E3262', 'EBUSY', `Storage policy ${name} is applied to ${n} VVOL(s).`, 'Apply another policy to them (or delete them) first.');

// ---- sessions and batches ----

export const sessionBusy = (session: string, max: number): KuraError =>
  err('KURA-E3300', 'EBUSY', `Session ${session.slice(0, 80)} already has ${max} requests in flight, the most one session may have.`, 'Wait for a request to finish; the provider advertises this limit (maxConcurrentRequestsPerSession).');

export const batchTooLarge = (n: number, max: number): KuraError =>
  err('KURA-E3301', 'EINVAL', `The batch names ${n} items; at most ${max} are accepted.`, `Split it into batches of at most ${max}.`);

// ---- warnings (alarms) ----

export const sizeRaisedWarning = (mb: string, id: string): VvolWarning => ({
  // VVM L2097-L2099
  id: 'KURA-W3000',
  text: `The volume size you have specified (${mb}MB) is less than 1 GB. But the volume (${id}) is created with 1 GB in the disk array because a volume requires at least 1 GB.`,
});

export const oneBackupPoolWarning = (): VvolWarning => ({
  // VVM L2003 (and L1167-L1171)
  id: 'KURA-W3001',
  text: 'The disk array has only one pool for backup.',
});

export const linkedCloneBackupWarning = (): VvolWarning => ({
  // VVM L1896 (and L1172-L1174)
  id: 'KURA-W3002',
  text: 'Backup can not be done for linked clones.',
});

export const backupsKeptWarning = (id: string, lds: number[]): VvolWarning => ({
  id: 'KURA-W3003',
  text: `VVOL ${id} was deleted; its backup volume(s) LD ${lds.map((n) => n.toString(16).padStart(4, '0') + 'h').join(', ')} are kept because the policy does not delete them automatically (VVM L1101-L1103).`,
});
