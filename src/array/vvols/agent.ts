// The VVOL slice of the array agent contract: what the VVOL provider's array
// port (src/vvol/array-port.ts) asks beyond the ordinary nouns: LDs made with
// Purpose VVOL and a VMware Type, the engine's allocation maps as bitmaps, and
// the LUN conglomerates of the protocol endpoints.
import type { VmwareLdType } from './attrs.js';
import type { SubsidiaryBinding } from './conglomerates.js';

export type { VmwareLdType } from './attrs.js';
export type { SubsidiaryBinding } from './conglomerates.js';

export interface CreateVvolLdRequest {
  /** Pool number. */
  pool: number;
  name: string;
  size: number;
  vmwareType: VmwareLdType;
  /** Default owner controller (0 or 1); the array's choice when absent. */
  owner?: number;
}

/** One bit per chunk (`granularity` bytes) from `offset`, most significant bit first. */
export interface LdBitmap {
  offset: number;
  length: number;
  granularity: number;
  bits: Buffer;
}

export interface VvolLdAgent {
  /** Makes an LD with Purpose VVOL and the VMware Type (a PE is marked as a conglomerate's administrative LU). */
  createVvolLd(req: CreateVvolLdRequest): Promise<number>;
  /** Gives an LD the array made for the provider (an ESV, an FCV) Purpose VVOL and a VMware Type. */
  tagVvolLd(ld: number, vmwareType: VmwareLdType): Promise<void>;
  /** Chunks of the LD that hold data. */
  allocatedBitmap(ld: number, offset: number, length: number): LdBitmap;
  /** Chunks of the LD not shared with `base` (an LD it was snapshotted or cloned from, or to). */
  unsharedBitmap(ld: number, base: number, offset: number, length: number): LdBitmap;
  /** Binds a VVOL LD behind a PE for a host at subsidiary LU `slu` (the lowest free one when absent); returns the id. */
  bindSubsidiary(peLd: number, vvolLd: number, host: string, slu?: number): number;
  unbindSubsidiary(peLd: number, vvolLd: number, host: string): void;
  subsidiaries(peLd: number): SubsidiaryBinding[];
}
