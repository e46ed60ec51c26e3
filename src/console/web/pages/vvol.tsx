// The seed's three VVOL screens (VVM App. F), on the VVOL API that exists:
// the Virtual Volume VM list (F.2), VM backup information (F.3) and Virtual
// Volume information (F.4). VMs are the "vm" of the provider's VVOLs. Backup,
// cancel, restore and script generation call the backup API
// (src/api/backup.ts); a running job's phase and progress are polled while it
// runs, and its lines shown.
import { useState } from 'preact/hooks';
import { ARRAY } from '../../../api/array.js';
import { BACKUPS } from '../../../api/backup.js';
import { LDS } from '../../../api/lds.js';
import { PAIRS } from '../../../api/pairs.js';
import { POOLS } from '../../../api/pools.js';
import { POLICIES, VVOLS } from '../../../api/vasa.js';
import { call } from '../api.js';
import { bytes, hex4, seconds, time } from '../format.js';
import { useResource } from '../live.js';
import type { ArrayInfo, BackupJob, LdInfo, PairInfo, PoolInfo, StoragePolicy, VmBackupView, VvolView } from '../types.js';
import { ActionButton, ErrorBox, Loading, PageHeader } from '../ui.js';

/** The seed: batch backup of more than four VMs may overload the management server (F.2.1). */
export const MAX_BATCH_BACKUP = 4;

interface Vm {
  name: string;
  vvols: VvolView[];
  guestOs: string;
  powered: boolean;
  generations: number;
}

