// The backup side of the provider as the manager opens it: the engine on the
// array (pairs through ArrayBackupPort), its state in the provider's SQLite
// database, the hypervisor seam (the VM owner's quiesce hook named by VVOL
// metadata), the provider settings and the relation-file writer.
import type Database from 'better-sqlite3';
import type { ArrayAgent } from '../../array/agent.js';
import { BACKUP_VM_NOT_FOUND, RELATION_VM_NOT_FOUND, RELATION_WRITE_FAILED } from '../../catalogue/backup.js';
import type { VvolProvider } from '../provider.js';
import { buildRelation, type RelationModel } from '../relation/model.js';
import { backupScript, vmRelation, type VmRelationView } from '../relation/view.js';
import { RelationWriter, type CheckResult } from '../relation/writer.js';
import { ArrayBackupPort } from './array-port.js';
import { BackupEngine, type EngineEvent } from './engine.js';
import { I_RELATION_WRITTEN, I_SETTINGS_CHANGED } from './messages.js';
import { ScriptQuiescer } from './quiesce.js';
import { SettingsStore, type ProviderSettings, type SettingsChange } from './settings.js';
import { BackupStore } from './store.js';
import { QUIESCE_HOOK_KEY, findVm } from './vm.js';

export interface BackupServiceOptions {
  agent: ArrayAgent;
  vvol: VvolProvider;
  db: Database.Database;
  dataDir: string;
  emit: (e: EngineEvent) => void;
  now?: () => Date;
}

export class BackupService {
  readonly engine: BackupEngine;
  readonly port: ArrayBackupPort;
  readonly store: BackupStore;
  readonly relation: RelationWriter;
  private readonly settingsStore: SettingsStore;
  private readonly clock: () => Date;

  constructor(private readonly o: BackupServiceOptions) {
    this.clock = o.now ?? (() => new Date());
    this.port = new ArrayBackupPort(o.agent);
    this.store = new BackupStore(o.db);
    this.settingsStore = new SettingsStore(o.db);
    const vvols = () => o.vvol.queryVvols();
    this.engine = new BackupEngine({
      vvols,
      port: this.port,
      store: this.store,
      // The hypervisor runs the hook the VM owner named on one of the VM's VVOLs.
      quiescer: new ScriptQuiescer((vm) => {
        const found = findVm(vvols(), vm.name, vm.datacenter);
        return found?.all.map((v) => v.metadata[QUIESCE_HOOK_KEY]).find((h) => h !== undefined && h !== '');
      }),
      emit: o.emit,
      now: this.clock,
    });
    this.relation = new RelationWriter({
      dataDir: o.dataDir,
      db: o.db,
      build: (now) => this.relationModel(now),
      interval: () => this.settingsStore.get().interval,
      now: this.clock,
      onError: (e) => o.emit({ id: RELATION_WRITE_FAILED.id, severity: 'warning', source: 'vasa/relation', text: RELATION_WRITE_FAILED({ why: e.message }) }),
      onWritten: (file) =>
        o.emit({ id: I_RELATION_WRITTEN, severity: 'info', source: 'vasa/relation', text: `The configuration changed: relation file ${file} written.` }),
    });
  }

  /** The configuration as a relation file holds it now. */
  relationModel(now: Date): RelationModel {
    const s = this.settingsStore.get();
    const id = this.port.identity();
    return buildRelation({
      vvols: this.o.vvol.queryVvols(),
      tasks: this.o.vvol.tasks.list(),
      vvolLds: this.port.vvolLds(),
      backupPoolLds: this.port.backupPoolLds(),
      rvRecords: this.store.rvs(),
      array: { ...id, ip: s.arrays[0] ?? '' },
      vCenterServer: s.vcenter?.ip ?? '',
      now: now.toISOString(),
    });
  }

  /** VM-VVOLRelation: the VM as the latest relation file holds it (VVM E.1.2). */
  relationOf(vm: string, datacenter: string): VmRelationView {
    const r = vmRelation(this.relation.latest(), vm, datacenter);
    if (r) return r;
    if (!findVm(this.o.vvol.queryVvols(), vm, datacenter)) throw BACKUP_VM_NOT_FOUND({ dc: datacenter, vm });
    // The VM is newer than the last relation file (VVM L2870-L2877).
    throw RELATION_VM_NOT_FOUND({ dc: datacenter, vm });
  }

  backupScript(vm: string, datacenter: string): { vm: string; datacenter: string; script: string } {
    if (!findVm(this.o.vvol.queryVvols(), vm, datacenter)) throw BACKUP_VM_NOT_FOUND({ dc: datacenter, vm });
    return { vm, datacenter, script: backupScript(vm, datacenter, this.clock().toISOString()) };
  }

  get settings(): { get: () => ProviderSettings; set: (c: SettingsChange) => { settings: ProviderSettings; lines: string[] } } {
    return {
      get: () => this.settingsStore.get(),
      set: (c) => {
        const r = this.settingsStore.set(c);
        this.o.emit({ id: I_SETTINGS_CHANGED, severity: 'info', source: 'vasa/provider', text: `Provider settings changed: ${r.lines.join(' ')}` });
        return r;
      },
    };
  }

  /** Picks up what a restart cut short (engine.recover) and starts the relation file's interval. */
  async start(): Promise<void> {
    await this.engine.recover();
    this.relation.start();
  }

  /** Runs the configuration check now (kura provider relation write). */
  writeRelation(): CheckResult {
    return this.relation.check();
  }

  close(): void {
    this.relation.stop();
    this.engine.close();
  }
}
