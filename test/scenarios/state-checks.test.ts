// Subscription states and transitions (issue 3 items 1 and 2), checked by an audit against Stripe's
// documented behaviour; the defects it found are in state-transitions.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../helpers/billing.js';
import { eventsOf, postOk, type BillingApp, type Evt } from './states-support.js';
import { createDunningApp, type DunningApp } from './dunning-support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);
const get = async (url: string) => {
  const res = await t.call({ method: 'GET', url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const subEventsOf = async (app: BillingApp | DunningApp, subId: string) => (await eventsOf(app as BillingApp, subId)).filter((e) => e.type.startsWith('customer.subscription.'));
const subEvents = (subId: string) => subEventsOf(t, subId);
const statusChanges = (evs: Evt[]) =>
  evs.filter((e) => e.data.previous_attributes && 'status' in e.data.previous_attributes).map((e) => [e.type, e.data.previous_attributes!.status, e.data.object.status, iso(e.created)]);

async function eventsForCustomer(customer: string) {
  const body = await get(`/v1/events?customer=${customer}&limit=100`);
  return (body.data as Evt[]).slice().reverse();
}

async function activeCommunity(start: string, card = 'pm_card_visa') {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card });
  const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
  return { clock, customer, sub };
}
async function setDefault(customer: string, card: string) {
  const pm = await post(`/v1/payment_methods/${card}/attach`, { customer });
  await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm.id } });
  return pm.id as string;
}

