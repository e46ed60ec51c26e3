// VM backup and restore (VVM 4.1, App. E.1.1, F.3): a VM's config and data
// VVOLs are backed up into the backup volumes (RVs) their storage policy made
// in the vvolbackup pools. Each RV is the RV of a replication pair whose MV is
// the VVOL's LD; a backup replicates every disk (the first time a full copy,
// then the differences), waits until all are in sync, asks the hypervisor to
// quiesce the guest, separates every pair (that instant is the backup's
// consistency point), and thaws the guest. A restore is the pair's restore: the
// RV's image is copied back in the background while the VM goes on using the
// VVOL (reads of chunks not yet copied are copied first).
//
// At most MAX_RUNNING backups run at once, the rest wait in order (VVM L1592).
// Jobs live in memory; the VM and RV states are stored (./store.ts), so after a
// restart a backup that was running is reported failed (its RV marked
// invalid, the other generation untouched) and a restore's background copy,
// which the array resumes, is watched to its end.
import { isKuraError, type KuraError } from '../../errors.js';
import {
  BACKUP_ALREADY_RUNNING,
  BACKUP_COMMAND_FAILED,
  BACKUP_INTERRUPTED,
  BACKUP_INTERRUPTED_BY_RESTART,
  BACKUP_JOB_NOT_FOUND,
  BACKUP_NOTHING_TO_CANCEL,
  BACKUP_POLICY_NOT_SET,
  BACKUP_REQUEST_INVALID,
  BACKUP_VM_AMBIGUOUS,
  BACKUP_UNEXPECTED,
  BACKUP_VM_INFO_FAILED,
  BACKUP_VM_NOT_FOUND,
  BACKUP_WHILE_RESTORING,
  QUIESCE_FAILED,
  RESTORE_DISK_UNKNOWN,
  RESTORE_FROM_INVALID,
  RESTORE_INTERRUPTED,
  RESTORE_NO_BACKUP,
  RESTORE_VM_HAS_SNAPSHOTS,
  RESTORE_WHILE_BACKUP,
} from '../../catalogue/backup.js';
import type { VvolView } from '../model.js';
import * as I from './messages.js';
import type { BackupArrayPort, BackupPairState } from './port.js';
import { NO_QUIESCE, type GuestQuiescer, type QuiesceOutcome } from './quiesce.js';
import type { BackupStateName, BackupStore, RvRecord, VmBackupRecord } from './store.js';
import { DEFAULT_DATACENTER, datacentersOf, diskName, findVm, vmsOf, type VmRef, type VmVvols } from './vm.js';

/** Backups running at once; the rest wait in order (VVM L1592, L2870). */
export const MAX_RUNNING = 4;
/** How often a job looks at its pairs. */
const POLL_MS = 50;

export type JobKind = 'backup' | 'restore';
export type JobState = 'queued' | 'running' | 'success' | 'failed';

export interface JobDisk {
  disk: string;
  type: 'config' | 'data';
  vvol: string;
  ld: number;
  ldName: string;
  rv: number;
  rvName: string;
  pool: string;
  generation: number;
}

export interface BackupJob {
  id: string;
  kind: JobKind;
  vm: string;
  datacenter: string;
  state: JobState;
  /** The VM's Backup State while the job runs. */
  phase: BackupStateName;
  /** 0-100 of the copy. */
  progress: number;
  /** Seconds the copy still needs (null while unknown). */
  remainingSeconds: number | null;
  /** Place in the queue of waiting backups (1: next), 0 when not waiting. */
  queuePosition: number;
  /** Backup: it kept consistency through the quiesce hook (null until known). */
  consistent: boolean | null;
  /** The seed's displayed lines so far (VVM L2512-L2535). */
  lines: string[];
  disks: JobDisk[];
  error: { id: string; message: string; action: string } | null;
  created: string;
  finished: string | null;
}

export interface DiskBackupView {
  name: string;
  type: 'config' | 'data';
  vvol: string;
  ld: number;
  ldName: string;
  /** backuped: a valid backup exists; no backup: none (VVM L2788-L2790). */
  backupState: 'backuped' | 'no backup';
  /** Each generation's RV and its state (VVM L2944: "the status of each generation is displayed"). */
  generations: Array<{ generation: number; rv: number; rvName: string; pool: string; state: BackupStateName; time: string | null; valid: boolean }>;
  last: { time: string; rv: number; rvName: string; pool: string } | null;
  previous: { time: string; rv: number; rvName: string; pool: string } | null;
}

