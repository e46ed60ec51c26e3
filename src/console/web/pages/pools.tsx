// Pools: capacity against the threshold, RAID, PDs; create and delete.
import { POOLS } from '../../../api/pools.js';
import { call } from '../api.js';
import { bytes } from '../format.js';
import { useResource } from '../live.js';
import type { PoolInfo } from '../types.js';
import { ActionButton, ActionForm, CapacityMeter, ErrorBox, Field, Loading, PageHeader, StateBadge, int, str } from '../ui.js';

export function Pools() {
  const r = useResource(() => call<PoolInfo[]>(POOLS.list), [], { on: (e) => e.source.startsWith('pool') || e.source.startsWith('ld') });
  return (
    <section>
      <PageHeader title="Pools" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">No.</th>
              <th scope="col">Name</th>
              <th scope="col">RAID</th>
              <th scope="col">State</th>
              <th scope="col">Capacity used</th>
              <th scope="col">Used / capacity</th>
              <th scope="col">Virtual (LDs)</th>
              <th scope="col">PDs</th>
              <th scope="col">LDs</th>
              <th scope="col">VMware type</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {r.data.map((p) => (
              <tr key={p.number} data-pool={p.name}>
                <td>{p.number}</td>
                <td>{p.name}</td>
                <td>{p.raid}</td>
                <td>
                  <StateBadge state={p.state} />
                  {p.resyncProgress !== null && <span class="muted"> resync {p.resyncProgress}%</span>}
                </td>
                <td>
                  <CapacityMeter used={p.used} capacity={p.capacity} threshold={p.threshold} label={`Pool ${p.name} used`} />
                </td>
                <td>
                  {bytes(p.used)} / {bytes(p.capacity)}
                </td>
                <td>{bytes(p.virtualCapacity)}</td>
                <td>{p.pds.length}</td>
                <td>{p.ldCount}</td>
                <td>{p.vmwareType}</td>
                <td>
                  <ActionButton label={`Delete ${p.name}`} confirm={`Delete pool ${p.name}?`} run={() => call(POOLS.delete, { ref: p.name })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ActionForm
        label="Create a pool"
        submit="Create pool"
        id="create-pool"
        onSubmit={async (f) => {
          const p = await call<PoolInfo>(
            POOLS.create,
            {},
            {
              name: str(f, 'name'),
              size: str(f, 'size'),
              raid: str(f, 'raid'),
              pds: int(f, 'pds'),
              threshold: int(f, 'threshold'),
              container: f.get('container') === 'on' ? true : undefined,
            },
          );
          return `Pool ${p.name} created (${bytes(p.capacity)}).`;
        }}
      >
        <Field id="pool-name" label="Name">
          <input id="pool-name" name="name" required maxLength={32} />
        </Field>
        <Field id="pool-size" label="Usable capacity" hint="e.g. 4GiB">
          <input id="pool-size" name="size" required placeholder="4GiB" />
        </Field>
        <Field id="pool-raid" label="RAID">
          <select id="pool-raid" name="raid">
            <option value="RAID1">RAID1</option>
            <option value="RAID10">RAID10</option>
            <option value="RAID0">RAID0</option>
          </select>
        </Field>
        <Field id="pool-pds" label="PDs" hint="default for the RAID level">
          <input id="pool-pds" name="pds" type="number" min={1} max={64} />
        </Field>
        <Field id="pool-threshold" label="Threshold (%)">
          <input id="pool-threshold" name="threshold" type="number" min={1} max={100} placeholder="80" />
        </Field>
        <Field id="pool-container" label="Storage container (VVOLs)">
          <input id="pool-container" name="container" type="checkbox" />
        </Field>
      </ActionForm>
    </section>
  );
}
