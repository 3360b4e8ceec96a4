// npm run bench:billing-ceiling [-- --n 100000 --pglite-n 10000 --runs 3 --workers 2 --db postgres|pglite|both --numbering after|inline
//   --variants no-events,one-compact-event-bare,… --no-write]
// How fast could any renewal path be on this machine? Not Recur's worker: a renewal reduced to one
// SQL statement per batch, entirely inside the database (claim with SKIP LOCKED, gapless numbers,
// invoice written straight as paid, its line, a succeeded payment intent, the subscription moved on),
// with the events written in four ways. Same schema as Recur (migrations, indexes, foreign keys,
// the notification-inbox trigger), same due subscriptions as bench:billing. It answers one question
// for the target of issue 3 item 14: what would a fully set-based design reach here, and what share
// of that do the events take?
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/core/time/index.js';
import type { Db } from '../src/db/index.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { openPostgres } from '../src/db/postgres.js';
import { seedCatalog } from '../src/modules/catalog/seed.js';
import { freshDatabase } from './fresh-db.js';
import { createDueSubscriptions } from '../test/helpers/due-subscriptions.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    'pglite-n': { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    db: { type: 'string', default: 'both' },
    'no-write': { type: 'boolean', default: false },
    // inline: the batch's statement takes the series row's lock and holds it to its commit, so
    // connections take turns (as the first version of this bench did). after: as Recur finalises, the
    // numbers are given in a second, short transaction, so only that part takes turns.
    numbering: { type: 'string', default: 'after' },
    // Which variants to run (comma-separated names; all by default). Runs alternate between them.
    variants: { type: 'string', default: '' },
  },
});
const DUE = new Date('2026-03-01T00:00:00Z');
const NOW = new Date('2026-03-01T00:00:10Z');
const RUNS = Number(values.runs);

type Variant = 'template-batch' | 'no-events' | 'no-events-lean' | 'no-events-no-fk' | 'no-events-lean-no-fk' | 'full-events' | 'compact-events' | 'compact-events-bare' | 'one-compact-event-bare' | 'one-compact-event-versions';
const VARIANTS: { name: Variant; label: string }[] = [
  { name: 'no-events', label: 'no events' },
  // What the schema itself costs at the ceiling: the same statement with fewer index entries or
  // foreign-key checks per renewal (the constraints that keep billing correct — primary keys, unique
  // numbers and periods, the claim's index — stay).
  { name: 'no-events-lean', label: 'no events; the non-unique secondary indexes of invoices, invoice_lines, payment_intents and subscriptions dropped (the claim\'s kept)' },
  { name: 'no-events-no-fk', label: 'no events; the foreign keys of invoices, invoice_lines and payment_intents dropped' },
  { name: 'no-events-lean-no-fk', label: 'no events; both of the above' },
  // ADR 0007's batch templates, measured before built: the batch's event objects would be one renewal's,
  // built in Node once per batch; per renewal the statement stores only what differs between plain
  // renewals (ids, customer's email and name, amount, quantity, period), as arrays in one event_batches
  // row, and writes the receipt's notification-inbox row by the rule the trigger uses. Numbers are the
  // batch's first number plus the position, ids of events derived from the invoice's, hosted-page tokens
  // derived from the invoice id when read, so none is stored. No Bloom filter of keys (built in Node today).
  { name: 'template-batch', label: 'batch template: one event_batches row per batch with the per-renewal values as arrays, and the receipts\' inbox rows' },
  { name: 'full-events', label: '7 events with the whole invoice (row + line as JSON), Recur\'s event indexes and trigger' },
  { name: 'compact-events', label: '7 compact events (id, type, status fields only), Recur\'s event indexes and trigger' },
  { name: 'compact-events-bare', label: '7 compact events, events table without its 4 secondary indexes and trigger' },
  // The least any design recording a renewal's events in its own transaction could write: one small row.
  { name: 'one-compact-event-bare', label: '1 compact event per renewal, events table without its 4 secondary indexes and trigger' },
  // ADR 0007 option 4 on today's row versions: one compact row per renewal in the events table as it is
  // (indexes, trigger), the invoice written as a draft, then numbered and opened, then paid (three
  // versions, three statements per batch as Recur's renewal, finalisation and payment passes), the
  // payment intent inserted as processing and then marked succeeded (two versions).
  { name: 'one-compact-event-versions', label: '1 compact event per renewal (indexes and trigger kept); invoice in 3 versions, payment intent in 2, as Recur writes them' },
];
const CHOSEN = values.variants ? VARIANTS.filter((v) => values.variants!.split(',').includes(v.name)) : VARIANTS;
if (CHOSEN.length === 0) throw new Error(`--variants: none of ${VARIANTS.map((v) => v.name).join(', ')}`);
const EVENT_TYPES = `ARRAY['invoice.created', 'customer.subscription.updated', 'invoice.finalized', 'payment_intent.created', 'payment_intent.succeeded', 'invoice.paid', 'invoice.payment_succeeded']`;

