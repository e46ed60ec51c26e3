// Hosts and LUN maps: host entries with initiators, their LUNs, access control
// and the target; create a host, map an LD to it, unmap a LUN.
import { HOSTS } from '../../../api/hosts.js';
import { LDS } from '../../../api/lds.js';
import { call } from '../api.js';
import { hex4 } from '../format.js';
import { useResource } from '../live.js';
import type { AccessControlInfo, HostInfo, LdInfo, TargetInfo } from '../types.js';
import { ActionButton, ActionForm, ErrorBox, Field, Loading, PageHeader, StateBadge, int, str } from '../ui.js';

export function Hosts() {
  const r = useResource(
    () => Promise.all([call<HostInfo[]>(HOSTS.list), call<LdInfo[]>(LDS.list), call<AccessControlInfo>(HOSTS.access), call<TargetInfo>(HOSTS.target)]),
    [],
    {},
  );
  const [hosts, lds, access, target] = r.data ?? [];
  return (
    <section>
      <PageHeader title="Hosts and LUN maps" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      {!hosts || !lds || !access || !target ? (
        <Loading />
      ) : (
        <>
          <p>
            Access control is <strong>{access.enabled ? 'on' : 'off'}</strong> ({access.hosts} host entries):{' '}
            {access.enabled ? 'initiators see only the LDs mapped to their host entry.' : 'every initiator sees every LD.'}{' '}
            {!access.enabled && <ActionButton label="Start access control" run={() => call(HOSTS.startAccess)} />}
          </p>
          <table>
            <caption>Host entries</caption>
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Initiators</th>
                <th scope="col">LUN maps</th>
                <th scope="col">CHAP</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {hosts.map((h) => (
                <tr key={h.name} data-host={h.name}>
                  <td>{h.name}</td>
                  <td>
                    {h.initiators.map((i) => (
                      <div key={i}>
                        <code>{i}</code>
                      </div>
                    ))}
                  </td>
                  <td>
                    {h.luns.length === 0 && <span class="muted">none</span>}
                    {h.luns.map((l) => (
                      <div key={l.lun} class="lun">
                        LUN {l.lun} → {l.ld} ({hex4(l.ldNumber)}){' '}
                        <ActionButton label={`Unmap LUN ${l.lun} of ${h.name}`} run={() => call(HOSTS.unmap, { name: h.name, lun: l.lun })} />
                      </div>
                    ))}
                  </td>
                  <td>{h.chap ? `user ${h.chap.user}` : 'none'}</td>
                  <td>
                    <ActionButton label={`Delete ${h.name}`} confirm={`Delete host entry ${h.name}?`} run={() => call(HOSTS.delete, { name: h.name })} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="forms">
            <ActionForm
              label="Create a host entry"
              submit="Create host"
              id="create-host"
              onSubmit={async (f) => {
                const initiators = (str(f, 'initiators') ?? '').split(/[\s,]+/).filter((s) => s !== '');
                const h = await call<HostInfo>(HOSTS.create, {}, { name: str(f, 'name'), initiators });
                return `Host ${h.name} created${h.accessControlStarted ? '; access control is now on' : ''}.`;
              }}
            >
              <Field id="host-name" label="Name">
                <input id="host-name" name="name" required maxLength={64} />
              </Field>
              <Field id="host-initiators" label="Initiator IQNs" hint="separated by spaces or commas">
                <input id="host-initiators" name="initiators" />
              </Field>
            </ActionForm>
            <ActionForm
              label="Map an LD to a host"
              submit="Map"
              id="map-lun"
              onSubmit={async (f) => {
                const host = str(f, 'host')!;
                const h = await call<HostInfo>(HOSTS.map, { name: host }, { ld: str(f, 'ld'), lun: int(f, 'lun') });
                const m = h.luns.find((l) => l.ld === str(f, 'ld'));
                return `Mapped to ${h.name}${m ? ` as LUN ${m.lun}` : ''}.`;
              }}
            >
              <Field id="map-host" label="Host">
                <select id="map-host" name="host" required>
                  {hosts.map((h) => (
                    <option key={h.name} value={h.name}>
                      {h.name}
                    </option>
                  ))}
                </select>
              </Field>
              <Field id="map-ld" label="LD">
                <select id="map-ld" name="ld" required>
                  {lds.map((l) => (
                    <option key={l.number} value={l.name}>
                      {l.name}
                    </option>
                  ))}
                </select>
              </Field>
              <Field id="map-lun-no" label="LUN" hint="empty: the lowest free">
                <input id="map-lun-no" name="lun" type="number" min={0} max={16383} />
              </Field>
            </ActionForm>
          </div>
          <h2>iSCSI target</h2>
          <p>
            <code>{target.name}</code> {target.mutualChap ? `(mutual CHAP user ${target.mutualChap.user})` : ''}
          </p>
          <ul>
            {target.portals.map((p) => (
              <li key={`${p.host}:${p.port}`}>
                Portal {p.host}:{p.port} on controller {p.controller} <StateBadge state={p.state} />
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
