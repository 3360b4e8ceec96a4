// One billing worker process for `npm run bench:billing -- --processes`: opens its own connection pool to
// the bench's PostgreSQL database, says `ready`, waits for `go`, drains the due renewals with the real
// worker code and reports its peak RSS — as `recur worker` processes share one PostgreSQL in production.
import { openPostgres } from '../src/db/postgres.js';
import { drainBilling } from '../src/modules/subscriptions/jobs.js';
import { benchBillingDeps } from './billing-deps.js';

const [url, nowIso, batch] = process.argv.slice(2);
if (!url || !nowIso || !batch || !process.send) throw new Error('usage: forked by bench/billing.ts with <url> <now> <batch>');
const now = new Date(nowIso);
const db = await openPostgres({ connectionString: url, max: 2 });
const deps = await benchBillingDeps(db, now, Number(batch));
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
process.once('message', async () => {
  const renewed = await drainBilling(db, deps, { clock: null }, now);
  clearInterval(sampler);
  await db.close();
  process.send!({ done: true, renewed, peak: Math.max(peak, process.memoryUsage().rss) }, () => process.exit(0));
});
process.send({ ready: true });
