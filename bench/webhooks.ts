// `npm run bench:webhooks` — inbound Stripe webhooks over HTTP: signed events (the official SDK's
// signature helper) POSTed by autocannon to a running Recur server, which verifies each signature,
// stores the event in the inbox (deduplicated by event id; one delivery in ten repeats an earlier
// event) and answers 200. The floor is the same server answering 200 on another route without
// verifying or storing. Then a worker drains the inbox, for reference. Target: ≥ 5,000 events/s on
// PostgreSQL. Writes the "## Inbound webhooks (bench:webhooks)" section of docs/BENCHMARKS.md.
//
// Flags: --runs N (3)  --duration S (10)  --connections N[,N…] (50,200)  --db postgres|pglite|both (both)
// --quick (1 run × 3 s; does not touch the doc unless --write)  --write  --quiet-wait S (20)
// Env: DATABASE_URL — the admin connection used to create/drop the bench database
//      (default postgres://postgres@127.0.0.1:5432/postgres).
// Internal: `--serve` runs the server under test (a child process of the bench).

import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = join(ROOT, 'docs', 'BENCHMARKS.md');
const SECTION = '## Inbound webhooks (bench:webhooks)';
const TARGET = 5000;
const SECRET = 'whsec_bench_0123456789abcdef0123456789';
const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const { values: flags } = parseArgs({
  options: {
    serve: { type: 'boolean' },
    runs: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    db: { type: 'string' },
    quick: { type: 'boolean' },
    write: { type: 'boolean' },
    'quiet-wait': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

function log(msg: string): void {
  process.stderr.write(`[bench:webhooks ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// The server under test (child process): Recur's app as `recur serve` builds it, plus the floor
// route — registered the same way as the webhook routes (raw-body parser scoped to its plugin).

async function serveMode(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { openRuntime } = await import('../src/runtime.js');
  const { buildApp } = await import('../src/app.js');
  const { buildGateways } = await import('../src/modules/payments/gateways-from-config.js');
  const config = loadConfig();
  const rt = await openRuntime(config);
  const { readFingerprintSecret } = await import('../src/modules/payments/installation-secret.js');
  const gateways = buildGateways(config.payments, rt.clock, await readFingerprintSecret(rt.db));
  const { app } = await buildApp({ db: rt.db, clock: rt.clock, config, gateways });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post('/bench/floor', async (_req, reply) => reply.code(200).send({ received: true, duplicate: false }));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  const stop = async () => {
    await app.close();
    await rt.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc), as in bench:api: who used the cores during a timed run.

interface CpuSnap {
  busy: number;
  total: number;
  ticks: Map<number, { comm: string; ticks: number }>;
}
interface CpuUse {
  bench: number;
  server: number;
  postgres: number;
  other: number;
}
const NCPU = os.cpus().length;

function cpuSnap(): CpuSnap | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busy = user + nice + system + irq + softirq + steal;
    const ticks = new Map<number, { comm: string; ticks: number }>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const st = readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = st.lastIndexOf(')');
        const rest = st.slice(close + 2).split(' ');
        ticks.set(Number(d), { comm: st.slice(st.indexOf('(') + 1, close), ticks: Number(rest[11]) + Number(rest[12]) });
      } catch {
        /* ended meanwhile */
      }
    }
    return { busy, total: busy + idle + iowait, ticks };
  } catch {
    return null;
  }
}

function cpuUse(a: CpuSnap | null, b: CpuSnap | null, serverPid: number | undefined): CpuUse | null {
  if (!a || !b || b.total <= a.total) return null;
  const cores = (t: number) => (t / (b.total - a.total)) * NCPU;
  const delta = (pid: number) => {
    const x = a.ticks.get(pid);
    const y = b.ticks.get(pid);
    return x && y && x.comm === y.comm ? Math.max(0, y.ticks - x.ticks) : 0;
  };
  const bench = delta(process.pid);
  const server = serverPid ? delta(serverPid) : 0;
  let postgres = 0;
  for (const [pid, y] of b.ticks) if (y.comm === 'postgres') postgres += a.ticks.get(pid)?.comm === 'postgres' ? delta(pid) : y.ticks;
  const other = Math.max(0, b.busy - a.busy - bench - server - postgres);
  return { bench: cores(bench), server: cores(server), postgres: cores(postgres), other: cores(other) };
}

/** Waits (up to maxMs) for a second in which other processes used < 0.2 cores. */
async function awaitQuiet(maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  for (;;) {
    const a = cpuSnap();
    await new Promise((r) => setTimeout(r, 1000));
    const b = cpuSnap();
    if (!a || !b) return;
    const busy = ((b.busy - a.busy) / (b.total - a.total)) * NCPU;
    if (busy < 0.2 || Date.now() > until) {
      if (busy >= 0.2) log(`machine still busy (${busy.toFixed(2)} cores used elsewhere); measuring anyway`);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Load: signed events, unique ids, one in ten a repeat of an earlier delivery.

const sdk = new Stripe('sk_test_bench_unused');
const TAG = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let seq = 0;

/** A customer.updated event of realistic size (~1.3 KB), shaped as Stripe sends it. */
function eventObject(n: number | string, created: number | string, prev: number | string) {
  return {
    id: `evt_bench_${TAG}_${n}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: {
      object: {
        id: `cus_bench${n}`,
        object: 'customer',
        address: { city: 'Springfield', country: 'US', line1: '1 Main St', line2: null, postal_code: '12345', state: 'IL' },
        balance: 0,
        created,
        currency: 'usd',
        default_source: null,
        delinquent: false,
        description: 'Bench customer',
        email: `bench${n}@example.com`,
        invoice_prefix: '7FE1103',
        invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
        livemode: false,
        metadata: { plan: 'community', source: 'bench' },
        name: `Bench Customer ${n}`,
        next_invoice_sequence: 1,
        phone: null,
        preferred_locales: ['en'],
        shipping: null,
        tax_exempt: 'none',
        test_clock: null,
      },
      previous_attributes: { name: `Bench Customer ${prev}` },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${n}`, idempotency_key: null },
    type: 'customer.updated',
  };
}

// The body is built from a template (the JSON text split at its variable parts), so the load
// generator spends its time sending, not serialising; the signature is the SDK's scheme —
// HMAC-SHA256 of "{t}.{body}" — computed directly (the tests use the SDK's generateTestHeaderString).
const TEMPLATE = JSON.stringify(eventObject('@N@', 1_111_111_111, '@P@')).replace(/"1111111111"|1111111111/g, '@T@');
const PARTS = TEMPLATE.split(/(@N@|@T@|@P@)/);

function eventBody(n: number, created: number): string {
  let out = '';
  for (const p of PARTS) out += p === '@N@' ? String(n) : p === '@T@' ? String(created) : p === '@P@' ? String(n - 1) : p;
  return out;
}

interface Delivery {
  id: string;
  body: string;
  signature: string;
}
/** Event ids delivered to the webhook endpoint (and answered 200): the inbox must hold exactly these. */
const acked = new Set<string>();
/** Distinct event ids sent to the webhook endpoint (some may be in flight when a run stops). */
const sent = new Set<string>();
let webhookDeliveries = 0;
const recent: Delivery[] = [];
let ringNext = 0;

function nextDelivery(): Delivery {
  const n = ++seq;
  if (n % 10 === 0 && recent.length) return recent[(n * 7919) % recent.length]!; // a repeat delivery
  const t = Math.floor(Date.now() / 1000);
  const body = eventBody(n, t);
  const d = { id: `evt_bench_${TAG}_${n}`, body, signature: `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}` };
  // A ring of the last 1,000 new deliveries: repeats are recent (well within the 300 s tolerance).
  if (recent.length < 1000) recent.push(d);
  else recent[ringNext++ % 1000] = d;
  return d;
}

/** The scheme above is Stripe's: checked once against the official SDK's helper. */
function checkSignatureScheme(): void {
  const body = eventBody(1, 1_772_000_000);
  const ours = `t=1772000000,v1=${createHmac('sha256', SECRET).update(`1772000000.${body}`).digest('hex')}`;
  const sdkHeader = sdk.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: 1_772_000_000 });
  if (ours !== sdkHeader) throw new Error(`signature scheme mismatch:\n${ours}\n${sdkHeader}`);
  JSON.parse(body);
}

interface RunStats {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: number;
  errors: number;
  cpu: CpuUse | null;
}

/** The first non-200 answers seen (status → body), for the log. */
const badSamples = new Map<number, string>();

async function run(port: number, path: string, seconds: number, connections: number, pid: number | undefined): Promise<RunStats> {
  const lat: number[] = [];
  let ok = 0;
  let bad = 0;
  const cpu0 = cpuSnap();
  const started = performance.now();
  const webhook = path === '/webhooks/stripe';
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path,
            setupRequest: (req, context) => {
              const d = nextDelivery();
              if (webhook) {
                webhookDeliveries++;
                sent.add(d.id);
                (context as { eventId?: string }).eventId = d.id;
              }
              return { ...req, headers: { 'content-type': 'application/json', 'stripe-signature': d.signature }, body: d.body };
            },
            onResponse: (status, body, context) => {
              const id = (context as { eventId?: string }).eventId;
              if (webhook && status === 200 && id) acked.add(id);
              if (status !== 200 && badSamples.size < 5) badSamples.set(status, String(body).slice(0, 300));
            },
          },
        ],
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    inst.on('response', (_client, status, _b, ms) => {
      if (status === 200) {
        ok++;
        lat.push(ms);
      } else bad++;
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuUse(cpu0, cpuSnap(), pid);
  lat.sort((a, b) => a - b);
  for (const [status, body] of badSamples) log(`non-200 answer ${status}: ${body}`);
  badSamples.clear();
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : 0);
  return { rps: ok / elapsed, p50: pct(0.5), p99: pct(0.99), ok, bad, errors: result.errors, cpu };
}

// ---------------------------------------------------------------------------------------------
// Orchestration

type DbKind = 'postgres' | 'pglite';

interface LevelResult {
  connections: number;
  floor: RunStats[];
  recur: RunStats[];
}

interface DbResult {
  db: DbKind;
  levels: LevelResult[];
  stored: number;
  delivered: number;
  distinct: number;
  distinctSent: number;
  drain: { events: number; seconds: number } | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
}

function startServer(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; port: number; stop: () => Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/webhooks.ts', '--serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-20_000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 120_000);
    const check = () => {
      const m = /LISTENING (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      resolve({
        proc,
        port: Number(m[1]),
        stop: async () => {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          const k = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(k);
        },
      });
    };
    proc.stdout!.on('data', check);
    proc.once('exit', () => reject(new Error(`server exited:\n${err}`)));
  });
}

async function benchDb(kind: DbKind, o: { runs: number; duration: number; connections: number[]; quietWait: number }): Promise<DbResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RECUR_LOG_LEVEL: 'warn',
    RECUR_RATE_LIMIT: '0',
    RECUR_WORKER: 'false',
    RECUR_SEED: 'false',
    STRIPE_WEBHOOK_SECRETS: SECRET,
    STRIPE_SECRET_KEY: '',
    PAYPAL_CLIENT_ID: '',
  };
  let dropDb: () => Promise<void> = async () => undefined;
  let dataDir: string | null = null;
  let dbUrl: string | null = null;
  if (kind === 'postgres') {
    const name = `recur_bench_webhooks_${process.pid}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    dbUrl = u.toString();
    env.DATABASE_URL = dbUrl;
    dropDb = async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    dataDir = mkdtempSync(join(os.tmpdir(), 'recur-bench-webhooks-'));
    env.DATABASE_URL = '';
    env.RECUR_DATA_DIR = join(dataDir, 'data');
  }
  const server = await startServer(env);
  try {
    const levels: LevelResult[] = [];
    for (const connections of o.connections) {
      log(`${kind}: server on port ${server.port}; ${connections} connections; warming up`);
      await run(server.port, '/bench/floor', 2, connections, server.proc.pid);
      await run(server.port, '/webhooks/stripe', 3, connections, server.proc.pid);
      const level: LevelResult = { connections, floor: [], recur: [] };
      for (let i = 0; i < o.runs; i++) {
        await awaitQuiet(o.quietWait * 1000);
        const f = await run(server.port, '/bench/floor', o.duration, connections, server.proc.pid);
        log(`${kind} c=${connections} floor run ${i + 1}: ${Math.round(f.rps)} req/s, p99 ${f.p99.toFixed(1)} ms${f.bad ? `, ${f.bad} non-200` : ''}`);
        level.floor.push(f);
        await awaitQuiet(o.quietWait * 1000);
        const r = await run(server.port, '/webhooks/stripe', o.duration, connections, server.proc.pid);
        log(`${kind} c=${connections} webhooks run ${i + 1}: ${Math.round(r.rps)} events/s, p99 ${r.p99.toFixed(1)} ms${r.bad ? `, ${r.bad} non-200` : ''}`);
        level.recur.push(r);
      }
      levels.push(level);
    }
    await server.stop();
    // What was stored: one row per distinct event id acknowledged.
    let stored = 0;
    let drain: DbResult['drain'] = null;
    const delivered = webhookDeliveries;
    const distinct = acked.size;
    const distinctSent = sent.size;
    if (kind === 'postgres') {
      const { openPostgres } = await import('../src/db/postgres.js');
      const { loadConfig } = await import('../src/config.js');
      const { processInbox } = await import('../src/modules/webhooks/jobs.js');
      const { gatewaysOf } = await import('../src/modules/payments/gateway.js');
      const { SimulatedGateway } = await import('../src/modules/payments/simulated-gateway.js');
      const { readFingerprintSecret } = await import('../src/modules/payments/installation-secret.js');
      const db = await openPostgres({ connectionString: dbUrl!, max: 4 });
      stored = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_inbox')).rows[0]!.n;
      // For reference: one worker process draining the inbox (each event in its own transaction).
      const config = { ...loadConfig({ ...process.env, DATABASE_URL: dbUrl! }) };
      const deps = { gateways: gatewaysOf([new SimulatedGateway({ fingerprintSecret: await readFingerprintSecret(db), now: () => new Date() })]), config };
      const t0 = performance.now();
      let events = 0;
      const budget = 15_000;
      while (performance.now() - t0 < budget) {
        const n = await processInbox(db, deps, new Date(), 500);
        events += n;
        if (n === 0) break;
      }
      drain = { events, seconds: (performance.now() - t0) / 1000 };
      await db.close();
    }
    return { db: kind, levels, stored, delivered, distinct, distinctSent, drain };
  } finally {
    await server.stop();
    await dropDb().catch((e: unknown) => log(`drop database: ${(e as Error).message}`));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function section(results: DbResult[], o: { runs: number; duration: number; connections: number[] }, meta: { started: Date; seconds: number; load: number[] }): string {
  const cpu = os.cpus();
  const rows = results.flatMap((r) =>
    r.levels.flatMap((l) => {
      const line = (name: string, xs: RunStats[], floor: number) => {
        const rps = median(xs.map((x) => x.rps));
        const c = (k: keyof CpuUse) => median(xs.map((x) => x.cpu?.[k] ?? 0)).toFixed(2);
        return `| ${r.db === 'postgres' ? 'PostgreSQL' : 'PGlite'} | ${l.connections} | ${name} | ${fmt(rps)} | ${median(xs.map((x) => x.p50)).toFixed(1)} | ${median(xs.map((x) => x.p99)).toFixed(1)} | ${(rps / floor).toFixed(2)} | ${xs.map((x) => fmt(x.rps)).join(' / ')} | ${c('bench')} / ${c('server')} / ${c('postgres')} / ${c('other')} |`;
      };
      const floor = median(l.floor.map((x) => x.rps));
      return [line('floor: 200, no verification, no storage', l.floor, floor), line('POST /webhooks/stripe: verify + store + dedupe', l.recur, floor)];
    }),
  );
  const pgRes = results.find((r) => r.db === 'postgres');
  const pgLevels = pgRes ? pgRes.levels.map((l) => ({ c: l.connections, rate: median(l.recur.map((x) => x.rps)) })) : [];
  const pgRate = pgLevels.length ? Math.max(...pgLevels.map((l) => l.rate)) : null;
  const sumOf = (f: (x: RunStats) => number) => results.reduce((s, r) => s + r.levels.reduce((a, l) => a + [...l.floor, ...l.recur].reduce((b, x) => b + f(x), 0), 0), 0);
  const bad = sumOf((x) => x.bad);
  const clientErrors = sumOf((x) => x.errors);
  return [
    SECTION,
    '',
    `Measured ${meta.started.toISOString()} on ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}. ` +
      `Load average before the run: ${meta.load.map((l) => l.toFixed(2)).join(', ')}. The whole run took ${Math.round(meta.seconds)} s.`,
    '',
    `Closed loop: autocannon at ${o.connections.join(' and ')} connections, pipelining 1; warm-up, then ${o.runs} run(s) of ${o.duration} s per scenario, floor and Recur alternating; the table shows medians.`,
    '',
    '| database | connections | scenario | events/s (median) | p50 ms | p99 ms | ratio to floor | events/s of each run | cores: bench / server / postgres / other |',
    '|---|---:|---|---:|---:|---:|---:|---|---|',
    ...rows,
    '',
    pgRate !== null
      ? `Target (PostgreSQL): ≥ ${fmt(TARGET)} events/s — measured ${pgLevels.map((l) => `${fmt(l.rate)} events/s at ${l.c} connections`).join(', ')}: **${pgRate >= TARGET ? 'PASS' : 'FAIL'}**. ` +
        'Each delivery is answered after its batch\'s commit, so a closed loop of N connections cannot exceed N ÷ commit latency; more concurrent senders (as in a burst from Stripe) fill larger batches.'
      : 'PostgreSQL was not measured in this run.',
    '',
    ...(pgRes
      ? [
          `Correctness (PostgreSQL, warm-up included): ${fmt(pgRes.delivered)} deliveries of ${fmt(pgRes.distinctSent)} distinct events to the webhook endpoint (one in ten a repeat); ${fmt(pgRes.distinct)} distinct events were acknowledged with 200 (the others were in flight when a run stopped); the inbox holds ${fmt(pgRes.stored)} rows — ${pgRes.stored >= pgRes.distinct && pgRes.stored <= pgRes.distinctSent ? 'one per distinct event, every acknowledged event stored' : '**inconsistent**'}; ${bad} non-200 answers and ${clientErrors} client-side errors (autocannon timeouts or resets) in the timed runs.` +
            (pgRes.drain ? ` Afterwards one worker process drained ${fmt(pgRes.drain.events)} events in ${pgRes.drain.seconds.toFixed(1)} s (${fmt(pgRes.drain.events / pgRes.drain.seconds)} events/s; claimed 50 at a time, each handled under its own savepoint — a customer.updated mirror upsert here).` : ''),
          '',
        ]
      : []),
    'How it is measured:',
    '',
    '- **Server in its own process**: Recur\'s app built as `recur serve` builds it (`RECUR_WORKER=false`, `RECUR_RATE_LIMIT=0`, log level warn), on a fresh database (PostgreSQL: a new database, dropped afterwards; PGlite: a temporary data folder), started by `tsx`.',
    '- **The floor** is a route of the same server (`POST /bench/floor`), registered like the webhook routes (raw-body parser scoped to its plugin), answering 200 without verifying or storing: it measures HTTP, Fastify and the load generator on this machine.',
    '- **Each delivery** is a ~1.3 KB `customer.updated` event with a unique id, signed at the current second with Stripe\'s scheme (HMAC-SHA256 of `{t}.{body}`; checked at start against the official SDK\'s `stripe.webhooks.generateTestHeaderString`, computed directly in the hot loop); one delivery in ten repeats one of the last 1,000 (same id, body and signature), which Recur must acknowledge without storing it again.',
    '- **Recur** verifies `Stripe-Signature` (HMAC-SHA256, constant-time compare, 300 s tolerance), parses the event and stores it with `INSERT … ON CONFLICT (source, event_id) DO NOTHING`; deliveries arriving while a batch is being written are written together in the next one (group commit), and each is answered only after its batch committed.',
    '- **One machine**: autocannon, the server and PostgreSQL share the same cores; the ratio to the floor is the number to compare across machines. "other" is CPU used by unrelated processes during the runs (should be near 0).',
    '',
    'Reproduce: `npm run bench:webhooks` (flags: `--runs N`, `--duration S`, `--connections N,N`, `--db postgres|pglite|both`, `--quick`).',
    '',
  ].join('\n');
}

function writeSection(text: string): void {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(`${SECTION}\n`);
  let next: string;
  if (start === -1) next = doc.replace(/\s*$/, '\n\n') + text;
  else {
    const after = doc.indexOf('\n## ', start + SECTION.length);
    next = doc.slice(0, start) + text + (after === -1 ? '' : '\n' + doc.slice(after + 1));
  }
  writeFileSync(DOC, next);
}

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write('Usage: npm run bench:webhooks -- [--runs N] [--duration S] [--connections N] [--db postgres|pglite|both] [--quick] [--write] [--quiet-wait S]\n');
    return;
  }
  if (flags.serve) return serveMode();
  const quick = Boolean(flags.quick);
  const o = {
    runs: Number(flags.runs ?? (quick ? 1 : 3)),
    duration: Number(flags.duration ?? (quick ? 3 : 10)),
    connections: String(flags.connections ?? '50,200')
      .split(',')
      .map((c) => Number(c.trim()))
      .filter((c) => Number.isInteger(c) && c > 0),
    quietWait: Number(flags['quiet-wait'] ?? (quick ? 2 : 20)),
  };
  const dbs: DbKind[] = flags.db === 'postgres' || flags.db === 'pglite' ? [flags.db] : ['postgres', 'pglite'];
  checkSignatureScheme();
  const started = new Date();
  const load = os.loadavg();
  const results: DbResult[] = [];
  for (const kind of dbs) {
    seq = 0;
    recent.length = 0;
    acked.clear();
    sent.clear();
    webhookDeliveries = 0;
    results.push(await benchDb(kind, o));
  }
  const text = section(results, o, { started, seconds: (Date.now() - started.getTime()) / 1000, load });
  process.stdout.write(text + '\n');
  if (flags.write || !quick) {
    writeSection(text);
    log(`wrote "${SECTION}" in docs/BENCHMARKS.md`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:webhooks: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
