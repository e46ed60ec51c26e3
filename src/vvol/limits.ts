// The provider's limits, each with the seed line it comes from. Advertised to
// clients by VvolProvider.limits() (VASA's maxBindVirtualVolume and friends).

const GiB = 2 ** 30;
const TiB = 2 ** 40;

/** "Up to eight Protocol Endpoints can be created in a single disk array unit." (VVM L282) */
export const MAX_PES = 8;
/** Smallest VVOL: a smaller request is created at 1 GB with a warning (VVM L1554-L1557, L2097-L2104). */
export const MIN_VVOL_SIZE = GiB;
/** Largest VVOL (VVM L2092-L2096). */
export const MAX_VVOL_SIZE = 10 * TiB;
/**
 * Snapshots per virtual machine (VVM L1034). The array's own cap is 256 per VM
 * (the message at L2110 says 256): the 256th slot is kept for the temporary
 * snapshot a revert may take (L2114-L2115).
 */
export const MAX_SNAPSHOTS_PER_VM = 255;
/** Fast clones (FCVs) of one FEV (VVM L1060, L2105-L2109). */
export const MAX_FCVS_PER_FEV = 256;
/** Layers of clones and snapshots from the original (VVM L1078-L1081, L2042). */
export const MAX_LAYERS = 64;
/** Backup generations a policy may ask for (VVM L1135-L1138). */
export const MIN_BACKUP_GENERATIONS = 1;
export const MAX_BACKUP_GENERATIONS = 2;
/** I/O control limits in IOPS (VVM L1204, L1207). */
export const MIN_IOPS = 10;
export const MAX_IOPS = 1_000_000;
/** Pools whose name begins with this hold backup volumes; lower case only (VVM L1161-L1164). */
export const BACKUP_POOL_PREFIX = 'vvolbackup';

/**
 * Concurrent snapshot, clone, linked clone and migration operations per array
 * by model (VVM L1615-L1619); the rest wait in a queue. Models the table does
 * not name (Kura's own) get the smaller figure.
 */
const CONCURRENT_OPS_BY_MODEL: Record<string, number> = { M110: 16, M310: 16, M310F: 16, M510: 32, M710: 32, M710F: 32 };
export const DEFAULT_CONCURRENT_OPS = 16;

export function concurrentOpsFor(model: string): number {
  return CONCURRENT_OPS_BY_MODEL[model.toUpperCase()] ?? DEFAULT_CONCURRENT_OPS;
}

/**
 * Subsidiary LU ids of one conglomerate: the second level of a two-level LUN in
 * flat space addressing holds 14 bits; 0 is never a subsidiary (a second level
 * of 0 would be the administrative LU itself).
 */
export const MIN_SLU = 1;
export const MAX_SLU = 0x3fff;
/** VVOLs one bind or unbind request may name (VASA's maxBindVirtualVolume). */
export const MAX_BIND_PER_REQUEST = 256;
/** Requests one session may have in flight at once (VASA's maxConcurrentRequestsPerSession). */
export const MAX_CONCURRENT_REQUESTS_PER_SESSION = 64;
/** VVOLs one batch (create, delete, snapshot, ...) may name. */
export const MAX_BATCH = 256;
/** Metadata: keys and values per VVOL. */
export const MAX_METADATA_KEY = 64;
export const MAX_METADATA_VALUE = 4096;
export const MAX_METADATA_ENTRIES = 64;
/** Size of a PE's LD: the administrative LU carries no data. */
export const PE_SIZE = 2 ** 20;
/** Finished tasks kept for GetTaskUpdate before they are forgotten. */
export const FINISHED_TASKS_KEPT = 1000;
/** Events kept for GetEvents. */
export const EVENTS_KEPT = 1000;
