// The array agent contract: everything the manager may ask of a disk array.
// In the embedded server the manager holds the KuraArray object directly; a
// remote array would put an HTTP/JSON client behind the same interface.

export type RaidType = 'RAID0' | 'RAID1' | 'RAID10';
export type Severity = 'info' | 'warning' | 'error';

export interface PdInfo {
  /** PD number within the pool, NEC style "00-0000" is derived from it for display. */
  number: number;
  path: string;
  capacity: number;
  state: 'ready' | 'failed';
  group: number;
}

export interface PoolInfo {
  number: number;
  name: string;
  raid: RaidType;
  /** Pool type as the seed names it; Kura pools are always thin ("dynamic(virtual)"). */
  type: 'dynamic(virtual)';
  state: 'ready' | 'degraded' | 'offline';
  chunkSize: number;
  /** Usable (after RAID) physical capacity in bytes. */
  capacity: number;
  used: number;
  free: number;
  /** Sum of the virtual capacities of the pool's LDs (may exceed capacity: over-commit). */
  virtualCapacity: number;
  /** Actual-capacity threshold, percent of capacity. */
  threshold: number;
  overThreshold: boolean;
  /** I/O control limits given to new LDs of the pool (0: none). */
  qosDefaults: { upper: number; lower: number };
  /** I/O control mode: off, the limits of the pool's LDs are kept but do not act (VVM L1905-1910). */
  qosMode: 'on' | 'off';
  ldCount: number;
  pds: PdInfo[];
  /** Mirror resync after an unclean shutdown: percent of the pool's mirrored chunks passed, or null when the mirrors agree. */
  resyncProgress: number | null;
  created: string;
}

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
  /** VMware type: config-VVOL, vmdk-VVOL, swap-VVOL, memory-VVOL, PE; --- for every other LD (Kura has no VVOLs yet). */
  vmwareType: '---' | 'PE' | 'config-VVOL' | 'vmdk-VVOL' | 'swap-VVOL' | 'memory-VVOL';
  /** LD numbers of the PEs a VVOL is bound to, and of the VVOLs bound to a PE: empty until VVOLs exist. */
  boundPeList: number[];
  boundVvolList: number[];
}

export interface ArrayInfo {
  name: string;
  serial: string;
  version: string;
  controllers: number[];
  /** Memory the array holds for metadata, and the process's own figures. */
  memory: {
    mapPages: number;
    /** Bytes of in-memory metadata: map pages, top-level maps and chunk refcounts. */
    metadataBytes: number;
    rss: number;
    heapUsed: number;
  };
}

export interface ArrayEvent {
  time: string;
  /** Stable message id, e.g. KURA-I2001. */
  id: string;
  severity: Severity;
  /** The object the event is about, e.g. "pool/pool0" or "ld/demo0". */
  source: string;
  text: string;
}

