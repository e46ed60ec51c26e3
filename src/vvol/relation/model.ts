// The relation between VMs and VVOLs as the configuration file holds it (VVM
// Appendix C, Table D-1, L2281-L2455): the disk array, per datacenter the VMs
// with their config, data, swap and memory VVOLs (snapshots, backup RVs,
// fast-clone relations), and the VVOLs vCenter does not manage: unknown ones
// (invalidVVOLList), ones being deleted or cloned (actionVVOLList) and backup
// volumes whose VM is gone (rvVVOLList). Built from the provider's records,
// the array's LDs and the backup engine's RV records; pure data, rendered to
// XML by ./xml.ts.
import type { VvolView } from '../model.js';
import type { TaskInfo } from '../tasks.js';
import type { BackupLd } from '../backup/port.js';
import type { RvRecord } from '../backup/store.js';
import { NAMESPACE_KEY, diskName, vmsOf } from '../backup/vm.js';

export const INFO_TYPE = 'RelationBetweenVMandVVOL';
export const FILE_VERSION = '1.0';

export interface RelVvol {
  /** Logical disk number (hex, 4 digits, as iSM shows it). */
  id: string;
  name: string;
  namespace: string;
  snapshots: string[];
  rvs: string[];
}

export interface RelVm {
  name: string;
  id: string;
  config: RelVvol | null;
  data: RelVvol[];
  swap: RelVvol | null;
  memory: RelVvol[];
  fastcloneSource: string | null;
  fastcloneTargets: string[];
}

export interface RelationModel {
  info: { startTimestamp: string; finishTimestamp: string; infoType: string; fileVersion: string; vCenterServer: string };
  diskArray: { ip: string; serialNumber: string; name: string; wwn: string; model: string };
  datacenters: Array<{ name: string; vms: RelVm[] }>;
  unManage: {
    invalid: string[];
    deleting: Array<{ id: string; deletingTime: string }>;
    cloning: Array<{ id: string; cloningTime: string }>;
    rvs: Array<{ id: string; type: string; mvVMid: string }>;
  };
}

export interface RelationInputs {
  vvols: VvolView[];
  tasks: TaskInfo[];
  vvolLds: BackupLd[];
  backupPoolLds: BackupLd[];
  rvRecords: RvRecord[];
  array: { name: string; serial: string; wwn: string; model: string; ip: string };
  vCenterServer: string;
  now: string;
}

export const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
/** The LD number inside a VVOL id (naa.6…zzzz: the last four digits). */
const ldOfId = (id: string): number => parseInt(id.slice(-4), 16);

const VMW_TYPE: Record<string, string> = { config: 'config', data: 'vmdk', swap: 'swap', memory: 'memory' };

export function buildRelation(inp: RelationInputs): RelationModel {
  const live = inp.vvols;
  const byId = new Map(live.map((v) => [v.id, v]));
  const claimedRvs = new Set(live.flatMap((v) => v.backups.map((b) => b.ld)));
  const rel = (v: VvolView): RelVvol => ({
    id: hex4(v.ld),
    name: diskName(v),
    namespace: v.metadata[NAMESPACE_KEY] ?? '',
    snapshots: live
      .filter((s) => s.snapshotOf === v.id)
      .sort((a, b) => a.ld - b.ld)
      .map((s) => hex4(s.ld)),
    rvs: v.backups.map((b) => hex4(b.ld)),
  });
  const vms = vmsOf(live);
  const vmOfVvol = (id: string | null): string | null => (id ? (byId.get(id)?.vm ?? null) : null);
  const dcs = new Map<string, RelVm[]>();
  for (const vm of vms) {
    const sources = [...new Set(vm.all.map((v) => vmOfVvol(v.linkedFrom)).filter((x): x is string => x !== null && x !== vm.name))];
    const targets = [
      ...new Set(live.filter((c) => c.linkedFrom !== null && byId.get(c.linkedFrom)?.vm === vm.name && c.vm !== vm.name).map((c) => c.vm)),
    ].sort();
    const r: RelVm = {
      name: vm.name,
      id: vm.id,
      config: vm.config ? rel(vm.config) : null,
      data: vm.data.map(rel),
      swap: vm.swap ? rel(vm.swap) : null,
      memory: vm.memory.map(rel),
      fastcloneSource: sources[0] ?? null,
      fastcloneTargets: targets,
    };
    const list = dcs.get(vm.datacenter) ?? [];
    list.push(r);
    dcs.set(vm.datacenter, list);
  }
  const running = (t: TaskInfo): boolean => t.state === 'running' || t.state === 'queued';
  const deleting = inp.tasks
    .filter((t) => t.kind === 'delete-snapshot' && running(t))
    .flatMap((t) => t.vvols.map((id) => ({ id: hex4(ldOfId(id)), deletingTime: t.started ?? t.created })));
  const cloning = inp.tasks
    .filter((t) => (t.kind === 'clone' || t.kind === 'migrate') && running(t))
    .flatMap((t) => t.vvols.map((id) => ({ id: hex4(ldOfId(id)), cloningTime: t.started ?? t.created })));
  const known = new Set(live.map((v) => v.ld));
  const rvRec = new Map(inp.rvRecords.map((r) => [r.ld, r]));
  const rvs = inp.backupPoolLds
    .filter((l) => !claimedRvs.has(l.number) && !known.has(l.number))
    .map((l) => {
      const r = rvRec.get(l.number);
      return { id: hex4(l.number), type: r ? VMW_TYPE[r.type]! : l.vmwareType.replace(/-VVOL$/, '').replace(/^vmdk$/, 'vmdk'), mvVMid: r?.vmId ?? '' };
    });
  const unmanagedRvs = new Set(rvs.map((r) => r.id));
  const busy = new Set([...deleting, ...cloning].map((x) => x.id));
  const invalid = inp.vvolLds
    .filter((l) => !known.has(l.number) && !claimedRvs.has(l.number) && !unmanagedRvs.has(hex4(l.number)) && !busy.has(hex4(l.number)))
    .map((l) => hex4(l.number));
  return {
    info: { startTimestamp: inp.now, finishTimestamp: inp.now, infoType: INFO_TYPE, fileVersion: FILE_VERSION, vCenterServer: inp.vCenterServer },
    diskArray: { ip: inp.array.ip, serialNumber: inp.array.serial, name: inp.array.name, wwn: inp.array.wwn, model: inp.array.model },
    datacenters: [...dcs.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([name, list]) => ({ name, vms: list })),
    unManage: { invalid, deleting, cloning, rvs },
  };
}

/** What decides whether the configuration changed: everything but the collection times. */
export function fingerprint(m: RelationModel): string {
  return JSON.stringify({ ...m, info: { ...m.info, startTimestamp: '', finishTimestamp: '' } });
}
