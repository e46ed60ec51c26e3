// GET /metrics: the Prometheus scrape target (src/ops/metrics), answered
// before the API router (it is not under the API prefix). Public only when
// kura serve --metrics-public says so; otherwise it takes the API token like
// every route.
import type http from 'node:http';
import { METRICS_PATH } from '../../api/metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../ops/metrics/text-format.js';
import { RawReply } from '../router.js';

/** The answer to a request for /metrics, or undefined when the request is for something else. */
export function metricsReply(req: http.IncomingMessage, path: string, text: () => string): RawReply | undefined {
  if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) return undefined;
  return new RawReply(PROMETHEUS_CONTENT_TYPE, text());
}
