import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { currencyExponent, formatMoney, minimumCharge } from '../../src/core/money/index.js';
import { toPayPalValue } from '../../src/modules/payments/paypal-gateway.js';
import { pdfToText } from './taxes-support.js';
import { errorOf, get, iso, ok, subscribe, update, type BillingApp } from './support.js';

// Audit of non-USD money handling against Stripe's documented behaviour. Every expected amount is
// worked out by hand in the comments. A failing test is a defect.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

async function price(currency: string, unit_amount: number, extra: Record<string, unknown> = {}): Promise<string> {
  return (await ok(t, 'POST', '/v1/prices', { product: 'prod_community', currency, unit_amount, recurring: { interval: 'month' }, ...extra })).id;
}
/** A customer with a Visa on a clock (optionally with a currency / balance). */
async function customer(clock: string, extra: Record<string, unknown> = {}): Promise<string> {
  const c = await ok(t, 'POST', '/v1/customers', { email: 'fx@example.com', test_clock: clock, ...extra });
  const pm = await ok(t, 'POST', '/v1/payment_methods/pm_card_visa/attach', { customer: c.id });
  await ok(t, 'POST', `/v1/customers/${c.id}`, { invoice_settings: { default_payment_method: pm.id } });
  return c.id;
}
async function firstInvoice(subId: string) {
  const invs = await t.invoices(subId);
  expect(invs.length).toBeGreaterThan(0);
  return (await get(t, `/v1/invoices/${invs[0]!.id}`)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('zero-decimal currencies (JPY, KRW)', () => {
  it('a ¥1,000 price is unit_amount 1000 and bills ¥1,000; the charge is 1000', async () => {
    const p = await price('jpy', 1000);
    const pr = await get(t, `/v1/prices/${p}`);
    expect([pr.unit_amount, pr.currency]).toEqual([1000, 'jpy']);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: p }], trial_end: 'now' });
    expect(sub.currency).toBe('jpy');
    const inv = await firstInvoice(sub.id);
    expect([inv.currency, inv.subtotal, inv.total, inv.amount_due, inv.amount_paid, inv.status]).toEqual(['jpy', 1000, 1000, 1000, 1000, 'paid']);
    const pi = (await get(t, `/v1/payment_intents?customer=${cus}`)).data[0];
    expect([pi.amount, pi.currency]).toEqual([1000, 'jpy']);
    expect((await get(t, `/v1/customers/${cus}`)).currency).toBe('jpy');
  });

  it('proration mid-period rounds to whole yen (¥1,000 → ¥3,000 with 21 of 31 days left)', async () => {
    // Period [Mar 1, Apr 1) = 31 days; change Mar 11 00:00 leaves 21 days.
    //   credit = −1000 × 21/31 = −677.419… → −677 ; debit = 3000 × 21/31 = 2032.258… → 2032
    const small = await price('jpy', 1000);
    const big = await price('jpy', 3000);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: small }], trial_end: 'now' });
    await t.advance(clock, '2026-03-11T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: big }] });
    const pending = (await get(t, `/v1/invoiceitems?customer=${cus}&pending=true`)).data as { amount: number; currency: string; proration: boolean; period: { start: number } }[];
    expect(pending.map((p) => [p.amount, p.currency, p.proration, iso(p.period.start)]).sort()).toEqual([
      [-677, 'jpy', true, '2026-03-11T00:00:00Z'],
      [2032, 'jpy', true, '2026-03-11T00:00:00Z'],
    ].sort());
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    // 3000 − 677 + 2032 = 4355
    expect(invs.map((i) => [i.total, i.status])).toEqual([[1000, 'paid'], [4355, 'paid']]);
  });

  it('percent_off 33.33 % on ¥1,000 takes ¥333 (333.3 → 333)', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 33.33, duration: 'once' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now', coupon: c.id });
    const inv = await firstInvoice(sub.id);
    expect([inv.subtotal, inv.total, inv.total_discount_amounts?.[0]?.amount]).toEqual([1000, 667, 333]);
  });

  it('percent_off 12.5 % on ₩9,999 takes ₩1,250 (1249.875 → 1250)', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 12.5, duration: 'once' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('krw', 9999) }], trial_end: 'now', coupon: c.id });
    const inv = await firstInvoice(sub.id);
    expect([inv.currency, inv.subtotal, inv.total]).toEqual(['krw', 9999, 8749]);
  });

  it('amount_off ¥300 coupon on a ¥1,000 subscription → ¥700', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 300, currency: 'jpy', duration: 'once' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now', coupon: c.id });
    const inv = await firstInvoice(sub.id);
    expect([inv.subtotal, inv.total]).toEqual([1000, 700]);
  });

  // Stripe: "any amount-off coupons you applied to the customer that are denominated in non-CAD currency are
  // ignored" (docs.stripe.com/invoicing/multi-currency-customers). Recur refuses instead: 400, named param.
  it('a USD amount_off coupon on a new JPY subscription → 400 coupon_currency_mismatch on `coupon`', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 500, currency: 'usd', duration: 'forever' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now', coupon: c.id } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'coupon_currency_mismatch', 'coupon']);
  });

  it('a USD amount_off coupon added later to a JPY subscription → 400 on discounts[0][coupon]; renewals stay ¥1,000', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 500, currency: 'usd', duration: 'forever' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now' });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { discounts: [{ coupon: c.id }] } });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'coupon_currency_mismatch', 'discounts[0][coupon]']);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([1000, 1000]);
  });

  it('a ¥40 invoice is below the ¥50 minimum: paid without a charge, ¥40 carried to the balance', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 40) }], trial_end: 'now' });
    const inv = await firstInvoice(sub.id);
    expect([inv.total, inv.amount_due, inv.amount_paid, inv.ending_balance, inv.status]).toEqual([40, 0, 0, 40, 'paid']);
    expect((await get(t, `/v1/customers/${cus}`)).balance).toBe(40);
    expect((await get(t, `/v1/payment_intents?customer=${cus}`)).data).toEqual([]);
  });

  it('a ¥1,000 invoice line and PDF show ¥1,000 (no decimals)', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now' });
    const inv = await firstInvoice(sub.id);
    expect(inv.lines.data[0].description).toBe('1 × Community Access (at ¥1,000 / month)');
    const pdf = await t.app.inject({ method: 'GET', url: `/v1/invoices/${inv.id}/pdf`, headers: { authorization: `Bearer ${t.key}` } });
    expect(pdf.statusCode).toBe(200);
    const text = await pdfToText(pdf.rawPayload);
    expect(text).toContain('¥1,000');
    expect(text).not.toMatch(/¥1,000\.00|¥10\.00/);
  });

  it('promotion code minimum ¥1,000 (JPY): met by ¥1,000, not by ¥999, not by a USD amount', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'once' });
    const promo = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, code: 'YEN1000', restrictions: { minimum_amount: 1000, minimum_amount_currency: 'jpy' } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const low = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await customer(clock), items: [{ price: await price('jpy', 999) }], trial_end: 'now', promotion_code: promo.id } });
    expect(low.status).toBe(400);
    const usd = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await customer(clock), items: [{ price: await price('usd', 5000) }], trial_end: 'now', promotion_code: promo.id } });
    expect(usd.status).toBe(400);
    const sub = await subscribe(t, { customer: await customer(clock), items: [{ price: await price('jpy', 1000) }], trial_end: 'now', promotion_code: promo.id });
    expect((await firstInvoice(sub.id)).total).toBe(900);
  });

  it('restrictions.currency_options: ¥1,000 or $9.00 (a USD option) — $8.99 and a EUR amount fall short', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'once' });
    const promo = await ok(t, 'POST', '/v1/promotion_codes', {
      coupon: c.id,
      code: 'YENORUSD',
      restrictions: { minimum_amount: 1000, minimum_amount_currency: 'jpy', currency_options: { USD: { minimum_amount: 900 } } },
    });
    expect(promo.restrictions).toEqual({ first_time_transaction: false, minimum_amount: 1000, minimum_amount_currency: 'jpy', currency_options: { usd: { minimum_amount: 900 } } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const attempt = async (currency: string, amount: number) =>
      t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: await customer(clock), items: [{ price: await price(currency, amount) }], trial_end: 'now', promotion_code: promo.id } });
    expect(errorOf(await attempt('usd', 899))).toEqual([400, 'promotion_code_minimum_amount', 'promotion_code']);
    expect(errorOf(await attempt('eur', 5000))).toEqual([400, 'promotion_code_minimum_amount', 'promotion_code']);
    const sub = await subscribe(t, { customer: await customer(clock), items: [{ price: await price('usd', 900) }], trial_end: 'now', promotion_code: promo.id });
    expect((await firstInvoice(sub.id)).total).toBe(810);
    // Options extend a minimum in its own currency; that currency is not an option of itself.
    const create = (restrictions: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/promotion_codes', payload: { coupon: c.id, restrictions } });
    expect(errorOf(await create({ currency_options: { usd: { minimum_amount: 900 } } }))).toEqual([400, 'parameter_invalid', 'restrictions[currency_options]']);
    expect(errorOf(await create({ minimum_amount: 1000, minimum_amount_currency: 'jpy', currency_options: { jpy: { minimum_amount: 900 } } }))).toEqual([400, 'parameter_invalid', 'restrictions[currency_options][jpy]']);
    expect(errorOf(await create({ minimum_amount: 1000, minimum_amount_currency: 'jpy', currency_options: { xx1: { minimum_amount: 900 } } }))).toEqual([400, 'parameter_invalid', 'restrictions[currency_options][xx1]']);
  });

  it('JPY minimum charge is ¥50 and formatting has no decimals', () => {
    expect(minimumCharge('jpy')).toBe(50);
    expect(formatMoney({ amount: 1000, currency: 'jpy' })).toBe('¥1,000');
    expect(formatMoney({ amount: 15000, currency: 'krw' })).toBe('₩15,000');
  });
});

