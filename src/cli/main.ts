import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { formatMoney } from '../core/money/index.js';
import { DataDirLockedError } from '../db/lock.js';
import { migrate } from '../db/migrate.js';
import { createApiKey, listApiKeys, revokeApiKey, type Scope } from '../modules/api-keys/service.js';
import { listCustomers } from '../modules/customers/service.js';
import { openRuntime, runSeed } from '../runtime.js';
import { AppError } from '../core/errors/index.js';
import { parseCliTime } from './time-arg.js';
import { table } from './table.js';

// The server, the gateways, test clocks and webhooks are loaded only by the commands that use them:
// the server alone (Fastify, the gateway SDKs, OpenAPI) is most of a short command's start-up time.
const loadServer = () => import('./serve.js');
const loadGateways = async () => {
  const [{ buildGateways }, { readFingerprintSecret }] = await Promise.all([import('../modules/payments/gateways-from-config.js'), import('../modules/payments/installation-secret.js')]);
  return { buildGateways, readFingerprintSecret };
};

const HELP = `recur — billing and revenue engine

Usage: recur <command> [options]

Commands:
  serve                          Start the API server and an in-process worker (RECUR_WORKER=false: API only)
  worker                         Start a worker process only (PostgreSQL: run as many as you like)
  migrate                        Apply pending database migrations
  seed                           Seed the catalog (idempotent: running it twice changes nothing)
  keys create --name NAME [--scope read|write|admin]
                                 Create an API key; prints the secret alone on one line
  keys list                      List API keys (secrets are never shown again)
  keys revoke ID                 Revoke an API key
  customers list [--email E] [--limit N]
                                 List customers as a table
  clock advance ID --to TIME     Advance a test clock (TIME: ISO 8601, UTC unless it names a zone, or
                                 Unix seconds), running its customers' due billing in time order
  webhooks replay ID | --failed  Process an inbound gateway webhook again (inbox id or event id), or
                                 every failed and dead-lettered one

The database is PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite in RECUR_DATA_DIR
(default ./.recur/data). PGlite allows one process at a time: while the server runs, use its API.
`;

async function withRuntime<T>(fn: (rt: Awaited<ReturnType<typeof openRuntime>>) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const rt = await openRuntime({ ...config, logLevel: 'warn' }, opts);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scope: { type: 'string' },
      email: { type: 'string' },
      limit: { type: 'string' },
      to: { type: 'string' },
      failed: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, sub, arg] = positionals;
  if (values.help || !cmd || cmd === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const config = loadConfig();
  switch (cmd) {
    case 'serve':
      await (await loadServer()).serve(config, { api: true, worker: config.worker });
      return -1; // keeps running
    case 'worker':
      await (await loadServer()).serve(config, { api: false, worker: true });
      return -1;
    case 'migrate':
      return withRuntime(async (rt) => {
        const applied = await migrate(rt.db, rt.clock);
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
        return 0;
      }, { migrate: false }); // applied here, so the command can say which
    case 'seed':
      return withRuntime(async (rt) => {
        const { created } = await runSeed(rt);
        process.stdout.write(created ? `Seeded ${created} catalog objects.\n` : 'Catalog already seeded; nothing changed.\n');
        return 0;
      });
    case 'keys':
      return keys(sub, arg, values);
    case 'customers':
      if (sub !== 'list') break;
      return withRuntime(async (rt) => {
        const limit = values.limit ? Number(values.limit) : 20;
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit must be 1 to 100');
        const { data } = await listCustomers(rt.db, { email: values.email }, { limit }, rt.clock.now());
        process.stdout.write(
          table(
            ['ID', 'EMAIL', 'NAME', 'BALANCE', 'CREATED'],
            data.map((c) => [c.id, c.email, c.name, c.currency ? formatMoney({ amount: c.balance, currency: c.currency }) : String(c.balance), new Date(c.created * 1000).toISOString().slice(0, 19) + 'Z']),
          ),
        );
        return 0;
      });
  }
  if (cmd === 'clock' && sub === 'advance') {
    if (!arg || !values.to) throw new UsageError('clock advance needs an ID and --to TIME');
    const { MAX_CLOCK_TIME, advanceLimit, advanceTestClock, getTestClock, serializeTestClock } = await import('../modules/test-clocks/service.js');
    const { buildGateways, readFingerprintSecret } = await loadGateways();
    const to = parseCliTime(values.to);
    if (Number.isNaN(to.getTime())) throw new UsageError(`--to is not a time: ${values.to}`);
    if (to.getTime() > MAX_CLOCK_TIME * 1000) throw new UsageError(`--to must be no later than 9900-01-01, the last time a test clock shows`);
    return withRuntime(async (rt) => {
      const gateways = buildGateways(config.payments, rt.clock, await readFingerprintSecret(rt.db), rt.logger);
      // The API bounds one advance (two intervals of the shortest subscription); the CLI walks there in such steps.
      let clock = await getTestClock(rt.db, arg).then(serializeTestClock);
      do {
        const limit = await advanceLimit(rt.db, arg, new Date(clock.frozen_time * 1000));
        clock = await advanceTestClock(rt.db, { gateways, config, clock: rt.clock }, arg, limit < to ? limit : to).catch((err: unknown) => {
          // The API names its parameter; here the user typed --to.
          if (err instanceof AppError && err.param === 'frozen_time') throw new UsageError(`--to must be later than the clock's current time (${new Date(clock.frozen_time * 1000).toISOString()}).`);
          throw err;
        });
      } while (clock.frozen_time * 1000 < to.getTime());
      process.stdout.write(`Test clock ${clock.id} is at ${new Date(clock.frozen_time * 1000).toISOString()} (${clock.status}).\n`);
      return 0;
    });
  }
  if (cmd === 'webhooks' && sub === 'replay') {
    if (!arg && !values.failed) throw new UsageError('webhooks replay needs an ID or --failed');
    const [{ markForReplay }, { processInbox }, { buildGateways, readFingerprintSecret }] = await Promise.all([
      import('../modules/webhooks/inbox.js'),
      import('../modules/webhooks/jobs.js'),
      loadGateways(),
    ]);
    return withRuntime(async (rt) => {
      const now = rt.clock.now();
      const ids = await rt.db.tx((q) => markForReplay(q, arg ? { id: arg } : { failed: true }, now));
      if (arg && ids.length === 0) throw new UsageError(`No inbound webhook event ${arg}`);
      // Processed here and now (a running worker would take them too: rows are claimed, never shared).
      const deps = { gateways: buildGateways(config.payments, rt.clock, await readFingerprintSecret(rt.db), rt.logger), config };
      await processInbox(rt.db, deps, now, ids.length, { ids, logger: rt.logger });
      const { rows } = await rt.db.query<{ id: string; event_id: string; type: string; status: string; result: string | null; last_error: string | null }>(
        `SELECT id, event_id, type, status, result, last_error FROM webhook_inbox WHERE id = ANY($1::text[]) ORDER BY id`,
        [ids],
      );
      process.stdout.write(rows.length ? table(['ID', 'EVENT', 'TYPE', 'STATUS', 'RESULT', 'ERROR'], rows.map((r) => [r.id, r.event_id, r.type, r.status, r.result, r.last_error])) : 'Nothing to replay.\n');
      return rows.some((r) => r.status !== 'processed') ? 1 : 0;
    });
  }
  throw new UsageError(`Unknown command: ${positionals.join(' ')}`);
}

