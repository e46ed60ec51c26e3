// REST routes of the performance history: 10-second samples for a day and
// 1-minute samples for a week, per LD, front-end port and pool.
import type { ApiRoute } from './route.js';

export const PERF_KIND_NAMES = ['ld', 'port', 'pool'];

export const PERF = {
  list: { method: 'GET', path: '/api/v1/perf', tag: 'perf', summary: 'The objects (LDs, ports, pools) that have performance history' },
  show: {
    method: 'GET',
    path: '/api/v1/perf/{kind}/{name}',
    tag: 'perf',
    summary: 'Performance samples of an LD, port or pool: IOPS, bytes per second, latency, queue depth (pools: used and capacity bytes)',
    query: {
      since: { type: 'string', description: 'how far back: 90s, 15m, 1h, 2d (up to 7d; default 1h)' },
      resolution: { type: 'string', enum: ['10s', '1m'], description: '10s (kept a day) or 1m (kept a week); default 10s up to a day back, else 1m' },
    },
  },
} satisfies Record<string, ApiRoute>;
