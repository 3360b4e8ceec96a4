import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { checkBooks } from '../helpers/books.js';
import { createBillingApp } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { recordedCalls } from '../helpers/recorded-calls.js';
import { rng } from '../helpers/rng.js';
import type { BillingApp } from './support.js';

// Two billing workers and a stream of API requests on the same subscriptions and invoices at the same
// instants, on PostgreSQL: renewals, finalisations and charges racing upgrades with immediate
// invoices, cancellations with prorated credit, manual payments, voids, pauses, refunds and credit
// notes. Whatever wins each race, no request may answer 5xx, no worker batch may fail for good, and
// the books must balance after every step (test/helpers/books.ts). Seeded: MIXED_LOAD_SEED replays a run.

const SEED = Number(process.env.MIXED_LOAD_SEED ?? 20261203);
const STEPS = Number(process.env.MIXED_LOAD_STEPS ?? 25);
const PRICES = ['community_monthly', 'elite_monthly', 'group_monthly', 'group_quarterly'];
const CARDS = ['pm_card_visa', 'pm_card_visa', 'pm_card_mastercard', 'pm_card_chargeCustomerFail', 'pm_card_chargeDeclinedInsufficientFunds'];

describe.runIf(usingPostgres)(`API and workers racing on the same subscriptions (seed ${SEED})`, () => {
  let t: BillingApp;
  let workers: Db[];
  beforeAll(async () => {
    t = await createBillingApp('2026-01-15T12:00:00Z');
    workers = [await t.testDb.openAnother(2), await t.testDb.openAnother(2)];
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('never answers 5xx and keeps the books balanced', async () => {
    const r = rng(SEED);
    const prices = Object.fromEntries(await Promise.all(PRICES.map(async (k) => [k, await t.priceId(k)] as const)));
    const subs: string[] = [];
    for (let i = 0; i < 24; i++) {
      const customer = await t.customer({ card: r.pick(CARDS), email: `m${i}@example.com` });
      const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: prices[r.pick(PRICES)], quantity: r.int(1, 2) }], payment_behavior: 'allow_incomplete' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      subs.push(res.body.id);
    }
    const workerErrors: string[] = [];
    const { call, log, fivexx } = recordedCalls(t);
    const openInvoice = async () => {
      const { rows } = await t.testDb.db.query<{ id: string; customer: string }>(`SELECT id, customer FROM invoices WHERE status = 'open' ORDER BY id`);
      return rows.length ? r.pick(rows) : null;
    };
    // A few subscriptions draw most requests, so requests also race each other.
    const target = () => (r.chance(0.6) ? r.pick(subs.slice(0, 4)) : r.pick(subs));
    const ops: (() => Promise<unknown>)[] = [
      async () => {
        const sub = (await call('GET', `/v1/subscriptions/${target()}`)).body;
        const item = sub.items?.data?.[0];
        if (!item) return;
        await call('POST', `/v1/subscriptions/${sub.id}`, {
          items: [{ id: item.id, price: prices[r.pick(PRICES.filter((p) => p !== 'group_quarterly'))], quantity: r.int(1, 3) }],
          proration_behavior: r.pick(['always_invoice', 'create_prorations']),
        });
      },
      () => call('POST', `/v1/subscriptions/${target()}`, { cancel_at_period_end: r.chance(0.5) }),
      () => call('POST', `/v1/subscriptions/${target()}`, { pause_collection: r.chance(0.5) ? { behavior: r.pick(['keep_as_draft', 'mark_uncollectible', 'void']) } : '' }),
      async () => {
        if (r.chance(0.3)) await call('DELETE', `/v1/subscriptions/${target()}`, { prorate: true, invoice_now: r.chance(0.5) });
      },
      async () => {
        const inv = await openInvoice();
        if (!inv) return;
        const pm = await call('POST', `/v1/payment_methods/pm_card_visa/attach`, { customer: inv.customer });
        await call('POST', `/v1/invoices/${inv.id}/pay`, { payment_method: pm.body.id });
      },
      async () => {
        const inv = await openInvoice();
        if (inv && r.chance(0.3)) await call('POST', `/v1/invoices/${inv.id}/void`, {});
      },
      async () => {
        const { rows } = await t.testDb.db.query<{ id: string; left: string }>(
          `SELECT id, amount_received - amount_refunded AS left FROM payment_intents WHERE status = 'succeeded' AND amount_received > amount_refunded ORDER BY id`,
        );
        if (!rows.length) return;
        const pi = r.pick(rows);
        await call('POST', '/v1/refunds', r.chance(0.5) ? { payment_intent: pi.id } : { payment_intent: pi.id, amount: r.int(1, Number(pi.left)) });
      },
      async () => {
        const { rows } = await t.testDb.db.query<{ id: string; total: string }>(`SELECT id, total FROM invoices WHERE status = 'paid' AND total > 100 ORDER BY id`);
        if (!rows.length) return;
        const inv = r.pick(rows);
        const amount = r.int(1, Math.floor(Number(inv.total) / 3));
        await call('POST', '/v1/credit_notes', { invoice: inv.id, amount, ...(r.chance(0.5) ? { refund_amount: amount } : { credit_amount: amount }) });
      },
    ];
    const drainAll = (now: Date) =>
      Promise.all(
        workers.map((w) =>
          drainBilling(w, t.deps, { clock: null }, now).catch((e: unknown) => {
            workerErrors.push(String((e as { code?: string }).code ?? e));
          }),
        ),
      );

    for (let step = 0; step < STEPS; step++) {
      t.clock.set(new Date(t.clock.now().getTime() + (r.int(0, 5) * 86_400 + r.int(3600, 86_399)) * 1000));
      const now = t.clock.now();
      const burst = Array.from({ length: r.int(4, 10) }, () => r.pick(ops));
      // Six clients at a time, while both workers run the due work of this instant.
      const clients = Array.from({ length: 6 }, async () => {
        for (let op = burst.shift(); op; op = burst.shift()) await op();
      });
      await Promise.all([drainAll(now), ...clients]);
      await drainAll(now);
      expect(fivexx, `5xx at step ${step}:\n${log.slice(-20).join('\n')}`).toEqual([]);
      expect(await checkBooks(t.testDb.db), `broken books after step ${step} (seed ${SEED}):\n${log.slice(-30).join('\n')}`).toEqual([]);
    }
    expect(workerErrors).toEqual([]);
    const paid = await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM invoices WHERE status = 'paid' AND billing_reason = 'subscription_cycle'`);
    expect(Number(paid.rows[0]!.n)).toBeGreaterThan(0);
    const done = await t.testDb.db.query<{ refunds: string; notes: string }>(
      `SELECT (SELECT count(*) FROM refunds WHERE status = 'succeeded') AS refunds, (SELECT count(*) FROM credit_notes) AS notes`,
    );
    expect(Number(done.rows[0]!.refunds)).toBeGreaterThan(0);
    expect(Number(done.rows[0]!.notes)).toBeGreaterThan(0);
  }, 300_000);
});