function vmsOf(vvols: VvolView[], policies: StoragePolicy[]): Vm[] {
  const by = new Map<string, VvolView[]>();
  for (const v of vvols) {
    if (v.snapshotOf !== null) continue;
    by.set(v.vm, [...(by.get(v.vm) ?? []), v]);
  }
  return [...by.entries()]
    .map(([name, vs]) => {
      const gens = vs.map((v) => policies.find((p) => p.name === v.policy)?.backup?.generations ?? 0);
      return {
        name,
        vvols: vs,
        guestOs: vs.map((v) => v.metadata['VMW_GosType'] ?? v.metadata['guestOS']).find((x) => x !== undefined) ?? '–',
        // A VM runs while its VVOLs are bound (the hypervisor binds them at power-on).
        powered: vs.some((v) => v.boundPes.length > 0),
        generations: Math.max(0, ...gens),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const loadVms = () =>
  Promise.all([call<VvolView[]>(VVOLS.list), call<StoragePolicy[]>(POLICIES.list), call<VmBackupView[]>(BACKUPS.list)]).then(([v, p, b]) => ({
    vms: vmsOf(v, p),
    backups: b,
  }));

/** A job still moving: the page polls while one is. */
const running = (j: BackupJob | null | undefined) => j !== null && j !== undefined && (j.state === 'queued' || j.state === 'running');

/** The Backup State column: the seed's state, and while a job runs its progress or place in the queue. */
function backupStateText(b: VmBackupView | undefined): string {
  if (!b) return '–';
  const j = b.job;
  if (running(j)) return j!.queuePosition > 0 ? `${b.state} (queued, ${j!.queuePosition})` : `${b.state} (${j!.progress}%)`;
  return b.state;
}

export function VvolVmList() {
  const r = useResource(loadVms, [], {
    on: (e) => e.source.startsWith('vasa') || e.source.startsWith('ld') || e.source.startsWith('vm/'),
    pollMs: (d) => (d.backups.some((b) => running(b.job)) ? 500 : null),
  });
  const [selected, setSelected] = useState<string[]>([]);
  const [started, setStarted] = useState<string | undefined>(undefined);
  const full = selected.length >= MAX_BATCH_BACKUP;
  const backupOf = (vm: string) => r.data?.backups.find((b) => b.vm === vm);
  const batch = async () => {
    setStarted(undefined);
    const done: string[] = [];
    try {
      for (const vm of selected) {
        await call<BackupJob>(BACKUPS.run, { vm }, { datacenter: backupOf(vm)?.datacenter });
        done.push(vm);
      }
    } finally {
      if (done.length > 0) setStarted(`Backup started: ${done.join(', ')}.`);
      r.reload();
    }
    setSelected([]);
  };
  return (
    <section>
      <PageHeader title="Virtual Volume VM list" updated={r.updated} onRefresh={r.reload}>
        <ActionButton
          label={`Back up selected (${selected.length})`}
          run={batch}
          disabledReason={selected.length === 0 ? 'Select the VMs to back up first.' : undefined}
          describedBy="batch-backup-hint"
        />
      </PageHeader>
      <p id="batch-backup-hint" class="muted">
        Select up to {MAX_BATCH_BACKUP} VMs for one batch backup; each VM is backed up online (its data VVOLs, and the config VVOL, into its policy's backup
        volumes).
      </p>
      {started && (
        <p class="notice" role="status">
          {started}
        </p>
      )}
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : r.data.vms.length === 0 ? (
        <p class="muted">No VMs: the provider holds no VVOLs.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Select</th>
              <th scope="col">VM name</th>
              <th scope="col">Guest OS</th>
              <th scope="col">Power state</th>
              <th scope="col">Status</th>
              <th scope="col">Backups</th>
              <th scope="col">Backup state</th>
              <th scope="col">Last backup time</th>
              <th scope="col">Previous backup time</th>
            </tr>
          </thead>
          <tbody>
            {r.data.vms.map((vm) => {
              const on = selected.includes(vm.name);
              const b = backupOf(vm.name);
              return (
                <tr key={vm.name} data-vm={vm.name}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${vm.name} for backup`}
                      checked={on}
                      disabled={!on && full}
                      onChange={() => setSelected(on ? selected.filter((s) => s !== vm.name) : [...selected, vm.name])}
                    />
                  </td>
                  <td>
                    <a href={`#/vvol/vm/${encodeURIComponent(vm.name)}`}>{vm.name}</a>
                  </td>
                  <td>{vm.guestOs}</td>
                  <td>{vm.powered ? 'Powered on' : 'Powered off'}</td>
                  <td>Normal</td>
                  <td>{vm.generations || '–'}</td>
                  <td class="backup-state">{backupStateText(b)}</td>
                  <td>{time(b?.lastBackupTime)}</td>
                  <td>{time(b?.previousBackupTime)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {full && <p class="muted">At most {MAX_BATCH_BACKUP} VMs per batch backup (more may overload the management server).</p>}
    </section>
  );
}

export function VvolVmBackup({ vm }: { vm: string }) {
  const r = useResource(
    () =>
      Promise.all([
        call<VvolView[]>(VVOLS.list, {}, undefined, { vm }),
        call<StoragePolicy[]>(POLICIES.list),
        call<LdInfo[]>(LDS.list),
        call<PoolInfo[]>(POOLS.list),
        call<VmBackupView[]>(BACKUPS.list).then((all) => all.find((b) => b.vm === vm)),
      ]),
    [vm],
    {
      on: (e) => e.source.startsWith('vasa') || e.source.startsWith('ld') || e.source.startsWith('vm/'),
      pollMs: (d) => (running(d[4]?.job) ? 500 : null),
    },
  );
  const [from, setFrom] = useState<'last' | 'previous'>('last');
  const [withConfig, setWithConfig] = useState(false);
  const [script, setScript] = useState<string | undefined>(undefined);
  const [vvols, policies, lds, pools, backup] = r.data ?? [];
  const datacenter = backup?.datacenter;
  const job = backup?.job ?? null;
  const busy = running(job);
  const diskOf = (id: string) => backup?.disks.find((d) => d.vvol === id);
  const info = vvols && policies ? vmsOf(vvols, policies)[0] : undefined;
  const ldName = (n: number) => lds?.find((l) => l.number === n)?.name ?? hex4(n);
  const poolName = (n: number) => pools?.find((p) => p.number === n)?.name ?? String(n);
  return (
    <section>
      <PageHeader title={`VM backup information: ${vm}`} updated={r.updated} onRefresh={r.reload}>
        <ActionButton
          label="Back up"
          run={() => call(BACKUPS.run, { vm }, { datacenter }).finally(r.reload)}
          disabledReason={busy ? 'A backup or restore of this VM is running.' : undefined}
        />
        <ActionButton
          label="Cancel backup"
          confirm={`Cancel the backup of ${vm}? It ends as "Backup failed".`}
          run={() => call(BACKUPS.cancel, { vm }, { datacenter }).finally(r.reload)}
          disabledReason={busy && job?.kind === 'backup' ? undefined : 'No backup of this VM is running.'}
        />
        <ActionButton
          label="Generate script"
          run={() => call<{ script: string }>(BACKUPS.script, { vm }, undefined, { datacenter }).then((x) => setScript(x.script))}
        />
      </PageHeader>
      <ErrorBox error={r.error} />
      {backup && (
        <div class="backup-status" role="status" aria-label="Backup status">
          <strong>Backup state: {backup.state}</strong>
          {backup.message && <div class="muted">{backup.message}</div>}
          <div>
            Last backup: {time(backup.lastBackupTime)}; previous backup: {time(backup.previousBackupTime)}
          </div>
          {job && (
            <div>
              {job.kind === 'backup' ? 'Backup' : 'Restore'} job {job.id}: {job.state}
              {job.queuePosition > 0 && `, waiting (${job.queuePosition} in the queue)`}
              {busy && (
                <>
                  {' '}
                  <progress max={100} value={job.progress} aria-label={`${job.kind} progress`} /> {job.progress}%, {seconds(job.remainingSeconds)} left
                </>
              )}
              {job.error && (
                <div class="error">
                  {job.error.id}: {job.error.message}
                </div>
              )}
              {job.lines.length > 0 && <pre class="job-lines">{job.lines.join('\n')}</pre>}
            </div>
          )}
        </div>
      )}
      {script !== undefined && (
        <div class="script">
          <h2>Backup script</h2>
          <p class="muted">Run it where the kura CLI reaches this manager (KURA_URL, KURA_TOKEN).</p>
          <a download={`backup-${vm}.sh`} href={`data:text/x-shellscript;charset=utf-8,${encodeURIComponent(script)}`}>
            Download backup-{vm}.sh
          </a>
          <pre aria-label="Backup script">{script}</pre>
        </div>
      )}
      {!r.data ? (
        <Loading />
      ) : !info ? (
        <p class="muted">The provider holds no VVOLs of VM {vm}.</p>
      ) : (
        <>
          <h2>VM information</h2>
          <dl class="pairs">
            <dt>VM name</dt>
            <dd>{info.name}</dd>
            <dt>Guest OS</dt>
            <dd>{info.guestOs}</dd>
            <dt>Power state</dt>
            <dd>{info.powered ? 'Powered on' : 'Powered off'}</dd>
            <dt>Status</dt>
            <dd>Normal</dd>
          </dl>
          <h2>Virtual disk information</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Device name</th>
                <th scope="col">Type</th>
                <th scope="col">File path</th>
                <th scope="col">Capacity</th>
                <th scope="col">Backup state</th>
                <th scope="col">Last backup (pool)</th>
                <th scope="col">Last backup LD</th>
                <th scope="col">Last backup time</th>
                <th scope="col">Previous backup (pool)</th>
                <th scope="col">Previous backup LD</th>
                <th scope="col">Previous backup time</th>
              </tr>
            </thead>
            <tbody>
              {info.vvols.map((v) => {
                const last = v.backups.find((b) => b.generation === 1);
                const prev = v.backups.find((b) => b.generation === 2);
                const d = diskOf(v.id);
                return (
                  <tr key={v.id} data-vvol={v.id}>
                    <td>
                      <code>{v.id}</code>
                    </td>
                    <td>{v.type}</td>
                    <td>{v.metadata['VMW_VVolName'] ?? v.metadata['filePath'] ?? '–'}</td>
                    <td>{bytes(v.size)}</td>
                    <td>{d?.backupState ?? '–'}</td>
                    <td>{last ? poolName(last.pool) : '–'}</td>
                    <td>{last ? <a href="#/lds">{ldName(last.ld)}</a> : '–'}</td>
                    <td>{time(d?.last?.time)}</td>
                    <td>{prev ? poolName(prev.pool) : '–'}</td>
                    <td>{prev ? <a href="#/lds">{ldName(prev.ld)}</a> : '–'}</td>
                    <td>{time(d?.previous?.time)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <fieldset class="restore" disabled={busy}>
            <legend>Restore</legend>
            <label>
              <input type="radio" name="from" checked={from === 'last'} onChange={() => setFrom('last')} /> From the last backup
            </label>
            <label>
              <input type="radio" name="from" checked={from === 'previous'} onChange={() => setFrom('previous')} /> From the previous backup
            </label>
            <label>
              <input type="checkbox" checked={withConfig} onChange={() => setWithConfig(!withConfig)} /> Restore the config-VVOL
            </label>
            <ActionButton
              label="Restore"
              confirm={`Restore ${vm} from its ${from} backup? The VM's disks are overwritten.`}
              run={() => call(BACKUPS.restore, { vm }, { datacenter, from, config: withConfig }).finally(r.reload)}
              disabledReason={
                busy
                  ? 'A backup or restore of this VM is running.'
                  : !(from === 'last' ? backup?.lastBackupTime : backup?.previousBackupTime)
                    ? `There is no ${from} backup to restore from.`
                    : undefined
              }
            />
          </fieldset>
        </>
      )}
    </section>
  );
}

/** The seed's four kinds of VVOLs not used by VMs (VVM A.2), as far as the API shows them. */
type Unused = 'Unknown VVOL (invalidVVOLList)' | 'Deleting (deletingVVOL)' | 'Cloning (cloningVVOL)' | 'Backup remained by policy (rvVVOLList)';

function unusedVvols(lds: LdInfo[], vvols: VvolView[], pairs: PairInfo[]): Array<{ ld: LdInfo; status: Unused }> {
  const known = new Set(vvols.map((v) => v.ld));
  const backups = new Set(vvols.flatMap((v) => v.backups.map((b) => b.ld)));
  const out: Array<{ ld: LdInfo; status: Unused }> = [];
  for (const ld of lds) {
    if (!ld.vmwareType.endsWith('-VVOL') || known.has(ld.number) || backups.has(ld.number)) continue;
    const pair = pairs.find((p) => p.rvNumber === ld.number);
    // A full clone or migration copies into its new volume through a pair before the provider records it.
    if (pair && pair.sync.endsWith('/exec') && pair.activity === 'replicate') out.push({ ld, status: 'Cloning (cloningVVOL)' });
    else if (ld.rplAttribute === 'RV') out.push({ ld, status: 'Backup remained by policy (rvVVOLList)' });
    else out.push({ ld, status: 'Unknown VVOL (invalidVVOLList)' });
  }
  return out;
}

export function VvolInfo() {
  const r = useResource(
    () =>
      Promise.all([call<LdInfo[]>(LDS.list), call<VvolView[]>(VVOLS.list), call<PairInfo[]>(PAIRS.list), call<ArrayInfo>(ARRAY.show)]).then(
        ([lds, vvols, pairs, array]) => ({ unused: unusedVvols(lds, vvols, pairs), array, vvols: vvols.length }),
      ),
    [],
  );
  return (
    <section>
      <PageHeader title="Virtual Volume information" updated={r.updated} onRefresh={r.reload} />
      <p>
        Virtual Volumes (VVOLs) are LDs the VVOL provider makes for VMs in storage containers; hosts reach them through protocol endpoints. The list below shows
        VVOLs no VM uses: an unknown VVOL (an LD of VVOL type the provider holds no record of), one being deleted, one being cloned, and backup volumes left by
        a policy after their VVOL was deleted. Check their use before deleting them: an unknown VVOL may hold backup data.
      </p>
      <p class="muted">Deleting (deletingVVOL): the provider deletes snapshot VVOLs in tasks the API does not list, so none are shown in that state.</p>
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : (
        <>
          <p>
            {r.data.vvols} VVOLs in use by VMs; {r.data.unused.length} not used by VMs.
          </p>
          <table>
            <caption>VVOLs not used by VMs</caption>
            <thead>
              <tr>
                <th scope="col">Volume</th>
                <th scope="col">Status</th>
                <th scope="col">Attribute</th>
                <th scope="col">Disk array</th>
              </tr>
            </thead>
            <tbody>
              {r.data.unused.map(({ ld, status }) => (
                <tr key={ld.number}>
                  <td>{ld.name}</td>
                  <td>{status}</td>
                  <td>{[ld.vmwareType, ld.rplAttribute, ld.snapshotAttribute, ld.cloneAttribute].filter((a) => a !== '---').join(' ')}</td>
                  <td>{r.data!.array.name}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