export interface VmBackupView {
  vm: string;
  datacenter: string;
  vmId: string;
  state: BackupStateName;
  message: string | null;
  consistent: boolean | null;
  /** Backup generations the VM's disks have (the seed's "Backups", VVM L2849). */
  generations: number;
  lastBackupTime: string | null;
  previousBackupTime: string | null;
  job: BackupJob | null;
  disks: DiskBackupView[];
}

export interface EngineEvent {
  id: string;
  severity: 'info' | 'warning' | 'error';
  source: string;
  text: string;
}

export interface BackupEngineOptions {
  /** The VVOLs with their metadata (the provider's queryVvols). */
  vvols: () => VvolView[];
  port: BackupArrayPort;
  store: BackupStore;
  quiescer?: GuestQuiescer;
  /** Raises an event (the manager's event store). */
  emit?: (e: EngineEvent) => void;
  now?: () => Date;
  maxRunning?: number;
  pollMs?: number;
}

interface Running {
  job: BackupJob;
  cancelled: boolean;
  /** The pairs are being separated: too late to cancel (VVM L2999-L3000). */
  separating: boolean;
  run: () => Promise<void>;
}

interface Target {
  disk: JobDisk;
  rv: RvRecord;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const keyOf = (dc: string, vm: string): string => `${dc}/${vm}`;
const MIRRORING = new Set(['rpl/exec', 'rpl/sync', 'sep/exec', 'rst/exec', 'rst/sync']);

export class BackupEngine {
  private readonly jobs = new Map<string, Running>();
  /** The job of each VM now (queued or running), by datacenter/VM. */
  private readonly active = new Map<string, Running>();
  private readonly queue: Running[] = [];
  private running = 0;
  private seq = 0;
  private quiescer: GuestQuiescer;
  private readonly clock: () => Date;
  private readonly maxRunning: number;
  private readonly pollMs: number;
  private closed = false;

  constructor(private readonly o: BackupEngineOptions) {
    this.quiescer = o.quiescer ?? NO_QUIESCE;
    this.clock = o.now ?? (() => new Date());
    this.maxRunning = o.maxRunning ?? MAX_RUNNING;
    this.pollMs = o.pollMs ?? POLL_MS;
  }

  /** The hypervisor's quiesce seam (kura vsim, or a test, plugs its own in). */
  setQuiescer(q: GuestQuiescer): void {
    this.quiescer = q;
  }

  /** Stops watching: running jobs end at their next look. */
  close(): void {
    this.closed = true;
  }

  private iso(): string {
    return this.clock().toISOString();
  }

  private emit(e: EngineEvent): void {
    this.o.emit?.(e);
  }

  // ---- VMs ----

  /** The datacenter of a VM named without one: its only one, else dc0 (issue 11). */
  resolveDatacenter(vm: string, dc?: string): string {
    if (dc !== undefined && dc !== '') return dc;
    const dcs = [...new Set(datacentersOf(this.o.vvols(), vm))];
    if (dcs.length > 1) throw BACKUP_VM_AMBIGUOUS({ vm, dcs: dcs.join(', ') });
    return dcs[0] ?? DEFAULT_DATACENTER;
  }

  private vm(name: unknown, dc: unknown): VmVvols {
    if (typeof name !== 'string' || name === '') throw BACKUP_REQUEST_INVALID({ why: 'the VM name is missing' });
    if (typeof dc !== 'string' || dc === '') throw BACKUP_REQUEST_INVALID({ why: 'the datacenter name is missing' });
    let vvols: VvolView[];
    try {
      vvols = this.o.vvols();
    } catch {
      throw BACKUP_VM_INFO_FAILED({ dc, vm: name });
    }
    const vm = findVm(vvols, name, dc);
    if (!vm) throw BACKUP_VM_NOT_FOUND({ dc, vm: name });
    return vm;
  }

  /** Config and data VVOLs that have backup volumes (VVM L1546-L1549). */
  private backedUpDisks(vm: VmVvols): VvolView[] {
    return [...(vm.config ? [vm.config] : []), ...vm.data].filter((v) => v.backups.length > 0);
  }

