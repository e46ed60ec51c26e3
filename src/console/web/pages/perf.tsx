// Performance charts per LD, front-end port and pool, from the manager's
// performance history (src/api/perf.ts: 10-second samples for a day,
// 1-minute samples for a week). A manager without that API (no /perf route in
// its OpenAPI document) gets a notice instead of charts.
import { useState } from 'preact/hooks';
import { ARRAY } from '../../../api/array.js';
import { PERF } from '../../../api/perf.js';
import { call } from '../api.js';
import { useResource } from '../live.js';
import { ErrorBox, Loading, PageHeader } from '../ui.js';
import { LineChart } from '../chart.js';

interface PerfObject {
  kind: 'ld' | 'port' | 'pool';
  name: string;
}

interface PerfSeries {
  kind: string;
  name: string;
  resolution: string;
  fields: string[];
  samples: Array<Record<string, number | string>>;
}

const KIND_LABEL: Record<string, string> = { ld: 'LD', port: 'Port', pool: 'Pool' };
const FIELD_LABEL: Record<string, string> = {
  readIops: 'Read IOPS',
  writeIops: 'Write IOPS',
  readBytesPerSec: 'Read bytes/s',
  writeBytesPerSec: 'Write bytes/s',
  readLatencyMs: 'Read latency (ms)',
  writeLatencyMs: 'Write latency (ms)',
  queueDepth: 'Queue depth',
  usedBytes: 'Used bytes',
  capacityBytes: 'Capacity bytes',
};

async function loadObjects(): Promise<PerfObject[] | null> {
  const doc = await call<{ paths: Record<string, unknown> }>(ARRAY.document);
  if (!Object.hasOwn(doc.paths, PERF.show.path)) return null;
  return call<PerfObject[]>(PERF.list);
}

export function Perf() {
  const objects = useResource(loadObjects, [], { on: () => false });
  const [chosen, setChosen] = useState('');
  const [since, setSince] = useState('1h');
  const list = objects.data ?? [];
  const key = chosen !== '' ? chosen : list[0] ? `${list[0].kind}/${list[0].name}` : '';
  return (
    <section>
      <PageHeader title="Performance" updated={objects.updated} onRefresh={objects.reload} />
      <ErrorBox error={objects.error} />
      {objects.data === undefined ? (
        <Loading />
      ) : objects.data === null ? (
        <p class="notice" role="status">
          Performance charts per LD, port and pool read the manager's performance history, which this manager does not serve (no {PERF.show.path} route in its
          API document).
        </p>
      ) : list.length === 0 ? (
        <p class="muted">No performance history yet: samples start with I/O.</p>
      ) : (
        <>
          <form class="filters" aria-label="Choose a chart" onSubmit={(e) => e.preventDefault()}>
            <div class="field inline">
              <label for="perf-object">Object</label>
              <select id="perf-object" value={key} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
                {list.map((o) => (
                  <option key={`${o.kind}/${o.name}`} value={`${o.kind}/${o.name}`}>
                    {KIND_LABEL[o.kind] ?? o.kind} {o.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field inline">
              <label for="perf-since">Period</label>
              <select id="perf-since" value={since} onChange={(e) => setSince((e.currentTarget as HTMLSelectElement).value)}>
                {['15m', '1h', '6h', '1d', '7d'].map((s) => (
                  <option key={s} value={s}>
                    last {s}
                  </option>
                ))}
              </select>
            </div>
          </form>
          {key !== '' && <Charts kind={key.slice(0, key.indexOf('/'))} name={key.slice(key.indexOf('/') + 1)} since={since} />}
        </>
      )}
    </section>
  );
}

function Charts(props: { kind: string; name: string; since: string }) {
  const r = useResource(
    () => call<PerfSeries>(PERF.show, { kind: props.kind, name: props.name }, undefined, { since: props.since }),
    [props.kind, props.name, props.since],
    {
      on: () => false,
      // New samples come every 10 s.
      pollMs: () => 10_000,
    },
  );
  return (
    <>
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : (
        <>
          <p class="muted">
            {r.data.samples.length} samples at {r.data.resolution} resolution.
          </p>
          <div class="charts">
            {r.data.fields.map((f) => (
              <LineChart
                key={f}
                title={`${FIELD_LABEL[f] ?? f}: ${KIND_LABEL[props.kind] ?? props.kind} ${props.name}`}
                points={r.data!.samples.map((s) => ({ t: Date.parse(String(s['time'])), v: Number(s[f]) }))}
              />
            ))}
          </div>
        </>
      )}
    </>
  );
}