const INLINE = values.numbering === 'inline';
if (INLINE && CHOSEN.some((v) => v.name === 'one-compact-event-versions')) throw new Error('one-compact-event-versions numbers after the renewal: use --numbering after');

function renewalSql(variant: Variant, batch: number): string {
  const payload =
    variant === 'full-events'
      ? `jsonb_build_object('object', to_jsonb(i) || jsonb_build_object('object', 'invoice', 'lines', jsonb_build_object('object', 'list', 'data', jsonb_build_array(to_jsonb(l)))))`
      : `jsonb_build_object('object', jsonb_build_object('id', i.id, 'object', 'invoice', 'status', i.status, 'amount_paid', i.amount_paid, 'amount_remaining', i.amount_remaining))`;
  const events =
    variant === 'template-batch'
      ? `, evb AS (INSERT INTO event_batches (id, created, first_event, last_event, n, types, data)
           SELECT 'evb_' || min(i.id), $1, 'evt_1' || min(i.id), 'evt_7' || max(i.id), 7 * count(*), ${EVENT_TYPES},
                  convert_to(json_build_array(array_agg(i.id ORDER BY i.id), array_agg(i.customer ORDER BY i.id), array_agg(i.subscription ORDER BY i.id),
                    array_agg(l.id ORDER BY i.id), array_agg(l.subscription_item ORDER BY i.id), array_agg(l.price ORDER BY i.id), array_agg(l.quantity ORDER BY i.id),
                    array_agg(i.amount_due ORDER BY i.id), array_agg(extract(epoch FROM i.period_start)::bigint ORDER BY i.id),
                    array_agg(extract(epoch FROM i.period_end)::bigint ORDER BY i.id), array_agg(c.email ORDER BY i.id), array_agg(c.name ORDER BY i.id))::text, 'UTF8')
             FROM ins_inv i JOIN ins_line l ON l.invoice = i.id JOIN customers c ON c.id = i.customer HAVING count(*) > 0 RETURNING 1),
         inbox AS (INSERT INTO notification_inbox (event_id, type, object_id, customer_id, test_clock, created)
           SELECT 'evt_6' || i.id, 'invoice.paid', i.id, i.customer, c.test_clock, $1
             FROM ins_inv i JOIN customers c ON c.id = i.customer WHERE recur_inbox_wanted('invoice.paid', i.collection_method, i.customer) RETURNING 1)`
      : variant.startsWith('no-events')
      ? ''
      : `, ev AS (INSERT INTO events (id, type, created, object_id, customer_id, data)
           SELECT 'evt_' || k || i.id, t, $1, i.id, i.customer, ${payload}
             FROM ins_inv i JOIN ins_line l ON l.invoice = i.id, unnest(${variant === 'one-compact-event-bare' || variant === 'one-compact-event-versions' ? `ARRAY['invoice.paid']` : EVENT_TYPES}) WITH ORDINALITY AS x(t, k) RETURNING 1)`;
  return `
    WITH claimed AS (
      SELECT s.* FROM subscriptions s
       WHERE status IN ('trialing', 'active', 'past_due', 'unpaid') AND current_period_end <= $1 AND test_clock IS NULL
       ORDER BY current_period_end, id LIMIT ${batch} FOR UPDATE SKIP LOCKED),
    priced AS (
      SELECT c.*, si.id AS item, si.price, si.quantity, p.unit_amount, p.unit_amount * si.quantity AS amount, row_number() OVER (ORDER BY c.id) AS rn
        FROM claimed c JOIN subscription_items si ON si.subscription = c.id JOIN prices p ON p.id = si.price),
    ser AS (
      ${INLINE ? `UPDATE invoice_number_series SET next_number = next_number + (SELECT count(*) FROM priced) WHERE series = 'CEIL'
      RETURNING next_number - (SELECT count(*) FROM priced) AS base` : 'SELECT NULL::bigint AS base'}),
    ins_inv AS (
      INSERT INTO invoices (id, customer, subscription, status, number, series, currency, billing_reason, period_start, period_end,
                            subtotal, total, amount_due, amount_paid, amount_remaining, attempt_count,
                            status_transitions, created, updated)
      SELECT 'in_' || p.id, p.customer, p.id, ${INLINE ? `'paid'` : `'draft'`}, ${INLINE ? `'CEIL-' || lpad((ser.base + p.rn - 1)::text, 6, '0')` : 'NULL'}, 'CEIL', p.currency,
             'subscription_cycle', p.current_period_end, p.current_period_end + interval '1 month',
             p.amount, p.amount, p.amount, p.amount, 0, 1,
             jsonb_build_object('finalized_at', extract(epoch FROM $1::timestamptz)::bigint, 'paid_at', extract(epoch FROM $1::timestamptz)::bigint), $1, $1
        FROM priced p, ser RETURNING *),
    ins_line AS (
      INSERT INTO invoice_lines (id, invoice, type, subscription, subscription_item, price, description, quantity, unit_amount, amount,
                                 currency, period_start, period_end)
      SELECT 'il_' || i.id, i.id, 'subscription', i.subscription, p.item, p.price, p.quantity || ' × Community Access', p.quantity,
             p.unit_amount, p.amount, i.currency, i.period_start, i.period_end
        FROM ins_inv i JOIN priced p ON p.id = i.subscription RETURNING *),
    ins_pi AS (
      INSERT INTO payment_intents (id, customer, invoice, amount, amount_received, currency, status, payment_method, gateway, gateway_ref,
                                   idempotency_key, created, updated)
      SELECT 'pi_' || i.id, i.customer, i.id, i.amount_due, ${variant === 'one-compact-event-versions' ? `0, i.currency, 'processing'` : `i.amount_due, i.currency, 'succeeded'`}, c.invoice_settings->>'default_payment_method',
             'simulated', 'ch_' || i.id, i.id || ':1', $1, $1
        FROM ins_inv i JOIN customers c ON c.id = i.customer RETURNING 1),
    upd AS (
      UPDATE subscriptions s SET current_period_start = i.period_start, current_period_end = i.period_end, latest_invoice = i.id, updated = $1
        FROM ins_inv i WHERE s.id = i.subscription RETURNING 1)
    ${events}
    SELECT (SELECT count(*) FROM upd) AS n, (SELECT count(*) FROM ins_pi) AS pis, (SELECT array_agg(id ORDER BY id) FROM ins_inv) AS ids`;
}