  private vmRecord(vm: VmRef): VmBackupRecord {
    return (
      this.o.store.vm(vm.datacenter, vm.name) ?? {
        datacenter: vm.datacenter,
        vm: vm.name,
        vmId: vm.id,
        state: '－',
        updated: this.iso(),
        message: null,
        consistent: null,
      }
    );
  }

  private setVmState(vm: VmRef, state: BackupStateName, extra: Partial<VmBackupRecord> = {}): void {
    const r = { ...this.vmRecord(vm), vmId: vm.id, state, updated: this.iso(), ...extra };
    this.o.store.putVm(r);
  }

  /** The RV record of each backup volume of a VVOL, made on first sight. */
  private rvRecords(vm: VmVvols, v: VvolView): RvRecord[] {
    return v.backups.map((b) => {
      const have = this.o.store.rv(b.ld);
      const base = {
        ld: b.ld,
        vvol: v.id,
        mvLd: v.ld,
        vm: vm.name,
        datacenter: vm.datacenter,
        vmId: vm.id,
        type: v.type,
        disk: diskName(v),
        generation: b.generation,
      };
      // A record of an RV that now backs up another VVOL (an LD number used again) starts afresh.
      const r: RvRecord = have && have.mvLd === v.ld ? { ...have, ...base } : { ...base, backupTime: null, valid: false, state: '－' };
      this.o.store.putRv(r);
      return r;
    });
  }

  /**
   * The generation a backup writes (VVM L2504-L2510): one never backed up,
   * then one whose backup failed, then the oldest.
   */
  static chooseTarget(rvs: RvRecord[]): RvRecord | undefined {
    const byGen = [...rvs].sort((a, b) => a.generation - b.generation);
    return (
      byGen.find((r) => r.backupTime === null) ??
      byGen.find((r) => !r.valid) ??
      [...byGen].sort((a, b) => (a.backupTime ?? '').localeCompare(b.backupTime ?? '') || a.generation - b.generation)[0]
    );
  }

  private jobDisk(v: VvolView, rv: RvRecord): JobDisk {
    const ld = this.o.port.ld(v.ld);
    const r = this.o.port.ld(rv.ld);
    return {
      disk: rv.disk,
      type: v.type as 'config' | 'data',
      vvol: v.id,
      ld: v.ld,
      ldName: ld?.name ?? String(v.ld),
      rv: rv.ld,
      rvName: r?.name ?? String(rv.ld),
      pool: r?.poolName ?? '',
      generation: rv.generation,
    };
  }

  // ---- jobs ----

  private newJob(kind: JobKind, vm: VmRef, phase: BackupStateName): Running {
    const job: BackupJob = {
      id: `${kind}-${++this.seq}`,
      kind,
      vm: vm.name,
      datacenter: vm.datacenter,
      state: 'queued',
      phase,
      progress: 0,
      remainingSeconds: null,
      queuePosition: 0,
      consistent: null,
      lines: [],
      disks: [],
      error: null,
      created: this.iso(),
      finished: null,
    };
    const r: Running = { job, cancelled: false, separating: false, run: async () => undefined };
    this.jobs.set(job.id, r);
    // Keep the newest jobs only.
    const ended = [...this.jobs.values()].filter((x) => x.job.finished !== null);
    for (const x of ended.slice(0, Math.max(0, ended.length - 200))) this.jobs.delete(x.job.id);
    return r;
  }

  getJob(id: string): BackupJob {
    const r = this.jobs.get(id);
    if (!r) throw BACKUP_JOB_NOT_FOUND({ id: String(id).slice(0, 80) });
    return this.jobView(r);
  }

  private jobView(r: Running): BackupJob {
    const pos = this.queue.indexOf(r);
    return { ...r.job, queuePosition: pos + 1, lines: [...r.job.lines], disks: r.job.disks.map((d) => ({ ...d })) };
  }

  /** Resolves when the job has ended. */
  async waitJob(id: string): Promise<BackupJob> {
    const r = this.jobs.get(id);
    if (!r) throw BACKUP_JOB_NOT_FOUND({ id });
    while (r.job.finished === null) await sleep(this.pollMs);
    return this.jobView(r);
  }

  private end(r: Running, error: KuraError | null): void {
    r.job.state = error ? 'failed' : 'success';
    r.job.error = error ? error.toJSON() : null;
    r.job.finished = this.iso();
    if (this.active.get(keyOf(r.job.datacenter, r.job.vm)) === r) this.active.delete(keyOf(r.job.datacenter, r.job.vm));
  }

