// Performance charts per LD, port and pool read the manager's performance
// history (engineer OPS's perf-history API). Until that API is in the manager
// this page says so; it looks for the API in the OpenAPI document, so a
// manager that has it is recognised without a console change of its own.
import { ARRAY } from '../../../api/array.js';
import { call } from '../api.js';
import { useResource } from '../live.js';
import { ErrorBox, Loading, PageHeader } from '../ui.js';

export function Perf() {
  const r = useResource(
    () => call<{ paths: Record<string, unknown> }>(ARRAY.document).then((d) => Object.keys(d.paths).filter((p) => p.includes('/perf'))),
    [],
    { on: () => false },
  );
  return (
    <section>
      <PageHeader title="Performance" updated={r.updated} onRefresh={r.reload} />
      <ErrorBox error={r.error} />
      {!r.data ? (
        <Loading />
      ) : r.data.length === 0 ? (
        <p class="notice" role="status">
          Performance charts per LD, port and pool read the manager's performance history, which this manager does not serve yet (no /perf route in its API
          document).
        </p>
      ) : (
        <p class="notice" role="status">
          The manager serves its performance history at {r.data.join(', ')}; the console's charts for it come with the next console build.
        </p>
      )}
    </section>
  );
}
