// A virtual machine as the provider knows it: the VVOLs whose metadata names
// it. vCenter (and `kura vsim`) writes these keys on every VVOL of a VM; the
// provider's VvolRecord.vm holds the VM name. The backup engine, `kura vm
// relation` and the relation files find a VM's VVOLs through here only.
import type { VvolView } from '../model.js';

/** The VM's UUID (VMware's own metadata key). */
export const VM_ID_KEY = 'VMW_VmID';
/** The datacenter the VM belongs to (Kura's key; vSphere keeps it in vCenter). */
export const DATACENTER_KEY = 'KURA_Datacenter';
/** The VVOL's name as vCenter gives it: a data VVOL's disk file (vm1.vmdk). */
export const VVOL_NAME_KEY = 'VMW_VVolName';
/** The namespace of the VVOL (VMware's key), shown in the relation file. */
export const NAMESPACE_KEY = 'VMW_VVolNamespace';
/** Path of the VM owner's guest-quiesce script, run by the hypervisor (src/vvol/backup/quiesce.ts). */
export const QUIESCE_HOOK_KEY = 'KURA_QuiesceHook';
/** A VM without the datacenter key belongs to dc0 (issue 11). */
export const DEFAULT_DATACENTER = 'dc0';

export interface VmRef {
  name: string;
  /** The VM's UUID, or '' when vCenter did not write one. */
  id: string;
  datacenter: string;
}

export interface VmVvols extends VmRef {
  config: VvolView | undefined;
  data: VvolView[];
  swap: VvolView | undefined;
  memory: VvolView[];
  /** The VM's snapshot VVOLs (ESVs). */
  snapshots: VvolView[];
  /** All of its VVOLs, snapshots included. */
  all: VvolView[];
}

export const datacenterOf = (v: VvolView): string => v.metadata[DATACENTER_KEY] || DEFAULT_DATACENTER;

/** The name a disk goes by in backup state and restore: the disk file, else the VVOL type and LD number. */
export function diskName(v: VvolView): string {
  return v.metadata[VVOL_NAME_KEY] || `${v.type}-${v.ld.toString(16).padStart(4, '0')}`;
}

const key = (dc: string, vm: string): string => `${dc}\u0000${vm}`;

/** Groups VVOLs into VMs by (datacenter, VM name); VMs sorted by datacenter then name. */
export function vmsOf(vvols: VvolView[]): VmVvols[] {
  const byKey = new Map<string, VmVvols>();
  for (const v of vvols) {
    const dc = datacenterOf(v);
    let vm = byKey.get(key(dc, v.vm));
    if (!vm) {
      vm = { name: v.vm, id: '', datacenter: dc, config: undefined, data: [], swap: undefined, memory: [], snapshots: [], all: [] };
      byKey.set(key(dc, v.vm), vm);
    }
    vm.all.push(v);
    if (!vm.id && v.metadata[VM_ID_KEY]) vm.id = v.metadata[VM_ID_KEY]!;
    if (v.snapshotOf !== null) {
      vm.snapshots.push(v);
      continue;
    }
    if (v.type === 'config') vm.config ??= v;
    else if (v.type === 'data') vm.data.push(v);
    else if (v.type === 'swap') vm.swap ??= v;
    else vm.memory.push(v);
  }
  return [...byKey.values()].sort((a, b) => a.datacenter.localeCompare(b.datacenter) || a.name.localeCompare(b.name));
}

export function findVm(vvols: VvolView[], name: string, datacenter: string): VmVvols | undefined {
  return vmsOf(vvols).find((v) => v.name === name && v.datacenter === datacenter);
}

/** The datacenters holding a VM of that name. */
export function datacentersOf(vvols: VvolView[], name: string): string[] {
  return vmsOf(vvols)
    .filter((v) => v.name === name)
    .map((v) => v.datacenter);
}
