// Error catalogue: Block engine (KURA-E1xxx): pools, PDs, RAID groups, LDs.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError } from '../errors.js';

export const POOL_NO_FREE_SPACE = defineError(
  'KURA-E1001',
  'ENOSPC',
  (p: { name: string; capacityChunks: number; chunkSize: number }) =>
    `Pool ${p.name} has no free physical space (${p.capacityChunks} chunks of ${p.chunkSize} bytes, all in use).`,
  (p) => `Expand the pool (kura pool expand ${p.name} --size SIZE) or free space by unmapping or deleting LDs.`,
);
export const METADATA_COMMIT_FAILED = defineError(
  'KURA-E1002',
  'EIO',
  (p: { reason: string }) => `Committing metadata failed: ${p.reason}.`,
  "Check the data directory's file system; the array retries on the next flush.",
);
export const RAID_TYPE_UNSUPPORTED = defineError('KURA-E1010', 'EINVAL', (p: { s: string }) => `RAID type "${p.s}" is not supported.`, 'Use RAID 1, 10 or 0.');
export const RAID_PD_COUNT = defineError(
  'KURA-E1011',
  'EINVAL',
  (p: { raid: string; pds: number; pdCountRule: string }) => `${p.raid} cannot be built from ${p.pds} PDs.`,
  (p) => `Give ${p.pdCountRule} PDs for ${p.raid}.`,
);
export const CHUNK_SIZE_NOT_ALLOWED = defineError(
  'KURA-E1012',
  'EINVAL',
  (p: { chunkSize: number }) => `Chunk size ${p.chunkSize} is not allowed.`,
  'Give a power of two from 64KiB to 64MiB.',
);
export const POOL_SIZE_TOO_SMALL = defineError(
  'KURA-E1013',
  'EINVAL',
  (p: { size: number; cs: number }) => `Pool size ${p.size} is too small.`,
  (p) => `Give at least one chunk (${p.cs} bytes).`,
);
export const POOL_HOLDS_LD = defineError(
  'KURA-E1014',
  'EBUSY',
  (p: { pool: string; ld: string }) => `Pool ${p.pool} still holds LD ${p.ld}.`,
  'Delete the LDs of the pool first.',
);
export const LD_CANNOT_SHRINK = defineError(
  'KURA-E1015',
  'EINVAL',
  (p: { ld: string; capacity: number; capacity2: number }) => `LD ${p.ld} is ${p.capacity} bytes; it cannot shrink to ${p.capacity2}.`,
  'Give a size larger than the current capacity.',
);
export const LD_CAPACITY_NOT_ALLOWED = defineError(
  'KURA-E1016',
  'EINVAL',
  (p: { capacity: number; blockSize: number }) => `LD capacity ${p.capacity} is not allowed.`,
  (p) => `Give a multiple of ${p.blockSize} bytes up to 256TiB.`,
);
export const THRESHOLD_NOT_PERCENTAGE = defineError(
  'KURA-E1017',
  'EINVAL',
  (p: { t: number }) => `Threshold ${p.t} is not a percentage from 1 to 100.`,
  'Give a whole percentage from 1 to 100.',
);
export const RESTORE_ACROSS_POOLS = defineError(
  'KURA-E1018',
  'EINVAL',
  (p: { target: string; source: string }) => `LDs ${p.target} and ${p.source} are in different pools.`,
  'Restore only from a snapshot of the same LD.',
);
export const NO_READABLE_COPY = defineError(
  'KURA-E1020',
  'EIO',
  (p: { chunk: number; number: number; arg: string }) => `No readable copy of chunk ${p.chunk} in RAID group ${p.number}${p.arg}.`,
  'Replace the failed PDs of the pool and restore the data from a backup.',
);
export const NO_WRITABLE_COPY = defineError(
  'KURA-E1021',
  'EIO',
  (p: { chunk: number; number: number }) => `No writable copy of chunk ${p.chunk} in RAID group ${p.number}.`,
  'Replace the failed PDs of the pool.',
);
export const CHUNK_OUTSIDE_POOL = defineError(
  'KURA-E1022',
  'EIO',
  (p: { chunk: number; name: string }) => `Chunk ${p.chunk} lies outside pool ${p.name}.`,
  'Run kura check on the stopped array and report the fault.',
);
export const LD_DELETED = defineError('KURA-E1030', 'ENOENT', (p: { name: string }) => `LD ${p.name} has been deleted.`, 'Reconnect to an existing LD.');
export const LD_READ_ONLY = defineError('KURA-E1031', 'EROFS', (p: { name: string }) => `LD ${p.name} is read-only.`, 'Write to a read-write LD.');
export const BLOCKS_BEYOND_END = defineError(
  'KURA-E1032',
  'ERANGE',
  (p: { lba: number; blocks: number; name: string; blockCount: number }) =>
    `Blocks ${p.lba}+${p.blocks} lie beyond the end of LD ${p.name} (${p.blockCount} blocks).`,
  'Address blocks inside the LD.',
);
export const WRITE_NOT_WHOLE_BLOCKS = defineError(
  'KURA-E1033',
  'EINVAL',
  (p: { length: number; blockSize: number }) => `Write of ${p.length} bytes is not a multiple of the ${p.blockSize}-byte block size.`,
  'Write whole blocks.',
);
/** A bug: the pair state machine (src/block/replication/pair-states.ts) was asked for a move its table lacks. */
export const PAIR_TRANSITION_ILLEGAL = defineError(
  'KURA-E1100',
  'EIO',
  (p: { pair: string; event: string; from: string }) =>
    `Internal error: pair ${p.pair} cannot take event ${p.event} in sync state ${p.from}; the pair state machine has no such transition and the state is unchanged.`,
  'This is a bug in Kura: report it with the server log (kura pair show gives the pair state).',
  500,
);
/** A bug: a pair's copy was started while the copier of its previous copy still ran (src/block/replication/copier.ts). */
export const COPIER_STILL_RUNNING = defineError(
  'KURA-E1150',
  'EIO',
  (p: { pair: string; sync: string }) =>
    `Internal error: the copy of pair ${p.pair} (${p.sync}) cannot start while the copier of its previous copy is still running; nothing new is copied.`,
  'This is a bug in Kura: report it with the server log, then separate the pair with --force and replicate (or restore) again.',
  500,
);
