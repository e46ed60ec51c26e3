// Snapshots, clones and replication pairs, with a pair's copy progress live
// (polled each second while a copy runs; state changes also arrive as events).
import { useState } from 'preact/hooks';
import { LDS } from '../../../api/lds.js';
import { PAIRS } from '../../../api/pairs.js';
import { SNAPSHOTS } from '../../../api/snapshots.js';
import { call } from '../api.js';
import { bytes, seconds, time } from '../format.js';
import { useResource } from '../live.js';
import type { LdInfo, PairInfo, SnapshotInfo } from '../types.js';
import { ActionButton, ActionForm, ErrorBox, Field, Loading, PageHeader, StateBadge, str } from '../ui.js';

const copying = (p: PairInfo) => p.sync.endsWith('/exec');

export function Replication() {
  const lds = useResource(() => call<LdInfo[]>(LDS.list), [], { on: (e) => /^(ld|snapshot|pair|clone)/.test(e.source) });
  const pairs = useResource(() => call<PairInfo[]>(PAIRS.list), [], {
    on: (e) => /^(pair|ld)/.test(e.source),
    pollMs: (ps) => (ps.some(copying) ? 1000 : null),
  });
  const [ld, setLd] = useState<string>('');
  const names = (lds.data ?? []).map((l) => l.name);
  const chosen = ld !== '' ? ld : (names[0] ?? '');
  return (
    <section>
      <PageHeader
        title="Snapshots, clones and pairs"
        updated={pairs.updated}
        onRefresh={() => {
          lds.reload();
          pairs.reload();
        }}
      />
      <ErrorBox error={lds.error ?? pairs.error} />
      <h2>Replication pairs</h2>
      {!pairs.data ? <Loading /> : <PairTable pairs={pairs.data} />}
      <ActionForm
        label="Pair two LDs"
        submit="Create pair"
        id="create-pair"
        onSubmit={async (f) => {
          const p = await call<PairInfo>(PAIRS.create, {}, { mv: str(f, 'mv'), rv: str(f, 'rv') });
          return `Pair ${p.mv} → ${p.rv} created (separated).`;
        }}
      >
        <LdSelect id="pair-mv" name="mv" label="Master volume (MV)" names={names} />
        <LdSelect id="pair-rv" name="rv" label="Replication volume (RV)" names={names} />
      </ActionForm>
      <h2>Snapshots</h2>
      <div class="field inline">
        <label for="snap-ld">LD</label>
        <select id="snap-ld" value={chosen} onChange={(e) => setLd((e.currentTarget as HTMLSelectElement).value)}>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
      {chosen !== '' && <Snapshots ld={chosen} />}
      <h2>Clones</h2>
      <ActionForm
        label="Make a fast clone"
        submit="Clone"
        id="create-clone"
        onSubmit={async (f) => {
          const c = await call<LdInfo>(SNAPSHOTS.createClone, { ref: str(f, 'source')! }, { name: str(f, 'name') });
          return `Clone ${c.name} made (FCV of ${str(f, 'source')}).`;
        }}
      >
        <LdSelect id="clone-source" name="source" label="Source LD" names={names} />
        <Field id="clone-name" label="Clone name">
          <input id="clone-name" name="name" required maxLength={32} />
        </Field>
      </ActionForm>
      {lds.data && (
        <ul>
          {lds.data
            .filter((l) => l.cloneAttribute !== '---')
            .map((l) => (
              <li key={l.number}>
                {l.name}: {l.cloneAttribute}
              </li>
            ))}
        </ul>
      )}
    </section>
  );
}

function LdSelect(props: { id: string; name: string; label: string; names: string[] }) {
  return (
    <Field id={props.id} label={props.label}>
      <select id={props.id} name={props.name} required>
        {props.names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </Field>
  );
}

function PairTable({ pairs }: { pairs: PairInfo[] }) {
  if (pairs.length === 0) return <p class="muted">No pairs.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">MV</th>
          <th scope="col">RV</th>
          <th scope="col">Activity</th>
          <th scope="col">Sync state</th>
          <th scope="col">Copy progress</th>
          <th scope="col">Remaining</th>
          <th scope="col">Differences</th>
          <th scope="col">RV access</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {pairs.map((p) => {
          const key = { mv: p.mv, rv: p.rv };
          return (
            <tr key={`${p.mv}/${p.rv}`} data-pair={`${p.mv}/${p.rv}`}>
              <td>{p.mv}</td>
              <td>{p.rv}</td>
              <td>{p.activity}</td>
              <td>
                <StateBadge state={p.sync} />
              </td>
              <td>
                <progress max={100} value={p.progress} aria-label={`Copy progress of ${p.mv} to ${p.rv}`}>
                  {p.progress}%
                </progress>{' '}
                <span class="progress-text">{p.progress}%</span> <span class="muted">({bytes(p.copiedBytes)})</span>
              </td>
              <td>{copying(p) ? seconds(p.remainingSeconds) : '–'}</td>
              <td>{bytes(p.activity === 'separate' ? p.separateDiffBytes : p.copyDiffBytes)}</td>
              <td>{p.rvAccess}</td>
              <td class="actions">
                <ActionButton label="Replicate" run={() => call(PAIRS.replicate, key, {})} />
                <ActionButton label="Separate" run={() => call(PAIRS.separate, key, {})} />
                <ActionButton label="Restore" confirm={`Restore ${p.mv} from ${p.rv}?`} run={() => call(PAIRS.restore, key)} />
                <ActionButton label="Unpair" confirm={`Unpair ${p.mv} and ${p.rv}?`} run={() => call(PAIRS.delete, key)} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Snapshots({ ld }: { ld: string }) {
  const r = useResource(() => call<SnapshotInfo[]>(SNAPSHOTS.list, { ref: ld }), [ld], { on: (e) => e.source.includes(ld) });
  return (
    <>
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : r.data.length === 0 ? (
        <p class="muted">No snapshots of {ld}.</p>
      ) : (
        <table aria-label={`Snapshots of ${ld}`}>
          <thead>
            <tr>
              <th scope="col">Generation</th>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Allocated</th>
              <th scope="col">Access</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {r.data.map((s) => (
              <tr key={s.name} data-snapshot={s.name}>
                <td>
                  {s.generation} ({s.relativeGeneration})
                </td>
                <td>{s.name}</td>
                <td>{time(s.created)}</td>
                <td>{bytes(s.allocated)}</td>
                <td>{s.access}</td>
                <td>{s.status}</td>
                <td class="actions">
                  <ActionButton label="Restore" confirm={`Revert ${ld} to ${s.name}?`} run={() => call(SNAPSHOTS.restore, { ref: ld, snap: s.name })} />
                  <ActionButton label="Delete" confirm={`Delete snapshot ${s.name}?`} run={() => call(SNAPSHOTS.delete, { ref: ld, snap: s.name })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ActionForm
        label={`Take a snapshot of ${ld}`}
        submit="Take snapshot"
        id="take-snapshot"
        onSubmit={async (f) => {
          const s = await call<SnapshotInfo>(SNAPSHOTS.create, { ref: ld }, { name: str(f, 'name') });
          r.reload();
          return `Snapshot ${s.name} of ${ld} taken.`;
        }}
      >
        <Field id="snap-name" label="Snapshot name" hint="default genN">
          <input id="snap-name" name="name" maxLength={32} />
        </Field>
      </ActionForm>
    </>
  );
}