  private startOrQueue(r: Running): void {
    if (this.running < this.maxRunning) this.launch(r);
    else this.queue.push(r);
  }

  private launch(r: Running): void {
    this.running++;
    r.job.state = 'running';
    void r
      .run()
      .catch(() => undefined)
      .finally(() => {
        this.running--;
        const next = this.queue.shift();
        if (next) this.launch(next);
      });
  }

  // ---- backup ----

  /**
   * Starts a backup of a VM (onlineBackup VM DATACENTER). The checks the seed
   * makes before it starts (the VM exists, it has backup volumes, no backup or
   * restore of it runs) throw here; the rest is the job's.
   */
  startBackup(name: string, datacenter: string): BackupJob {
    try {
      return this.backup(name, datacenter);
    } catch (e) {
      // The seed logs its refusals too (VVM E.2: "output in console and Windows event logs").
      this.refused(name, datacenter, e);
      throw e;
    }
  }

  private refused(name: string, datacenter: string, e: unknown): void {
    if (isKuraError(e) && !(e as { logged?: boolean }).logged) this.emit({ id: e.id, severity: 'error', source: `vm/${datacenter}/${name}`, text: e.message });
  }

  private backup(name: string, datacenter: string): BackupJob {
    const vm = this.vm(name, datacenter);
    const busy = this.active.get(keyOf(vm.datacenter, vm.name));
    if (busy) throw (busy.job.kind === 'backup' ? BACKUP_ALREADY_RUNNING : BACKUP_WHILE_RESTORING)({ dc: vm.datacenter, vm: vm.name });
    if (this.backedUpDisks(vm).length === 0) throw BACKUP_POLICY_NOT_SET({ dc: vm.datacenter, vm: vm.name });
    const r = this.newJob('backup', vm, 'Configuration checking');
    r.job.lines.push(I.START_CHECK);
    r.run = () => this.runBackup(r, vm);
    this.active.set(keyOf(vm.datacenter, vm.name), r);
    this.setVmState(vm, 'Configuration checking', { message: null });
    this.startOrQueue(r);
    return this.jobView(r);
  }

  /** Cancels the VM's backup: a waiting one at once, a running one at its next look (VVM F.3.2). */
  cancel(name: string, datacenter: string): BackupJob {
    const r = this.active.get(keyOf(datacenter, name));
    if (!r || r.job.kind !== 'backup') throw BACKUP_NOTHING_TO_CANCEL({ dc: datacenter, vm: name });
    r.cancelled = true;
    const i = this.queue.indexOf(r);
    if (i >= 0) {
      this.queue.splice(i, 1);
      const e = BACKUP_INTERRUPTED({ dc: datacenter, vm: name });
      this.setVmState({ name, datacenter, id: '' }, 'Backup failed', { message: e.message });
      this.emit({ id: e.id, severity: 'error', source: `vm/${datacenter}/${name}`, text: e.message });
      this.end(r, e);
    }
    return this.jobView(r);
  }

  /** The array refused a verb: "Failed to execute command(...)" with the array's message (VVM L2642); anything else stays as it is. */
  private commandFailed(command: string, e: unknown): unknown {
    if (!isKuraError(e) || e.id.startsWith('KURA-E37')) return e;
    return BACKUP_COMMAND_FAILED({ command, message: `${e.id}: ${e.message}` });
  }

