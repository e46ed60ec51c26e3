// The seed's three VVOL screens (VVM App. F), on the VVOL API that exists:
// the Virtual Volume VM list (F.2), VM backup information (F.3) and Virtual
// Volume information (F.4). VMs are the "vm" of the provider's VVOLs. Backup,
// cancel, restore and script generation need engineer BACKUP's API, which is
// not in this build: those buttons are disabled and say why.
import { useState } from 'preact/hooks';
import { ARRAY } from '../../../api/array.js';
import { LDS } from '../../../api/lds.js';
import { PAIRS } from '../../../api/pairs.js';
import { POOLS } from '../../../api/pools.js';
import { POLICIES, VVOLS } from '../../../api/vasa.js';
import { call } from '../api.js';
import { bytes, hex4 } from '../format.js';
import { useResource } from '../live.js';
import type { ArrayInfo, LdInfo, PairInfo, PoolInfo, StoragePolicy, VvolView } from '../types.js';
import { ErrorBox, Loading, PageHeader } from '../ui.js';

export const BACKUP_DISABLED = 'Backups run through the VM backup API (engineer BACKUP), which is not in this build of the manager.';
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

const loadVms = () => Promise.all([call<VvolView[]>(VVOLS.list), call<StoragePolicy[]>(POLICIES.list)]).then(([v, p]) => vmsOf(v, p));

export function VvolVmList() {
  const r = useResource(loadVms, [], { on: (e) => e.source.startsWith('vasa') || e.source.startsWith('ld') });
  const [selected, setSelected] = useState<string[]>([]);
  const full = selected.length >= MAX_BATCH_BACKUP;
  return (
    <section>
      <PageHeader title="Virtual Volume VM list" updated={r.updated} onRefresh={r.reload}>
        <button type="button" disabled title={BACKUP_DISABLED} aria-describedby="backup-disabled">
          Back up selected ({selected.length})
        </button>
      </PageHeader>
      <p id="backup-disabled" class="notice">
        {BACKUP_DISABLED} Select up to {MAX_BATCH_BACKUP} VMs for one batch backup.
      </p>
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : r.data.length === 0 ? (
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
            {r.data.map((vm) => {
              const on = selected.includes(vm.name);
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
                  <td>–</td>
                  <td>–</td>
                  <td>–</td>
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
      ]),
    [vm],
    { on: (e) => e.source.startsWith('vasa') || e.source.startsWith('ld') },
  );
  const [from, setFrom] = useState<'last' | 'previous'>('last');
  const [withConfig, setWithConfig] = useState(false);
  const [vvols, policies, lds, pools] = r.data ?? [];
  const info = vvols && policies ? vmsOf(vvols, policies)[0] : undefined;
  const ldName = (n: number) => lds?.find((l) => l.number === n)?.name ?? hex4(n);
  const poolName = (n: number) => pools?.find((p) => p.number === n)?.name ?? String(n);
  return (
    <section>
      <PageHeader title={`VM backup information: ${vm}`} updated={r.updated} onRefresh={r.reload}>
        {['Back up', 'Cancel backup', 'Generate script', 'Restore'].map((a) => (
          <button key={a} type="button" disabled title={BACKUP_DISABLED} aria-describedby="vm-backup-disabled">
            {a}
          </button>
        ))}
      </PageHeader>
      <p id="vm-backup-disabled" class="notice">
        {BACKUP_DISABLED}
      </p>
      <ErrorBox error={r.error} />
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
                return (
                  <tr key={v.id}>
                    <td>
                      <code>{v.id}</code>
                    </td>
                    <td>{v.type}</td>
                    <td>{v.metadata['VMW_VVolName'] ?? v.metadata['filePath'] ?? '–'}</td>
                    <td>{bytes(v.size)}</td>
                    <td>–</td>
                    <td>{last ? poolName(last.pool) : '–'}</td>
                    <td>{last ? <a href="#/lds">{ldName(last.ld)}</a> : '–'}</td>
                    <td>–</td>
                    <td>{prev ? poolName(prev.pool) : '–'}</td>
                    <td>{prev ? <a href="#/lds">{ldName(prev.ld)}</a> : '–'}</td>
                    <td>–</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <fieldset class="restore" disabled>
            <legend>Restore (needs the backup API)</legend>
            <label>
              <input type="radio" name="from" checked={from === 'last'} onChange={() => setFrom('last')} /> From the last backup
            </label>
            <label>
              <input type="radio" name="from" checked={from === 'previous'} onChange={() => setFrom('previous')} /> From the previous backup
            </label>
            <label>
              <input type="checkbox" checked={withConfig} onChange={() => setWithConfig(!withConfig)} /> Restore the config-VVOL
            </label>
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
