// The performance history over REST (src/ops/perf): the console's charts and kura perf read it.
import { PERF } from '../../api/perf.js';
import type { PerfHistory } from '../../ops/perf/history.js';
import { parseSince } from '../../ops/perf/history.js';
import type { PerfKind, Resolution } from '../../ops/perf/ring.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function perfRoutes(perf: PerfHistory): Route[] {
  return bind(PERF, {
    list: () => perf.objects(),
    show: ({ params, query }) =>
      perf.series(
        params['kind'] as PerfKind,
        params['name']!,
        parseSince((query['since'] as string | undefined) ?? '1h'),
        query['resolution'] as Resolution | undefined,
      ),
  });
}
