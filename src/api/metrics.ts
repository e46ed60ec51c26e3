// The Prometheus scrape target: the array's metrics in the text format. It
// lives outside the API prefix where Prometheus looks by default, so it is
// not one of the API's route descriptions (nor in the OpenAPI document): the
// manager answers it before the router (src/manager/routes/metrics.ts).

export const METRICS_PATH = '/metrics';