  private async runBackup(r: Running, first: VmVvols): Promise<void> {
    const { job } = r;
    const targets: Target[] = [];
    try {
      if (r.cancelled) throw BACKUP_INTERRUPTED({ dc: job.datacenter, vm: job.vm });
      // Configuration checking: the VM as it is now (it may have changed while the job waited).
      const vm = findVm(this.o.vvols(), first.name, first.datacenter);
      if (!vm) throw BACKUP_VM_NOT_FOUND({ dc: job.datacenter, vm: job.vm });
      const disks = this.backedUpDisks(vm);
      if (disks.length === 0) throw BACKUP_POLICY_NOT_SET({ dc: job.datacenter, vm: job.vm });
      for (const v of disks) {
        const rvs = this.rvRecords(vm, v).filter((x) => this.o.port.ld(x.ld) !== undefined);
        const t = BackupEngine.chooseTarget(rvs);
        if (t) targets.push({ disk: this.jobDisk(v, t), rv: t });
      }
      if (targets.length === 0) throw BACKUP_POLICY_NOT_SET({ dc: job.datacenter, vm: job.vm });
      job.disks = targets.map((t) => t.disk);

      // Backing up: replicate every disk into its target.
      job.phase = 'Backing up';
      job.lines.push(I.START_BACKUP);
      this.setVmState(vm, 'Backing up');
      this.o.store.tx(() => {
        for (const t of targets) {
          t.rv = { ...t.rv, valid: false, state: 'Backing up' };
          this.o.store.putRv(t.rv);
        }
      });
      for (const t of targets) {
        const p = this.o.port.pair(t.disk.ld, t.disk.rv);
        try {
          if (!p) await this.o.port.createPair(t.disk.ld, t.disk.rv);
        } catch (e) {
          throw this.commandFailed('kura pair create', e);
        }
        if (p && (p.sync === 'rpl/exec' || p.sync === 'rpl/sync')) continue;
        try {
          await this.o.port.replicate(t.disk.ld, t.disk.rv);
        } catch (e) {
          throw this.commandFailed('kura pair replicate', e);
        }
      }
      await this.until(r, targets, 'rpl/sync', 'kura pair replicate');

      // The consistency point: quiesce, separate every pair, thaw.
      let outcome: QuiesceOutcome;
      try {
        outcome = await this.quiescer.quiesce(vm);
      } catch (e) {
        throw QUIESCE_FAILED({ dc: vm.datacenter, vm: vm.name, why: (e as Error).message });
      }
      if (r.cancelled) {
        if (outcome === 'quiesced') await this.quiescer.thaw(vm).catch(() => undefined);
        throw BACKUP_INTERRUPTED({ dc: job.datacenter, vm: job.vm });
      }
      r.separating = true;
      let thawError: unknown;
      try {
        for (const t of targets) await this.o.port.separate(t.disk.ld, t.disk.rv, false);
      } catch (e) {
        throw this.commandFailed('kura pair separate', e);
      } finally {
        if (outcome === 'quiesced') await this.quiescer.thaw(vm).catch((e: unknown) => (thawError = e));
      }
      const time = this.iso();
      await this.until(r, targets, 'sep/end', 'kura pair separate');
      const consistent = outcome === 'quiesced';
      job.consistent = consistent;
      this.o.store.tx(() => {
        for (const t of targets) this.o.store.putRv({ ...t.rv, backupTime: time, valid: true, state: 'Backup completed' });
        this.setVmState(vm, 'Backup completed', { consistent, message: null });
      });
      const arrayName = this.o.port.identity().name;
      const lines = I.successLines(
        vm.datacenter,
        vm.name,
        consistent,
        targets.map((t) => ({ type: t.disk.type, ldName: t.disk.ldName, disk: t.disk.disk, backupState: 'backuped', backupLdName: t.disk.rvName, arrayName })),
      );
      job.lines.push(...lines);
      job.phase = 'Backup completed';
      job.progress = 100;
      job.remainingSeconds = 0;
      this.emit({
        id: consistent ? I.I_BACKUP_DONE : I.I_BACKUP_DONE_NO_CONSISTENCY,
        severity: 'info',
        source: `vm/${vm.datacenter}/${vm.name}`,
        text: lines.join('\n'),
      });
      if (thawError)
        this.emit({
          id: QUIESCE_FAILED.id,
          severity: 'warning',
          source: `vm/${vm.datacenter}/${vm.name}`,
          text: QUIESCE_FAILED({ dc: vm.datacenter, vm: vm.name, why: (thawError as Error).message }).message,
        });
      this.end(r, null);
    } catch (err) {
      const e = r.cancelled && !r.separating ? BACKUP_INTERRUPTED({ dc: job.datacenter, vm: job.vm }) : this.asBackupError(err);
      await this.stopTargets(targets);
      this.o.store.tx(() => {
        for (const t of targets) this.o.store.putRv({ ...t.rv, valid: false, state: 'Backup failed' });
        this.setVmState(first, 'Backup failed', { message: e.message });
      });
      job.phase = 'Backup failed';
      job.lines.push(e.message);
      this.emit({ id: e.id, severity: 'error', source: `vm/${job.datacenter}/${job.vm}`, text: e.message });
      this.end(r, e);
    }
  }

  /** A failure the seed has no message for is its "Unexpected error occurred." (VVM L2638). */
  private asBackupError(err: unknown): KuraError {
    if (isKuraError(err)) return err;
    return BACKUP_UNEXPECTED({ why: (err as Error)?.message ?? String(err) });
  }

