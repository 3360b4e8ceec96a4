import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

/** Health (a real database round trip) and Prometheus metrics; both public, like most scrapers expect. */
export function opsRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/health', async (_req, reply) => {
    try {
      await deps.db.query('SELECT 1');
      return { status: 'ok', database: 'ok', db: deps.db.kind };
    } catch (err) {
      reply.code(503);
      return { status: 'unavailable', database: 'down', error: (err as Error).message };
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('Content-Type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
