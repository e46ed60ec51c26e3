// The provider's errors and warnings, in the provider's words: each function
// formats its values (quoting, truncation, hex) and makes the catalogue's error
// or warning (src/catalogue/vvol.ts holds the ids, sentences and actions; where
// the seed, VVM Appendix B and the notes of chapters 2-3, has a message, the
// sentence is the seed's, quoted exactly, line number beside it). Ids:
// KURA-E3000..E3999 and KURA-W3000..W3999 (issue 11).
import type { KuraError } from '../errors.js';
import {
  ARRAY_INFO_FAILED,
  BACKUPS_KEPT,
  BACKUP_COUNT_MISMATCH,
  BACKUP_LARGER_THAN_TARGET,
  BACKUP_MISMATCH_TEXT,
  BATCH_TOO_LARGE,
  BIND_FAILED,
  BITMAP_FAILED,
  CLONE_TARGET_INVALID,
  CONGLOMERATE_FULL,
  CONTAINER_HOLDS_LDS,
  CONTAINER_NOT_FOUND,
  DATASTORE_RULE,
  DELETING_SNAPSHOTS,
  EXPAND_FAILED_AFTER_BACKUP,
  EXPAND_WHILE_REPLICATED,
  FEWER_GENERATIONS,
  HOST_SEES_NO_PE,
  IO_CONTROL_FAILED,
  IO_CONTROL_MODE_OFF,
  IO_LOWER_ABOVE_UPPER,
  LICENCE_IO_LOAD_MANAGER_LOCKED,
  LICENCE_REPLICATION_LOCKED,
  LICENCE_SNAPSHOT_LOCKED,
  LICENCE_VIRTUAL_VOLUME_LOCKED,
  LICENCE_VOLUME_CLONE_LOCKED,
  LINKED_CLONE_NO_BACKUP,
  METADATA_INVALID,
  METADATA_WRITE_FAILED,
  NOT_A_CONTAINER,
  NOT_A_SNAPSHOT_OF,
  NOT_BOUND_FOR_HOST,
  NO_BACKUP_POOL,
  NO_HOST_ENTRY,
  NO_SSV,
  ONE_BACKUP_POOL,
  PE_HAS_BINDINGS,
  PE_NAME_INVALID,
  PE_NEEDS_CONTAINER,
  PE_NOT_FOUND,
  PE_OWNER_INVALID,
  POLICY_EXISTS,
  POLICY_INVALID,
  POLICY_IN_USE,
  POLICY_NAME_INVALID,
  POLICY_NOT_FOUND,
  POOL_NO_CLONE,
  POOL_NO_SNAPSHOT,
  POOL_SPACE_INSUFFICIENT,
  PREPARED_SNAPSHOT_NOT_FOUND,
  RANGE_OUTSIDE_VVOL,
  SECOND_BACKUP_EXPAND_FAILED,
  SESSION_BUSY,
  SIZE_RAISED_TO_1GB,
  SNAPSHOT_READ_ONLY,
  TASK_CANCELLED,
  TASK_ENDED,
  TASK_INTERRUPTED,
  TASK_NOT_FOUND,
  TOO_MANY_FCVS,
  TOO_MANY_IN_REQUEST,
  TOO_MANY_LAYERS,
  TOO_MANY_PES,
  TOO_MANY_SNAPSHOTS,
  UNBIND_FAILED,
  VM_NAME_INVALID,
  VOLUME_OVER_10TB,
  VVOL_BOUND,
  VVOL_HAS_DEPENDENTS,
  VVOL_LD_MISSING,
  VVOL_NOT_FOUND,
  VVOL_REQUEST_INVALID,
  VVOL_SHRINK_REFUSED,
  VVOL_SIZE_INVALID,
  VVOL_SNAPSHOT_NAME_INVALID,
  VVOL_TYPE_UNKNOWN,
  datastoreRuleText,
} from '../catalogue/vvol.js';

/** A warning: the operation went ahead, the caller is told (and an event is raised). */
export interface VvolWarning {
  id: string;
  text: string;
}

// ---- containers ----

export const containerHoldsLds = (pool: string, lds: number): KuraError =>
  // VVM L204-L205
  CONTAINER_HOLDS_LDS({ lds, pool });

export const notAContainer = (pool: string): KuraError => NOT_A_CONTAINER({ pool });

export const noSuchContainer = (ref: string): KuraError => CONTAINER_NOT_FOUND({ ref: JSON.stringify(ref).slice(0, 80) });

// ---- protocol endpoints ----

export const tooManyPes = (): KuraError =>
  // VVM L282
  TOO_MANY_PES();

export const peNeedsContainer = (pool: string): KuraError =>
  // VVM L265
  PE_NEEDS_CONTAINER({ pool });

export const peHasBindings = (pe: string, bound: number): KuraError =>
  // VVM L307-L308
  PE_HAS_BINDINGS({ bound, pe });

export const noSuchPe = (ref: string): KuraError => PE_NOT_FOUND({ ref: JSON.stringify(ref).slice(0, 80) });

