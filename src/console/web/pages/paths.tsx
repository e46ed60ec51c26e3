// Paths: the array's side (portals and host ports with their states) and what
// the hosts' pathd agents reported. The API has no table of agents' paths yet:
// pathd reports path changes as events (POST /api/v1/events, source host:NAME),
// so this page lists those reports.
import { FAULTS } from '../../../api/faults.js';
import { call } from '../api.js';
import { useResource } from '../live.js';
import type { ControllerInfo } from '../types.js';
import { ErrorBox, Loading, PageHeader, StateBadge } from '../ui.js';
import { Events } from './events.js';

export function Paths() {
  const r = useResource(() => call<ControllerInfo[]>(FAULTS.controllers), [], { on: (e) => /^(controller|port|faults)/.test(e.source) });
  return (
    <section>
      <PageHeader title="Paths" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      <h2>Array side: host ports</h2>
      {!r.data ? (
        <Loading />
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Host port</th>
              <th scope="col">Controller</th>
              <th scope="col">Port state</th>
              <th scope="col">Controller state</th>
              <th scope="col">Target port group</th>
              <th scope="col">Relative port id</th>
            </tr>
          </thead>
          <tbody>
            {r.data.flatMap((c) =>
              c.ports.map((p) => (
                <tr key={`${p.host}:${p.port}`}>
                  <td>
                    {p.host}:{p.port}
                  </td>
                  <td>{c.number}</td>
                  <td>
                    <StateBadge state={p.state} />
                  </td>
                  <td>
                    <StateBadge state={c.state} />
                  </td>
                  <td>{p.portalGroupTag}</td>
                  <td>{p.relativeTargetPortId}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
      <p class="muted">
        Host side: each host's pathd reports path failures, recoveries and failovers to the manager as events (source host:NAME); they are listed below, newest
        first.
      </p>
      <Events title="Reports of pathd agents" sourcePrefix="host:" />
    </section>
  );
}