async function keys(sub: string | undefined, arg: string | undefined, values: { name?: string; scope?: string }): Promise<number> {
  if (sub === 'create') {
    if (!values.name) throw new UsageError('keys create needs --name NAME');
    const scope = (values.scope ?? 'write') as Scope;
    if (!['read', 'write', 'admin'].includes(scope)) throw new UsageError('--scope must be read, write or admin');
    return withRuntime(async (rt) => {
      const { secret } = await rt.db.tx((q) => createApiKey(q, { name: values.name!, scope }, rt.clock.now()));
      process.stdout.write(secret + '\n');
      return 0;
    });
  }
  if (sub === 'list') {
    return withRuntime(async (rt) => {
      const rows = await listApiKeys(rt.db);
      process.stdout.write(
        table(
          ['ID', 'NAME', 'SCOPE', 'KEY', 'CREATED', 'REVOKED'],
          rows.map((k) => [k.id, k.name, k.scope, `sk_…${k.last4}`, new Date(k.created).toISOString().slice(0, 19) + 'Z', k.revoked_at ? new Date(k.revoked_at).toISOString().slice(0, 19) + 'Z' : '']),
        ),
      );
      return 0;
    });
  }
  if (sub === 'revoke') {
    if (!arg) throw new UsageError('keys revoke needs an ID');
    return withRuntime(async (rt) => {
      const k = await rt.db.tx((q) => revokeApiKey(q, arg, rt.clock.now()));
      process.stdout.write(`Revoked ${k.id} (${k.name}).\n`);
      return 0;
    });
  }
  throw new UsageError('keys needs one of: create, list, revoke');
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`recur: ${err.message}\n\n${HELP}`);
      process.exit(2);
    }
    if (err instanceof AppError) {
      process.stderr.write(`recur: ${err.message}${err.param ? ` (${err.param})` : ''}\n`);
      process.exit(2);
    }
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`recur: ${err.message}\n`);
      process.exit(2);
    }
    const e = err as { code?: string; message?: string };
    process.stderr.write(`recur: ${e.message ?? String(err)}\n`);
    process.exit(1);
  },
);
