import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { pdfToText } from '../../../test/scenarios/taxes-support.js';

// Stripe's invoice automatically_finalizes_at, effective_at and default_payment_method (on update),
// as integrations set them: a workshop invoice drafted now, finalized on the workshop's day, dated the
// first of the month, charged to the card the client named.

let t: TestApp & BillingHelpers;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const refused = async (url: string, payload: Record<string, unknown>) => {
  const res = await t.call({ method: 'POST', url, payload });
  return [res.status, res.body.error?.code, res.body.error?.param];
};
async function draft(customer: string, extra: Record<string, unknown> = {}) {
  await t.ok('POST', '/v1/invoiceitems', { customer, amount: 120_000, currency: 'usd', description: 'Leadership workshop' });
  return t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
}

describe('invoice automatically_finalizes_at and effective_at', () => {
  it('finalizes the draft at the time given and prints the date of issue given', async () => {
    const clock = await t.clockAt('2026-03-10T09:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const inv = await draft(customer, { automatically_finalizes_at: unix('2026-03-12T09:00:00Z'), effective_at: unix('2026-03-01T00:00:00Z') });
    expect([inv.status, inv.auto_advance, inv.automatically_finalizes_at, inv.effective_at]).toEqual(['draft', true, unix('2026-03-12T09:00:00Z'), unix('2026-03-01T00:00:00Z')]);

    await t.advance(clock, '2026-03-12T08:59:00Z');
    expect((await t.ok('GET', `/v1/invoices/${inv.id}`)).status).toBe('draft');
    await t.advance(clock, '2026-03-12T09:01:00Z');
    const done = await t.ok('GET', `/v1/invoices/${inv.id}`);
    expect([done.status, done.status_transitions.finalized_at, done.effective_at]).toEqual(['paid', unix('2026-03-12T09:00:00Z'), unix('2026-03-01T00:00:00Z')]);
    const res = await t.app.inject({ method: 'GET', url: `/v1/invoices/${inv.id}/pdf`, headers: { authorization: `Bearer ${t.key}` } });
    expect(await pdfToText(res.rawPayload)).toContain('Date of issue Mar 1, 2026');
  });

  it('refuses a time in the past, with auto_advance false, or on a finalized invoice', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect(await refused('/v1/invoices', { customer, currency: 'usd', automatically_finalizes_at: now - 60 })).toEqual([400, 'parameter_invalid', 'automatically_finalizes_at']);
    expect(await refused('/v1/invoices', { customer, currency: 'usd', automatically_finalizes_at: now + 60, auto_advance: false })).toEqual([400, 'parameter_invalid', 'automatically_finalizes_at']);
    const inv = await draft(customer);
    expect([inv.auto_advance, inv.automatically_finalizes_at, inv.effective_at]).toEqual([false, null, null]);
    const later = await t.ok('POST', `/v1/invoices/${inv.id}`, { automatically_finalizes_at: now + 7_200 });
    expect([later.auto_advance, later.automatically_finalizes_at]).toEqual([true, now + 7_200]);
    await t.ok('POST', `/v1/invoices/${inv.id}/finalize`, { auto_advance: false });
    expect(await refused(`/v1/invoices/${inv.id}`, { effective_at: now })).toEqual([400, 'invoice_not_editable', 'effective_at']);
  });
});

describe('invoice default_payment_method on update', () => {
  it('names the card an open invoice is charged with; "" goes back to the customer\'s default; a paid invoice refuses it', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const inv = await draft(customer, { collection_method: 'charge_automatically' });
    const open = await t.ok('POST', `/v1/invoices/${inv.id}/finalize`, { auto_advance: false });
    const master = await t.ok('POST', '/v1/payment_methods/pm_card_mastercard/attach', { customer });
    const named = await t.ok('POST', `/v1/invoices/${open.id}`, { default_payment_method: master.id });
    expect(named.default_payment_method).toBe(master.id);
    const ev = (await t.ok('GET', `/v1/events?type=invoice.updated&object_id=${open.id}`)).data[0];
    expect(ev.data.previous_attributes).toEqual({ default_payment_method: null });
    expect((await t.ok('POST', `/v1/invoices/${open.id}`, { default_payment_method: '' })).default_payment_method).toBeNull();
    await t.ok('POST', `/v1/invoices/${open.id}`, { default_payment_method: master.id });
    const paid = await t.ok('POST', `/v1/invoices/${open.id}/pay`, { expand: ['payment_intent'] });
    expect([paid.status, paid.payment_intent.payment_method]).toEqual(['paid', master.id]);
    expect(await refused(`/v1/invoices/${open.id}`, { default_payment_method: master.id })).toEqual([400, 'invoice_not_editable', 'default_payment_method']);
    const stranger = await t.customer({ card: 'pm_card_visa' });
    const other = (await t.ok('GET', `/v1/customers/${stranger}`)).invoice_settings.default_payment_method;
    const second = await draft(customer);
    expect(await refused(`/v1/invoices/${second.id}`, { default_payment_method: other })).toEqual([400, 'resource_missing', 'default_payment_method']);
  });
});

