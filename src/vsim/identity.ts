// Who a VVOL belongs to, written where vCenter writes it: in the VVOL's
// key/value metadata on the provider. The simulator keeps no VM records of its
// own: a VM is the set of VVOLs whose metadata carry its id, so any tool that
// asks the provider (kura vvol list --vm VM, kura backup) finds a VM's VVOLs,
// its datacenter and its disks without the simulator.
//
// Keys (docs/vvol.md, "kura vsim"):
//   VMW_VmID        the VM's instance UUID (every VVOL of the VM, snapshots included)
//   VMW_VmName      the VM's name (also the provider's `vm` field)
//   VMW_Datacenter  the datacenter it belongs to (dc0 unless given)
//   VMW_VVolType    Config, Data, Swap or Memory
//   VMW_VVolName    the file it holds: VM (the home namespace), VM.vmdk, VM_1.vmdk, VM-xxxxxxxx.vswp, VM-SNAP.vmem
//   VMW_DiskId      data VVOLs: the virtual disk's controller slot, scsi0:N
//   VMW_MemorySize  config VVOL: the VM's memory in bytes (its swap and memory VVOLs have this size)
//   VMW_SnapshotName memory VVOL: the snapshot it belongs to
//   KURA_QuiesceHook every VVOL of a VM with a guest-quiesce hook: the script's path (quiesce-hook.ts);
//                    the backup engine reads it under the same name (src/vvol/backup/vm.ts QUIESCE_HOOK_KEY)
import type { VvolView } from '../vvol/model.js';

export const KEY = {
  vmId: 'VMW_VmID',
  vmName: 'VMW_VmName',
  datacenter: 'VMW_Datacenter',
  type: 'VMW_VVolType',
  name: 'VMW_VVolName',
  disk: 'VMW_DiskId',
  memory: 'VMW_MemorySize',
  snapshot: 'VMW_SnapshotName',
  quiesceHook: 'KURA_QuiesceHook',
} as const;

export const DEFAULT_DATACENTER = 'dc0';

export type VvolKind = 'config' | 'data' | 'swap' | 'memory';

const TYPE_NAME: Record<VvolKind, string> = { config: 'Config', data: 'Data', swap: 'Swap', memory: 'Memory' };

export interface VmIdentity {
  id: string;
  name: string;
  datacenter: string;
}

/** The metadata of one VVOL of a VM. */
export function vvolMetadata(vm: VmIdentity, kind: VvolKind, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [KEY.vmId]: vm.id,
    [KEY.vmName]: vm.name,
    [KEY.datacenter]: vm.datacenter,
    [KEY.type]: TYPE_NAME[kind],
    ...extra,
  };
}

/** File names as vSphere gives them. */
export const fileName = {
  config: (vm: string): string => vm,
  data: (vm: string, i: number): string => (i === 0 ? `${vm}.vmdk` : `${vm}_${i}.vmdk`),
  swap: (vm: string, id: string): string => `${vm}-${id.replace(/-/g, '').slice(0, 8)}.vswp`,
  memory: (vm: string, snapshot: string): string => `${vm}-${snapshot}.vmem`,
};

/** The identity a VVOL's metadata names, or undefined for a VVOL no simulated VM owns. */
export function identityOf(v: VvolView): VmIdentity | undefined {
  const id = v.metadata[KEY.vmId];
  const name = v.metadata[KEY.vmName];
  if (id === undefined || name === undefined) return undefined;
  return { id, name, datacenter: v.metadata[KEY.datacenter] ?? DEFAULT_DATACENTER };
}

/** Order of a VM's VVOLs in listings: config, data disks by slot, swap, memory. */
export function vvolOrder(a: VvolView, b: VvolView): number {
  const rank: Record<string, number> = { config: 0, data: 1, swap: 2, memory: 3 };
  return (
    (rank[a.type] ?? 9) - (rank[b.type] ?? 9) ||
    (a.metadata[KEY.disk] ?? '').localeCompare(b.metadata[KEY.disk] ?? '', undefined, { numeric: true }) ||
    a.ld - b.ld
  );
}
