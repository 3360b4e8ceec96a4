import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaxApp, type TaxApp } from './taxes-support.js';
import { createBillingApp, discountOf, eventsFor, fullInvoices, iso, ok, type BillingApp } from './coupon-support.js';

// Coupons and promotion codes (issue 3, item 6): checks that pass today, kept as regression tests.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

let n = 0;
const email = () => `pass${++n}@example.com`;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rows = (invs: any[]) => invs.map((i) => [i.billing_reason, iso(i.period_start), i.subtotal, discountOf(i), i.total, i.status]);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const lineDiscountSum = (inv: any) => inv.lines.data.reduce((s: number, l: any) => s + l.discount_amounts.reduce((x: number, d: any) => x + d.amount, 0), 0);

async function onClock(start: string, payload: Record<string, unknown>) {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, ...payload });
  return { clock, customer, sub };
}

describe('amount_off and currency', () => {
  it('an EUR amount_off coupon on a USD subscription is a 400 and writes nothing', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 500, currency: 'eur', duration: 'forever' });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'coupon_currency_mismatch', param: 'coupon' });
    expect((await ok(t, 'GET', `/v1/coupons/${c.id}`)).times_redeemed).toBe(0);
    expect((await ok(t, 'GET', `/v1/customers/${customer}`)).currency).toBeNull();
    expect((await ok(t, 'GET', `/v1/subscriptions?customer=${customer}`)).data).toHaveLength(0);
  });

  it('a currency given in upper case is stored lower case; amount_off above the invoice caps at the subtotal', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 20_000, currency: 'USD', duration: 'forever' });
    expect(c.currency).toBe('usd');
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    const inv = await ok(t, 'GET', `/v1/invoices/${s.latest_invoice}`);
    expect([inv.subtotal, discountOf(inv), inv.total, inv.amount_due, inv.status, s.status]).toEqual([9700, 9700, 0, 0, 'paid', 'active']);
  });
});

