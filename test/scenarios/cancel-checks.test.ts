// Cancel and pause (issue 3 item 5), checked by an audit against Stripe's documented behaviour
// (regression tests; the defects it found are in cancel-rules.test.ts).
// Community Access 9,700/month; April 2026 has 30 days, so Apr 16 leaves exactly half unused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, iso, lineTuple, subscribe, unix, update, communityOnClock, deleteSubscription, customerBalance, type BillingApp } from './support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const inv = async (id: string) => get(t, `/v1/invoices/${id}`);
const pis = async (customer: string) => ((await get(t, `/v1/payment_intents?customer=${customer}&limit=100`)).data as { amount: number; status: string }[]).slice().reverse();
const pendingItems = async (customer: string) => ((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true&limit=100`)).data as { amount: number }[]).map((i) => i.amount);

describe('DELETE prorate+invoice_now by state', () => {
  it('trialing: no credit, no final invoice, balance 0', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }] });
    expect(sub.status).toBe('trialing');
    await t.advance(clock, '2026-04-11T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0]);
    expect(await customerBalance(t, customer)).toBe(0);
    expect(await pendingItems(customer)).toEqual([]);
  });

  it('paused (trial ended without a payment method): no credit for time never paid', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('paused');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0]);
    expect(await customerBalance(t, customer)).toBe(0);
    expect(await pendingItems(customer)).toEqual([]);
  });

  it('past_due with an open renewal: credit on a final invoice; the open invoice stays open, never retried', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const bad = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_chargeCustomerFail/attach', payload: { customer } })).body;
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: bad.id } } });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('past_due');
    const before = (await pis(customer)).length;
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total])).toEqual([
      ['paid', 9700],
      ['open', 9700],
      ['paid', -4850],
    ]);
    const open = await inv(invs[1]!.id);
    expect([open.auto_advance, open.next_payment_attempt, open.amount_remaining]).toEqual([false, null, 9700]);
    expect(await customerBalance(t, customer)).toBe(-4850);
    await t.advance(clock, '2026-07-20T00:00:00Z');
    expect((await pis(customer)).length).toBe(before);
    expect((await t.invoices(sub.id)).length).toBe(3);
  });
});

describe('credit amounts', () => {
  it('percent_off forever 20 %: the credit returns what was paid (half of 7,760)', async () => {
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 20, duration: 'forever' } })).body.id;
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z', { coupon });
    expect((await t.invoices(sub.id))[0]!.total).toBe(7760);
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = (await t.invoices(sub.id))[1]!;
    expect([final.total, final.status]).toEqual([-3880, 'paid']);
    expect(await customerBalance(t, customer)).toBe(-3880);
  });

  it('amount_off forever $10: the credit returns half of 8,700', async () => {
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { amount_off: 1000, currency: 'usd', duration: 'forever' } })).body.id;
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z', { coupon });
    expect((await t.invoices(sub.id))[0]!.total).toBe(8700);
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = (await t.invoices(sub.id))[1]!;
    expect([final.total, final.status]).toEqual([-4350, 'paid']);
    expect(await customerBalance(t, customer)).toBe(-4350);
  });

  it('percent_off repeating 3 months, cancelled in month 2: still returns what was paid', async () => {
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 50, duration: 'repeating', duration_in_months: 3 } })).body.id;
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z', { coupon });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([4850, 4850]);
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    expect((await t.invoices(sub.id))[2]!.total).toBe(-2425);
    expect(await customerBalance(t, customer)).toBe(-2425);
  });

  it('annual Elite cancelled mid-year: −5,400,000 × 183/365 = −2,707,397', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('elite_annual') }], trial_end: 'now' });
    await t.advance(clock, '2026-07-02T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = await inv((await t.invoices(sub.id))[1]!.id);
    expect(final.lines.data.map(lineTuple)).toEqual([['Unused time on Elite 1:1 Coaching after Jul 2, 2026', -2_707_397, '2026-07-02T00:00:00Z', '2027-01-01T00:00:00Z', true]]);
    expect([final.total, final.amount_due, final.ending_balance]).toEqual([-2_707_397, 0, -2_707_397]);
    expect(await customerBalance(t, customer)).toBe(-2_707_397);
  });

  it('quantity 3 and two items: one credit line per item', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, {
      customer,
      items: [
        { price: await t.priceId('community_monthly'), quantity: 3 },
        { price: await t.priceId('group_monthly'), quantity: 1 },
      ],
      trial_end: 'now',
    });
    await t.advance(clock, '2026-04-21T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = await inv((await t.invoices(sub.id))[1]!.id);
    // [Apr 1, May 1) = 30 days; 10 unused: −29,100/3 = −9,700 and −150,000/3 = −50,000.
    expect(final.lines.data.map((l: { amount: number; quantity: number; proration: boolean }) => [l.amount, l.quantity, l.proration]).sort()).toEqual(
      [
        [-50_000, 1, true],
        [-9_700, 3, true],
      ].sort(),
    );
    expect(final.total).toBe(-59_700);
    expect(await customerBalance(t, customer)).toBe(-59_700);
  });

  it('pending prorations of an earlier change are on the final invoice', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-11T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    await t.advance(clock, '2026-04-21T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = await inv((await t.invoices(sub.id))[1]!.id);
    // Apr 11: −9,700 × 20/30 = −6,467, +19,400 × 20/30 = +12,933; Apr 21: −19,400 × 10/30 = −6,467.
    expect(final.lines.data.map((l: { amount: number }) => l.amount)).toEqual([-6467, 12_933, -6467]);
    expect([final.total, final.status]).toEqual([-1, 'paid']);
    expect(await customerBalance(t, customer)).toBe(-1);
    expect(await pendingItems(customer)).toEqual([]);
  });

  it('a negative final invoice on a customer who owes 500: ending_balance −4,350', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    const adj = await t.call({ method: 'POST', url: `/v1/customers/${customer}/balance_transactions`, payload: { amount: 500, currency: 'usd', description: 'owed' } });
    expect(adj.status, JSON.stringify(adj.body)).toBe(200);
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const final = await inv((await t.invoices(sub.id))[1]!.id);
    expect([final.total, final.amount_due, final.starting_balance, final.ending_balance, final.status]).toEqual([-4850, 0, 500, -4350, 'paid']);
    expect(await customerBalance(t, customer)).toBe(-4350);
  });
});

describe('send_invoice', () => {
  it('a positive final invoice is open, not charged, with a due date', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 30 });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    const res = await deleteSubscription(t, sub.id, { invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const invs = await t.invoices(sub.id);
    const final = await inv(invs[1]!.id);
    expect([final.status, final.total, final.collection_method, final.amount_paid]).toEqual(['open', 4850, 'send_invoice', 0]);
    expect(final.due_date).toBe(unix('2026-05-16T00:00:00Z'));
    expect(await pis(customer)).toEqual([]);
  });

  it('prorate+invoice_now: negative final invoice paid, balance credited', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 30 });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total])).toEqual([
      ['open', 9700],
      ['paid', -4850],
    ]);
    expect(await customerBalance(t, customer)).toBe(-4850);
  });
});

describe('events and edges', () => {
  it('.deleted carries cancellation_details and latest_invoice; final invoice events; nothing after', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-16T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true, cancellation_details: { comment: 'too pricey', feedback: 'too_expensive' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.cancellation_details).toEqual({ comment: 'too pricey', feedback: 'too_expensive', reason: 'cancellation_requested' });
    const final = (await t.invoices(sub.id))[1]!;
    const deleted = await events(t, customer, 'customer.subscription.deleted');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.data.object.cancellation_details).toEqual({ comment: 'too pricey', feedback: 'too_expensive', reason: 'cancellation_requested' });
    expect(deleted[0]!.data.object.latest_invoice).toBe(final.id);
    for (const type of ['invoice.created', 'invoice.finalized', 'invoice.paid']) {
      const evs = (await events(t, customer, type)).filter((e) => e.data.object.id === final.id);
      expect(evs, type).toHaveLength(1);
    }
    await t.advance(clock, '2026-07-20T00:00:00Z');
    const after = (await get(t, `/v1/events?customer=${customer}&limit=100`)).data.filter((e: { created: number }) => e.created > unix('2026-04-16T00:00:00Z'));
    expect(after).toEqual([]);
  });

  it('cancellation_details without comment/feedback: both null', async () => {
    const { sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    const res = await deleteSubscription(t, sub.id);
    expect(res.body.cancellation_details).toEqual({ comment: null, feedback: null, reason: 'cancellation_requested' });
  });

  it('invalid feedback value: 400 on cancellation_details[feedback], nothing changes', async () => {
    const { sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { cancellation_details: { feedback: 'meh' } });
    expect(res.status).toBe(400);
    expect((await t.sub(sub.id)).status).toBe('active');
  });

  it('double DELETE: second 400 subscription_ended, no second event', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    expect((await deleteSubscription(t, sub.id)).status).toBe(200);
    const second = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect([second.status, second.body.error?.code]).toEqual([400, 'subscription_ended']);
    expect(await events(t, customer, 'customer.subscription.deleted')).toHaveLength(1);
    expect((await t.invoices(sub.id)).length).toBe(1);
  });

  it('invoice_now with nothing pending: no $0 invoice', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { invoice_now: true });
    expect(res.status).toBe(200);
    expect((await t.invoices(sub.id)).length).toBe(1);
    expect(res.body.latest_invoice).toBe(sub.latest_invoice);
    expect(await events(t, customer, 'invoice.created')).toHaveLength(1);
  });

  it('prorate at the very start of the period credits the whole period', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, -9700]);
    expect(await customerBalance(t, customer)).toBe(-9700);
  });

  it('nothing billed by the worker over the 3 months after an immediate cancel', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await deleteSubscription(t, sub.id, { prorate: true })).status).toBe(200);
    await t.advance(clock, '2026-07-20T00:00:00Z');
    expect((await t.invoices(sub.id)).length).toBe(1);
    expect((await pis(customer)).map((p) => p.amount)).toEqual([9700]);
    // Credit with no invoice_now waits for the customer's next invoice.
    expect(await pendingItems(customer)).toEqual([-4850]);
  });
});

describe('cancel_at_period_end combined', () => {
  it('then an item change: cancel_at_period_end kept, prorations collected at the end, then canceled', async () => {
    const { clock, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-16T00:00:00Z');
    await update(t, sub.id, { cancel_at_period_end: true });
    const changed = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    expect([changed.cancel_at_period_end, iso(changed.cancel_at)]).toEqual([true, '2026-05-01T00:00:00Z']);
    await t.advance(clock, '2026-05-02T00:00:00Z');
    const s = await t.sub(sub.id);
    expect([s.status, iso(s.ended_at)]).toEqual(['canceled', '2026-05-01T00:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total])).toEqual([
      ['paid', 9700],
      ['paid', 4850],
    ]);
  });

  it('then pause_collection: accepted, canceled at the end with no renewal', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-16T00:00:00Z');
    await update(t, sub.id, { cancel_at_period_end: true });
    const paused = await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    expect([paused.cancel_at_period_end, paused.pause_collection?.behavior]).toEqual([true, 'keep_as_draft']);
    await t.advance(clock, '2026-07-02T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('canceled');
    expect((await t.invoices(sub.id)).length).toBe(1);
    expect(await events(t, customer, 'customer.subscription.deleted')).toHaveLength(1);
  });

  it('pause_collection then DELETE: canceled, nothing billed after, keep_as_draft draft not finalized', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    await t.advance(clock, '2026-05-10T00:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.status)).toEqual(['paid', 'draft']);
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    await t.advance(clock, '2026-08-01T00:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.slice(0, 2).map((i) => i.status)).toEqual(['paid', 'draft']);
    expect((await pis(customer)).map((p) => p.amount)).toEqual([9700]);
  });
});

describe('resume', () => {
  async function pausedSub() {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } })).body;
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.id } } });
    return { clock, customer, sub };
  }
  it('billing_cycle_anchor now (default): full period invoiced now, anchor now', async () => {
    const { sub } = await pausedSub();
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([res.body.status, iso(res.body.billing_cycle_anchor), iso(res.body.current_period_end)]).toEqual(['active', '2026-07-10T00:00:00Z', '2026-08-10T00:00:00Z']);
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.total])).toEqual([
      ['paid', 0],
      ['paid', 9700],
    ]);
  });
  it('billing_cycle_anchor now with proration_behavior none: still the full period, no prorations', async () => {
    const { customer, sub } = await pausedSub();
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: { billing_cycle_anchor: 'now', proration_behavior: 'none' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0, 9700]);
    expect(await pendingItems(customer)).toEqual([]);
  });
  it('unchanged with always_invoice: the stretch invoiced now (6,884)', async () => {
    const { sub } = await pausedSub();
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: { billing_cycle_anchor: 'unchanged', proration_behavior: 'always_invoice' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.total])).toEqual([
      ['paid', 0],
      ['paid', 6884],
    ]);
  });
  it('resume of a canceled subscription: 400', async () => {
    const { sub } = await pausedSub();
    expect((await deleteSubscription(t, sub.id)).status).toBe(200);
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(res.status).toBe(400);
  });
  it('resume of an active subscription with pause_collection: 400 (use pause_collection="")', async () => {
    const { sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'void' } });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(res.status).toBe(400);
  });
});

describe('more edges', () => {
  it('idempotent DELETE replay answers the same 200, one final invoice, one .deleted', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    const call = () => t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}`, payload: { prorate: true, invoice_now: true }, headers: { 'idempotency-key': `del-${sub.id}` } });
    const a = await call();
    const b = await call();
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body).toEqual(a.body);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, -9700]);
    expect(await events(t, customer, 'customer.subscription.deleted')).toHaveLength(1);
  });

  it('cancel_at_period_end, then DELETE prorate+invoice_now: ends now, credit −4,850, one .deleted', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-10T00:00:00Z');
    await update(t, sub.id, { cancel_at_period_end: true });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status).toBe(200);
    expect([iso(res.body.canceled_at), iso(res.body.ended_at), res.body.cancel_at_period_end, res.body.cancel_at]).toEqual(['2026-04-16T00:00:00Z', '2026-04-16T00:00:00Z', false, null]);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, -4850]);
    await t.advance(clock, '2026-06-02T00:00:00Z');
    expect(await events(t, customer, 'customer.subscription.deleted')).toHaveLength(1);
    expect(await customerBalance(t, customer)).toBe(-4850);
  });
});