describe('invoice discounts', () => {
  it("redeem a coupon or promotion code for one invoice instead of the customer's discount; [] for none", async () => {
    const course = await t.priceId('course_onetime');
    await t.ok('POST', '/v1/coupons', { id: 'LOYAL10', percent_off: 10, duration: 'forever' });
    await t.ok('POST', '/v1/coupons', { id: 'LAUNCH20', percent_off: 20, duration: 'once' });
    await t.ok('POST', '/v1/promotion_codes', { coupon: 'LAUNCH20', code: 'COURSE20', max_redemptions: 1 });
    const customer = await t.customer({ card: 'pm_card_visa' });
    await t.ok('POST', `/v1/customers/${customer}`, { coupon: 'LOYAL10' });
    const bill = async (extra: Record<string, unknown>) => {
      await t.ok('POST', '/v1/invoiceitems', { customer, price: course });
      return t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
    };
    const launch = await bill({ discounts: [{ promotion_code: 'COURSE20' }] });
    expect([launch.subtotal, launch.total_discount_amounts[0].amount, launch.total, launch.discounts.length]).toEqual([99_700, 19_940, 79_760, 1]);
    const own = await t.ok('GET', `/v1/invoices/${launch.id}?expand[]=discounts`);
    expect([own.discounts[0].coupon.id, own.discounts[0].invoice, own.discounts[0].promotion_code]).toEqual(['LAUNCH20', launch.id, expect.stringMatching(/^promo_/)]);

    expect((await bill({})).total).toBe(89_730); // the customer's 10 %
    expect([(await bill({ discounts: '' })).total]).toEqual([99_700]);

    // The code was good for one redemption; a wrong one is named by its parameter; nothing is written.
    await t.ok('POST', '/v1/invoiceitems', { customer, price: course });
    const count = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [customer])).rows[0]!.n;
    const before = await count();
    const create = (discounts: unknown) => refused('/v1/invoices', { customer, pending_invoice_items_behavior: 'include', discounts });
    expect((await create([{ promotion_code: 'COURSE20' }])).slice(2)).toEqual(['discounts[0][promotion_code]']);
    expect(await create([{ promotion_code: 'NOPE' }])).toEqual([404, 'resource_missing', 'discounts[0][promotion_code]']);
    expect(await create([{ coupon: 'LOYAL10', promotion_code: 'COURSE20' }])).toEqual([400, 'parameter_invalid', 'discounts[0][coupon]']);
    expect(await count()).toBe(before);
  });
});

