// VvolArrayPort: exactly what the VVOL provider needs from the disk array, in
// the provider's terms (LD numbers, pool numbers, host names). The provider
// holds no reference to the array's internals; the composition root hands it
// an adapter over the array's services (round 2), and the unit tests an
// in-memory double (test/vvol/memory-array.ts).
//
// Errors: a port method throws a KuraError of the array; the provider turns the
// few the seed names (no space, bind/unbind, bitmap failures) into the seed's
// messages and passes the others on unchanged.

/** The VMware Type of an LD as iSMview shows it (VVM L709-L720, L771-L775). */
export type VmwareLdType = 'PE' | 'config-VVOL' | 'vmdk-VVOL' | 'swap-VVOL' | 'memory-VVOL';

/** Licences the provider's operations need (VVM 2.1.1, L162-L167; messages L2019-L2030, L1922). */
export type VvolLicense = 'VirtualVolume' | 'DynamicSnapVolume' | 'VolumeClone' | 'DynamicDataReplication' | 'IOLoadManager';

export interface PortArrayIdentity {
  /** Disk array name (the container's "Storage array", VVM L808). */
  name: string;
  /** The array's WWN: 16 hex digits; VVOL, container and PE ids are made from it (VVM L804-L828). */
  wwn: string;
  /** Model name; it decides the concurrent-operation limit (VVM L1615-L1619). */
  model: string;
}

export interface PortPool {
  number: number;
  name: string;
  /** A Storage Container: a virtual-capacity pool made with the container option (VVM L179-L192). */
  container: boolean;
  /** Virtual-capacity (thin) pool; snapshots and fast clones need one (VVM L2078-L2085). */
  virtual: boolean;
  raid: string;
  /** PD type of the pool's physical disks (iSMview PD Type, VVM L677). */
  pdType: string;
  /** The pool's PDs are self-encrypting. */
  encrypted: boolean;
  /** I/O control mode of the pool (VVM L1905-L1910). */
  qosMode: 'on' | 'off';
  capacity: number;
  used: number;
  free: number;
  /** Sum of the virtual capacities of its LDs. */
  virtualCapacity: number;
  ldCount: number;
}

export interface PortLd {
  number: number;
  name: string;
  pool: number;
  capacity: number;
  /** Bytes of pool space the LD maps. */
  allocated: number;
  vmwareType: VmwareLdType | '---';
  /** Controller that owns the LD by default. */
  owner: number;
}

export interface CreateLdSpec {
  pool: number;
  name: string;
  size: number;
  /** Always VVOL for what the provider makes: iSMview's Purpose of a VVOL and of a PE (VVM L765). */
  purpose: 'VVOL';
  vmwareType: VmwareLdType;
  owner?: number;
}

/** One bit per `granularity` bytes from `offset`: set when the range holds data (allocated) or differs from the base (unshared). */
export interface PortBitmap {
  offset: number;
  length: number;
  granularity: number;
  bits: Buffer;
}

/** A running copy (replication MV → RV): progress in bytes, cancellable. */
export interface PortCopy {
  readonly done: Promise<void>;
  /** Bytes copied so far and bytes in all. */
  progress(): { copied: number; total: number };
  /** Stops the copy; `done` then rejects. */
  cancel(): void;
}

export interface VvolArrayPort {
  identity(): PortArrayIdentity;
  licensed(name: VvolLicense): boolean;
  /** The solution reserved volume exists (snapshots and clones need it, VVM L208-L209, L2000). */
  hasSsv(): boolean;

  listPools(): PortPool[];
  /** undefined when there is no such pool. */
  pool(number: number): PortPool | undefined;

  /** undefined when the LD does not exist (any more). */
  ld(number: number): PortLd | undefined;
  createLd(spec: CreateLdSpec): Promise<PortLd>;
  /** Deletes an LD the provider made (for a snapshot, the array's snapshot deletion). */
  deleteLd(number: number): Promise<void>;
  /** Grows an LD; shrinking is refused by the array. */
  resizeLd(number: number, size: number): Promise<PortLd>;

  /** Extended snapshot: `base` becomes (or stays) an EBV and a new read-only ESV is returned (VVM 3.7.1). */
  snapshot(base: number, name: string): Promise<PortLd>;
  /** Restores `base` to the contents of its ESV `snap`. */
  revert(base: number, snap: number): Promise<void>;
  /** Volume clone: `source` becomes (or stays) an FEV and a new FCV sharing its data is returned (VVM 3.8.1). */
  linkedClone(source: number, name: string): Promise<PortLd>;
  /** Copies every byte of `source` to `target` (same size) through a replication pair, then unpairs. */
  fullCopy(source: number, target: number): PortCopy;

  allocatedBitmap(ld: number, offset: number, length: number): Promise<PortBitmap>;
  /** Ranges of `ld` whose data is not shared with `base` (a snapshot or clone ancestor of it). */
  unsharedBitmap(ld: number, base: number, offset: number, length: number): Promise<PortBitmap>;

  hostExists(host: string): boolean;
  /** The LUN at which `host` sees the LD, or undefined. */
  lunOf(host: string, ld: number): number | undefined;
  /** Makes `vvol` visible to `host` as subsidiary LU `slu` of the conglomerate administered by `pe`. */
  mapSubsidiary(pe: number, slu: number, vvol: number, host: string): Promise<void>;
  unmapSubsidiary(pe: number, slu: number, host: string): Promise<void>;

  /** IOPS upper and lower limits of an LD (0 clears one). */
  setIoLimits(ld: number, limits: { upper: number; lower: number }): Promise<void>;
}