describe('payment_behavior on an update that invoices now', () => {
  it('allow_incomplete with a failing card: applied, past_due, invoice open after one attempt', async () => {
    const { clock, customer, sub } = await activeCommunity('2026-02-01T00:00:00Z');
    await t.advance(clock, '2026-02-11T00:00:00Z');
    await setDefault(customer, 'pm_card_chargeCustomerFail');
    const res = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      payload: { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('past_due');
    const inv = await get(`/v1/invoices/${res.body.latest_invoice}`);
    expect([inv.status, inv.attempt_count]).toEqual(['open', 1]);
    expect(statusChanges(await subEvents(sub.id))).toEqual([
      ['customer.subscription.updated', 'incomplete', 'active', '2026-02-01T00:00:00Z'],
      ['customer.subscription.updated', 'active', 'past_due', '2026-02-11T00:00:00Z'],
    ]);
  });

  it('error_if_incomplete with a failing card: 402 and nothing changes', async () => {
    const { clock, customer, sub } = await activeCommunity('2026-02-01T00:00:00Z');
    await t.advance(clock, '2026-02-11T00:00:00Z');
    await setDefault(customer, 'pm_card_chargeCustomerFail');
    const evBefore = (await eventsOf(t, sub.id)).length;
    const invBefore = (await t.invoices(sub.id)).length;
    const res = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      payload: { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice', payment_behavior: 'error_if_incomplete' },
    });
    expect([res.status, res.body.error?.type, res.body.error?.code]).toEqual([402, 'card_error', 'card_declined']);
    const after = await t.sub(sub.id);
    expect([after.status, after.items.data[0].price.id, after.latest_invoice]).toEqual(['active', await t.priceId('community_monthly'), sub.latest_invoice]);
    expect((await eventsOf(t, sub.id)).length).toBe(evBefore);
    expect((await t.invoices(sub.id)).length).toBe(invBefore);
    expect((await get(`/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);
  });
});

describe('trial_end=now', () => {
  it('with a failing card and allow_incomplete: past_due, invoice open', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    await t.advance(clock, '2026-03-05T00:00:00Z');
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: 'now' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('past_due');
    const inv = await get(`/v1/invoices/${res.body.latest_invoice}`);
    expect([inv.status, inv.amount_due, inv.attempt_count]).toEqual(['open', 9700, 1]);
  });

  it('with a failing card and error_if_incomplete: 402, still trialing, no notice, no invoice', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    await t.advance(clock, '2026-03-05T00:00:00Z');
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: 'now', payment_behavior: 'error_if_incomplete' } });
    expect(res.status, JSON.stringify(res.body)).toBe(402);
    const after = await t.sub(sub.id);
    expect([after.status, after.trial_end, after.latest_invoice]).toEqual(['trialing', sub.trial_end, sub.latest_invoice]);
    expect(await eventsOf(t, sub.id, 'customer.subscription.trial_will_end')).toEqual([]);
    expect((await t.invoices(sub.id)).length).toBe(1);
    // The notice still comes 3 days before the real end.
    await t.advance(clock, '2026-03-29T00:00:00Z');
    expect((await eventsOf(t, sub.id, 'customer.subscription.trial_will_end')).map((e) => iso(e.created))).toEqual(['2026-03-28T00:00:00Z']);
  });
});

describe('paused', () => {
  async function pausedSub() {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('paused');
    return { clock, customer, sub };
  }
  it('cancel a paused subscription: one .deleted with previous status paused', async () => {
    const { sub } = await pausedSub();
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(statusChanges(await subEvents(sub.id))).toEqual([
      ['customer.subscription.paused', 'trialing', 'paused', '2026-07-01T00:00:00Z'],
      ['customer.subscription.deleted', 'paused', 'canceled', '2026-07-10T00:00:00Z'],
    ]);
    expect((await t.invoices(sub.id)).length).toBe(1);
  });
  it('stays paused for months without invoices even once a card is added', async () => {
    const { clock, customer, sub } = await pausedSub();
    await setDefault(customer, 'pm_card_visa');
    await t.advance(clock, '2026-10-10T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('paused');
    expect((await t.invoices(sub.id)).length).toBe(1);
  });
  it('resume unchanged with none: active, no invoice until the anchor date', async () => {
    const { clock, customer, sub } = await pausedSub();
    await setDefault(customer, 'pm_card_visa');
    const res = await post(`/v1/subscriptions/${sub.id}/resume`, { billing_cycle_anchor: 'unchanged', proration_behavior: 'none' });
    expect([res.status, iso(res.current_period_start), iso(res.current_period_end), iso(res.billing_cycle_anchor)]).toEqual(['active', '2026-07-10T00:00:00Z', '2026-08-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect((await t.invoices(sub.id)).length).toBe(1);
    await t.advance(clock, '2026-08-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total, iso(i.period_start)])).toEqual([
      ['paid', 0, '2026-06-01T00:00:00Z'],
      ['paid', 9700, '2026-08-01T00:00:00Z'],
    ]);
  });
  it('resume unchanged with create_prorations: the stretch to the next anchor date is billed now', async () => {
    const { customer, sub } = await pausedSub();
    await setDefault(customer, 'pm_card_visa');
    const res = await post(`/v1/subscriptions/${sub.id}/resume`, { billing_cycle_anchor: 'unchanged' });
    expect(res.status).toBe('active');
    const invs = await t.invoices(sub.id);
    // Jul 10 → Aug 1 = 22 days of a 31-day period (Jul 1 → Aug 1): 9700 × 22/31 = 6883.87 → 6884.
    expect(invs.map((i) => [i.status, i.total])).toEqual([
      ['paid', 0],
      ['paid', 6884],
    ]);
  });
});

describe('retries exhausted (dunning seeded, as the runtime does)', () => {
  let d: DunningApp;
  beforeAll(async () => {
    d = await createDunningApp('2026-01-15T12:00:00Z');
  });
  afterAll(() => d.close());

  it('standard plan: past_due → canceled, one .deleted with previous status past_due, invoice uncollectible, nothing billed after', async () => {
    const clock = await d.clockAt('2026-02-01T00:00:00Z');
    const customer = await d.customer({ clock, card: 'pm_card_visa' });
    const sub = await d.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await d.priceId('community_monthly') }], trial_end: 'now' } });
    await d.setDefaultCard(customer, 'pm_card_chargeCustomerFail');
    for (const at of ['2026-03-01T02:00:00Z', '2026-03-08T00:00:00Z', '2026-03-15T00:00:00Z', '2026-03-22T00:00:00Z', '2026-03-29T00:00:00Z']) await d.advance(clock, at);
    const s = await d.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    const changes = statusChanges(await subEventsOf(d, sub.id));
    expect(changes.map((c) => [c[0], c[1], c[2]])).toEqual([
      ['customer.subscription.updated', 'incomplete', 'active'],
      ['customer.subscription.updated', 'active', 'past_due'],
      ['customer.subscription.deleted', 'past_due', 'canceled'],
    ]);
    expect(s.status).toBe('canceled');
    const invs = (await d.ok({ method: 'GET', url: `/v1/invoices?subscription=${sub.id}` })).data.reverse();
    expect(invs.map((i: { status: string }) => i.status)).toEqual(['paid', 'uncollectible']);
    await d.advance(clock, '2026-04-02T00:00:00Z');
    expect((await d.ok({ method: 'GET', url: `/v1/invoices?subscription=${sub.id}` })).data.length).toBe(2);
  });

  it('high-value plan: past_due → unpaid (previous status past_due); paying the invoice makes it active', async () => {
    const clock = await d.clockAt('2026-02-01T00:00:00Z');
    const customer = await d.customer({ clock, card: 'pm_card_visa' });
    const sub = await d.ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await d.priceId('elite_monthly') }], trial_end: 'now' } });
    await d.setDefaultCard(customer, 'pm_card_chargeCustomerFail');
    for (const at of ['2026-03-01T02:00:00Z', '2026-03-10T00:00:00Z', '2026-03-20T00:00:00Z', '2026-03-28T00:00:00Z']) await d.advance(clock, at);
    expect((await d.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('unpaid');
    const changes = statusChanges(await subEventsOf(d, sub.id));
    expect(changes.map((c) => [c[0], c[1], c[2]])).toEqual([
      ['customer.subscription.updated', 'incomplete', 'active'],
      ['customer.subscription.updated', 'active', 'past_due'],
      ['customer.subscription.updated', 'past_due', 'unpaid'],
    ]);
    const latest = (await d.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).latest_invoice;
    const visa = await d.setDefaultCard(customer, 'pm_card_visa');
    const inv = await d.call({ method: 'GET', url: `/v1/invoices/${latest}` });
    if (inv.body.status === 'open') {
      const paid = await d.call({ method: 'POST', url: `/v1/invoices/${latest}/pay`, payload: { payment_method: visa } });
      expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    }
    expect((await d.ok({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe('active');
  });
});


describe('payment_behavior on create with a failing card', () => {
  it('error_if_incomplete: 402 card error and nothing written', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const before = (await eventsForCustomer(customer)).length;
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'error_if_incomplete' } });
    expect(res.status, JSON.stringify(res.body)).toBe(402);
    expect([res.body.error.type, res.body.error.code, res.body.error.decline_code]).toEqual(['card_error', 'card_declined', 'generic_decline']);
    expect((await get(`/v1/subscriptions?customer=${customer}&status=all`)).data).toEqual([]);
    expect((await get(`/v1/invoices?customer=${customer}`)).data).toEqual([]);
    expect((await get(`/v1/payment_intents?customer=${customer}`)).data).toEqual([]);
    expect((await eventsForCustomer(customer)).length).toBe(before);
    expect((await get(`/v1/customers/${customer}`)).currency ?? null).toBeNull();
  });

  it('error_if_incomplete with insufficient funds: 402 with decline_code insufficient_funds', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock });
    const res = await t.call({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'error_if_incomplete', default_payment_method: 'pm_card_chargeDeclinedInsufficientFunds' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(402);
    expect([res.body.error.type, res.body.error.code, res.body.error.decline_code]).toEqual(['card_error', 'card_declined', 'insufficient_funds']);
    expect((await get(`/v1/subscriptions?customer=${customer}&status=all`)).data).toEqual([]);
    expect((await get(`/v1/invoices?customer=${customer}`)).data).toEqual([]);
  });

  it('allow_incomplete (default): 200, incomplete, open invoice attempted once, one created event', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('incomplete');
    const inv = await get(`/v1/invoices/${res.body.latest_invoice}`);
    expect([inv.status, inv.attempt_count, inv.attempted, inv.amount_due, inv.amount_paid]).toEqual(['open', 1, true, 9700, 0]);
    const pis = (await get(`/v1/payment_intents?invoice=${inv.id}`)).data;
    expect(pis.map((p: { status: string }) => p.status)).toEqual(['requires_payment_method']);
    const evs = await subEvents(res.body.id);
    expect(evs.map((e) => [e.type, e.data.object.status])).toEqual([['customer.subscription.created', 'incomplete']]);
    const types = (await eventsForCustomer(customer)).map((e) => e.type).filter((x) => x.startsWith('invoice.payment') || x.startsWith('payment_intent'));
    expect(types.filter((x) => x === 'invoice.payment_failed')).toHaveLength(1);
  });

  it('default_incomplete: 200, incomplete, open invoice not attempted', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'default_incomplete' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('incomplete');
    const inv = await get(`/v1/invoices/${res.body.latest_invoice}`);
    expect([inv.status, inv.attempt_count, inv.attempted, inv.amount_due]).toEqual(['open', 0, false, 9700]);
    expect((await get(`/v1/payment_intents?invoice=${inv.id}`)).data.length).toBeLessThanOrEqual(1);
  });
});

describe('incomplete → incomplete_expired / active', () => {
  it('expires exactly 23 h after creation (not a second before), voids the invoice, one .deleted with previous status', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-02-02T09:17:32Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete');
    expect((await get(`/v1/invoices/${sub.latest_invoice}`)).status).toBe('open');
    await t.advance(clock, '2026-02-02T09:17:33Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.ended_at)]).toEqual(['incomplete_expired', '2026-02-02T09:17:33Z']);
    const inv = await get(`/v1/invoices/${sub.latest_invoice}`);
    expect([inv.status, iso(inv.status_transitions.voided_at)]).toEqual(['void', '2026-02-02T09:17:33Z']);
    const evs = await subEvents(sub.id);
    expect(evs.map((e) => e.type)).toEqual(['customer.subscription.created', 'customer.subscription.deleted']);
    expect(evs[1]!.data.previous_attributes?.status).toBe('incomplete');
    expect(evs[1]!.data.object.status).toBe('incomplete_expired');
  });

  it('default_incomplete expires the same way after 23 h', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'default_incomplete' });
    await t.advance(clock, '2026-02-02T09:17:32Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete');
    await t.advance(clock, '2026-02-02T09:17:33Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete_expired');
    expect((await get(`/v1/invoices/${sub.latest_invoice}`)).status).toBe('void');
    expect((await get(`/v1/payment_intents?customer=${customer}`)).data.filter((p: { status: string }) => p.status === 'succeeded')).toEqual([]);
  });

  it('paying the first invoice within 23 h makes it active (one updated event), and it then renews', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-02-02T09:00:00Z');
    const visa = await post('/v1/payment_methods/pm_card_visa/attach', { customer });
    const upd = await post(`/v1/subscriptions/${sub.id}`, { default_payment_method: visa.id });
    expect(upd.status).toBe('incomplete');
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${sub.latest_invoice}/pay`, payload: { payment_method: visa.id } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body.status).toBe('paid');
    expect((await t.sub(sub.id)).status).toBe('active');
    await t.advance(clock, '2026-02-03T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('active');
    expect(statusChanges(await subEvents(sub.id))).toEqual([['customer.subscription.updated', 'incomplete', 'active', '2026-02-02T09:00:00Z']]);
    await t.advance(clock, '2026-03-01T12:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total, i.billing_reason])).toEqual([
      ['paid', 9700, 'subscription_create'],
      ['paid', 9700, 'subscription_cycle'],
    ]);
  });

  it('default_incomplete paid within 23 h: active', async () => {
    const clock = await t.clockAt('2026-02-01T10:17:33Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'default_incomplete' });
    await t.advance(clock, '2026-02-01T12:00:00Z');
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${sub.latest_invoice}/pay`, payload: {} });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await t.sub(sub.id)).status).toBe('active');
    await t.advance(clock, '2026-02-02T12:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('active');
  });
});

describe('trials', () => {
  it('trialing → active at trial end with a card: exactly one status event', async () => {
    const clock = await t.clockAt('2026-05-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('group_monthly') }] });
    await t.advance(clock, '2026-05-15T12:00:00Z');
    expect(statusChanges(await subEvents(sub.id))).toEqual([['customer.subscription.updated', 'trialing', 'active', '2026-05-15T10:00:00Z']]);
  });

  it('missing pm, cancel: one .deleted with previous status trialing', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'cancel' } } });
    await t.advance(clock, '2026-07-02T00:00:00Z');
    const evs = await subEvents(sub.id);
    expect(statusChanges(evs)).toEqual([['customer.subscription.deleted', 'trialing', 'canceled', '2026-07-01T00:00:00Z']]);
    expect(evs.filter((e) => e.type === 'customer.subscription.deleted')).toHaveLength(1);
    // canceled is terminal.
    const upd = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { metadata: { a: 'b' } } });
    expect([upd.status, upd.body.error?.code]).toEqual([400, 'subscription_ended']);
    const resume = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(resume.status).toBe(400);
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect([del.status, del.body.error?.code]).toEqual([400, 'subscription_ended']);
  });

  it('missing pm, pause: one .paused with previous status trialing; resume → .resumed with previous status paused', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    const paused = await t.sub(sub.id);
    expect(paused.status).toBe('paused');
    await post('/v1/payment_methods/pm_card_visa/attach', { customer });
    const pm = (await get(`/v1/payment_methods?customer=${customer}&type=card`)).data[0].id;
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm } });
    const resumed = await post(`/v1/subscriptions/${sub.id}/resume`, { billing_cycle_anchor: 'now' });
    expect(resumed.status).toBe('active');
    expect(statusChanges(await subEvents(sub.id))).toEqual([
      ['customer.subscription.paused', 'trialing', 'paused', '2026-07-01T00:00:00Z'],
      ['customer.subscription.resumed', 'paused', 'active', '2026-07-10T00:00:00Z'],
    ]);
  });

  it('missing pm, pause; resume with a failing card → past_due (Stripe: "if payment fails the subscription will be past_due")', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    const bad = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: bad.id } });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await t.sub(sub.id)).status).toBe('past_due');
    const inv = await get(`/v1/invoices/${(await t.sub(sub.id)).latest_invoice}`);
    expect([inv.status, inv.amount_due, inv.attempt_count]).toEqual(['open', 9700, 1]);
  });

  it('resume of a non-paused subscription is 400 subscription_not_paused', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect([res.status, res.body.error?.code]).toEqual([400, 'subscription_not_paused']);
  });

  it('missing pm, create_invoice: active then past_due; adding a card and paying makes it active', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    await t.advance(clock, '2026-07-01T02:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('past_due');
    const visa = await post('/v1/payment_methods/pm_card_visa/attach', { customer });
    const latest = (await t.sub(sub.id)).latest_invoice;
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${latest}/pay`, payload: { payment_method: visa.id } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await t.sub(sub.id)).status).toBe('active');
    expect(statusChanges(await subEvents(sub.id))).toEqual([
      ['customer.subscription.updated', 'trialing', 'active', '2026-07-01T00:00:00Z'],
      ['customer.subscription.updated', 'active', 'past_due', '2026-07-01T01:00:00Z'],
      ['customer.subscription.updated', 'past_due', 'active', '2026-07-01T02:00:00Z'],
    ]);
  });
});

describe('trial_will_end', () => {
  const notices = async (sub: string) => (await eventsOf(t, sub, 'customer.subscription.trial_will_end')).map((e) => iso(e.created));

  it('a 2-day trial: the notice fires at once (at creation)', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 2 });
    await t.advance(clock, '2026-03-01T11:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-01T10:00:00Z']);
    await t.advance(clock, '2026-03-04T00:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-01T10:00:00Z']);
    expect((await t.sub(sub.id)).status).toBe('active');
  });

  it('a trial extended before the notice: notice 3 days before the new end only', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 10 });
    await t.advance(clock, '2026-03-03T10:00:00Z');
    await post(`/v1/subscriptions/${sub.id}`, { trial_end: unix('2026-03-21T10:00:00Z') });
    await t.advance(clock, '2026-03-18T09:59:59Z');
    expect(await notices(sub.id)).toEqual([]);
    await t.advance(clock, '2026-03-20T00:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-18T10:00:00Z']);
  });

  it('a trial extended after the notice: a second notice 3 days before the new end', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 10 });
    await t.advance(clock, '2026-03-09T10:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-08T10:00:00Z']);
    await post(`/v1/subscriptions/${sub.id}`, { trial_end: unix('2026-03-21T10:00:00Z') });
    await t.advance(clock, '2026-03-20T00:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-08T10:00:00Z', '2026-03-18T10:00:00Z']);
  });

  it('a trial ended early with trial_end=now after the notice: no second notice', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 10 });
    await t.advance(clock, '2026-03-09T10:00:00Z');
    const ended = await post(`/v1/subscriptions/${sub.id}`, { trial_end: 'now' });
    expect(ended.status).toBe('active');
    expect(await notices(sub.id)).toEqual(['2026-03-08T10:00:00Z']);
  });

  it('a trial shortened to within 3 days: notice at once', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 30 });
    await t.advance(clock, '2026-03-05T10:00:00Z');
    await post(`/v1/subscriptions/${sub.id}`, { trial_end: unix('2026-03-06T10:00:00Z') });
    await t.advance(clock, '2026-03-05T11:00:00Z');
    expect(await notices(sub.id)).toEqual(['2026-03-05T10:00:00Z']);
  });
});