describe("Stripe's API exponents where they differ from ISO 4217", () => {
  // Stripe: "ISK will remain a two-decimal currency in the Stripe API, and an ISK amount of `100`
  // will continue to represent 1 króna" (support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds).
  it('ISK amounts are two-decimal in the API: 50000 means 500 kr', () => {
    expect(currencyExponent('isk')).toBe(2);
    expect(formatMoney({ amount: 50_000, currency: 'isk' })).toMatch(/^ISK\s500(\.00)?$/);
  });
  it('an ISK invoice line describes the amount Stripe will charge (unit_amount 50000 = 500 kr)', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('isk', 50_000) }], trial_end: 'now' });
    const inv = await firstInvoice(sub.id);
    expect(inv.lines.data[0].description).toMatch(/ISK\s500(\.00)? \/ month/);
  });
  // Stripe lists MGA among its zero-decimal currencies (docs.stripe.com/currencies#zero-decimal); ISO says 2.
  it('MGA is zero-decimal in the API: 5000 means Ar 5,000', () => {
    expect(currencyExponent('mga')).toBe(0);
  });
});

describe('three-decimal currencies (KWD, BHD, JOD)', () => {
  it('BHD and JOD are three-decimal and format with three decimals', () => {
    expect([currencyExponent('bhd'), currencyExponent('jod'), currencyExponent('kwd')]).toEqual([3, 3, 3]);
    expect(formatMoney({ amount: 5120, currency: 'bhd' })).toBe('BHD\u00a05.120');
  });
});

