import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per app instance (no global default registry) so tests can build many apps.
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'recur_' });
    this.httpDuration = new Histogram({
      name: 'recur_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }
}
