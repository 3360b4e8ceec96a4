import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../../../test/helpers/billing.js';

// The subscription routes: creation and every reason it is refused (with the offending param and
// nothing written), lists, updates with proration, cancellation, resume, previews of the next
// invoice, idempotent creation and the customer.subscription.* events.

let t: Awaited<ReturnType<typeof createBillingApp>>;
const price: Record<string, string> = {};
beforeAll(async () => {
  t = await createBillingApp();
  for (const key of ['community_monthly', 'community_annual', 'group_monthly', 'group_quarterly', 'elite_monthly', 'course_onetime']) price[key] = await t.priceId(key);
});
afterAll(() => t.close());

const NOW = unix('2026-01-15T12:00:00Z');

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await t.testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n;
}

/** How many subscriptions, invoices and payment intents a customer has. */
async function rowsOf(customer: string) {
  return {
    subscriptions: await count(`SELECT count(*)::int AS n FROM subscriptions WHERE customer = $1`, [customer]),
    invoices: await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [customer]),
    paymentIntents: await count(`SELECT count(*)::int AS n FROM payment_intents WHERE customer = $1`, [customer]),
  };
}

function subscribe(payload: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.call({ method: 'POST', url: '/v1/subscriptions', payload, headers });
}

describe('creating subscriptions', () => {
  it('creates an active subscription, charges the first period and retrieves it', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const res = await subscribe({ customer: cus, items: [{ price: price.group_monthly, quantity: 2 }], trial_end: 'now', metadata: { plan: 'group' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      object: 'subscription',
      customer: cus,
      status: 'active',
      currency: 'usd',
      collection_method: 'charge_automatically',
      current_period_start: NOW,
      current_period_end: unix('2026-02-15T12:00:00Z'),
      billing_cycle_anchor: NOW,
      cancel_at_period_end: false,
      trial_start: null,
      trial_end: null,
      metadata: { plan: 'group' },
      test_clock: null,
    });
    expect(res.body.id).toMatch(/^sub_/);
    expect(res.body.items.data).toHaveLength(1);
    expect(res.body.items.data[0]).toMatchObject({ object: 'subscription_item', quantity: 2, price: { id: price.group_monthly, unit_amount: 150_000 } });

    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` });
    expect(inv.body).toMatchObject({ status: 'paid', billing_reason: 'subscription_create', subtotal: 300_000, total: 300_000, amount_paid: 300_000, subscription: res.body.id });
    expect(iso(inv.body.period_start)).toBe('2026-01-15T12:00:00Z');
    expect(iso(inv.body.period_end)).toBe('2026-02-15T12:00:00Z');

    const got = await t.call({ method: 'GET', url: `/v1/subscriptions/${res.body.id}` });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
    const missing = await t.call({ method: 'GET', url: '/v1/subscriptions/sub_missing' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
    // The customer is now billed in USD.
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.currency).toBe('usd');
  });

  it('starts the price’s default trial with a $0 first invoice', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const res = await subscribe({ customer: cus, items: [{ price: price.elite_monthly }] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'trialing', trial_start: NOW, trial_end: NOW + 7 * 86400, current_period_end: NOW + 7 * 86400 });
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` });
    expect(inv.body).toMatchObject({ status: 'paid', total: 0, amount_paid: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE customer = $1`, [cus])).toBe(0);
  });

  it('bills send_invoice subscriptions with a due date instead of charging', async () => {
    const cus = await t.customer();
    const res = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 14 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', collection_method: 'send_invoice', days_until_due: 14 });
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` });
    expect(inv.body).toMatchObject({ status: 'open', collection_method: 'send_invoice', amount_due: 9_700, due_date: NOW + 14 * 86400, attempt_count: 0 });
  });

  it('refuses bad requests, naming the param, and writes nothing', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const eur = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: 'prod_group_coaching', currency: 'eur', unit_amount: 140_000, recurring: { interval: 'month' } } });
    expect(eur.status, JSON.stringify(eur.body)).toBe(200);
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ customer: 'cus_missing', items: [{ price: price.community_monthly }] }, 404, 'customer', 'resource_missing'],
      [{ customer: cus, items: [{ price: 'price_missing' }] }, 404, 'items[0][price]', 'resource_missing'],
      [{ customer: cus, items: [{ price: price.course_onetime }] }, 400, 'items[0][price]', 'price_not_recurring'],
      [{ customer: cus, items: [{ price: price.community_monthly }, { price: price.community_annual }] }, 400, 'items[1][price]', 'interval_mismatch'],
      [{ customer: cus, items: [{ price: price.community_monthly }, { price: eur.body.id }] }, 400, 'items[1][price]', 'currency_mismatch'],
      [{ customer: cus, items: [{ price: price.community_monthly }, { price: price.community_monthly }] }, 400, 'items[1][price]', 'duplicate_price'],
      [{ customer: cus, items: [{ price: price.community_monthly }], collection_method: 'send_invoice' }, 400, 'days_until_due', 'parameter_missing'],
      [{ customer: cus, items: [{ price: price.community_monthly }], trial_end: NOW - 60 }, 400, 'trial_end', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'tomorrow' }, 400, 'trial_end', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], trial_end: NOW + 731 * 86400 }, 400, 'trial_end', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], trial_end: 253402300800 }, 400, 'trial_end', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], billing_cycle_anchor: 1e15 }, 400, 'billing_cycle_anchor', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now', billing_cycle_anchor: NOW - 60 }, 400, 'billing_cycle_anchor', 'parameter_invalid'],
      [{ customer: cus, items: [] }, 400, 'items', 'parameter_invalid'],
      [{ customer: cus }, 400, 'items', 'parameter_missing'],
      [{ items: [{ price: price.community_monthly }] }, 400, 'customer', 'parameter_missing'],
      [{ customer: cus, items: [{ price: price.community_monthly, quantity: -1 }] }, 400, 'items[0][quantity]', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly, tax_rates: ['txr_x'] }] }, 400, 'items[0][tax_rates]', 'parameter_unknown'],
      [{ customer: cus, items: [{ price: price.community_monthly, plan: 'x' }] }, 400, 'items[0][plan]', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], payment_behavior: 'hope' }, 400, 'payment_behavior', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], days_until_due: 1000 }, 400, 'days_until_due', 'parameter_invalid'],
      [{ customer: cus, items: [{ price: price.community_monthly }], colour: 'red' }, 400, 'colour', 'parameter_unknown'],
      [{ customer: cus, items: [{ price: price.community_monthly }], default_payment_method: 'pm_missing' }, 400, 'default_payment_method', 'resource_missing'],
    ];
    for (const [payload, status, param, code] of cases) {
      const res = await subscribe(payload);
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    expect(await rowsOf(cus)).toEqual({ subscriptions: 0, invoices: 0, paymentIntents: 0 });
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.currency).toBeNull();
  });

  it('error_if_incomplete with a declining card: 402 and no subscription, invoice or payment rows', async () => {
    const cus = await t.customer({ card: 'pm_card_chargeDeclined' });
    const res = await subscribe({ customer: cus, items: [{ price: price.group_monthly }], trial_end: 'now', payment_behavior: 'error_if_incomplete' });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(await rowsOf(cus)).toEqual({ subscriptions: 0, invoices: 0, paymentIntents: 0 });
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions?customer=${cus}&status=all` })).body.data).toEqual([]);
    expect((await t.call({ method: 'GET', url: `/v1/events?type=customer.subscription.created&customer=${cus}` })).body.data).toEqual([]);
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.currency).toBeNull();
  });

  it('allow_incomplete with a declining card: an incomplete subscription with its open, attempted invoice', async () => {
    const cus = await t.customer({ card: 'pm_card_chargeDeclined' });
    const res = await subscribe({ customer: cus, items: [{ price: price.group_monthly }], trial_end: 'now' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('incomplete');
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` });
    expect(inv.body).toMatchObject({ status: 'open', amount_due: 150_000, amount_paid: 0, attempt_count: 1 });
    expect(await rowsOf(cus)).toEqual({ subscriptions: 1, invoices: 1, paymentIntents: 1 });

    // Canceling an incomplete subscription voids its open first invoice.
    const canceled = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${res.body.id}` });
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${res.body.latest_invoice}` })).body.status).toBe('void');
  });

  it('replays a creation with the same Idempotency-Key: same subscription, one row', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const payload = { customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' };
    const first = await subscribe(payload, { 'idempotency-key': 'sub-create-1' });
    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const second = await subscribe(payload, { 'idempotency-key': 'sub-create-1' });
    expect(second.status).toBe(200);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(second.body).toEqual(first.body);
    expect(await rowsOf(cus)).toEqual({ subscriptions: 1, invoices: 1, paymentIntents: 1 });
    const other = await subscribe({ ...payload, metadata: { x: '1' } }, { 'idempotency-key': 'sub-create-1' });
    expect(other.status).toBe(409);
    expect(other.body.error.type).toBe('idempotency_error');
    expect(await rowsOf(cus)).toEqual({ subscriptions: 1, invoices: 1, paymentIntents: 1 });
  });
});