describe('multi-currency prices (currency_options)', () => {
  it('a EUR customer picks the EUR option (€9.00 of a $10.00 price)', async () => {
    const p = await price('usd', 1000, { currency_options: { eur: { unit_amount: 900 }, jpy: { unit_amount: 1500 } } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'eur' });
    const sub = await subscribe(t, { customer: cus, items: [{ price: p }], trial_end: 'now' });
    expect(sub.currency).toBe('eur');
    const inv = await firstInvoice(sub.id);
    expect([inv.currency, inv.total]).toEqual(['eur', 900]);
  });

  it('subscription create accepts `currency` (Stripe param) and bills the EUR option', async () => {
    const p = await price('usd', 1000, { currency_options: { eur: { unit_amount: 900 } } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: p }], trial_end: 'now', currency: 'eur' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.currency).toBe('eur');
    expect((await firstInvoice(res.body.id)).total).toBe(900);
  });

  it('currency other than the customer\'s → 400 on currency, nothing written', async () => {
    const p = await price('usd', 1000, { currency_options: { eur: { unit_amount: 900 } } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'usd' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: p }], trial_end: 'now', currency: 'eur' } });
    expect([res.status, res.body.error?.param, res.body.error?.code]).toEqual([400, 'currency', 'currency_mismatch']);
    expect((await get(t, `/v1/subscriptions?customer=${cus}`)).data).toHaveLength(0);
  });

  it('a EUR subscription upgraded mid-period prorates in EUR option amounts', async () => {
    // [Mar 1, Apr 1) 31 d, change Mar 11 → 21 d left: −900×21/31 = −609.68 → −610 ; 2700×21/31 = 1829.03 → 1829
    const a = await price('usd', 1000, { currency_options: { eur: { unit_amount: 900 } } });
    const b = await price('usd', 3000, { currency_options: { eur: { unit_amount: 2700 } } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'eur' });
    const sub = await subscribe(t, { customer: cus, items: [{ price: a }], trial_end: 'now' });
    await t.advance(clock, '2026-03-11T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: b }] });
    const pending = (await get(t, `/v1/invoiceitems?customer=${cus}&pending=true`)).data as { amount: number; currency: string }[];
    expect(pending.map((p) => [p.amount, p.currency]).sort()).toEqual([[-610, 'eur'], [1829, 'eur']].sort());
  });
});