/** --numbering after: the batch's invoices (written as drafts) numbered and marked paid (or opened) in a short transaction of their own, gapless. */
const numberSql = (status: 'paid' | 'open') => `
  WITH ser AS (
    UPDATE invoice_number_series SET next_number = next_number + cardinality($1::text[]) WHERE series = 'CEIL'
    RETURNING next_number - cardinality($1::text[]) AS base),
  todo AS (SELECT id, rn FROM unnest($1::text[]) WITH ORDINALITY AS u(id, rn))
  UPDATE invoices i SET status = '${status}', number = 'CEIL-' || lpad((ser.base + todo.rn - 1)::text, 6, '0') FROM todo, ser WHERE i.id = todo.id`;
/** one-compact-event-versions: the payment pass's writes — the invoice's third version, the payment intent's second. */
const PAY_SQL = `
  WITH inv AS (UPDATE invoices SET status = 'paid', amount_paid = amount_due, amount_remaining = 0, updated = $2 WHERE id = ANY($1::text[]) RETURNING id)
  UPDATE payment_intents p SET status = 'succeeded', amount_received = p.amount, updated = $2 FROM inv WHERE p.invoice = inv.id`;

interface RunResult {
  perSecond: number;
  eventBytesPerRenewal: number;
}

async function runOnce(kind: 'postgres' | 'pglite', variant: Variant, n: number, workers: number): Promise<RunResult> {
  const clock = new ManualClock(NOW);
  const conns: Db[] = [];
  let cleanup: () => Promise<void>;
  if (kind === 'postgres') {
    const fresh = await freshDatabase(`recur_bench_ceiling_${process.pid}`);
    for (let i = 0; i < workers; i++) conns.push(await openPostgres({ connectionString: fresh.url, max: 1 }));
    cleanup = async () => {
      for (const c of conns) await c.close();
      await fresh.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'recur-ceiling-'));
    conns.push(await openPglite(join(dir, 'data')));
    cleanup = async () => {
      await conns[0]!.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const db = conns[0]!;
  try {
    await migrate(db, clock);
    await db.tx((q) => seedCatalog(q, NOW));
    const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    await db.tx((q) => createDueSubscriptions(q, { n, dueAt: DUE, priceId: price, prefix: 'bench' }));
    await db.query(`INSERT INTO invoice_number_series (series, next_number) VALUES ('CEIL', 1)`);
    if (variant === 'compact-events-bare' || variant === 'one-compact-event-bare') {
      for (const ix of ['events_type', 'events_customer', 'events_object', 'events_created']) await db.query(`DROP INDEX ${ix}`);
      await db.query(`DROP TRIGGER events_notification_inbox ON events`);
    }
    if (variant === 'no-events-lean' || variant === 'no-events-lean-no-fk') {
      const { rows: ix } = await db.query<{ n: string }>(
        `SELECT x.indexrelid::regclass::text AS n FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
          WHERE c.relname IN ('invoices', 'invoice_lines', 'payment_intents', 'subscriptions') AND NOT x.indisunique
            AND pg_get_indexdef(x.indexrelid) NOT LIKE '%current_period_end%'`,
      );
      for (const r of ix) await db.query(`DROP INDEX ${r.n}`);
    }
    if (variant === 'no-events-no-fk' || variant === 'no-events-lean-no-fk') {
      const { rows: fk } = await db.query<{ t: string; n: string }>(
        `SELECT conrelid::regclass::text AS t, conname AS n FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN ('invoices', 'invoice_lines', 'payment_intents')`,
      );
      for (const r of fk) await db.query(`ALTER TABLE ${r.t} DROP CONSTRAINT ${r.n}`);
    }
    await db.query('ANALYZE');
    const sql = renewalSql(variant, kind === 'postgres' ? 5000 : 1000);
    let renewed = 0;
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        for (;;) {
          const r = await c.tx(async (q) => (await q.query<{ n: string; pis: string; ids: string[] | null }>(sql, [NOW])).rows[0]!);
          if (Number(r.pis) !== Number(r.n)) throw new Error(`batch wrote ${r.n} renewals but ${r.pis} payment intents`);
          const versions = variant === 'one-compact-event-versions';
          if (!INLINE && r.ids?.length) await c.tx((q) => q.query(numberSql(versions ? 'open' : 'paid'), [r.ids]));
          if (versions && r.ids?.length) await c.tx((q) => q.query(PAY_SQL, [r.ids, NOW]));
          renewed += Number(r.n);
          if (Number(r.n) === 0) break;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const check = (
      await db.query<{ inv: string; dup: string; bytes: string }>(
        `SELECT (SELECT count(*) FROM invoices WHERE series = 'CEIL' AND status = 'paid') AS inv,
                (SELECT count(*) FROM (SELECT 1 FROM invoices WHERE series = 'CEIL' GROUP BY number HAVING count(*) > 1 OR number IS NULL) d) AS dup,
                (SELECT coalesce(sum(pg_column_size(data)), 0) FROM events WHERE created = $1 AND object_id LIKE 'in\\_sub\\_bench%')
                  + (SELECT coalesce(sum(pg_column_size(data)), 0) FROM event_batches WHERE created = $1) AS bytes`,
        [NOW],
      )
    ).rows[0]!;
    if (renewed !== n || Number(check.inv) !== n || Number(check.dup) !== 0) throw new Error(`wrong result: renewed ${renewed}, ${JSON.stringify(check)}`);
    return { perSecond: n / seconds, eventBytesPerRenewal: Number(check.bytes) / n };
  } finally {
    await cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

interface Row {
  db: string;
  n: number;
  workers: number;
  variant: string;
  runs: number[];
  bytes: number;
}
const rows: Row[] = [];
const kinds: ('postgres' | 'pglite')[] = values.db === 'both' ? ['postgres', 'pglite'] : [values.db as 'postgres' | 'pglite'];
const started = performance.now();
for (const kind of kinds) {
  const n = Number(kind === 'postgres' ? values.n : values['pglite-n']);
  const workers = kind === 'postgres' ? Number(values.workers) : 1;
  const results = CHOSEN.map((v) => ({ v, runs: [] as number[], bytes: 0 }));
  // Run by run, each variant in turn, so a change in the machine's load falls on all of them alike.
  for (let i = 0; i < RUNS; i++) {
    for (const res of results) {
      const r = await runOnce(kind, res.v.name, n, workers);
      res.runs.push(r.perSecond);
      res.bytes = r.eventBytesPerRenewal;
      process.stdout.write(`[${kind}] ${res.v.name} run ${i + 1}: ${fmt(r.perSecond)} renewals/s, ${fmt(res.bytes)} event bytes per renewal\n`);
    }
  }
  for (const res of results) rows.push({ db: kind, n, workers, variant: res.v.label, runs: res.runs, bytes: res.bytes });
}
const table =
  '| database | N | connections | events written | renewals/s (median) | runs | event bytes per renewal |\n| --- | --- | --- | --- | --- | --- | --- |\n' +
  rows.map((r) => `| ${r.db} | ${fmt(r.n)} | ${r.workers} | ${r.variant} | ${fmt(median(r.runs))} | ${r.runs.map(fmt).join(' / ')} | ${fmt(r.bytes)} |`).join('\n') +
  '\n';
process.stdout.write('\n' + table);
if (!values['no-write']) {
  const file = new URL('../docs/BENCHMARKS.md', import.meta.url);
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const section =
    `## Billing renewals: set-based ceiling (bench:billing-ceiling)\n\nRun ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores, Node ${process.version}, ` +
    `${Math.round((performance.now() - started) / 1000)} s in all: \`npm run bench:billing-ceiling -- --n ${values.n} --pglite-n ${values['pglite-n']} --runs ${RUNS} --workers ${values.workers} --numbering ${values.numbering}\`. ` +
    `Not Recur's worker: each renewal reduced to one SQL statement per batch (5,000 on PostgreSQL, 1,000 on PGlite) inside the database — claim ` +
    `(FOR UPDATE SKIP LOCKED), gapless numbers (${INLINE ? 'in the same statement, so connections take turns on the series row' : 'given in a second short transaction per batch, as Recur finalises, so only that part takes turns'}), the invoice written straight as paid, its line, a succeeded payment intent, the subscription ` +
    `moved to its next period — on Recur's schema (its indexes, foreign keys and the notification-inbox trigger), from the same due subscriptions ` +
    `as bench:billing. No Node work per row, no tax, discount or gateway logic: what a fully set-based design could reach at most on this machine. ` +
    `Each run is a fresh database.\n\n${table}`;
  const re = /## Billing renewals: set-based ceiling \(bench:billing-ceiling\)[\s\S]*?(?=\n## |$)/;
  writeFileSync(file, re.test(doc) ? doc.replace(re, section) : doc.trimEnd() + '\n\n' + section);
}
