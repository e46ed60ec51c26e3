// GET /metrics: the Prometheus scrape target (src/ops/metrics). Public only
// when kura serve --metrics-public says so; otherwise it takes the API token
// like every route.
import { METRICS } from '../../api/metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../ops/metrics/text-format.js';
import { RawReply } from '../router.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function metricsRoutes(text: () => string, metricsPublic: boolean): Route[] {
  return bind(METRICS, { scrape: () => new RawReply(PROMETHEUS_CONTENT_TYPE, text()) }).map((r) => ({ ...r, public: metricsPublic }));
}