describe('durations', () => {
  it('once with a 14-day price trial: the $0 trial invoice does not spend it, the first paid invoice does', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 50, duration: 'once' });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('group_monthly') }], coupon: c.id });
    expect(sub.status).toBe('trialing');
    await t.advance(clock, '2026-03-30T14:00:00Z');
    expect(rows(await fullInvoices(t, sub.id))).toEqual([
      ['subscription_create', '2026-01-15T12:00:00Z', 0, 0, 0, 'paid'],
      ['subscription_cycle', '2026-01-29T12:00:00Z', 150_000, 75_000, 75_000, 'paid'],
      ['subscription_cycle', '2026-02-28T12:00:00Z', 150_000, 0, 150_000, 'paid'],
      ['subscription_cycle', '2026-03-29T12:00:00Z', 150_000, 0, 150_000, 'paid'],
    ]);
  });

  it('repeating 4 months on a quarterly price discounts the invoices of months 0 and 3, not 6', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 4 });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('group_quarterly') }], trial_end: 'now', coupon: c.id });
    await t.advance(clock, '2026-07-16T14:00:00Z');
    expect(rows(await fullInvoices(t, sub.id))).toEqual([
      ['subscription_create', '2026-01-15T12:00:00Z', 420_000, 42_000, 378_000, 'paid'],
      ['subscription_cycle', '2026-04-15T12:00:00Z', 420_000, 42_000, 378_000, 'paid'],
      ['subscription_cycle', '2026-07-15T12:00:00Z', 420_000, 0, 420_000, 'paid'],
    ]);
  });

  it('repeating 3 months on an annual price discounts the whole first year only', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 3 });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_annual') }], trial_end: 'now', coupon: c.id });
    await t.advance(clock, '2027-01-16T14:00:00Z');
    expect(rows(await fullInvoices(t, sub.id))).toEqual([
      ['subscription_create', '2026-01-15T12:00:00Z', 97_000, 9700, 87_300, 'paid'],
      ['subscription_cycle', '2027-01-15T12:00:00Z', 97_000, 0, 97_000, 'paid'],
    ]);
  });

  it('repeating 2 months redeemed at the start of a 30-day trial: the months count from redemption (2 paid invoices)', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 2 });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], coupon: c.id });
    await t.advance(clock, '2026-05-16T14:00:00Z');
    expect(rows(await fullInvoices(t, sub.id))).toEqual([
      ['subscription_create', '2026-01-15T12:00:00Z', 0, 0, 0, 'paid'],
      ['subscription_cycle', '2026-02-14T12:00:00Z', 9700, 970, 8730, 'paid'],
      ['subscription_cycle', '2026-03-14T12:00:00Z', 9700, 970, 8730, 'paid'],
      ['subscription_cycle', '2026-04-14T12:00:00Z', 9700, 0, 9700, 'paid'],
      ['subscription_cycle', '2026-05-14T12:00:00Z', 9700, 0, 9700, 'paid'],
    ]);
  });

  it('a repeating discount on a test clock starts and ends at clock time; the preview stops it at its end', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 2 });
    const { sub } = await onClock('2026-03-01T00:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    const d = await ok(t, 'GET', `/v1/subscriptions/${sub.id}?expand[]=discounts`);
    expect([iso(d.discounts[0].start), iso(d.discounts[0].end)]).toEqual(['2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z']);
    const c1 = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const other = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c1.id });
    const up = await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${other.sub.id}`);
    expect([up.total, up.total_discount_amounts]).toEqual([9700, []]);
  });
});

describe('applies_to.products and allocation', () => {
  it('percent: only the matching line is discounted', async () => {
    const group = await ok(t, 'GET', `/v1/prices/${await t.priceId('group_monthly')}`);
    const comm = await ok(t, 'GET', `/v1/prices/${await t.priceId('community_monthly')}`);
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever', applies_to: { products: [group.product] } });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: group.id }, { price: comm.id, quantity: 3 }], trial_end: 'now', coupon: c.id });
    const inv = await ok(t, 'GET', `/v1/invoices/${s.latest_invoice}`);
    const di = s.discounts[0];
    expect(inv.lines.data.map((l: { amount: number; discount_amounts: unknown }) => [l.amount, l.discount_amounts])).toEqual([
      [150_000, [{ discount: di, amount: 15_000 }]],
      [29_100, []],
    ]);
    expect([inv.total_discount_amounts, inv.total]).toEqual([[{ discount: di, amount: 15_000 }], 164_100]);
  });

  it('amount_off 10.00 over 1,500.00 and 291.00: 8.38 + 1.62 = total_discount_amounts', async () => {
    const group = await ok(t, 'GET', `/v1/prices/${await t.priceId('group_monthly')}`);
    const comm = await ok(t, 'GET', `/v1/prices/${await t.priceId('community_monthly')}`);
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 1000, currency: 'usd', duration: 'forever', applies_to: { products: [group.product, comm.product] } });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: group.id }, { price: comm.id, quantity: 3 }], trial_end: 'now', coupon: c.id });
    const inv = await ok(t, 'GET', `/v1/invoices/${s.latest_invoice}`);
    const di = s.discounts[0];
    expect(inv.lines.data.map((l: { discount_amounts: { amount: number }[] }) => l.discount_amounts.map((d) => d.amount))).toEqual([[838], [162]]);
    expect(inv.total_discount_amounts).toEqual([{ discount: di, amount: 1000 }]);
    expect([inv.subtotal, inv.total, lineDiscountSum(inv)]).toEqual([179_100, 178_100, 1000]);
  });
});

describe('discounts, tax and prorations', () => {
  let tx: TaxApp;
  beforeAll(async () => {
    tx = await createTaxApp();
  });
  afterAll(() => tx.close());

  it('tax (NY 4 %) is computed on each line after its share of the discount', async () => {
    const c = await tx.ok('POST', '/v1/coupons', { amount_off: 1001, currency: 'usd', duration: 'forever' });
    const cu = await tx.customer({ address: { country: 'US', state: 'NY', postal_code: '10001' } });
    const sub = await tx.ok('POST', '/v1/subscriptions', { customer: cu, items: [{ price: await tx.priceId('community_monthly') }, { price: await tx.priceId('group_monthly') }], trial_end: 'now', coupon: c.id });
    const inv = await tx.ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    // 1,001 split 61 / 940; taxable 9,639 → 386 (385.56) and 149,060 → 5,962 (5,962.4).
    expect(inv.lines.data.map((l: { amount: number; discount_amounts: { amount: number }[]; tax_amounts: { taxable_amount: number; amount: number }[] }) => [
      l.amount, l.discount_amounts[0]!.amount, l.tax_amounts[0]!.taxable_amount, l.tax_amounts[0]!.amount,
    ])).toEqual([[9700, 61, 9639, 386], [150_000, 940, 149_060, 5962]]);
    expect([inv.subtotal, inv.total_excluding_tax, inv.tax, inv.total]).toEqual([159_700, 158_699, 6348, 165_047]);
  });

  it('a 15 % forever discount on an always_invoice upgrade and on pending prorations: lines sum to total_discount_amounts, preview = invoice', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 15, duration: 'forever' });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    await t.advance(clock, '2026-01-30T00:00:00Z');
    const u = await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice' });
    const inv = await ok(t, 'GET', `/v1/invoices/${u.latest_invoice}`);
    expect(inv.lines.data.map((l: { amount: number; discount_amounts: { amount: number }[] }) => [l.amount, l.discount_amounts[0]!.amount])).toEqual([[-5163, -775], [79_839, 11_976]]);
    expect([inv.subtotal, discountOf(inv), inv.total, lineDiscountSum(inv)]).toEqual([74_676, 11_201, 63_475, 11_201]);
    await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: u.items.data[0].id, quantity: 2 }] });
    const up = await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${sub.id}`);
    await t.advance(clock, '2026-02-15T14:00:00Z');
    const invs = await fullInvoices(t, sub.id);
    const last = invs[invs.length - 1];
    expect([last.subtotal, discountOf(last), last.total, lineDiscountSum(last)]).toEqual([379_838, 56_976, 322_862, 56_976]);
    expect([up.subtotal, discountOf(up), up.total]).toEqual([379_838, 56_976, 322_862]);
  });
});

