import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per app instance (no global default registry) so tests can build many apps.
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;

  /** `heldRows`: rows the worker holds now, by job (read at each scrape). */
  constructor(opts: { heldRows?: () => Promise<Map<string, number>> } = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'recur_' });
    const heldRows = opts.heldRows;
    if (heldRows) {
      new Gauge({
        name: 'recur_work_holds',
        help: 'Rows the worker holds after they failed on their own (work_holds), by job: alert when above 0',
        labelNames: ['job'],
        registers: [this.registry],
        async collect() {
          this.reset();
          // A database that cannot answer shows in /health; the scrape still returns the other metrics.
          const counts = await heldRows().catch(() => new Map<string, number>());
          for (const [job, n] of counts) this.set({ job }, n);
        },
      });
    }
    this.httpDuration = new Histogram({
      name: 'recur_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }
}
