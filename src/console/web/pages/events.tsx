// Events with filters: severity (asked of the API), id, source and text
// (filtered here), how many; new events arrive live at the top.
import { useState } from 'preact/hooks';
import { EVENTS } from '../../../api/events.js';
import { call } from '../api.js';
import { time } from '../format.js';
import { useEvents, useResource } from '../live.js';
import type { StoredEventView } from '../types.js';
import { ErrorBox, Loading, PageHeader, SeverityBadge } from '../ui.js';

export function Events(props: { title?: string; sourcePrefix?: string }) {
  const [severity, setSeverity] = useState('');
  const [limit, setLimit] = useState(200);
  const [text, setText] = useState('');
  const r = useResource(
    () => call<StoredEventView[]>(EVENTS.list, {}, undefined, { limit, order: 'desc', severity: severity || undefined }),
    [severity, limit],
    { on: () => false },
  );
  const [live, setLive] = useState<StoredEventView[]>([]);
  useEvents((e) => {
    if (severity && e.severity !== severity) return;
    setLive((l) => [e, ...l].slice(0, 500));
  });
  const loadedMax = r.data?.[0]?.seq ?? 0;
  const all = [...live.filter((e) => e.seq > loadedMax), ...(r.data ?? [])];
  const needle = text.trim().toLowerCase();
  const shown = all.filter(
    (e) =>
      (!props.sourcePrefix || e.source.startsWith(props.sourcePrefix)) && (needle === '' || `${e.id} ${e.source} ${e.text}`.toLowerCase().includes(needle)),
  );
  return (
    <section>
      <PageHeader
        title={props.title ?? 'Events'}
        updated={r.updated}
        onRefresh={() => {
          setLive([]);
          r.reload();
        }}
      />
      <form class="filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <div class="field inline">
          <label for="ev-severity">Severity</label>
          <select id="ev-severity" value={severity} onChange={(e) => setSeverity((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            <option value="error">error</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </div>
        <div class="field inline">
          <label for="ev-text">Id, source or text contains</label>
          <input id="ev-text" type="search" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field inline">
          <label for="ev-limit">Newest</label>
          <select id="ev-limit" value={String(limit)} onChange={(e) => setLimit(Number((e.currentTarget as HTMLSelectElement).value))}>
            {[100, 200, 1000, 10000].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : (
        <table aria-live="polite">
          <caption class="sr-only">Events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Severity</th>
              <th scope="col">Id</th>
              <th scope="col">Source</th>
              <th scope="col">Text</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.seq} class={`sev-row-${e.severity}`}>
                <td>{time(e.time)}</td>
                <td>
                  <SeverityBadge severity={e.severity} />
                </td>
                <td>
                  <code>{e.id}</code>
                </td>
                <td>{e.source}</td>
                <td>{e.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {r.data && <p class="muted">{shown.length} shown.</p>}
    </section>
  );
}
