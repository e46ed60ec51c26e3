// The logical disks slice of the array agent contract.
import type { RaidType } from '../pools/agent.js';

export interface LdInfo {
  number: number;
  name: string;
  pool: string;
  poolNumber: number;
  /** Virtual capacity in bytes. */
  capacity: number;
  blockSize: number;
  /** Bytes of pool space mapped by this LD. */
  allocated: number;
  raid: RaidType;
  state: 'ready' | 'offline';
  /** virtual: thin (chunks allocated on write); actual: every chunk allocated (the reserved SSV). */
  capacityAllocation: 'virtual' | 'actual';
  /** NotReady: an RV whose pair copies or mirrors (RV access nr) refuses reads and writes. */
  accessMode: 'ReadWrite' | 'ReadOnly' | 'NotReady';
  currentOwner: number;
  defaultOwner: number;
  purpose: string;
  rplAttribute: 'IV' | 'MV' | 'RV';
  snapshotAttribute: '---' | 'EBV' | 'ESV';
  cloneAttribute: '---' | 'FEV' | 'FCV';
  /** I/O control: IOPS upper and lower (guaranteed) limits, 0 when unset. */
  qos: { upper: number; lower: number };
  /** The limits act: some are set and the pool's I/O control mode is on. */
  qosActive: boolean;
  /** Unidentified (plain) NBD clients may list and open this LD and its snapshots while access control is on. */
  nbdPlain: boolean;
  /** The SCSI NAA identifier (VPD 0x83) and serial number of the LD. */
  naa: string;
  serial: string;
  created: string;
  /** iSMview's OS Type (WN, NX, ...): Kura sets none, so it is empty as for an LD never given one. */
  osType: string;
  /** PD Type of the LD's pool: Kura's PDs are files (or devices) the host holds, so FILE. */
  pdType: 'FILE';
  /** iSMview's Group: every Kura LD is in the preserve group (Kura has no reserve group). */
  group: 'Preserve';
  /** Reads go through the host's page cache. */
  readCacheMode: 'on' | 'off';
  /** The write cache an LD starts with (SCSI WCE); an iSCSI initiator may turn it off for its session. */
  writeCacheMode: 'on' | 'off';
  /** VMware type: config-VVOL, vmdk-VVOL, swap-VVOL, memory-VVOL, PE; --- for every other LD. */
  vmwareType: '---' | 'PE' | 'config-VVOL' | 'vmdk-VVOL' | 'swap-VVOL' | 'memory-VVOL';
  /** LD numbers of the PEs a VVOL is bound to, and of the VVOLs bound to a PE (VVM L784-L787). */
  boundPeList: number[];
  boundVvolList: number[];
}

/** What deleting an LD did besides: the LUN mappings it removed and the sessions it cut off (only with force). */
export interface LdDeleteResult {
  name: string;
  number: number;
  unmapped: Array<{ host: string; lun: number }>;
  sessions: string[];
}

export interface CreateLdRequest {
  name: string;
  pool: string;
  /** Ignored for the SSV (fixed 4 GiB). */
  size: number;
  /** "ssv" makes the solution reserved volume. */
  attr?: string;
  /** Create the SSV even in a pool with less free space than its 4 GiB (it is then not reserved). */
  force?: boolean;
}

export interface LdAgent {
  listLds(): LdInfo[];
  getLd(ref: string | number): LdInfo;
  createLd(req: CreateLdRequest): Promise<LdInfo>;
  /** Grows the LD to newSize bytes; shrinking is refused. */
  expandLd(ref: string | number, newSize: number): Promise<LdInfo>;
  /**
   * FCVs need fcvforce. force deletes an LD that hosts map or clients have open (it
   * unmaps it; the result says what), and a faulty SSV that snapshots still need.
   */
  deleteLd(ref: string | number, opts?: { fcvforce?: boolean; force?: boolean }): Promise<LdDeleteResult>;
}