/** The error checkName gives an invalid PE name. */
export const PE_NAME_ERROR = PE_NAME_INVALID;

export const badOwner = (owner: unknown): KuraError => PE_OWNER_INVALID({ owner: JSON.stringify(owner)?.slice(0, 20) });

// ---- VVOLs ----

export const tooLarge = (): KuraError =>
  // VVM L2092
  VOLUME_OVER_10TB();

export const badSize = (size: unknown): KuraError => VVOL_SIZE_INVALID({ size: JSON.stringify(size)?.slice(0, 40) });

export const badType = (type: unknown): KuraError => VVOL_TYPE_UNKNOWN({ type: JSON.stringify(type)?.slice(0, 40) });

export const noSuchVvol = (id: string): KuraError =>
  // VVM L2051 ("The specified <aaa...a> does not exist.", aaa...a: target VVOL)
  VVOL_NOT_FOUND({ id: id.slice(0, 80) });

export const ldMissing = (): KuraError =>
  // VVM L2072
  VVOL_LD_MISSING();

export const metadataWriteFailed = (why: string): KuraError =>
  // VVM L1985
  METADATA_WRITE_FAILED({ why: why.slice(0, 200) });

export const badMetadata = (why: string): KuraError => METADATA_INVALID({ why });

export const vvolBound = (id: string, what: string): KuraError => VVOL_BOUND({ id, what });

export const vvolHasDependents = (id: string, what: string): KuraError => VVOL_HAS_DEPENDENTS({ id, what });

export const shrinkRefused = (id: string, from: number, to: number): KuraError => VVOL_SHRINK_REFUSED({ id, from, to });

export const resizeWhileReplicated = (): KuraError =>
  // VVM L1965
  EXPAND_WHILE_REPLICATED();

export const expandFailedAfterBackup = (backupMb: number): KuraError =>
  // VVM L1949-L1950
  EXPAND_FAILED_AFTER_BACKUP({ backupMb });

export const secondBackupExpandFailed = (ld: number, mb: number): KuraError =>
  // VVM L1956-L1957
  SECOND_BACKUP_EXPAND_FAILED({ ld: ld.toString(16).padStart(4, '0'), mb });

export const backupLargerThanTarget = (targetMb: number, presentMb: number): KuraError =>
  // VVM L1990-L1991
  BACKUP_LARGER_THAN_TARGET({ targetMb, presentMb });

export const insufficientPoolSpace = (): KuraError =>
  // VVM L1997
  POOL_SPACE_INSUFFICIENT();

export const badVmName = (vm: unknown): KuraError => VM_NAME_INVALID({ vm: JSON.stringify(vm)?.slice(0, 80) });

export const licenseVirtualVolume = (): KuraError =>
  // VVM L2025
  LICENCE_VIRTUAL_VOLUME_LOCKED();

export const arrayInfoFailed = (why: string): KuraError =>
  // VVM L1970
  ARRAY_INFO_FAILED({ why: why.slice(0, 200) });

export const snapshotReadOnly = (id: string, what: string): KuraError => SNAPSHOT_READ_ONLY({ id, what });

export const badVvolRequest = (why: string): KuraError => VVOL_REQUEST_INVALID({ why });

// ---- bind / unbind ----

export const bindFailed = (why: string): KuraError =>
  // VVM L1932
  BIND_FAILED({ why: why.slice(0, 200) });

export const unbindFailed = (why: string): KuraError =>
  // VVM L1980
  UNBIND_FAILED({ why: why.slice(0, 200) });

export const noSuchHost = (host: string): KuraError => NO_HOST_ENTRY({ host: JSON.stringify(host).slice(0, 80) });

export const hostSeesNoPe = (host: string): KuraError => HOST_SEES_NO_PE({ host });

export const tooManyInRequest = (n: number, max: number): KuraError => TOO_MANY_IN_REQUEST({ n, max });

export const conglomerateFull = (pe: string): KuraError => CONGLOMERATE_FULL({ pe });

export const notBoundForHost = (id: string, host: string): KuraError => NOT_BOUND_FOR_HOST({ id, host });

// ---- snapshots, clones, bitmaps ----

export const tooManySnapshots = (): KuraError =>
  // VVM L2110-L2111 (the seed's text says 256: the last slot is a revert's temporary snapshot, L2114-L2115)
  TOO_MANY_SNAPSHOTS();

export const noSsv = (): KuraError =>
  // VVM L2000
  NO_SSV();

export const licenseSnapshot = (): KuraError =>
  // VVM L2022
  LICENCE_SNAPSHOT_LOCKED();

export const licenseVolumeClone = (): KuraError =>
  // VVM L2028
  LICENCE_VOLUME_CLONE_LOCKED();

export const licenseReplication = (): KuraError =>
  // VVM L2019
  LICENCE_REPLICATION_LOCKED();

export const tooManyFcvs = (): KuraError =>
  // VVM L2105-L2106
  TOO_MANY_FCVS();

export const tooManyLayers = (): KuraError =>
  // VVM L2042
  TOO_MANY_LAYERS();

