import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { checkBooks } from '../../../test/helpers/books.js';

// Stripe's subscription payment_settings, as its subscription guide uses them: payment_behavior
// default_incomplete with save_default_payment_method=on_subscription — the card the customer pays the
// first invoice with becomes the subscription's default, and the renewals charge it.

let t: TestApp & BillingHelpers;
let community: string;
const DEFAULTS = { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' };

beforeAll(async () => {
  t = await createBillingApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

const defaultChanges = async (sub: string) =>
  (await t.ok('GET', `/v1/events?type=customer.subscription.updated&object_id=${sub}&limit=100`)).data
    .filter((e: { data: { previous_attributes: object } }) => 'default_payment_method' in e.data.previous_attributes)
    .map((e: { data: { object: { default_payment_method: string }; previous_attributes: { default_payment_method: string | null } } }) => [
      e.data.previous_attributes.default_payment_method,
      e.data.object.default_payment_method,
    ]);

describe('payment_settings.save_default_payment_method', () => {
  it('on_subscription: the card that pays the first invoice becomes the default, and the renewal charges it', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await t.ok('POST', '/v1/subscriptions', {
      customer,
      items: [{ price: community }],
      trial_end: 'now',
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice'],
    });
    expect([sub.status, sub.default_payment_method, sub.latest_invoice.status]).toEqual(['incomplete', null, 'open']);
    expect(sub.payment_settings).toEqual({ ...DEFAULTS, save_default_payment_method: 'on_subscription' });

    const paid = await t.ok('POST', `/v1/invoices/${sub.latest_invoice.id}/pay`, { payment_method: 'pm_card_visa', expand: ['payment_intent'] });
    const card = paid.payment_intent.payment_method as string;
    expect(card).toMatch(/^pm_/);
    const after = await t.sub(sub.id);
    expect([after.status, after.default_payment_method]).toEqual(['active', card]);
    expect(await defaultChanges(sub.id)).toEqual([[null, card]]);

    // The April renewal (the worker's batch charge) uses it; paying with it again changes nothing.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const april = (await t.invoices(sub.id))[1]!;
    expect(april.status).toBe('paid');
    const intents = (await t.ok('GET', `/v1/payment_intents?invoice=${april.id}`)).data;
    expect(intents.map((p: { payment_method: string; status: string }) => [p.payment_method, p.status])).toEqual([[card, 'succeeded']]);
    expect(await defaultChanges(sub.id)).toEqual([[null, card]]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it("on_subscription with the customer's default paying the renewals: the batch charge saves it on the subscription", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_mastercard' });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    expect([sub.status, sub.default_payment_method, sub.payment_settings]).toEqual(['active', null, DEFAULTS]);
    // Turned on later: the next successful payment (April's renewal, charged in a worker batch) saves the card.
    const on = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { payment_settings: { save_default_payment_method: 'on_subscription' } });
    expect(on.payment_settings.save_default_payment_method).toBe('on_subscription');
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const cardOfCustomer = (await t.ok('GET', `/v1/customers/${customer}`)).invoice_settings.default_payment_method;
    expect((await t.sub(sub.id)).default_payment_method).toBe(cardOfCustomer);
    expect(await defaultChanges(sub.id)).toEqual([[null, cardOfCustomer]]);
  });

  it('off (the default): paying with a card leaves the subscription without a default of its own', async () => {
    const customer = await t.customer();
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', payment_behavior: 'default_incomplete' });
    await t.ok('POST', `/v1/invoices/${sub.latest_invoice}/pay`, { payment_method: 'pm_card_visa' });
    const after = await t.sub(sub.id);
    expect([after.status, after.default_payment_method, after.payment_settings]).toEqual(['active', null, DEFAULTS]);
  });
});

describe('payment_settings input', () => {
  it("takes payment_method_types ['card'] (Recur's payment methods are cards) and \"\" for any; refuses the rest by parameter", async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], payment_settings: { payment_method_types: ['card'] } });
    expect(sub.payment_settings).toEqual({ ...DEFAULTS, payment_method_types: ['card'] });
    // Keys not given stay as they were.
    const on = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { payment_settings: { save_default_payment_method: 'on_subscription' } });
    expect(on.payment_settings).toEqual({ payment_method_options: null, payment_method_types: ['card'], save_default_payment_method: 'on_subscription' });
    const any = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { payment_settings: { payment_method_types: '', save_default_payment_method: 'off' } });
    expect(any.payment_settings).toEqual(DEFAULTS);

    const refused = async (payload: Record<string, unknown>) => {
      const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload });
      return [res.status, res.body.error?.code, res.body.error?.param];
    };
    expect(await refused({ payment_settings: { payment_method_types: ['sepa_debit'] } })).toEqual([400, 'parameter_invalid', 'payment_settings[payment_method_types][0]']);
    expect(await refused({ payment_settings: { save_default_payment_method: 'always' } })).toEqual([400, 'parameter_invalid', 'payment_settings[save_default_payment_method]']);
    expect(await refused({ payment_settings: { payment_method_options: { card: {} } } })).toEqual([400, 'parameter_unknown', 'payment_settings[payment_method_options]']);
    expect((await t.sub(sub.id)).payment_settings).toEqual(DEFAULTS);
  });
});