describe('coupons in several currencies (currency_options)', () => {
  it('an amount_off coupon takes its EUR option off a EUR subscription, its USD amount off a USD one', async () => {
    const coupon = await ok(t, 'POST', '/v1/coupons', { amount_off: 300, currency: 'usd', currency_options: { EUR: { amount_off: 250 } }, duration: 'forever' });
    expect([coupon.currency, coupon.amount_off, coupon.currency_options]).toEqual(['usd', 300, { eur: { amount_off: 250 } }]);
    expect((await get(t, `/v1/coupons/${coupon.id}`)).currency_options).toEqual({ eur: { amount_off: 250 } });
    const p = await price('usd', 1000, { currency_options: { eur: { unit_amount: 900 }, gbp: { unit_amount: 800 } } });

    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const eur = await subscribe(t, { customer: await customer(clock, { currency: 'eur' }), items: [{ price: p }], trial_end: 'now', discounts: [{ coupon: coupon.id }] });
    const eurInv = await firstInvoice(eur.id);
    expect([eurInv.currency, eurInv.subtotal, eurInv.total_discount_amounts.map((d: { amount: number }) => d.amount), eurInv.total]).toEqual(['eur', 900, [250], 650]);
    const usd = await subscribe(t, { customer: await customer(clock), items: [{ price: p }], trial_end: 'now', discounts: [{ coupon: coupon.id }] });
    expect((await firstInvoice(usd.id)).total).toBe(700);
    // The next month's EUR renewal keeps the option's amount (forever).
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = await get(t, `/v1/invoices/${(await get(t, `/v1/subscriptions/${eur.id}`)).latest_invoice}`);
    expect([renewal.currency, renewal.total, iso(renewal.period_start)]).toEqual(['eur', 650, '2026-04-01T00:00:00Z']);

    // No GBP option: refused on a GBP subscription, nothing written.
    const gbpCustomer = await customer(clock, { currency: 'gbp' });
    const gbp = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: gbpCustomer, items: [{ price: p }], trial_end: 'now', discounts: [{ coupon: coupon.id }] } });
    expect([gbp.status, gbp.body.error?.code, gbp.body.error?.param]).toEqual([400, 'coupon_currency_mismatch', 'discounts[0][coupon]']);
    expect((await get(t, `/v1/subscriptions?customer=${gbpCustomer}`)).data).toHaveLength(0);
  });

  it('refuses currency options on a percent_off coupon, for the coupon\'s own currency, or with a bad code', async () => {
    const bad = async (payload: Record<string, unknown>) => {
      const r = await t.call({ method: 'POST', url: '/v1/coupons', payload });
      return [r.status, r.body.error?.param];
    };
    expect(await bad({ percent_off: 10, currency_options: { eur: { amount_off: 100 } } })).toEqual([400, 'currency_options']);
    expect(await bad({ amount_off: 300, currency: 'usd', currency_options: { usd: { amount_off: 100 } } })).toEqual([400, 'currency_options[usd]']);
    expect(await bad({ amount_off: 300, currency: 'usd', currency_options: { xyz: { amount_off: 100 } } })).toEqual([400, 'currency_options[xyz]']);
    expect(await bad({ amount_off: 300, currency: 'usd', currency_options: { eur: { amount_off: 0 } } })).toEqual([400, 'currency_options[eur][amount_off]']);
    // An update adds currencies; one the coupon has keeps its amount.
    const c = await ok(t, 'POST', '/v1/coupons', { amount_off: 300, currency: 'usd', currency_options: { eur: { amount_off: 250 } } });
    const more = await ok(t, 'POST', `/v1/coupons/${c.id}`, { currency_options: { gbp: { amount_off: 200 }, eur: { amount_off: 250 } } });
    expect(more.currency_options).toEqual({ eur: { amount_off: 250 }, gbp: { amount_off: 200 } });
    const changed = await t.call({ method: 'POST', url: `/v1/coupons/${c.id}`, payload: { currency_options: { eur: { amount_off: 100 } } } });
    expect([changed.status, changed.body.error?.param]).toEqual([400, 'currency_options[eur]']);
    const updated = (await get(t, `/v1/events?type=coupon.updated&limit=1`)).data[0].data;
    expect([updated.object.id, updated.previous_attributes]).toEqual([c.id, { currency_options: { gbp: null } }]);
    // A percent_off coupon shows no currency_options at all.
    expect(Object.hasOwn(await ok(t, 'POST', '/v1/coupons', { percent_off: 10 }), 'currency_options')).toBe(false);
  });
});

