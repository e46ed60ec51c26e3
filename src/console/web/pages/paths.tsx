// Paths: the array's side (portals and host ports with their states), the
// path states each host's pathd reports (GET /api/v1/path-states, reloaded on
// the stream's "paths" signal: a state changed or a host went stale), and the
// events pathd agents sent (source host:NAME).
import { FAULTS } from '../../../api/faults.js';
import { PATH_STATES } from '../../../api/path-states.js';
import { call } from '../api.js';
import { useResource } from '../live.js';
import type { ControllerInfo, HostPaths } from '../types.js';
import { ErrorBox, Loading, PageHeader, StateBadge } from '../ui.js';
import { Events } from './events.js';

/** One table per reporting host; a stale host's paths show as unknown, with what it last said. */
function HostPathTables() {
  const r = useResource(() => call<HostPaths[]>(PATH_STATES.list), [], { on: () => false, signals: ['paths'] });
  if (r.error) return <ErrorBox error={r.error} />;
  if (!r.data) return <Loading />;
  if (r.data.length === 0) return <p class="muted">No host reports its paths yet (kura pathd --manager URL sends them).</p>;
  return (
    <>
      {r.data.map((h) => (
        <div key={h.host} class="host-paths" data-host={h.host}>
          <h3>
            {h.host} <StateBadge state={h.stale ? 'stale' : 'reporting'} />{' '}
            <span class="muted">
              last report {new Date(h.reportedAt).toLocaleTimeString()}
              {h.stale ? ` (none for over ${3 * h.intervalSeconds} s: states unknown)` : ''}
            </span>
          </h3>
          <table aria-label={`Paths of ${h.host}`}>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Path</th>
                <th scope="col">Target portal</th>
                <th scope="col">Controller</th>
                <th scope="col">ALUA state</th>
                <th scope="col">Path state</th>
                <th scope="col">Last change</th>
              </tr>
            </thead>
            <tbody>
              {h.paths.map((p) => (
                <tr key={`${p.deviceId} ${p.path}`} data-portal={p.portal}>
                  <td title={p.deviceId}>{p.device}</td>
                  <td>{p.path}</td>
                  <td>{p.portal}</td>
                  <td>{p.controller ?? '–'}</td>
                  <td>{h.stale ? 'unknown' : p.alua}</td>
                  <td class="path-state">{h.stale ? <span title={`last reported: ${p.state}`}>unknown (stale)</span> : <StateBadge state={p.state} />}</td>
                  <td>{new Date(p.since).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </>
  );
}

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
      <h2>Host side: paths pathd agents report</h2>
      <HostPathTables />
      <p class="muted">Each host's pathd also reports path failures, recoveries and failovers as events (source host:NAME), newest first:</p>
      <Events title="Reports of pathd agents" sourcePrefix="host:" />
    </section>
  );
}
