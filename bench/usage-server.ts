// The server under test for `npm run bench:usage`'s HTTP scenarios: the real Recur app (buildApp,
// every route, auth, validation, group commit) on PostgreSQL (DATABASE_URL) or on PGlite (RECUR_DATA_DIR),
// with C customers holding a practically unlimited promotional grant. Prints one JSON line
// {"port", "key", "customers"} on stdout when it listens; exits on SIGTERM.
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/core/time/index.js';
import { openDb } from '../src/db/index.js';
import { migrate } from '../src/db/migrate.js';
import { createApiKey } from '../src/modules/api-keys/service.js';
import { setupUsageCustomers } from './usage-setup.js';

const config = { ...loadConfig(), rateLimit: 0, logLevel: 'warn', worker: false, seed: false };
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1000);
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
await migrate(db, systemClock);
const ids = await setupUsageCustomers(db, systemClock.now(), customers, 'http');
const { secret } = await createApiKey(db, { name: 'bench', scope: 'write' }, systemClock.now());
const { app } = await buildApp({ db, clock: systemClock, config });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.stdout.write(JSON.stringify({ port, key: secret, customers: ids }) + '\n');

const stop = async () => {
  await app.close();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
