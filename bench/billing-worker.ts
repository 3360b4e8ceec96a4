// One billing worker process for `npm run bench:billing -- --processes`: opens its own connection pool to
// the bench's PostgreSQL database, says `ready`, waits for `go`, drains the due renewals with the real
// worker code and reports its peak RSS — as `recur worker` processes share one PostgreSQL in production.
import { testConfig } from '../src/config.js';
import { openPostgres } from '../src/db/postgres.js';
import { gatewaysOf } from '../src/modules/payments/gateway.js';
import { readFingerprintSecret } from '../src/modules/payments/installation-secret.js';
import { SimulatedGateway } from '../src/modules/payments/simulated-gateway.js';
import { drainBilling } from '../src/modules/subscriptions/jobs.js';

const [url, nowIso, batch] = process.argv.slice(2);
if (!url || !nowIso || !batch || !process.send) throw new Error('usage: forked by bench/billing.ts with <url> <now> <batch>');
const now = new Date(nowIso);
const db = await openPostgres({ connectionString: url, max: 2 });
const deps = {
  gateways: gatewaysOf([new SimulatedGateway({ fingerprintSecret: await readFingerprintSecret(db), now: () => now })]),
  config: testConfig({ finalizeDelaySeconds: 0, workerBatchSize: Number(batch) }),
};
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
process.once('message', async () => {
  const renewed = await drainBilling(db, deps, { clock: null }, now);
  clearInterval(sampler);
  await db.close();
  process.send!({ done: true, renewed, peak: Math.max(peak, process.memoryUsage().rss) }, () => process.exit(0));
});
process.send({ ready: true });
