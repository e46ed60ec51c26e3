// Dashboard: the array, its controllers and host ports, pools with capacity
// bars against their thresholds, open alerts (warnings and errors) and recent
// events. Every event reloads it.
import { useEffect } from 'preact/hooks';
import { ARRAY } from '../../../api/array.js';
import { EVENTS } from '../../../api/events.js';
import { POOLS } from '../../../api/pools.js';
import { call } from '../api.js';
import { bytes, time } from '../format.js';
import { useResource } from '../live.js';
import type { ArrayInfo, ControllerInfo, PoolInfo, StoredEventView } from '../types.js';
import { CapacityMeter, ErrorBox, Loading, PageHeader, SeverityBadge, StateBadge } from '../ui.js';

interface DashboardData {
  array: ArrayInfo & { controllers: ControllerInfo[] };
  pools: PoolInfo[];
  events: StoredEventView[];
}

async function loadDashboard(): Promise<DashboardData> {
  const [array, pools, events] = await Promise.all([
    call<DashboardData['array']>(ARRAY.show),
    call<PoolInfo[]>(POOLS.list),
    call<StoredEventView[]>(EVENTS.list, {}, undefined, { limit: 200, order: 'desc' }),
  ]);
  return { array, pools, events };
}

export function Dashboard() {
  const r = useResource(loadDashboard, []);
  const d = r.data;
  useEffect(() => {
    // The browser test reads this mark: the time from navigation to the first dashboard with data.
    if (d && performance.getEntriesByName('kura-dashboard-rendered').length === 0) performance.mark('kura-dashboard-rendered');
  }, [d]);
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Dashboard" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      {!d ? (
        <Loading />
      ) : (
        <div class="grid">
          <ArrayCard array={d.array} />
          <Alerts events={d.events} controllers={d.array.controllers} pools={d.pools} />
          <Controllers controllers={d.array.controllers} />
          <Pools pools={d.pools} />
          <RecentEvents events={d.events.slice(0, 8)} />
        </div>
      )}
    </section>
  );
}

function ArrayCard({ array }: { array: DashboardData['array'] }) {
  return (
    <div class="card" aria-labelledby="card-array">
      <h2 id="card-array">Array</h2>
      <dl class="pairs">
        <dt>Name</dt>
        <dd>{array.name}</dd>
        <dt>Serial</dt>
        <dd>{array.serial}</dd>
        <dt>Version</dt>
        <dd>{array.version}</dd>
        <dt>Metadata in memory</dt>
        <dd>{bytes(array.memory.metadataBytes)}</dd>
        <dt>Process memory (RSS)</dt>
        <dd>{bytes(array.memory.rss)}</dd>
      </dl>
    </div>
  );
}

/** What needs attention now: controllers and ports down, pools over threshold or degraded, and recent warnings and errors. */
function Alerts({ events, controllers, pools }: { events: StoredEventView[]; controllers: ControllerInfo[]; pools: PoolInfo[] }) {
  const now: string[] = [];
  for (const c of controllers) {
    if (c.state !== 'online') now.push(`Controller ${c.number} is ${c.state}.`);
    for (const p of c.ports) if (p.state !== 'up' && c.state === 'online') now.push(`Host port ${p.host}:${p.port} (controller ${c.number}) is ${p.state}.`);
  }
  for (const p of pools) {
    if (p.state !== 'ready') now.push(`Pool ${p.name} is ${p.state}.`);
    if (p.overThreshold) now.push(`Pool ${p.name} is over its threshold (${p.threshold}%).`);
  }
  const recent = events.filter((e) => e.severity !== 'info').slice(0, 6);
  return (
    <div class="card alerts" aria-labelledby="card-alerts">
      <h2 id="card-alerts">Alerts</h2>
      {now.length === 0 ? (
        <p class="ok">No open alerts: controllers, ports and pools are fine.</p>
      ) : (
        <ul class="alert-list" role="alert" aria-label="Open alerts">
          {now.map((t) => (
            <li key={t} class="alert-now">
              {t}
            </li>
          ))}
        </ul>
      )}
      <h3>Recent warnings and errors</h3>
      {recent.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="event-list" aria-label="Recent warnings and errors">
          {recent.map((e) => (
            <li key={e.seq}>
              <SeverityBadge severity={e.severity} /> <span class="muted">{time(e.time)}</span> <code>{e.id}</code> {e.text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Controllers({ controllers }: { controllers: ControllerInfo[] }) {
  return (
    <div class="card" aria-labelledby="card-ctl">
      <h2 id="card-ctl">Controllers and host ports</h2>
      <table>
        <caption class="sr-only">Controllers with their host ports</caption>
        <thead>
          <tr>
            <th scope="col">Controller</th>
            <th scope="col">State</th>
            <th scope="col">Host ports</th>
          </tr>
        </thead>
        <tbody>
          {controllers.map((c) => (
            <tr key={c.number} data-controller={c.number}>
              <td>Controller {c.number}</td>
              <td>
                <StateBadge state={c.state} />
              </td>
              <td>
                {c.ports.map((p) => (
                  <div key={`${p.host}:${p.port}`}>
                    {p.host}:{p.port} <StateBadge state={p.state} /> <span class="muted">TPG {p.portalGroupTag}</span>
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Pools({ pools }: { pools: PoolInfo[] }) {
  return (
    <div class="card wide" aria-labelledby="card-pools">
      <h2 id="card-pools">Pools</h2>
      {pools.length === 0 ? (
        <p class="muted">No pools yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Pool</th>
              <th scope="col">State</th>
              <th scope="col">Used</th>
              <th scope="col">Capacity</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => (
              <tr key={p.number}>
                <td>
                  {p.name} <span class="muted">({p.raid})</span>
                </td>
                <td>
                  <StateBadge state={p.state} />
                </td>
                <td>
                  <CapacityMeter used={p.used} capacity={p.capacity} threshold={p.threshold} label={`Pool ${p.name} used`} />
                </td>
                <td>
                  {bytes(p.used)} of {bytes(p.capacity)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function RecentEvents({ events }: { events: StoredEventView[] }) {
  return (
    <div class="card wide" aria-labelledby="card-events">
      <h2 id="card-events">Recent events</h2>
      <ul class="event-list">
        {events.map((e) => (
          <li key={e.seq}>
            <SeverityBadge severity={e.severity} /> <span class="muted">{time(e.time)}</span> <code>{e.id}</code> <span class="muted">{e.source}</span> {e.text}
          </li>
        ))}
      </ul>
      <a href="#/events">All events</a>
    </div>
  );
}
