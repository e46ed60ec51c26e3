// Logical disks with their attributes; create, delete, and every attribute of one LD.
import { useState } from 'preact/hooks';
import { LDS } from '../../../api/lds.js';
import { POOLS } from '../../../api/pools.js';
import { call } from '../api.js';
import { bytes, hex4, time } from '../format.js';
import { useResource } from '../live.js';
import type { LdInfo, PoolInfo } from '../types.js';
import { ActionButton, ActionForm, ErrorBox, Field, Loading, PageHeader, StateBadge, str } from '../ui.js';

export function Lds() {
  const r = useResource(() => Promise.all([call<LdInfo[]>(LDS.list), call<PoolInfo[]>(POOLS.list)]), [], {
    on: (e) => /^(ld|pool|pair|host|snapshot)/.test(e.source),
  });
  const [shown, setShown] = useState<string | undefined>(undefined);
  const lds = r.data?.[0];
  const detail = lds?.find((l) => l.name === shown);
  return (
    <section>
      <PageHeader title="Logical disks" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      {!lds ? (
        <Loading />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">No.</th>
              <th scope="col">Name</th>
              <th scope="col">Pool</th>
              <th scope="col">Capacity</th>
              <th scope="col">Allocated</th>
              <th scope="col">State</th>
              <th scope="col">Access</th>
              <th scope="col">Attributes</th>
              <th scope="col">Owner</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {lds.map((l) => (
              <tr key={l.number} data-ld={l.name}>
                <td>{hex4(l.number)}</td>
                <td>
                  <button type="button" class="link" aria-expanded={shown === l.name} onClick={() => setShown(shown === l.name ? undefined : l.name)}>
                    {l.name}
                  </button>
                </td>
                <td>{l.pool}</td>
                <td>{bytes(l.capacity)}</td>
                <td>{bytes(l.allocated)}</td>
                <td>
                  <StateBadge state={l.state} />
                </td>
                <td>{l.accessMode}</td>
                <td>{[l.rplAttribute, l.snapshotAttribute, l.cloneAttribute, l.vmwareType].filter((a) => a !== '---' && a !== 'IV').join(' ') || '–'}</td>
                <td>
                  {l.currentOwner}
                  {l.currentOwner !== l.defaultOwner && <span class="muted"> (default {l.defaultOwner})</span>}
                </td>
                <td>
                  <ActionButton label={`Delete ${l.name}`} confirm={`Delete LD ${l.name}? Its data is lost.`} run={() => call(LDS.delete, { ref: l.name })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {detail && <LdDetail ld={detail} />}
      <ActionForm
        label="Create a logical disk"
        submit="Create LD"
        id="create-ld"
        onSubmit={async (f) => {
          const ld = await call<LdInfo>(LDS.create, {}, { name: str(f, 'name'), pool: str(f, 'pool'), size: str(f, 'size') });
          return `LD ${ld.name} (${hex4(ld.number)}) created in pool ${ld.pool}.`;
        }}
      >
        <Field id="ld-name" label="Name">
          <input id="ld-name" name="name" required maxLength={32} />
        </Field>
        <Field id="ld-pool" label="Pool">
          <select id="ld-pool" name="pool" required>
            {(r.data?.[1] ?? []).map((p) => (
              <option key={p.number} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="ld-size" label="Virtual capacity" hint="e.g. 1GiB">
          <input id="ld-size" name="size" required placeholder="1GiB" />
        </Field>
      </ActionForm>
    </section>
  );
}

function LdDetail({ ld }: { ld: LdInfo }) {
  const rows: Array<[string, string]> = [
    ['Number', hex4(ld.number)],
    ['Pool', `${ld.pool} (${ld.poolNumber})`],
    ['RAID', ld.raid],
    ['Capacity', bytes(ld.capacity)],
    ['Allocated', bytes(ld.allocated)],
    ['Block size', `${ld.blockSize} B`],
    ['Capacity allocation', ld.capacityAllocation],
    ['Access mode', ld.accessMode],
    ['Purpose', ld.purpose || '–'],
    ['Replication attribute', ld.rplAttribute],
    ['Snapshot attribute', ld.snapshotAttribute],
    ['Clone attribute', ld.cloneAttribute],
    ['VMware type', ld.vmwareType],
    [
      'I/O limits (IOPS)',
      ld.qos.upper || ld.qos.lower ? `upper ${ld.qos.upper || '–'}, lower ${ld.qos.lower || '–'}${ld.qosActive ? '' : ' (not acting)'}` : 'none',
    ],
    ['Plain NBD', ld.nbdPlain ? 'open' : 'closed'],
    ['Owner (current / default)', `${ld.currentOwner} / ${ld.defaultOwner}`],
    ['NAA', ld.naa],
    ['Serial', ld.serial],
    ['Read cache / write cache', `${ld.readCacheMode} / ${ld.writeCacheMode}`],
    ['PD type / group', `${ld.pdType} / ${ld.group}`],
    ['Bound PEs / VVOLs', `${ld.boundPeList.map(hex4).join(', ') || '–'} / ${ld.boundVvolList.map(hex4).join(', ') || '–'}`],
    ['Created', time(ld.created)],
  ];
  return (
    <div class="card" aria-labelledby="ld-detail-title">
      <h2 id="ld-detail-title">LD {ld.name}</h2>
      <dl class="pairs">{rows.map(([k, v]) => [<dt key={`k${k}`}>{k}</dt>, <dd key={`v${k}`}>{v}</dd>])}</dl>
    </div>
  );
}