export interface CreatePoolRequest {
  name: string;
  /** Usable capacity in bytes (after RAID). */
  size: number;
  pds?: number;
  raid?: RaidType;
  chunkSize?: number;
  threshold?: number;
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

export interface HostInfo {
  name: string;
  initiators: string[];
  luns: Array<{ lun: number; ld: string; ldNumber: number }>;
  /** One-way CHAP the host's initiators must pass (the secret is never shown), or null. */
  chap: { user: string } | null;
  /** The TLS-PSK identity the host's NBD clients use (the key is never shown), or null. */
  nbdPsk: { identity: string } | null;
  /** Set (true) only in the answer to the host creation that turned access control on. */
  accessControlStarted?: boolean;
}

/** Access control: on, host entries decide which initiator sees which LD; off, every initiator sees every LD. */
export interface AccessControlInfo {
  enabled: boolean;
  /** Host entries defined (with access control on and none, no initiator sees any LD). */
  hosts: number;
}

/** The array's iSCSI target as initiators see it. */
export interface TargetInfo {
  name: string;
  portals: Array<{ host: string; port: number; controller: number; state: 'up' | 'down' }>;
  /** Mutual CHAP: the name the target answers initiators' challenges with (secret never shown), or null. */
  mutualChap: { user: string } | null;
}

export interface ControllerInfo {
  number: number;
  state: 'online' | 'down';
  ports: Array<{ host: string; port: number; state: 'up' | 'down'; portalGroupTag: number; relativeTargetPortId: number }>;
}

export interface SnapshotInfo {
  name: string;
  generation: number;
  created: string;
  state: 'active';
  ldNumber: number;
  ld: string;
  allocated: number;
  /** rw once made read/write (kura snapshot set-access); ro otherwise. */
  access: 'rw' | 'ro';
  /** iSMsc_query's relative generation: -1 the newest, -2 the one before, ... */
  relativeGeneration: number;
  /** iSMsc_query's ESV state. */
  status: 'snap/active';
  /** iSMsc_query's link state: Kura has no link volumes. */
  link: 'unlink';
  /** The base (EBV), its state and the state of the reserve area (the SSV). */
  bv: string;
  bvState: 'normal' | 'fault';
  reserveArea: 'verified' | 'unverified';
}

export interface LicenseInfo {
  name: string;
  state: 'unlocked' | 'locked';
  unlocked?: string;
}

export interface LockInfo {
  held: boolean;
  owner: string | null;
  acquired: string | null;
  expires: string | null;
  /** Seconds until it expires (0 when free). */
  remainingSeconds: number;
}

/** A replication pair as iSMrc_query shows it. */
export interface PairInfo {
  mv: string;
  mvNumber: number;
  rv: string;
  rvNumber: number;
  /** replicate, separate or restore. */
  activity: 'replicate' | 'separate' | 'restore';
  /** rpl/exec, rpl/sync, sep/exec, sep/end, rst/exec, rst/sync or fault. */
  sync: string;
  previousSync: string | null;
  /** "background copy" while copying, "sync" while mirroring, "-" when separated. */
  copyControl: string;
  direction: 'mv-to-rv' | 'rv-to-mv';
  separateStart: string | null;
  separateEnd: string | null;
  /** Bytes changed on either volume since the separate (0 unless separated). */
  separateDiffBytes: number;
  /** Bytes the running copy still has to copy, or a replicate/restore would copy. */
  copyDiffBytes: number;
  /** Bytes the running (or last) copy has copied. */
  copiedBytes: number;
  /** Percent of the running (or last) copy done. */
  progress: number;
  /** Seconds the running copy still needs at its rate so far; null while unknown, 0 when not copying. */
  remainingSeconds: number | null;
  rvAccess: 'rw' | 'ro' | 'nr';
  /** The RV holds a whole image: the MV's as of the last finished replicate, or the one a restore copies from (even a restore cut short). */
  rvComplete: boolean;
  fault: string | null;
  created: string;
}

export interface ArrayAgent {
  info(): ArrayInfo;
  listPools(): PoolInfo[];
  /** Accepts a name or a number. Throws KuraError (ENOENT) when absent. */
  getPool(ref: string | number): PoolInfo;
  createPool(req: CreatePoolRequest): Promise<PoolInfo>;
  /** Adds `addBytes` of usable capacity as a new group of PDs; online. */
  expandPool(ref: string | number, addBytes: number): Promise<PoolInfo>;
  setPoolThreshold(ref: string | number, percent: number): Promise<PoolInfo>;
  /** Refused (EBUSY) while the pool holds LDs. */
  deletePool(ref: string | number): Promise<void>;

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