export const deletingSnapshots = (): KuraError =>
  // VVM L2046-L2047
  DELETING_SNAPSHOTS();

export const poolNoSnapshot = (): KuraError =>
  // VVM L2078
  POOL_NO_SNAPSHOT();

export const poolNoClone = (): KuraError =>
  // VVM L2082
  POOL_NO_CLONE();

/** The error checkName gives an invalid snapshot name. */
export const SNAPSHOT_NAME_ERROR = VVOL_SNAPSHOT_NAME_INVALID;

export const noSuchPrepare = (id: string): KuraError => PREPARED_SNAPSHOT_NOT_FOUND({ id: JSON.stringify(id).slice(0, 80) });

export const notASnapshotOf = (snap: string, id: string): KuraError => NOT_A_SNAPSHOT_OF({ snap, id });

export const bitmapFailed = (why: string): KuraError =>
  // VVM L1975
  BITMAP_FAILED({ why: why.slice(0, 200) });

export const badRange = (offset: unknown, length: unknown, size: number): KuraError =>
  RANGE_OUTSIDE_VVOL({ offset: String(offset).slice(0, 20), length: String(length).slice(0, 20), size });

export const badCloneTarget = (why: string): KuraError => CLONE_TARGET_INVALID({ why });

// ---- tasks ----

export const noSuchTask = (id: string): KuraError => TASK_NOT_FOUND({ id: JSON.stringify(id).slice(0, 80) });

export const taskFinished = (id: string, state: string): KuraError => TASK_ENDED({ id, state });

export const taskCancelled = (id: string): KuraError => TASK_CANCELLED({ id });

export const taskInterrupted = (id: string): KuraError => TASK_INTERRUPTED({ id });

// ---- storage policies ----

/** The error checkName gives an invalid storage policy name. */
export const POLICY_NAME_ERROR = POLICY_NAME_INVALID;

export const policyExists = (name: string): KuraError => POLICY_EXISTS({ name });

export const noSuchPolicy = (name: string): KuraError => POLICY_NOT_FOUND({ name: JSON.stringify(name).slice(0, 80) });

export const badCapability = (why: string): KuraError => POLICY_INVALID({ why });

export const lowerAboveUpper = (): KuraError =>
  // VVM L1916-L1917 (the rule: L1209)
  IO_LOWER_ABOVE_UPPER();

export const ioControlModeOff = (): KuraError =>
  // VVM L1905-L1906
  IO_CONTROL_MODE_OFF();

export const licenseIoLoadManager = (): KuraError =>
  // VVM L1922-L1923
  LICENCE_IO_LOAD_MANAGER_LOCKED();

export const ioControlFailed = (why: string): KuraError =>
  // VVM L1926
  IO_CONTROL_FAILED({ why: why.slice(0, 200) });

export const noBackupPool = (): KuraError =>
  // VVM L1911
  NO_BACKUP_POOL();

/** The text of VVM L2058-L2060 for one rule, also used in compliance results. */
export const ruleText = (rule: string, datastore: string, policy: string): string => datastoreRuleText({ rule, datastore, policy });

export const datastoreRule = (rule: string, datastore: string, policy: string): KuraError =>
  // VVM L2058-L2060
  DATASTORE_RULE({ rule, datastore, policy });

export const fewerGenerations = (): KuraError =>
  // VVM L2116-L2117 (the rule: L1144-L1150)
  FEWER_GENERATIONS();

/** The text of VVM L1879-L1880, also used in compliance results. */
export { BACKUP_MISMATCH_TEXT };

export const backupCountMismatch = (): KuraError =>
  // VVM L1879-L1880
  BACKUP_COUNT_MISMATCH();

export const policyInUse = (name: string, n: number): KuraError => POLICY_IN_USE({ name, n });

// ---- sessions and batches ----

export const sessionBusy = (session: string, max: number): KuraError => SESSION_BUSY({ session: session.slice(0, 80), max });

export const batchTooLarge = (n: number, max: number): KuraError => BATCH_TOO_LARGE({ n, max });

// ---- warnings (alarms) ----

export const sizeRaisedWarning = (mb: string, id: string): VvolWarning => ({
  // VVM L2097-L2099
  id: SIZE_RAISED_TO_1GB.id,
  text: SIZE_RAISED_TO_1GB({ mb, id }),
});

export const oneBackupPoolWarning = (): VvolWarning => ({
  // VVM L2003 (and L1167-L1171)
  id: ONE_BACKUP_POOL.id,
  text: ONE_BACKUP_POOL(),
});

export const linkedCloneBackupWarning = (): VvolWarning => ({
  // VVM L1896 (and L1172-L1174)
  id: LINKED_CLONE_NO_BACKUP.id,
  text: LINKED_CLONE_NO_BACKUP(),
});

export const backupsKeptWarning = (id: string, lds: number[]): VvolWarning => ({
  id: BACKUPS_KEPT.id,
  text: BACKUPS_KEPT({ id, lds: lds.map((n) => n.toString(16).padStart(4, '0') + 'h').join(', ') }),
});