describe('max_redemptions, redeem_by, deletion', () => {
  it('5 concurrent subscriptions for the last 2 slots: 2 succeed, 3 get 400; the coupon is then invalid', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever', max_redemptions: 2 });
    const price = await t.priceId('community_monthly');
    const customers = await Promise.all([1, 2, 3, 4, 5].map(() => t.customer({ card: 'pm_card_visa', email: email() })));
    const res = await Promise.all(customers.map((customer) => t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price }], trial_end: 'now', coupon: c.id } })));
    expect(res.filter((r) => r.status === 200)).toHaveLength(2);
    expect(res.filter((r) => r.status === 400).map((r) => r.body.error.code)).toEqual(['coupon_max_redemptions', 'coupon_max_redemptions', 'coupon_max_redemptions']);
    const cc = await ok(t, 'GET', `/v1/coupons/${c.id}`);
    expect([cc.times_redeemed, cc.valid]).toEqual([2, false]);
    const subs = await Promise.all(customers.map((cu) => ok(t, 'GET', `/v1/subscriptions?customer=${cu}`)));
    expect(subs.map((s) => s.data.length).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('a redeem_by in the past at creation is refused', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 10, redeem_by: Math.floor(t.clock.now().getTime() / 1000) - 60 } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('redeem_by');
  });

  it('a deleted coupon keeps discounting its subscription, cannot be redeemed again, and wrote coupon.deleted', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 25, duration: 'forever' });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    expect(await ok(t, 'DELETE', `/v1/coupons/${c.id}`)).toEqual({ id: c.id, object: 'coupon', deleted: true });
    await t.advance(clock, '2026-03-16T14:00:00Z');
    expect(rows(await fullInvoices(t, sub.id)).map((r) => r[4])).toEqual([7275, 7275, 7275]);
    expect((await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(7275);
    const cu2 = await t.customer({ card: 'pm_card_visa', email: email() });
    const r = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cu2, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id } });
    expect(r.status).toBe(400);
    expect(await eventsFor(t, 'coupon.deleted', (o) => o.id === c.id)).toHaveLength(1);
  });
});

