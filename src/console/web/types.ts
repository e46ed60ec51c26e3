// The shapes the REST API answers with, as the console uses them (type-only
// imports: nothing of the array is bundled).
export type { ArrayInfo, ControllerInfo, HostInfo, LdInfo, PairInfo, PoolInfo, SnapshotInfo, TargetInfo, AccessControlInfo } from '../../array/agent.js';
export type { VvolView } from '../../vvol/model.js';
export type { StoragePolicy } from '../../vvol/policy.js';
export type { HostPaths } from '../../api/path-states.js';
export type { BackupJob, VmBackupView } from '../../vvol/backup/engine.js';

export interface StoredEventView {
  seq: number;
  time: string;
  id: string;
  severity: 'info' | 'warning' | 'error';
  source: string;
  text: string;
}