  /** A failed backup leaves no pair copying into its RV (a forced separate; the RV stays marked invalid). */
  private async stopTargets(targets: Target[]): Promise<void> {
    for (const t of targets) {
      const p = this.o.port.pair(t.disk.ld, t.disk.rv);
      if (p && MIRRORING.has(p.sync)) await this.o.port.separate(t.disk.ld, t.disk.rv, true).catch(() => undefined);
    }
  }

  /** Waits until every target pair is in `want`, keeping the job's progress; a fault or a cancel ends it. */
  private async until(r: Running, targets: Target[], want: string, command: string): Promise<void> {
    for (;;) {
      if (this.closed) throw BACKUP_INTERRUPTED({ dc: r.job.datacenter, vm: r.job.vm });
      if (r.cancelled && !r.separating) throw BACKUP_INTERRUPTED({ dc: r.job.datacenter, vm: r.job.vm });
      const states: BackupPairState[] = [];
      for (const t of targets) {
        const p = this.o.port.pair(t.disk.ld, t.disk.rv);
        if (!p) throw BACKUP_COMMAND_FAILED({ command, message: `the pair of LD ${t.disk.ldName} and backup volume ${t.disk.rvName} is gone` });
        if (p.sync === 'fault') throw BACKUP_COMMAND_FAILED({ command, message: p.fault ?? `pair ${t.disk.ldName} → ${t.disk.rvName} is in fault` });
        states.push(p);
      }
      if (want === 'rpl/sync' || want === 'rst/sync') {
        r.job.progress = Math.min(99, Math.floor(states.reduce((s, p) => s + p.progress, 0) / states.length));
        const secs = states.map((p) => p.remainingSeconds);
        r.job.remainingSeconds = secs.some((s) => s === null) ? null : Math.max(0, ...(secs as number[]));
      }
      if (states.every((p) => p.sync === want)) return;
      await sleep(this.pollMs);
    }
  }

  // ---- restore ----

  /**
   * Restores a VM's disks from the last or the previous backup (VVM F.3.3):
   * data VVOLs by default or those named, the config VVOL only when asked.
   * Returns once every copy has started: the VM's state is then "Restore
   * completed (copying in background)"; the job ends at "Restore completed".
   */
  async startRestore(name: string, datacenter: string, opts: { from: string; disks?: string[]; config?: boolean }): Promise<BackupJob> {
    try {
      return await this.restore(name, datacenter, opts);
    } catch (e) {
      this.refused(name, datacenter, e);
      throw e;
    }
  }

  private async restore(name: string, datacenter: string, opts: { from: string; disks?: string[]; config?: boolean }): Promise<BackupJob> {
    if (opts.from !== 'last' && opts.from !== 'previous') throw RESTORE_FROM_INVALID({ from: JSON.stringify(opts.from)?.slice(0, 40) ?? 'undefined' });
    const vm = this.vm(name, datacenter);
    const ref = { dc: vm.datacenter, vm: vm.name };
    if (this.active.has(keyOf(vm.datacenter, vm.name))) throw RESTORE_WHILE_BACKUP(ref);
    if (vm.snapshots.length > 0) throw RESTORE_VM_HAS_SNAPSHOTS();
    const disks = this.backedUpDisks(vm);
    let chosen = disks.filter((v) => v.type === 'data');
    if (opts.disks && opts.disks.length > 0) {
      const names = disks.map((v) => diskName(v));
      for (const d of opts.disks) if (!names.includes(d)) throw RESTORE_DISK_UNKNOWN({ ...ref, disk: d, disks: names.join(', ') || 'none' });
      chosen = disks.filter((v) => opts.disks!.includes(diskName(v)) && v.type === 'data');
    }
    if (opts.config && vm.config && vm.config.backups.length > 0) chosen = [vm.config, ...chosen];
    if (chosen.length === 0) throw BACKUP_POLICY_NOT_SET(ref);
    const targets: Target[] = [];
    for (const v of chosen) {
      const valid = this.rvRecords(vm, v)
        .filter((x) => x.valid && x.backupTime !== null && this.o.port.ld(x.ld) !== undefined)
        .sort((a, b) => b.backupTime!.localeCompare(a.backupTime!));
      const rv = opts.from === 'last' ? valid[0] : valid[1];
      if (!rv) throw RESTORE_NO_BACKUP({ ...ref, from: opts.from, disk: diskName(v) });
      targets.push({ disk: this.jobDisk(v, rv), rv });
    }
    const r = this.newJob('restore', vm, 'Restore completed (copying in background)');
    r.job.disks = targets.map((t) => t.disk);
    r.job.state = 'running';
    this.active.set(keyOf(vm.datacenter, vm.name), r);
    try {
      for (const t of targets) {
        try {
          await this.o.port.restore(t.disk.ld, t.disk.rv);
        } catch (e) {
          throw this.commandFailed('kura pair restore', e);
        }
        t.rv = { ...t.rv, state: 'Restore completed (copying in background)' };
        this.o.store.putRv(t.rv);
      }
    } catch (e) {
      this.failRestore(r, vm, targets, e);
      // failRestore raised its event.
      throw Object.assign(this.asBackupError(e), { logged: true });
    }
    this.setVmState(vm, 'Restore completed (copying in background)', { message: null });
    this.emit({
      id: I.I_RESTORE_STARTED,
      severity: 'info',
      source: `vm/${vm.datacenter}/${vm.name}`,
      text: `Restore of VM(${vm.datacenter}/${vm.name}) from the ${opts.from} backup started: ${targets.map((t) => `${t.disk.disk} ← ${t.disk.rvName}`).join(', ')}.`,
    });
    void this.watchRestore(r, vm, targets);
    return this.jobView(r);
  }