describe('invoice discounts on update', () => {
  it("replace a draft's discount, or remove it; a finalized invoice keeps its own", async () => {
    const course = await t.priceId('course_onetime');
    await t.ok('POST', '/v1/coupons', { id: 'SPRING15', percent_off: 15, duration: 'once' });
    await t.ok('POST', '/v1/coupons', { id: 'STAFF10', percent_off: 10, duration: 'forever' });
    const customer = await t.customer({ card: 'pm_card_visa' });
    await t.ok('POST', `/v1/customers/${customer}`, { coupon: 'STAFF10' });
    await t.ok('POST', '/v1/invoiceitems', { customer, price: course });
    const draft = await t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    expect(draft.total).toBe(89_730);
    const spring = await t.ok('POST', `/v1/invoices/${draft.id}`, { discounts: [{ coupon: 'SPRING15' }] });
    expect([spring.total, spring.total_discount_amounts.map((d: { amount: number }) => d.amount)]).toEqual([84_745, [14_955]]);
    const ev = (await t.ok('GET', `/v1/events?type=invoice.updated&object_id=${draft.id}`)).data;
    expect(ev.length).toBe(1);
    expect(ev[0].data.previous_attributes).toMatchObject({ total: 89_730 });
    const none = await t.ok('POST', `/v1/invoices/${draft.id}`, { discounts: '' });
    expect([none.total, none.discounts]).toEqual([99_700, []]);
    // The replaced discount of the invoice is gone (its own rows deleted; the customer's stays).
    const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM discounts WHERE invoice = $1 AND deleted_at IS NULL`, [draft.id]);
    expect(rows[0]!.n).toBe(0);
    expect((await t.ok('GET', `/v1/customers/${customer}`)).discount.coupon.id).toBe('STAFF10');
    await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, { auto_advance: false });
    expect(await refused(`/v1/invoices/${draft.id}`, { discounts: [{ coupon: 'SPRING15' }] })).toEqual([400, 'invoice_not_editable', 'discounts']);
  });
});

describe('several invoice discounts', () => {
  it('applies them in order, each on what the ones before left, on create and on update; a coupon once', async () => {
    const course = await t.priceId('course_onetime');
    await t.ok('POST', '/v1/coupons', { id: 'COHORT10', percent_off: 10, duration: 'once' });
    await t.ok('POST', '/v1/coupons', { id: 'FIFTY_OFF', amount_off: 5_000, currency: 'usd', duration: 'once' });
    await t.ok('POST', '/v1/coupons', { id: 'EARLY5', percent_off: 5, duration: 'once' });
    const customer = await t.customer({ card: 'pm_card_visa' });
    await t.ok('POST', '/v1/invoiceitems', { customer, price: course });
    // 99,700 − 10 % (9,970) = 89,730; − 5,000 = 84,730.
    const inv = await t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', discounts: [{ coupon: 'COHORT10' }, { coupon: 'FIFTY_OFF' }] });
    expect([inv.total, inv.total_discount_amounts.map((d: { amount: number }) => d.amount), inv.discounts.length]).toEqual([84_730, [9_970, 5_000], 2]);
    expect(inv.lines.data[0].discount_amounts.map((d: { amount: number }) => d.amount)).toEqual([9_970, 5_000]);
    // The other order: 99,700 − 5,000 = 94,700; − 10 % (9,470) = 85,230. Then three.
    const swapped = await t.ok('POST', `/v1/invoices/${inv.id}`, { discounts: [{ coupon: 'FIFTY_OFF' }, { coupon: 'COHORT10' }] });
    expect([swapped.total, swapped.total_discount_amounts.map((d: { amount: number }) => d.amount)]).toEqual([85_230, [5_000, 9_470]]);
    // 85,230 − 5 % of it (4,261.5 → 4,262, half to even) = 80,968.
    const three = await t.ok('POST', `/v1/invoices/${inv.id}`, { discounts: [{ coupon: 'FIFTY_OFF' }, { coupon: 'COHORT10' }, { coupon: 'EARLY5' }] });
    expect([three.total, three.total_discount_amounts.map((d: { amount: number }) => d.amount)]).toEqual([80_968, [5_000, 9_470, 4_262]]);
    const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM discounts WHERE invoice = $1 AND deleted_at IS NULL`, [inv.id]);
    expect(rows[0]!.n).toBe(3);
    expect(await refused(`/v1/invoices/${inv.id}`, { discounts: [{ coupon: 'EARLY5' }, { coupon: 'EARLY5' }] })).toEqual([400, 'parameter_invalid', 'discounts[1][coupon]']);
    expect(await refused(`/v1/invoices/${inv.id}`, { discounts: [{ coupon: 'EARLY5' }, { coupon: 'NOPE' }] })).toEqual([404, 'resource_missing', 'discounts[1][coupon]']);
    expect((await t.ok('GET', `/v1/invoices/${inv.id}`)).total).toBe(80_968);
  });
});

describe('a draft without lines whose discounts were chosen', () => {
  it("keeps none when `discounts: ''` was given, on create or update, and its first lines arrive later", async () => {
    await t.ok('POST', '/v1/coupons', { id: 'ALUMNI10', percent_off: 10, duration: 'forever' });
    const customer = await t.customer({ card: 'pm_card_visa' });
    await t.ok('POST', `/v1/customers/${customer}`, { coupon: 'ALUMNI10' });
    const empty = (extra: Record<string, unknown>) => t.ok('POST', '/v1/invoices', { customer, currency: 'usd', pending_invoice_items_behavior: 'exclude', ...extra });
    const addLine = async (invoice: string) => (await t.ok('POST', '/v1/invoiceitems', { customer, invoice, amount: 50_000, currency: 'usd', description: 'Workshop seat' })) && t.ok('GET', `/v1/invoices/${invoice}`);

    // Not chosen: the first lines take the customer's discount live for the invoice, as its creation would have.
    const live = await empty({});
    expect([(await addLine(live.id)).total]).toEqual([45_000]);
    // Chosen none on create, or on update: the lines arrive undiscounted.
    const none = await empty({ discounts: '' });
    expect([none.discounts, (await addLine(none.id)).total]).toEqual([[], 50_000]);
    const cleared = await empty({});
    await t.ok('POST', `/v1/invoices/${cleared.id}`, { discounts: '' });
    const after = await addLine(cleared.id);
    expect([after.total, after.discounts, after.total_discount_amounts]).toEqual([50_000, [], []]);
  });
});