describe('validation and list', () => {
  it('items of different currencies → 400 currency_mismatch on items[1][price]', async () => {
    const prod = await post('/v1/products', { name: 'Euro thing' });
    const eur = await post('/v1/prices', { product: prod.id, currency: 'eur', unit_amount: 1000, recurring: { interval: 'month' } });
    const customer = await t.customer({ card: 'pm_card_visa' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }, { price: eur.id }], trial_end: 'now' } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'currency_mismatch', 'items[1][price]']);
    expect((await get(`/v1/subscriptions?customer=${customer}&status=all`)).data).toEqual([]);
  });

  it('items of different intervals → 400 interval_mismatch on items[1][price]', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }, { price: await t.priceId('elite_annual') }], trial_end: 'now' } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'interval_mismatch', 'items[1][price]']);
  });

  it('items of different interval_count → 400 interval_mismatch', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }, { price: await t.priceId('group_quarterly') }], trial_end: 'now' } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'interval_mismatch', 'items[1][price]']);
  });

  it('update adding an item of another interval → 400 interval_mismatch and nothing changes', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { items: [{ price: await t.priceId('elite_annual') }] } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'interval_mismatch', 'items[0][price]']);
    expect((await t.sub(sub.id)).items.data.length).toBe(1);
  });

  it('list by customer, status (default, all, ended, canceled), price', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const a = await post('/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    const b = await post('/v1/subscriptions', { customer, items: [{ price: group }] });
    const c = await post('/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    await t.call({ method: 'DELETE', url: `/v1/subscriptions/${c.id}` });
    const bad = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const d = await post('/v1/subscriptions', { customer: bad, items: [{ price: community }], trial_end: 'now' });
    await t.advance(clock, '2026-02-02T00:00:00Z');
    const ids = async (q: string) => (await get(`/v1/subscriptions?${q}&limit=100`)).data.map((s: { id: string }) => s.id).sort();
    expect(await ids(`customer=${customer}`)).toEqual([a.id, b.id].sort());
    expect(await ids(`customer=${customer}&status=all`)).toEqual([a.id, b.id, c.id].sort());
    expect(await ids(`customer=${customer}&status=trialing`)).toEqual([b.id]);
    expect(await ids(`customer=${customer}&status=canceled`)).toEqual([c.id]);
    expect(await ids(`customer=${customer}&status=ended`)).toEqual([c.id]);
    expect(await ids(`customer=${bad}&status=ended`)).toEqual([d.id]);
    expect(await ids(`customer=${bad}&status=incomplete_expired`)).toEqual([d.id]);
    expect(await ids(`customer=${customer}&price=${group}`)).toEqual([b.id]);
    expect(await ids(`customer=${customer}&price=${community}&status=all`)).toEqual([a.id, c.id].sort());
  });
});

