// The Prometheus scrape target: the array's metrics in the text format.
import type { ApiRoute } from './route.js';

export const METRICS = {
  scrape: {
    method: 'GET',
    path: '/metrics',
    tag: 'metrics',
    summary:
      'Metrics in the Prometheus text format (per-LD and per-port I/O, latency histograms, queue depth, capacity, pairs, process); needs the API token unless kura serve --metrics-public',
  },
} satisfies Record<string, ApiRoute>;