  listHosts(): HostInfo[];
  createHost(name: string, initiators: string[]): Promise<HostInfo>;
  deleteHost(name: string): Promise<void>;
  addInitiator(host: string, iqn: string): Promise<HostInfo>;
  removeInitiator(host: string, iqn: string): Promise<HostInfo>;
  /** Maps an LD into a host's LUN space; lun defaults to the lowest free LUN. */
  mapLun(host: string, ld: string | number, lun?: number): Promise<HostInfo>;
  unmapLun(host: string, lun: number): Promise<HostInfo>;
  accessControl(): AccessControlInfo;
  /** Starts or stops access control; stopping needs force. */
  setAccessControl(enabled: boolean, force?: boolean): Promise<AccessControlInfo>;
  setHostChap(host: string, user: string, secret: string): Promise<HostInfo>;
  clearHostChap(host: string): Promise<HostInfo>;
  /** Gives a host's NBD clients a TLS pre-shared key (hex); their PSK identity is the host name. */
  setHostNbdPsk(host: string, key: string): Promise<HostInfo>;
  clearHostNbdPsk(host: string): Promise<HostInfo>;
  setLdNbdPlain(ld: string | number, on: boolean): Promise<LdInfo>;
  targetInfo(): TargetInfo;
  setTargetChap(user: string, secret: string): Promise<TargetInfo>;
  clearTargetChap(): Promise<TargetInfo>;

  listSnapshots(ld: string | number): SnapshotInfo[];
  createSnapshot(ld: string | number, name?: string): Promise<SnapshotInfo>;
  restoreSnapshot(ld: string | number, snap: string): Promise<LdInfo>;
  /** Makes a snapshot read/write (rw) or read-only (ro), kept across restarts. */
  setSnapshotAccess(ld: string | number, snap: string, access: string): Promise<SnapshotInfo>;
  deleteSnapshot(ld: string | number, snap: string): Promise<void>;
  deleteOldestSnapshots(ld: string | number, count: number): Promise<SnapshotInfo[]>;
  createClone(source: string | number, name: string): Promise<LdInfo>;
  /** Sets an LD's IOPS limits (0 clears one); needs the IOLoadManager licence. */
  setQos(ld: string | number, limits: { upper?: number; lower?: number }): Promise<LdInfo>;
  setPoolQosDefaults(pool: string | number, limits: { upper?: number; lower?: number }): Promise<PoolInfo>;
  /** Turns the pool's I/O control mode on or off (IOLoadManager licence). */
  setPoolQosMode(pool: string | number, mode: string): Promise<PoolInfo>;
  listLicenses(): LicenseInfo[];
  unlockLicense(name: string): Promise<LicenseInfo[]>;

  listControllers(): ControllerInfo[];
  /** Fault injection: take a controller (with its ports) down or bring it back. */
  setControllerState(n: number, state: 'online' | 'down'): Promise<ControllerInfo[]>;
  setPortState(host: string, port: number, state: 'up' | 'down'): Promise<ControllerInfo[]>;

  listPairs(): PairInfo[];
  getPair(mv: string | number, rv: string | number): PairInfo;
  /** Pairs two LDs of the same size (DynamicDataReplication licence); the pair starts separated. */
  createPair(mv: string | number, rv: string | number): Promise<PairInfo>;
  /** Starts copying MV → RV (differences only after the first time); writes are mirrored from then on. */
  replicatePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo>;
  /** Freezes the RV (rw or ro); with a copy still running, waits for it unless forced. */
  separatePair(mv: string | number, rv: string | number, opts?: { rvAccess?: string; force?: boolean }): Promise<PairInfo>;
  /** Copies RV → MV in the background; the MV stays usable. */
  restorePair(mv: string | number, rv: string | number): Promise<PairInfo>;
  /** Unpairs a separated pair (any pair with force); returns the pair as it was. */
  deletePair(mv: string | number, rv: string | number, opts?: { force?: boolean }): Promise<PairInfo>;

  /** The configuration lock: who holds it and until when. */
  lockInfo(): LockInfo;
  /** Takes (or, for its holder, renews) the configuration lock; EBUSY while another owner holds it. */
  acquireLock(owner: string, ttlSeconds?: number): LockInfo;
  /** Releases it; another owner's lock only with force. */
  releaseLock(owner: string | undefined, force?: boolean): LockInfo;
  /** Refuses (EBUSY, KURA-E2400) a configuration change by anybody but the lock's holder. */
  checkLock(owner: string | undefined): void;

  /** Subscribes to events the array raises itself (faults, thresholds, state changes). */
  onEvent(listener: (e: ArrayEvent) => void): () => void;
}
