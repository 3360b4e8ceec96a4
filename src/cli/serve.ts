import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { allJobs } from '../jobs/registry.js';
import { Worker } from '../jobs/worker.js';
import { ensureFirstAdminKey, openRuntime, runSeed } from '../runtime.js';
import { buildGateways } from '../modules/payments/gateways-from-config.js';
import { readFingerprintSecret } from '../modules/payments/installation-secret.js';
import { notifierFromConfig } from '../modules/notifications/channels.js';
import { dirname, join } from 'node:path';

/** `recur serve`: API + (unless RECUR_WORKER=false) one in-process worker. `recur worker`: worker only. */
export async function serve(config: Config, opts: { api: boolean; worker: boolean }): Promise<void> {
  const rt = await openRuntime(config);
  if (config.seed) {
    const { created } = await runSeed(rt);
    if (created) rt.logger.info({ created }, 'catalog seeded');
  }
  const secret = await ensureFirstAdminKey(rt);
  if (secret) {
    const line = '='.repeat(72);
    process.stdout.write(
      `\n${line}\n  Recur created your first admin API key. It is shown only this once:\n\n    ${secret}\n\n` +
        `  Use it as: curl -H "Authorization: Bearer ${secret.slice(0, 6)}…" http://localhost:${config.port}/v1/customers\n${line}\n\n`,
    );
  }

  // Stripe and/or PayPal behind the router when configured; else the built-in simulated gateway.
  const gateways = buildGateways(config.payments, rt.clock, await readFingerprintSecret(rt.db), rt.logger);
  // Without SMTP/Twilio, messages go to the outbox: the database, and (on PGlite) files beside the data folder.
  const outboxDir = config.notifications.outboxDir ?? (config.databaseUrl ? undefined : join(dirname(config.dataDir), 'outbox'));
  const notifier = notifierFromConfig(config.notifications, { outboxDir });
  // PGlite is one connection: more loops than one would only take turns on it.
  const concurrency = rt.db.kind === 'postgres' ? config.workerConcurrency : 1;
  const worker = opts.worker ? new Worker({ db: rt.db, clock: rt.clock, logger: rt.logger, deps: { gateways, config } }, allJobs({ notifier }), 1000, concurrency) : null;
  const built = opts.api ? await buildApp({ db: rt.db, clock: rt.clock, config, gateways, notifier }) : null;
  if (built) {
    await built.app.listen({ port: config.port, host: config.host });
  }
  worker?.start();
  rt.logger.info({ db: rt.db.kind, api: opts.api, worker: Boolean(worker), workerLoops: worker ? concurrency : 0 }, 'recur started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    rt.logger.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
    // Stop taking requests and let in-flight ones finish, then let the worker end its batch.
    await built?.app.close();
    await worker?.stop();
    await rt.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