  private failRestore(r: Running, vm: VmRef, targets: Target[], err: unknown): void {
    const e = this.asBackupError(err);
    for (const t of targets) this.o.store.putRv({ ...t.rv, state: 'Restore failed' });
    this.setVmState(vm, 'Restore failed', { message: e.message });
    r.job.phase = 'Restore failed';
    r.job.lines.push(e.message);
    this.emit({ id: e.id, severity: 'error', source: `vm/${vm.datacenter}/${vm.name}`, text: e.message });
    this.end(r, e);
  }

  /** Follows the background copies to their end, then separates the pairs again. */
  private async watchRestore(r: Running, vm: VmRef, targets: Target[]): Promise<void> {
    try {
      await this.until(r, targets, 'rst/sync', 'kura pair restore');
      for (const t of targets) {
        try {
          await this.o.port.separate(t.disk.ld, t.disk.rv, false);
        } catch (e) {
          throw this.commandFailed('kura pair separate', e);
        }
      }
      r.separating = true;
      await this.until(r, targets, 'sep/end', 'kura pair separate');
      this.o.store.tx(() => {
        for (const t of targets) this.o.store.putRv({ ...t.rv, state: 'Restore completed' });
        this.setVmState(vm, 'Restore completed', { message: null });
      });
      r.job.phase = 'Restore completed';
      r.job.progress = 100;
      r.job.remainingSeconds = 0;
      this.emit({
        id: I.I_RESTORE_DONE,
        severity: 'info',
        source: `vm/${vm.datacenter}/${vm.name}`,
        text: `Restore of VM(${vm.datacenter}/${vm.name}) completed.`,
      });
      this.end(r, null);
    } catch (e) {
      if (this.closed) return;
      this.failRestore(r, vm, targets, e);
    }
  }

  // ---- after a restart ----

