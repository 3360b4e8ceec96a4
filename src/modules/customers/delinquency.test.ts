import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { checkBooks } from '../../../test/helpers/books.js';

// Stripe's customer.delinquent: an automatic payment failure or an invoice passing its due date sets
// it; paying any invoice, or marking one uncollectible through the API, clears it; a failed payment
// someone asked for (the pay call) leaves it. Each change is a customer.updated naming it.
// And the customer's shipping details, snapshotted on invoices at finalization with the phone.

let t: TestApp & BillingHelpers;
let community: string;
const ok = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) => t.ok(method, url, payload);
const delinquent = async (customer: string) => (await ok('GET', `/v1/customers/${customer}`)).delinquent as boolean;
/** The delinquency changes recorded for a customer: [delinquent after, delinquent before]. */
const changes = async (customer: string) =>
  (
    await t.testDb.db.query<{ now: boolean; before: boolean }>(
      `SELECT (data->'object'->>'delinquent')::boolean AS now, (data->'previous_attributes'->>'delinquent')::boolean AS before
         FROM events WHERE customer_id = $1 AND type = 'customer.updated' AND data->'previous_attributes' ? 'delinquent' ORDER BY id`,
      [customer],
    )
  ).rows.map((r) => [r.now, r.before]);

beforeAll(async () => {
  t = await createBillingApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

describe('customer.delinquent', () => {
  it('a renewal whose automatic charge fails sets it; paying the invoice clears it', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    expect(sub.status).toBe('active');
    expect(await delinquent(customer)).toBe(false);

    // The card on file starts failing; the April renewal is charged an hour after its draft.
    const failing = await ok('POST', '/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    await ok('POST', `/v1/customers/${customer}`, { invoice_settings: { default_payment_method: failing.id } });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const april = (await t.invoices(sub.id))[1]!;
    expect([april.status, april.amount_due]).toEqual(['open', 9_700]);
    expect(await delinquent(customer)).toBe(true);
    expect(await changes(customer)).toEqual([[true, false]]);

    // A pay call that fails too leaves it as it is (no second change)…
    const declined = await t.call({ method: 'POST', url: `/v1/invoices/${april.id}/pay`, payload: {} });
    expect([declined.status, declined.body.error?.code]).toEqual([402, 'card_declined']);
    expect(await changes(customer)).toEqual([[true, false]]);
    // …and one that succeeds clears it.
    const visa = await ok('POST', '/v1/payment_methods/pm_card_visa/attach', { customer });
    expect((await ok('POST', `/v1/invoices/${april.id}/pay`, { payment_method: visa.id })).status).toBe('paid');
    expect(await delinquent(customer)).toBe(false);
    expect(await changes(customer)).toEqual([
      [true, false],
      [false, true],
    ]);
    // The books hold the state to its events: a change written without its customer.updated is found.
    expect(await checkBooks(t.testDb.db)).toEqual([]);
    await t.testDb.db.query(`UPDATE customers SET delinquent = true WHERE id = $1`, [customer]);
    expect((await checkBooks(t.testDb.db)).map((p) => [p.check, (p.detail as { id: string }).id])).toEqual([["a customer's delinquent is what its latest event shows", customer]]);
    await t.testDb.db.query(`UPDATE customers SET delinquent = false WHERE id = $1`, [customer]);
  });

  it('a failed pay call on a customer in good standing does not make them delinquent', async () => {
    const customer = await t.customer({ card: 'pm_card_chargeCustomerFail' });
    await ok('POST', '/v1/invoiceitems', { customer, amount: 5_000, currency: 'usd', description: 'Workbook' });
    const inv = await ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', auto_advance: false });
    await ok('POST', `/v1/invoices/${inv.id}/finalize`, {});
    const declined = await t.call({ method: 'POST', url: `/v1/invoices/${inv.id}/pay`, payload: {} });
    expect(declined.status).toBe(402);
    expect(await delinquent(customer)).toBe(false);
    expect(await changes(customer)).toEqual([]);
  });

  it('an invoice passing its due date sets it; marking it uncollectible through the API clears it', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock });
    await ok('POST', '/v1/invoiceitems', { customer, amount: 250_000, currency: 'usd', description: 'Team workshop' });
    const inv = await ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 7 });
    await ok('POST', `/v1/invoices/${inv.id}/finalize`, {});
    await t.advance(clock, '2026-05-07T23:00:00Z');
    expect(await delinquent(customer)).toBe(false);
    await t.advance(clock, '2026-05-08T01:00:00Z');
    expect(await delinquent(customer)).toBe(true);
    expect((await ok('POST', `/v1/invoices/${inv.id}/mark_uncollectible`, {})).status).toBe('uncollectible');
    expect(await delinquent(customer)).toBe(false);
    expect(await changes(customer)).toEqual([
      [true, false],
      [false, true],
    ]);
  });
});

describe('shipping details', () => {
  const shipping = { name: 'Dana Coach', phone: '+14155550123', address: { line1: '1 Harbor Way', city: 'Oakland', postal_code: '94607', country: 'us' } };
  const shown = { name: 'Dana Coach', phone: '+14155550123', address: { line1: '1 Harbor Way', line2: null, city: 'Oakland', state: null, postal_code: '94607', country: 'US' } };

  it('are kept on the customer and snapshotted, with the phone, on invoices when they are finalized', async () => {
    const customer = await ok('POST', '/v1/customers', { email: 'dana@example.com', phone: '+14155550199', shipping });
    expect(customer.shipping).toEqual(shown);
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 4_900, currency: 'usd', description: 'Course workbook (printed)' });
    const draft = await ok('POST', '/v1/invoices', { customer: customer.id, pending_invoice_items_behavior: 'include', auto_advance: false });
    expect([draft.customer_phone, draft.customer_shipping]).toEqual(['+14155550199', shown]);
    const open = await ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    expect([open.customer_phone, open.customer_shipping]).toEqual(['+14155550199', shown]);

    // Later changes to the customer leave the finalized invoice as it was issued.
    const cleared = await ok('POST', `/v1/customers/${customer.id}`, { shipping: '', phone: '' });
    expect([cleared.shipping, cleared.phone]).toEqual([null, null]);
    const again = await ok('GET', `/v1/invoices/${draft.id}`);
    expect([again.customer_phone, again.customer_shipping]).toEqual(['+14155550199', shown]);
    const updated = (await t.testDb.db.query<{ prev: unknown }>(`SELECT data->'previous_attributes' AS prev FROM events WHERE customer_id = $1 AND type = 'customer.updated'`, [customer.id])).rows;
    expect(updated.map((r) => r.prev)).toEqual([{ phone: '+14155550199', shipping: shown }]);
  });

  it('need a name and an address line, each refused by its parameter with nothing written', async () => {
    for (const [body, param] of [
      [{ shipping: { address: { line1: 'x' } } }, 'shipping[name]'],
      [{ shipping: { name: 'Dana', address: { city: 'Oakland' } } }, 'shipping[address][line1]'],
      [{ shipping: { name: 'Dana', address: { line1: 'x' }, phone: '555' } }, 'shipping[phone]'],
    ] as const) {
      const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'refused@example.com', ...body } });
      expect([res.status, res.body.error?.param]).toEqual([400, param]);
    }
    expect((await ok('GET', '/v1/customers?email=refused@example.com')).data).toEqual([]);
  });
});
