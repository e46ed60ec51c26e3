// The backup engine's durable state, in the provider's SQLite database (a
// change the engine acknowledged survives a crash): per VM its backup state,
// per backup volume (RV) what it holds — which VVOL it backs up, its
// generation, when it was last backed up and whether that backup completed.
// An RV record outlives its VVOL: the relation file lists such RVs as
// rvVVOLList with the VM they came from (VVM L2446-L2452).
import type Database from 'better-sqlite3';
import type { VvolType } from '../model.js';

/** The seed's Backup State strings (VVM L2846-L2856, L2944-L2954); '－' when no backup was done. */
export const STATES = [
  '－',
  'Configuration checking',
  'Backing up',
  'Backup completed',
  'Backup failed',
  'Restore completed (copying in background)',
  'Restore completed',
  'Restore failed',
] as const;
export type BackupStateName = (typeof STATES)[number];

export interface VmBackupRecord {
  datacenter: string;
  vm: string;
  vmId: string;
  state: BackupStateName;
  updated: string;
  /** Why the last backup or restore failed (the seed's message). */
  message: string | null;
  /** The last backup kept consistency through the guest-quiesce hook (null: none done yet). */
  consistent: boolean | null;
}

export interface RvRecord {
  ld: number;
  /** The VVOL it backs up (its id when the relation was last seen) and that VVOL's LD. */
  vvol: string;
  mvLd: number;
  vm: string;
  datacenter: string;
  vmId: string;
  type: VvolType;
  disk: string;
  generation: number;
  /** When the last backup into it separated (its consistency point); null: never backed up. */
  backupTime: string | null;
  /** The last backup into it completed: it holds the VVOL as of backupTime. */
  valid: boolean;
  state: BackupStateName;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vvol_backup_vm (key TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vvol_backup_rv (ld INTEGER PRIMARY KEY, json TEXT NOT NULL);
`;

const vmKey = (dc: string, vm: string): string => `${dc}/${vm}`;

export class BackupStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  vms(): VmBackupRecord[] {
    return (this.db.prepare('SELECT json FROM vvol_backup_vm ORDER BY key').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as VmBackupRecord);
  }

  vm(dc: string, vm: string): VmBackupRecord | undefined {
    const r = this.db.prepare('SELECT json FROM vvol_backup_vm WHERE key = ?').get(vmKey(dc, vm)) as { json: string } | undefined;
    return r && (JSON.parse(r.json) as VmBackupRecord);
  }

  putVm(r: VmBackupRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_backup_vm (key, json) VALUES (?, ?)').run(vmKey(r.datacenter, r.vm), JSON.stringify(r));
  }

  rvs(): RvRecord[] {
    return (this.db.prepare('SELECT json FROM vvol_backup_rv ORDER BY ld').all() as Array<{ json: string }>).map((r) => JSON.parse(r.json) as RvRecord);
  }

  rv(ld: number): RvRecord | undefined {
    const r = this.db.prepare('SELECT json FROM vvol_backup_rv WHERE ld = ?').get(ld) as { json: string } | undefined;
    return r && (JSON.parse(r.json) as RvRecord);
  }

  putRv(r: RvRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO vvol_backup_rv (ld, json) VALUES (?, ?)').run(r.ld, JSON.stringify(r));
  }

  deleteRv(ld: number): void {
    this.db.prepare('DELETE FROM vvol_backup_rv WHERE ld = ?').run(ld);
  }
}
