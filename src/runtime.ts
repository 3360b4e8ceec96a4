import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import type { Config } from './config.js';
import { systemClock, type Clock } from './core/time/index.js';
import { openDb, type Db } from './db/index.js';
import { lockDataDir } from './db/lock.js';
import { migrate } from './db/migrate.js';
import { countApiKeys, createApiKey } from './modules/api-keys/service.js';
import { seedCatalog } from './modules/catalog/seed.js';
import { seedDunning } from './modules/dunning/seed.js';
import { seedTaxRates } from './modules/taxes/service.js';
import { seedEntitlementRules } from './modules/entitlements/service.js';

// What every process (server, worker, CLI command) does first: open the configured database (taking
// the data-folder lock on PGlite), apply migrations, and optionally seed.

export interface Runtime {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  close: () => Promise<void>;
}

export async function openRuntime(config: Config, opts: { migrate?: boolean; logger?: FastifyBaseLogger } = {}): Promise<Runtime> {
  const logger = opts.logger ?? (pino({ level: config.logLevel }) as unknown as FastifyBaseLogger);
  const release = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  let db: Db;
  try {
    db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  } catch (err) {
    release();
    throw err;
  }
  const clock = systemClock;
  if (opts.migrate !== false) {
    const applied = await migrate(db, clock);
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  return {
    db,
    clock,
    logger,
    close: async () => {
      await db.close();
      release();
    },
  };
}

export async function runSeed(rt: Runtime): Promise<{ created: number }> {
  return rt.db.tx(async (q) => {
    const catalog = await seedCatalog(q, rt.clock.now());
    // Dunning plans, segmentation rules and message templates (only what is missing).
    const dunning = await seedDunning(q, rt.clock.now());
    // Built-in tax rates (rates are data the operator keeps current) and what the course grants.
    const taxes = await seedTaxRates(q, rt.clock.now());
    const entitlements = await seedEntitlementRules(q, rt.clock.now());
    return { created: catalog.created + dunning.created + taxes.created + entitlements.created };
  });
}

/** On an empty database, creates the first admin key and returns its secret (printed once). */
export async function ensureFirstAdminKey(rt: Runtime): Promise<string | null> {
  return rt.db.tx(async (q) => {
    if (rt.db.kind === 'postgres') await q.query('SELECT pg_advisory_xact_lock(7202612)');
    if ((await countApiKeys(q)) > 0) return null;
    const { secret } = await createApiKey(q, { name: 'first admin key', scope: 'admin' }, rt.clock.now());
    return secret;
  });
}