describe('listing subscriptions', () => {
  it('filters by customer, status and price', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const a = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const b = await subscribe({ customer: cus, items: [{ price: price.group_monthly }] });
    const c = await subscribe({ customer: cus, items: [{ price: price.elite_monthly }], trial_end: 'now' });
    expect([a.body.status, b.body.status, c.body.status]).toEqual(['active', 'trialing', 'active']);
    await t.call({ method: 'DELETE', url: `/v1/subscriptions/${c.body.id}` });

    const ids = async (qs: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/subscriptions?${qs}` });
      expect(res.status, qs).toBe(200);
      return (res.body.data as { id: string }[]).map((s) => s.id);
    };
    // Without a status, canceled subscriptions are left out (as in Stripe).
    expect(await ids(`customer=${cus}`)).toEqual([b.body.id, a.body.id]);
    expect(await ids(`customer=${cus}&status=all`)).toEqual([c.body.id, b.body.id, a.body.id]);
    expect(await ids(`customer=${cus}&status=active`)).toEqual([a.body.id]);
    expect(await ids(`customer=${cus}&status=trialing`)).toEqual([b.body.id]);
    expect(await ids(`customer=${cus}&status=canceled`)).toEqual([c.body.id]);
    expect(await ids(`customer=${cus}&status=ended`)).toEqual([c.body.id]);
    expect(await ids(`customer=${cus}&price=${price.group_monthly}`)).toEqual([b.body.id]);
    expect(await ids(`customer=${cus}&limit=1`)).toEqual([b.body.id]);
    const bad = await t.call({ method: 'GET', url: '/v1/subscriptions?status=sleeping' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('status');
  });
});

describe('updating, canceling and resuming', () => {
  it('changes the quantity mid-period: proration lines wait as pending invoice items for the renewal', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const created = await subscribe({ customer: cus, items: [{ price: price.group_monthly }], trial_end: 'now' });
    expect(created.body).toMatchObject({ status: 'active', current_period_start: unix('2026-03-01T00:00:00Z'), current_period_end: unix('2026-04-01T00:00:00Z') });
    const item = created.body.items.data[0].id as string;

    // Half of the 31-day period is left on Mar 16, 12:00.
    await t.advance(clock, '2026-03-16T12:00:00Z');
    const preview = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${created.body.id}&subscription_items[0][id]=${item}&subscription_items[0][quantity]=2` });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body).toMatchObject({ object: 'invoice', subscription: created.body.id, subtotal: 375_000, total: 375_000, amount_due: 375_000 });
    expect(preview.body.period_start).toBe(unix('2026-04-01T00:00:00Z'));
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = $1`, [cus])).toBe(0);

    const upd = await t.call({ method: 'POST', url: `/v1/subscriptions/${created.body.id}`, payload: { items: [{ id: item, quantity: 2 }] } });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    expect(upd.body.items.data.map((i: { id: string; quantity: number }) => [i.id, i.quantity])).toEqual([[item, 2]]);
    expect(upd.body.latest_invoice).toBe(created.body.latest_invoice);

    const pending = await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${cus}&pending=true` });
    const lines = (pending.body.data as { amount: number; quantity: number; proration: boolean; description: string; subscription: string; period: { start: number; end: number } }[])
      .map((i) => ({ amount: i.amount, quantity: i.quantity, proration: i.proration, description: i.description, subscription: i.subscription, period: i.period }))
      .sort((x, y) => x.amount - y.amount);
    const period = { start: unix('2026-03-16T12:00:00Z'), end: unix('2026-04-01T00:00:00Z') };
    expect(lines).toEqual([
      { amount: -75_000, quantity: 1, proration: true, description: 'Unused time on Group Coaching Programs after Mar 16, 2026', subscription: created.body.id, period },
      { amount: 150_000, quantity: 2, proration: true, description: 'Remaining time on 2 × Group Coaching Programs after Mar 16, 2026', subscription: created.body.id, period },
    ]);

    // The renewal bills both prorations and the next period at quantity 2.
    await t.advance(clock, '2026-04-01T06:00:00Z');
    const invs = await t.invoices(created.body.id);
    expect(invs.map((i) => [i.billing_reason, i.status, i.total])).toEqual([
      ['subscription_create', 'paid', 150_000],
      ['subscription_cycle', 'paid', 375_000],
    ]);
    expect((await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${cus}&pending=true` })).body.data).toEqual([]);
  });

  it('updates metadata, cancel_at_period_end and pause_collection; refuses bad params', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const id = sub.body.id as string;
    const upd = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, payload: { cancel_at_period_end: true, metadata: { a: '1' }, pause_collection: { behavior: 'void' } } });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ cancel_at_period_end: true, cancel_at: sub.body.current_period_end, metadata: { a: '1' }, pause_collection: { behavior: 'void', resumes_at: null }, status: 'active' });
    const unpause = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, payload: { pause_collection: '', cancel_at_period_end: false } });
    expect(unpause.body).toMatchObject({ cancel_at_period_end: false, cancel_at: null, pause_collection: null });

    const cases: [Record<string, unknown>, string, string][] = [
      [{ proration_behavior: 'sometimes' }, 'proration_behavior', 'parameter_invalid'],
      [{ items: [{ id: 'si_missing', quantity: 2 }] }, 'items[0][id]', 'resource_missing'],
      [{ items: [{ quantity: 2 }] }, 'items[0][price]', 'parameter_missing'],
      [{ items: [{ id: sub.body.items.data[0].id, deleted: 'maybe' }] }, 'items[0][deleted]', 'parameter_invalid'],
      [{ items: [{ id: sub.body.items.data[0].id, price: price.community_annual }, { price: price.community_monthly }] }, 'items[1][price]', 'interval_mismatch'],
      [{ items: [{ id: sub.body.items.data[0].id, deleted: true }] }, 'items', 'parameter_invalid'],
      // A new trial can be added to an active subscription (test/scenarios/trial-added.test.ts), but
      // trial_end=now only ends a trial that runs.
      [{ trial_end: 'now' }, 'trial_end', 'subscription_not_trialing'],
      [{ proration_date: NOW - 86400 * 60, items: [{ id: sub.body.items.data[0].id, quantity: 3 }] }, 'proration_date', 'parameter_invalid'],
      [{ pause_collection: { behavior: 'forever' } }, 'pause_collection[behavior]', 'parameter_invalid'],
      [{ status: 'active' }, 'status', 'parameter_unknown'],
    ];
    for (const [payload, param, code] of cases) {
      const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, payload });
      expect([400, 404], JSON.stringify(payload)).toContain(res.status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ param, code });
    }
    const after = await t.call({ method: 'GET', url: `/v1/subscriptions/${id}` });
    expect(after.body.items.data.map((i: { quantity: number; price: { id: string } }) => [i.price.id, i.quantity])).toEqual([[price.community_monthly, 1]]);
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE subscription = $1`, [id])).toBe(0);
    expect((await t.call({ method: 'POST', url: '/v1/subscriptions/sub_missing', payload: { metadata: { a: '1' } } })).status).toBe(404);
  });

  it('cancels once (400 the second time), refuses updates after, and resumes only paused subscriptions', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const id = sub.body.id as string;

    const notPaused = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}/resume` });
    expect(notPaused.status).toBe(400);
    expect(notPaused.body.error).toMatchObject({ code: 'subscription_not_paused', param: 'id' });
    const badResume = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}/resume`, payload: { billing_cycle_anchor: 'later' } });
    expect(badResume.status).toBe(400);
    expect(badResume.body.error.param).toBe('billing_cycle_anchor');
    const badCancel = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${id}`, payload: { invoice_now: 'perhaps' } });
    expect(badCancel.status).toBe(400);
    expect(badCancel.body.error.param).toBe('invoice_now');
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions/${id}` })).body.status).toBe('active');

    const canceled = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${id}`, payload: { cancellation_details: { comment: 'moving on' } } });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', canceled_at: NOW, ended_at: NOW, cancellation_details: { reason: 'cancellation_requested', comment: 'moving on' } });
    const twice = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${id}` });
    expect(twice.status).toBe(400);
    expect(twice.body.error).toMatchObject({ type: 'invalid_request_error', code: 'subscription_ended' });
    const upd = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, payload: { cancel_at_period_end: true } });
    expect(upd.status).toBe(400);
    expect(upd.body.error.code).toBe('subscription_ended');
    expect((await t.call({ method: 'POST', url: `/v1/subscriptions/${id}/resume` })).status).toBe(400);
    expect((await t.call({ method: 'DELETE', url: '/v1/subscriptions/sub_missing' })).status).toBe(404);
    expect((await t.call({ method: 'POST', url: '/v1/subscriptions/sub_missing/resume' })).status).toBe(404);
  });

  it('cancels with a prorated credit invoiced now', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.group_monthly }], trial_end: 'now' });
    await t.advance(clock, '2026-03-16T12:00:00Z');
    const canceled = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.body.id}`, payload: { prorate: true, invoice_now: true } });
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', canceled_at: unix('2026-03-16T12:00:00Z') });
    const invs = await t.invoices(sub.body.id);
    expect(invs.map((i) => [i.billing_reason, i.total, i.amount_due, i.status])).toEqual([
      ['subscription_create', 150_000, 150_000, 'paid'],
      ['subscription_update', -75_000, 0, 'paid'],
    ]);
    // The negative total becomes customer credit.
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.balance).toBe(-75_000);
  });

  it('writes customer.subscription.* events carrying the subscription', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.body.id}`, payload: { metadata: { k: 'v' } } });
    await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.body.id}` });
    const res = await t.call({ method: 'GET', url: `/v1/events?type=customer.subscription.*&customer=${cus}` });
    expect(res.status).toBe(200);
    type Ev = { type: string; data: { object: { id: string; status: string; metadata: Record<string, string> }; previous_attributes?: Record<string, unknown> } };
    const events = (res.body.data as Ev[]).filter((e) => !(e.type === 'customer.subscription.updated' && e.data.previous_attributes?.status === 'incomplete'));
    expect(events.map((e) => e.type)).toEqual(['customer.subscription.deleted', 'customer.subscription.updated', 'customer.subscription.created']);
    expect(events.map((e) => [e.data.object.id, e.data.object.status])).toEqual([
      [sub.body.id, 'canceled'],
      [sub.body.id, 'active'],
      // created carries the starting status; the paid first invoice then moves it (filtered above).
      [sub.body.id, 'incomplete'],
    ]);
    expect(events[1]!.data.object.metadata).toEqual({ k: 'v' });
    expect(events[1]!.data.previous_attributes).toEqual({ metadata: { k: null } });
    expect(events[0]!.data.previous_attributes).toMatchObject({ status: 'active', canceled_at: null });
    const exact = await t.call({ method: 'GET', url: `/v1/events?type=customer.subscription.created&customer=${cus}` });
    expect(exact.body.data).toHaveLength(1);
    const paid = await t.call({ method: 'GET', url: `/v1/events?type=invoice.paid&customer=${cus}` });
    expect(paid.body.data.map((e: { data: { object: { id: string; object: string } } }) => [e.data.object.object, e.data.object.id])).toEqual([['invoice', sub.body.latest_invoice]]);
  });
});

// Regressions of two bugs these tests found: created must precede any updated, and errors on merged
// item lists must name the request's own index.
describe('event order and item params', () => {
  // BUG (subscriptions/service.ts validateItems after mergeItems): an added item is validated at its
  // index in the merged list (existing items first), so items[0] of the request is reported as items[1].
  it('names the request’s own index for a bad added item', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.body.id}`, payload: { items: [{ price: price.course_onetime }] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'price_not_recurring', param: 'items[0][price]' });
  });

  it('writes customer.subscription.created before any customer.subscription.updated', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const res = await t.call({ method: 'GET', url: `/v1/events?type=customer.subscription.*&customer=${cus}` });
    const oldestFirst = (res.body.data as { type: string }[]).map((e) => e.type).reverse();
    expect(oldestFirst[0]).toBe('customer.subscription.created');
  });
});

