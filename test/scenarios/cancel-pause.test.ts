import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// Cancellation (at period end and undone; immediately with a prorated credit that becomes customer
// balance) and pause_collection under each behavior, resumed by hand or by resumes_at.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

async function communityMonthly(start: string) {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
  return { clock, customer, sub };
}

describe('cancel at period end', () => {
  it('can be undone before the period ends, and cancels at the period end otherwise', async () => {
    const { clock, customer, sub } = await communityMonthly('2026-02-01T00:00:00Z');
    await t.advance(clock, '2026-02-10T00:00:00Z');

    const pending = await update(t, sub.id, { cancel_at_period_end: true });
    expect([pending.status, pending.cancel_at_period_end, pending.cancel_at ? iso(pending.cancel_at) : null]).toEqual(['active', true, '2026-03-01T00:00:00Z']);
    // Stripe: canceled_at is the time the cancellation was requested.
    expect(pending.canceled_at ? iso(pending.canceled_at) : null).toBe('2026-02-10T00:00:00Z');

    const undone = await update(t, sub.id, { cancel_at_period_end: false });
    expect([undone.status, undone.cancel_at_period_end, undone.cancel_at, undone.canceled_at]).toEqual(['active', false, null, null]);

    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('active');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 9700, 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_cycle']);

    await t.advance(clock, '2026-03-20T00:00:00Z');
    await update(t, sub.id, { cancel_at_period_end: true });
    await t.advance(clock, '2026-04-02T00:00:00Z');
    const ended = await t.sub(sub.id);
    expect([ended.status, ended.cancel_at_period_end, iso(ended.canceled_at), iso(ended.ended_at), ended.cancellation_details.reason]).toEqual([
      'canceled',
      false,
      '2026-03-20T00:00:00Z',
      '2026-04-01T00:00:00Z',
      'cancellation_requested',
    ]);
    // No April invoice, and no proration for the period that ran out.
    expect(await t.invoices(sub.id)).toHaveLength(2);
    expect((await events(t, customer, 'customer.subscription.deleted')).map((e) => e.created)).toEqual([unix('2026-04-01T00:00:00Z')]);
    await t.advance(clock, '2026-05-02T00:00:00Z');
    expect(await t.invoices(sub.id)).toHaveLength(2);
  });
});

describe('immediate cancel with a prorated credit', () => {
  it('issues a negative final invoice whose credit goes to the customer balance and pays later invoices', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const elite = await subscribe(t, { customer, items: [{ price: await t.priceId('elite_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-04-21T00:00:00Z');

    const res = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${elite.id}`, payload: { prorate: true, invoice_now: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([res.body.status, iso(res.body.canceled_at), iso(res.body.ended_at)]).toEqual(['canceled', '2026-04-21T00:00:00Z', '2026-04-21T00:00:00Z']);

    // [Apr 1, May 1) = 30 days = 2,592,000 s; unused from Apr 21 = 10 days = 864,000 s.
    // −500,000 × 864,000 / 2,592,000 = −166,666.67 → −166,667.
    expect([secs(30), secs(10)]).toEqual([2_592_000, 864_000]);
    const invs = await t.invoices(elite.id);
    expect(invs).toHaveLength(2);
    const final = (await t.call({ method: 'GET', url: `/v1/invoices/${invs[1]!.id}` })).body;
    expect([final.status, final.total, final.amount_due, final.amount_paid, final.starting_balance, final.ending_balance]).toEqual(['paid', -166_667, 0, 0, 0, -166_667]);
    expect(final.lines.data.map(lineTuple)).toEqual([['Unused time on Elite 1:1 Coaching after Apr 21, 2026', -166_667, '2026-04-21T00:00:00Z', '2026-05-01T00:00:00Z', true]]);
    expect(final.number).toMatch(/^RECUR-\d{4}$/);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-166_667);

    // A new Group subscription: 150,000 is paid from the balance; −166,667 + 150,000 = −16,667 left.
    await t.advance(clock, '2026-04-25T00:00:00Z');
    const group = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    expect(group.status).toBe('active');
    const [first] = await t.invoices(group.id);
    const firstFull = (await t.call({ method: 'GET', url: `/v1/invoices/${first!.id}` })).body;
    expect([firstFull.status, firstFull.total, firstFull.amount_due, firstFull.amount_paid, firstFull.starting_balance, firstFull.ending_balance]).toEqual([
      'paid',
      150_000,
      0,
      0,
      -166_667,
      -16_667,
    ]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-16_667);

    // The renewal takes the rest of the credit: 150,000 − 16,667 = 133,333 charged to the card.
    await t.advance(clock, '2026-05-25T02:00:00Z');
    const renewal = (await t.invoices(group.id))[1]!;
    const renewalFull = (await t.call({ method: 'GET', url: `/v1/invoices/${renewal.id}` })).body;
    expect([renewalFull.status, renewalFull.total, renewalFull.amount_due, renewalFull.amount_paid, renewalFull.starting_balance, renewalFull.ending_balance]).toEqual([
      'paid',
      150_000,
      133_333,
      133_333,
      -16_667,
      0,
    ]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);
    const pis = (await get(t, `/v1/payment_intents?customer=${customer}&limit=100`)).data as { amount: number; status: string }[];
    // Elite's first month, then only the renewal's remainder: nothing else touched the card.
    expect(pis.map((p) => [p.amount, p.status]).reverse()).toEqual([
      [500_000, 'succeeded'],
      [133_333, 'succeeded'],
    ]);
  });
});

describe('immediate cancel with a prorated credit and no final invoice', () => {
  it("leaves the credit pending; the customer's next invoice, of another subscription, takes it", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const group = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-17T00:00:00Z');
    const res = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${group.id}`, payload: { prorate: true } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // 15 of March's 31 days unused: −150,000 × 15 / 31 = −72,580.6 → −72,581.
    expect((150_000 * 15) / 31).toBeCloseTo(72_580.65, 2);
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data as { amount: number }[];
    expect(pending.map((p) => p.amount)).toEqual([-72_581]);

    // Community renews on Apr 1: 9,700 − 72,581 = −62,881, nothing charged, the rest becomes balance.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(community.id))[1]!;
    expect(renewal.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false],
      ['Unused time on Group Coaching Programs after Mar 17, 2026', -72_581, '2026-03-17T00:00:00Z', '2026-04-01T00:00:00Z', true],
    ]);
    expect([renewal.status, renewal.total, renewal.amount_paid]).toEqual(['paid', -62_881, 0]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-62_881);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);
  });
});

