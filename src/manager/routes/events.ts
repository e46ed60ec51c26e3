// The event log over REST: reading it, and events host-side agents report.
import type { Severity } from '../../array/agent.js';
import type { EventStore } from '../events.js';
import { EVENTS } from '../../api/events.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import { EVENTS_LIMIT_RANGE } from '../../catalogue/manager.js';
import { EVENT_ID_INVALID } from '../../catalogue/pathmgr.js';

export function eventRoutes(events: EventStore): Route[] {
  return bind(EVENTS, {
    list: ({ query }) => {
      const limit = (query['limit'] as number | undefined) ?? 100;
      if (limit < 1 || limit > 10000) throw EVENTS_LIMIT_RANGE({ limit });
      const list = events.list({ limit, severity: query['severity'] as Severity | undefined, since: query['since'] as number | undefined });
      return query['order'] === 'desc' ? list.reverse() : list;
    },
    record: ({ body }) => {
      const id = body['id'] as string;
      if (!/^KURA-[EWI]\d{4}$/.test(id)) throw EVENT_ID_INVALID({ id });
      const host = String(body['host']).slice(0, 128);
      return events.record({ id, severity: body['severity'] as Severity, source: `host:${host}`, text: String(body['text']).slice(0, 2000) });
    },
  });
}