describe('mixing currencies', () => {
  it('items of different currencies on one subscription → 400 naming items[1][price]', async () => {
    const usd = await price('usd', 1000);
    const jpy = await price('jpy', 1000);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: usd }, { price: jpy }] } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('items[1][price]');
  });

  it('adding a JPY item to a USD subscription → 400 naming the item', async () => {
    const usd = await price('usd', 1000);
    const jpy = await price('jpy', 1000);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock);
    const sub = await subscribe(t, { customer: cus, items: [{ price: usd }], trial_end: 'now' });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { items: [{ id: sub.items.data[0].id }, { price: jpy }] } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('items[1][price]');
  });

  it('a one-off JPY invoice item for a customer billed in USD → 400 on currency', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'usd' });
    const res = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 500, currency: 'jpy' } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('currency');
  });

  it('a JPY credit balance of ¥300 reduces a ¥1,000 JPY invoice to ¥700 due', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'jpy', balance: -300 });
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now' });
    const inv = await firstInvoice(sub.id);
    expect([inv.total, inv.starting_balance, inv.ending_balance, inv.amount_due]).toEqual([1000, -300, 0, 700]);
    expect((await get(t, `/v1/customers/${cus}`)).balance).toBe(0);
  });

  it('a customer with a USD balance cannot be subscribed in JPY (400), and the balance is untouched', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { currency: 'usd', balance: -500 });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now' } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('items[0][price]');
    expect((await get(t, `/v1/customers/${cus}`)).balance).toBe(-500);
  });

  it('observed: a −500 balance set before the customer has a currency is applied as ¥500 to the first JPY invoice', async () => {
    // Not asserted as a defect: Stripe's customer.balance is "in the customer's currency"; with none set yet,
    // the first invoice fixes it. Pinned so a change is noticed.
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await customer(clock, { balance: -500 });
    const sub = await subscribe(t, { customer: cus, items: [{ price: await price('jpy', 1000) }], trial_end: 'now' });
    const inv = await firstInvoice(sub.id);
    expect([inv.total, inv.starting_balance, inv.amount_due]).toEqual([1000, -500, 500]);
  });
});

describe('PayPal amounts for currencies PayPal takes without decimals', () => {
  // PayPal: HUF, JPY and TWD "do not support decimals. Decimal amounts cause an error." Stripe-style minor
  // units for HUF/TWD are two-decimal (17500 = 175 Ft), so the value sent must be "175", not "175.00".
  it('HUF 17500 → "175" and TWD 10000 → "100"', () => {
    expect(toPayPalValue(17_500, 'huf')).toBe('175');
    expect(toPayPalValue(10_000, 'twd')).toBe('100');
  });
});
