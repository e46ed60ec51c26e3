// The path states pathd agents report (src/ops/paths): their reports in, the
// table of every host's paths out (the console's Paths page reads it).
import { PATH_STATES } from '../../api/path-states.js';
import { PATH_REPORT_INVALID, PATH_REPORT_TOO_LARGE } from '../../catalogue/ops.js';
import { MAX_PATHS_PER_REPORT, parseReportedPath } from '../../ops/paths/states.js';
import type { PathStates } from '../../ops/paths/states.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function pathStateRoutes(states: PathStates): Route[] {
  return bind(PATH_STATES, {
    list: () => states.list(),
    report: ({ body }) => {
      const host = body['host'] as string;
      if (host.length === 0 || host.length > 128 || [...host].some((c) => c < ' ' || c === '\x7f')) {
        throw PATH_REPORT_INVALID({ what: 'the host', why: 'must be 1 to 128 printable characters' });
      }
      const interval = body['intervalSeconds'] as number;
      if (interval < 1 || interval > 3600) throw PATH_REPORT_INVALID({ what: 'intervalSeconds', why: 'must be from 1 to 3600' });
      const raw = body['paths'] as Array<Record<string, unknown>>;
      // Counted before any path is read.
      if (raw.length > MAX_PATHS_PER_REPORT) throw PATH_REPORT_TOO_LARGE({ count: raw.length, max: MAX_PATHS_PER_REPORT });
      return states.record(
        host,
        interval,
        raw.map((p, i) => parseReportedPath(p, i)),
      );
    },
  });
}
