// The limits the Block Limits VPD page advertises and the SBC handlers enforce.
// One place, so that what we promise and what we check cannot drift apart.

/** MAXIMUM TRANSFER LENGTH in blocks (8 MiB of 512-byte blocks). */
export const MAX_TRANSFER_BLOCKS = 16384;
/** MAXIMUM WRITE SAME LENGTH: the NUMBER OF LOGICAL BLOCKS field of WRITE SAME(10) can express no more. */
export const MAX_WRITE_SAME_BLOCKS = 0xffff;
/** MAXIMUM UNMAP LBA COUNT (512 MiB of 512-byte blocks per command). */
export const MAX_UNMAP_LBA_COUNT = 0x100000;
/** MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
export const MAX_UNMAP_DESCRIPTORS = 256;
/** MAXIMUM COMPARE AND WRITE LENGTH: the largest value the one-byte field allows. */
export const MAX_COMPARE_AND_WRITE_BLOCKS = 255;
/**
 * LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT for READ CAPACITY(16). Thin space is
 * allocated in chunks (reported as OPTIMAL UNMAP GRANULARITY), not in 4 KiB
 * physical blocks, and any 512-byte block can be written without a read-modify-
 * write, so a physical block is one logical block. (An exponent above 0 also makes
 * libiscsi's GetLBAStatus.UnmapSingle expect descriptors to start at the next
 * physical block rather than at the requested LBA, which SBC-3 5.7 forbids.)
 */
export const LOGICAL_BLOCKS_PER_PHYSICAL_BLOCK_EXPONENT = 0;