describe('previewing the next invoice', () => {
  it('previews with GET /v1/invoices/upcoming and POST /v1/invoices/create_preview alike, writing nothing', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe({ customer: cus, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const item = sub.body.items.data[0].id as string;
    const upcoming = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.body.id}` });
    expect(upcoming.status).toBe(200);
    expect(upcoming.body).toMatchObject({ object: 'invoice', subscription: sub.body.id, customer: cus, total: 9_700, period_start: sub.body.current_period_end, billing_reason: 'subscription_cycle' });
    const preview = await t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload: { customer: cus, subscription: sub.body.id } });
    expect(preview.status).toBe(200);
    // The same invoice, up to the ids of its (never stored) lines.
    const shape = (inv: { lines: { data: { amount: number; price: string; period: unknown }[] } }) => ({ ...inv, lines: inv.lines.data.map((l) => [l.amount, l.price, l.period]) });
    expect(shape(preview.body)).toEqual(shape(upcoming.body));

    // A change to the annual price, previewed without proration: the next invoice is a year.
    const change = await t.call({
      method: 'POST',
      url: '/v1/invoices/create_preview',
      payload: { subscription: sub.body.id, subscription_details: { items: [{ id: item, price: price.community_annual }], proration_behavior: 'none' } },
    });
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body.total).toBe(97_000);

    const cases: [string, Record<string, unknown>, number, string][] = [
      // A customer alone previews its next subscription invoice (src/modules/invoices/preview.test.ts); nothing at all is a 400.
      ['/v1/invoices/create_preview', {}, 400, 'subscription'],
      ['/v1/invoices/create_preview', { subscription: 'sub_missing' }, 404, 'subscription'],
      ['/v1/invoices/create_preview', { subscription: sub.body.id, customer: 'cus_other' }, 400, 'customer'],
      ['/v1/invoices/create_preview', { subscription: sub.body.id, subscription_details: { proration_behavior: 'x' } }, 400, 'subscription_details[proration_behavior]'],
      ['/v1/invoices/create_preview', { subscription: sub.body.id, subscription_details: { items: [{ id: item, price: price.course_onetime }] } }, 400, 'subscription_details[items][0][price]'],
      ['/v1/invoices/create_preview', { subscription: sub.body.id, subscription_details: { items: [{ id: item, quantity: 2 }], proration_date: 1 } }, 400, 'subscription_details[proration_date]'],
    ];
    for (const [url, payload, status, param] of cases) {
      const res = await t.call({ method: 'POST', url, payload });
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error.param, JSON.stringify(payload)).toBe(param);
    }
    const missing = await t.call({ method: 'GET', url: '/v1/invoices/upcoming?subscription=sub_missing' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.param).toBe('subscription');
    expect(await rowsOf(cus)).toEqual({ subscriptions: 1, invoices: 1, paymentIntents: 1 });
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = $1`, [cus])).toBe(0);
  });
});
