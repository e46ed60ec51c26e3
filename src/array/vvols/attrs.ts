// What the array records of an LD for VVOLs: its Purpose (VVOL for PEs and
// VVOLs, VVM L765) and VMware Type (VVM L709-L720, L771-L775), kept with the
// LD's other data-service attributes in its record, so they survive restarts.
import type { LogicalDisk } from '../../block/logical-disk.js';
import { attrsOf } from '../catalog.js';

export const VMWARE_LD_TYPES = ['PE', 'config-VVOL', 'vmdk-VVOL', 'swap-VVOL', 'memory-VVOL'] as const;
export type VmwareLdType = (typeof VMWARE_LD_TYPES)[number];

/** The VVOL part of an LD's attributes (catalog.ts LdAttrs keeps purpose). */
export interface VvolLdAttrs {
  purpose?: string;
  vmware?: VmwareLdType;
}

export function vvolAttrsOf(l: LogicalDisk): VvolLdAttrs {
  return attrsOf(l) as VvolLdAttrs;
}

/** iSMview's VMware Type of an LD: --- for every LD that is no PE or VVOL. */
export function vmwareTypeOf(l: LogicalDisk): VmwareLdType | '---' {
  return vvolAttrsOf(l).vmware ?? '---';
}

export function isPe(l: LogicalDisk): boolean {
  return vvolAttrsOf(l).vmware === 'PE';
}

export function isVmwareLdType(t: unknown): t is VmwareLdType {
  return typeof t === 'string' && (VMWARE_LD_TYPES as readonly string[]).includes(t);
}