describe('pause_collection', () => {
  it('keep_as_draft: renewals stay drafts without numbers; after resuming they are charged again', async () => {
    const { clock, sub } = await communityMonthly('2026-07-01T00:00:00Z');
    await t.advance(clock, '2026-07-05T00:00:00Z');
    const paused = await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    expect([paused.status, paused.pause_collection]).toEqual(['active', { behavior: 'keep_as_draft', resumes_at: null }]);

    await t.advance(clock, '2026-09-01T02:00:00Z');
    let invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 'subscription_create'],
      ['draft', 9700, 0, '2026-08-01T00:00:00Z', '2026-09-01T00:00:00Z', 'subscription_cycle'],
      ['draft', 9700, 0, '2026-09-01T00:00:00Z', '2026-10-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs.slice(1).map((i) => i.number)).toEqual([null, null]);
    expect((await t.sub(sub.id)).status).toBe('active');

    await t.advance(clock, '2026-09-10T00:00:00Z');
    const resumed = await update(t, sub.id, { pause_collection: '' });
    expect(resumed.pause_collection).toBeNull();
    await t.advance(clock, '2026-10-01T02:00:00Z');
    invs = await t.invoices(sub.id);
    expect(invs.map((i) => i.status)).toEqual(['paid', 'draft', 'draft', 'paid']);
    expect(invTuple(invs[3]!)).toEqual(['paid', 9700, 9700, '2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z', 'subscription_cycle']);
  });

  it('void with resumes_at: the renewal is voided (keeping its number) and collection resumes by itself', async () => {
    const { clock, customer, sub } = await communityMonthly('2026-07-01T00:00:00Z');
    await t.advance(clock, '2026-07-05T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'void', resumes_at: unix('2026-08-15T00:00:00Z') } });

    await t.advance(clock, '2026-08-20T00:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, after.pause_collection]).toEqual(['active', null]);
    const resumedEvents = (await events(t, customer, 'customer.subscription.updated')).filter((e) => e.data.object.pause_collection === null && e.created === unix('2026-08-15T00:00:00Z'));
    expect(resumedEvents).toHaveLength(1);

    await t.advance(clock, '2026-09-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 'subscription_create'],
      ['void', 9700, 0, '2026-08-01T00:00:00Z', '2026-09-01T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-09-01T00:00:00Z', '2026-10-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.number).toMatch(/^RECUR-\d{4}$/);
    // Nothing was charged for August.
    const pis = (await get(t, `/v1/payment_intents?customer=${customer}&limit=100`)).data as { amount: number }[];
    expect(pis).toHaveLength(2);
  });

  it('mark_uncollectible: the renewal is finalized and marked uncollectible; resuming restores charging', async () => {
    const { clock, customer, sub } = await communityMonthly('2026-07-01T00:00:00Z');
    await t.advance(clock, '2026-07-05T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'mark_uncollectible' } });
    await t.advance(clock, '2026-08-10T00:00:00Z');
    await update(t, sub.id, { pause_collection: '' });
    await t.advance(clock, '2026-09-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 'subscription_create'],
      ['uncollectible', 9700, 0, '2026-08-01T00:00:00Z', '2026-09-01T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-09-01T00:00:00Z', '2026-10-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.number).toMatch(/^RECUR-\d{4}$/);
    expect((await t.sub(sub.id)).status).toBe('active');
    expect((await events(t, customer, 'invoice.marked_uncollectible')).map((e) => e.created)).toEqual([unix('2026-08-01T00:00:00Z')]);
    const pis = (await get(t, `/v1/payment_intents?customer=${customer}&limit=100`)).data as { amount: number }[];
    expect(pis).toHaveLength(2);
  });
});