describe('more states', () => {
  it('error_if_incomplete without any payment method: refused, nothing written', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'error_if_incomplete' } });
    expect([res.status >= 400 && res.status < 500, res.status]).toEqual([true, 402]);
    expect((await get(`/v1/subscriptions?customer=${customer}&status=all`)).data).toEqual([]);
  });

  it('default_incomplete with the first invoice covered by credit: active at once', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock });
    await post(`/v1/customers/${customer}`, { balance: -100_000 });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'default_incomplete' });
    expect(sub.status).toBe('active');
    expect((await get(`/v1/invoices/${sub.latest_invoice}`)).status).toBe('paid');
  });

  it('send_invoice: active at creation, past_due when the invoice is not paid by the due date, active when paid', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 7 });
    expect(sub.status).toBe('active');
    const inv = await get(`/v1/invoices/${sub.latest_invoice}`);
    expect([inv.status, iso(inv.due_date)]).toEqual(['open', '2026-02-08T00:00:00Z']);
    await t.advance(clock, '2026-02-07T23:59:59Z');
    expect((await t.sub(sub.id)).status).toBe('active');
    await t.advance(clock, '2026-02-08T01:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('past_due');
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${sub.latest_invoice}/pay`, payload: { paid_out_of_band: true } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await t.sub(sub.id)).status).toBe('active');
  });

  it('past_due: paying out of band makes it active', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const bad = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: bad.id } });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const s = await t.sub(sub.id);
    expect(s.status).toBe('past_due');
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${s.latest_invoice}/pay`, payload: { paid_out_of_band: true } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await t.sub(sub.id)).status).toBe('active');
  });

  it('cancel_at_period_end on a trialing subscription: canceled at the trial end, no invoice', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
    await t.advance(clock, '2026-03-04T00:00:00Z');
    const s = await t.sub(sub.id);
    expect([s.status, iso(s.ended_at)]).toEqual(['canceled', '2026-03-03T00:00:00Z']);
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0]);
    expect(statusChanges(await eventsOf(t, sub.id)).map((c) => [c[0], c[1], c[2]])).toEqual([['customer.subscription.deleted', 'trialing', 'canceled']]);
  });

  it('incomplete: cancel voids the invoice; incomplete_expired is terminal', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-02-02T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete_expired');
    for (const [method, url, payload] of [
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { a: 'b' } }],
      ['POST', `/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }],
      ['DELETE', `/v1/subscriptions/${sub.id}`, undefined],
    ] as const) {
      const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
      expect([res.status, res.body.error?.code]).toEqual([400, 'subscription_ended']);
    }
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${sub.latest_invoice}/pay`, payload: {} });
    expect(pay.status).toBe(400);
  });

  it('past_due → canceled by DELETE: .deleted with previous status past_due; canceled updates are 400 subscription_ended', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const bad = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: bad.id } });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(200);
    const ch = statusChanges(await eventsOf(t, sub.id)).map((c) => [c[0], c[1], c[2]]);
    expect(ch.slice(-1)).toEqual([['customer.subscription.deleted', 'past_due', 'canceled']]);
    for (const payload of [{ items: [{ id: sub.items.data[0].id, quantity: 2 }] }, { trial_end: 'now' }, { pause_collection: { behavior: 'void' } }, { cancel_at_period_end: false }]) {
      const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload });
      expect([res.status, res.body.error?.code], JSON.stringify(payload)).toEqual([400, 'subscription_ended']);
    }
  });
});