  /**
   * Called once when the provider opens: a backup that was running (or
   * waiting) did not finish — its RVs stay invalid, its pairs stop copying and
   * the VM shows "Backup failed"; a restore whose copy the array resumes is
   * watched to its end.
   */
  async recover(): Promise<void> {
    const vms = vmsOf(this.o.vvols());
    for (const rec of this.o.store.vms()) {
      const ref: VmRef = { name: rec.vm, datacenter: rec.datacenter, id: rec.vmId };
      const rvs = this.o.store.rvs().filter((x) => x.vm === rec.vm && x.datacenter === rec.datacenter);
      if (rec.state === 'Configuration checking' || rec.state === 'Backing up') {
        const text = BACKUP_INTERRUPTED_BY_RESTART({ dc: rec.datacenter, vm: rec.vm });
        for (const rv of rvs.filter((x) => x.state === 'Backing up')) {
          const p = this.o.port.pair(rv.mvLd, rv.ld);
          if (p && MIRRORING.has(p.sync)) await this.o.port.separate(rv.mvLd, rv.ld, true).catch(() => undefined);
          this.o.store.putRv({ ...rv, valid: false, state: 'Backup failed' });
        }
        this.setVmState(ref, 'Backup failed', { message: BACKUP_INTERRUPTED({ dc: rec.datacenter, vm: rec.vm }).message });
        this.emit({ id: BACKUP_INTERRUPTED_BY_RESTART.id, severity: 'warning', source: `vm/${rec.datacenter}/${rec.vm}`, text });
      } else if (rec.state === 'Restore completed (copying in background)') {
        const vm = vms.find((v) => v.name === rec.vm && v.datacenter === rec.datacenter);
        const copying = rvs.filter((x) => x.state === 'Restore completed (copying in background)');
        const targets: Target[] = [];
        for (const rv of copying) {
          const v = vm?.all.find((x) => x.ld === rv.mvLd);
          const p = this.o.port.pair(rv.mvLd, rv.ld);
          if (v && p && (p.sync === 'rst/exec' || p.sync === 'rst/sync')) targets.push({ disk: this.jobDisk(v, rv), rv });
        }
        if (vm && targets.length === copying.length && targets.length > 0) {
          const r = this.newJob('restore', vm, 'Restore completed (copying in background)');
          r.job.state = 'running';
          r.job.disks = targets.map((t) => t.disk);
          this.active.set(keyOf(vm.datacenter, vm.name), r);
          void this.watchRestore(r, vm, targets);
        } else {
          for (const rv of copying) this.o.store.putRv({ ...rv, state: 'Restore failed' });
          const text = RESTORE_INTERRUPTED({ dc: rec.datacenter, vm: rec.vm });
          this.setVmState(ref, 'Restore failed', { message: text });
          this.emit({ id: RESTORE_INTERRUPTED.id, severity: 'warning', source: `vm/${rec.datacenter}/${rec.vm}`, text });
        }
      }
    }
  }

  // ---- state ----

  private diskView(vm: VmVvols, v: VvolView): DiskBackupView {
    const rvs = this.rvRecords(vm, v);
    const gens = rvs
      .map((x) => {
        const ld = this.o.port.ld(x.ld);
        return {
          generation: x.generation,
          rv: x.ld,
          rvName: ld?.name ?? String(x.ld),
          pool: ld?.poolName ?? '',
          state: x.state,
          time: x.backupTime,
          valid: x.valid,
        };
      })
      .sort((a, b) => a.generation - b.generation);
    const done = gens.filter((g) => g.valid && g.time !== null).sort((a, b) => b.time!.localeCompare(a.time!));
    const at = (g: (typeof gens)[number] | undefined) => (g ? { time: g.time!, rv: g.rv, rvName: g.rvName, pool: g.pool } : null);
    return {
      name: diskName(v),
      type: v.type as 'config' | 'data',
      vvol: v.id,
      ld: v.ld,
      ldName: this.o.port.ld(v.ld)?.name ?? String(v.ld),
      backupState: done.length > 0 ? 'backuped' : 'no backup',
      generations: gens,
      last: at(done[0]),
      previous: at(done[1]),
    };
  }

  private view(vm: VmVvols): VmBackupView {
    const rec = this.vmRecord(vm);
    const disks = this.backedUpDisks(vm).map((v) => this.diskView(vm, v));
    const times = [...new Set(disks.flatMap((d) => d.generations.filter((g) => g.valid && g.time).map((g) => g.time!)))].sort().reverse();
    const active = this.active.get(keyOf(vm.datacenter, vm.name));
    return {
      vm: vm.name,
      datacenter: vm.datacenter,
      vmId: vm.id,
      state: rec.state,
      message: rec.message,
      consistent: rec.consistent,
      generations: Math.max(0, ...disks.map((d) => d.generations.length)),
      lastBackupTime: times[0] ?? null,
      previousBackupTime: times[1] ?? null,
      job: active ? this.jobView(active) : null,
      disks,
    };
  }

  show(name: string, datacenter: string): VmBackupView {
    return this.view(this.vm(name, datacenter));
  }

  /** Every VM (the seed's Virtual Volume VM list, VVM F.2). */
  list(): VmBackupView[] {
    return vmsOf(this.o.vvols()).map((vm) => this.view(vm));
  }

  /** RV records (the relation file's rvVVOLList reads the ones no VVOL claims). */
  rvRecordsAll(): RvRecord[] {
    return this.o.store.rvs();
  }
}