describe('promotion codes', () => {
  it('looked up in any case; max_redemptions 1 refuses the second use with nothing written; inactive refused; discounts[promotion_code] on update', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 20, duration: 'forever' });
    const p = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, code: 'Spring26', max_redemptions: 1 });
    const price = await t.priceId('community_monthly');
    const cu1 = await t.customer({ card: 'pm_card_visa', email: email() });
    const s1 = await ok(t, 'POST', '/v1/subscriptions', { customer: cu1, items: [{ price }], trial_end: 'now', promotion_code: 'SPRING26' });
    expect(s1.discounts).toHaveLength(1);
    const cu2 = await t.customer({ card: 'pm_card_visa', email: email() });
    const s2 = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cu2, items: [{ price }], trial_end: 'now', discounts: [{ promotion_code: p.id }] } });
    expect(s2.status).toBe(400);
    expect(s2.body.error.code).toBe('promotion_code_max_redemptions');
    expect((await ok(t, 'GET', `/v1/coupons/${c.id}`)).times_redeemed).toBe(1);
    expect((await ok(t, 'GET', `/v1/promotion_codes/${p.id}`)).times_redeemed).toBe(1);
    expect((await ok(t, 'GET', `/v1/subscriptions?customer=${cu2}`)).data).toHaveLength(0);

    const inactive = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, code: 'OFFNOW', active: false });
    const s3 = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cu2, items: [{ price }], trial_end: 'now', promotion_code: inactive.id } });
    expect([s3.status, s3.body.error?.code]).toEqual([400, 'promotion_code_inactive']);

    const p2 = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, code: 'UPD1' });
    const s4 = await ok(t, 'POST', '/v1/subscriptions', { customer: cu2, items: [{ price }], trial_end: 'now' });
    const u = await ok(t, 'POST', `/v1/subscriptions/${s4.id}`, { discounts: [{ promotion_code: p2.id }] });
    const d = await ok(t, 'GET', `/v1/subscriptions/${u.id}?expand[]=discounts`);
    expect(d.discounts[0]).toMatchObject({ promotion_code: p2.id, source: { coupon: c.id }, end: null });
  });

  it('expires_at is checked at the test clock time; first_time_transaction refuses a customer who has paid', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const p = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, expires_at: Math.floor(new Date('2026-02-01T00:00:00Z').getTime() / 1000) });
    const { clock, sub } = await onClock('2026-01-15T12:00:00Z', { items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-02-10T00:00:00Z');
    const r = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { promotion_code: p.id } });
    expect([r.status, r.body.error?.code]).toEqual([400, 'promotion_code_expired']);

    const ft = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, restrictions: { first_time_transaction: true } });
    const cu = await t.customer({ card: 'pm_card_visa', email: email() });
    const price = await t.priceId('community_monthly');
    await ok(t, 'POST', '/v1/subscriptions', { customer: cu, items: [{ price }], trial_end: 'now', promotion_code: ft.id });
    const again = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cu, items: [{ price }], trial_end: 'now', promotion_code: ft.id } });
    expect([again.status, again.body.error?.code]).toEqual([400, 'promotion_code_first_time_only']);
  });
});

describe('events', () => {
  it('coupon.updated once per real change with previous_attributes; customer.discount.created with the subscription', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever', name: 'A' });
    expect(await eventsFor(t, 'coupon.created', (o) => o.id === c.id)).toHaveLength(1);
    await ok(t, 'POST', `/v1/coupons/${c.id}`, { name: 'B' });
    await ok(t, 'POST', `/v1/coupons/${c.id}`, { name: 'B' });
    const upd = await eventsFor(t, 'coupon.updated', (o) => o.id === c.id);
    expect(upd.map((e) => [e.data.object.name, e.data.previous_attributes])).toEqual([['B', { name: 'A' }]]);
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    const dc = await eventsFor(t, 'customer.discount.created', (o) => o.subscription === s.id);
    expect(dc.map((e) => [e.data.object.id, e.data.object.customer, e.data.object.coupon.times_redeemed])).toEqual([[s.discounts[0], customer, 1]]);
  });
});
