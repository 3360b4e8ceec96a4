import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, unix, ok, errorOf, type BillingApp } from './support.js';

// Bad input and half-written state on recently added parameters and paths, checked by an audit
// (regression tests; the defects it found are in params-rules.test.ts).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) => t.call({ method, url, ...(payload ? { payload } : {}) });
const form = (url: string, body: string) => t.call({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Promise.all(TABLES.map((n) => countRows(t, n)));
async function subRow(id: string) {
  const { rows } = await t.testDb.db.query<Record<string, unknown>>(`SELECT status, current_period_start, current_period_end, latest_invoice, updated FROM subscriptions WHERE id = $1`, [id]);
  return JSON.stringify(rows[0]);
}

async function draftFor(customer: string, amount = 5000, extra: Record<string, unknown> = {}) {
  await ok(t, 'POST', '/v1/invoiceitems', { customer, amount, currency: 'usd' });
  return ok(t, 'POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
}

describe('POST /v1/invoices due_date', () => {
  it('bad due_date values are 400s on due_date and write nothing', async () => {
    const customer = await t.customer();
    await ok(t, 'POST', '/v1/invoiceitems', { customer, amount: 1200, currency: 'usd' });
    const before = await counts();
    const now = unix('2026-03-01T00:00:00Z');
    const base = { customer, collection_method: 'send_invoice', pending_invoice_items_behavior: 'include' };
    for (const due_date of ['abc', 1.5, '1.5', -5, 253_402_300_800, '', true, null, { a: 1 }, now, now - 1]) {
      const r = await call('POST', '/v1/invoices', { ...base, due_date });
      expect([due_date, ...errorOf(r)]).toEqual([due_date, 400, expect.any(String), 'due_date']);
    }
    // with days_until_due, and with charge_automatically (explicit or the default)
    expect(errorOf(await call('POST', '/v1/invoices', { ...base, due_date: now + 86_400, days_until_due: 5 }))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await call('POST', '/v1/invoices', { ...base, collection_method: 'charge_automatically', due_date: now + 86_400 }))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await call('POST', '/v1/invoices', { customer, due_date: now + 86_400 }))).toEqual([400, 'parameter_invalid', 'due_date']);
    // form-encoded
    expect(errorOf(await form('/v1/invoices', `customer=${customer}&collection_method=send_invoice&due_date=abc`))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await form('/v1/invoices', `customer=${customer}&collection_method=send_invoice&due_date=253402300800`))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await form('/v1/invoices', `customer=${customer}&collection_method=send_invoice&due_date=${now + 100}&days_until_due=3`))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(await counts()).toEqual(before);
    // The pending item is still pending (not taken by a half-written invoice).
    const items = await ok(t, 'GET', `/v1/invoiceitems?customer=${customer}&pending=true`);
    expect(items.data.map((i: { amount: number; invoice: string | null }) => [i.amount, i.invoice])).toEqual([[1200, null]]);
  });

  it('form-encoded send_invoice with a due_date is created with that due date', async () => {
    const customer = await t.customer();
    await ok(t, 'POST', '/v1/invoiceitems', { customer, amount: 1200, currency: 'usd' });
    const due = unix('2026-03-20T00:00:00Z');
    const r = await form('/v1/invoices', `customer=${customer}&collection_method=send_invoice&due_date=${due}&pending_invoice_items_behavior=include`);
    expect([r.status, r.body.collection_method, r.body.due_date, r.body.total]).toEqual([200, 'send_invoice', due, 1200]);
  });
});

describe('POST /v1/invoices/:id edits per status', () => {
  it('draft: collection terms change, bad ones are 400 without writing', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await draftFor(customer);
    const ev = await countRows(t, 'events');
    // send_invoice with no due terms: days_until_due missing
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice' }))).toEqual([400, 'parameter_missing', 'days_until_due']);
    // due_date on a charge_automatically draft
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { due_date: unix('2026-04-01T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { days_until_due: 3 }))).toEqual([400, 'parameter_invalid', 'days_until_due']);
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice', due_date: unix('2026-04-01T00:00:00Z'), days_until_due: 3 }))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice', due_date: unix('2026-02-01T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'due_date']);
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice', days_until_due: -1 }))).toEqual([400, 'parameter_invalid', 'days_until_due']);
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice', days_until_due: 366 }))).toEqual([400, 'parameter_invalid', 'days_until_due']);
    // a 400 together with a valid description: nothing of the request is kept
    expect(errorOf(await call('POST', `/v1/invoices/${d.id}`, { description: 'kept?', metadata: { a: '1' }, collection_method: 'send_invoice' }))).toEqual([400, 'parameter_missing', 'days_until_due']);
    expect(await countRows(t, 'events')).toBe(ev);
    const same = await ok(t, 'GET', `/v1/invoices/${d.id}`);
    expect([same.collection_method, same.due_date, same.description, same.metadata]).toEqual(['charge_automatically', null, null, {}]);

    const s = await ok(t, 'POST', `/v1/invoices/${d.id}`, { collection_method: 'send_invoice', days_until_due: 10 });
    expect([s.collection_method, s.due_date]).toEqual(['send_invoice', unix('2026-03-11T00:00:00Z')]);
    const s2 = await ok(t, 'POST', `/v1/invoices/${d.id}`, { due_date: unix('2026-04-02T00:00:00Z') });
    expect(s2.due_date).toBe(unix('2026-04-02T00:00:00Z'));
    const c = await ok(t, 'POST', `/v1/invoices/${d.id}`, { collection_method: 'charge_automatically' });
    expect([c.collection_method, c.due_date]).toEqual(['charge_automatically', null]);
    const desc = await ok(t, 'POST', `/v1/invoices/${d.id}`, { description: 'hello', auto_advance: false });
    expect([desc.description, desc.auto_advance]).toEqual(['hello', false]);
    expect((await ok(t, 'POST', `/v1/invoices/${d.id}`, { description: '' })).description).toBe(null);
  });

  it('open / paid / void / uncollectible: description and metadata editable, collection terms 400 invoice_not_editable', async () => {
    const customer = await t.customer();
    const mk = async () => {
      const d = await draftFor(customer, 5000, { collection_method: 'send_invoice', days_until_due: 30 });
      return ok(t, 'POST', `/v1/invoices/${d.id}/finalize`, { auto_advance: false });
    };
    const open = await mk();
    const paid = await mk();
    await ok(t, 'POST', `/v1/invoices/${paid.id}/pay`, { paid_out_of_band: true });
    const voided = await mk();
    await ok(t, 'POST', `/v1/invoices/${voided.id}/void`);
    const unc = await mk();
    await ok(t, 'POST', `/v1/invoices/${unc.id}/mark_uncollectible`);
    for (const [inv, status] of [[open, 'open'], [paid, 'paid'], [voided, 'void'], [unc, 'uncollectible']] as const) {
      const ev = await countRows(t, 'events');
      for (const [k, v] of [['collection_method', 'charge_automatically'], ['days_until_due', 3], ['due_date', unix('2026-05-01T00:00:00Z')]] as const) {
        expect([status, k, ...errorOf(await call('POST', `/v1/invoices/${inv.id}`, { description: 'x', [k]: v }))]).toEqual([status, k, 400, 'invoice_not_editable', k]);
      }
      expect(await countRows(t, 'events')).toBe(ev);
      const e = await ok(t, 'POST', `/v1/invoices/${inv.id}`, { description: 'note', metadata: { k: 'v' } });
      expect([e.status, e.description, e.metadata]).toEqual([status, 'note', { k: 'v' }]);
      const u = await ok(t, 'POST', `/v1/invoices/${inv.id}`, { description: '', metadata: { k: '' } });
      expect([u.description, u.metadata, u.due_date]).toEqual([null, {}, open.due_date]);
    }
    for (const inv of [paid, voided]) {
      expect(errorOf(await call('POST', `/v1/invoices/${inv.id}`, { auto_advance: true }))).toEqual([400, 'invoice_not_editable', 'auto_advance']);
    }
  });
});

describe('customers invoice_prefix', () => {
  it('bad prefixes are 400 on invoice_prefix; "" unsets; numbering per prefix is gapless and resumes', async () => {
    for (const p of ['acme', 'AB', 'ABCDEFGHIJKLM', 'AC-ME', 'AC ME', 'ÄBC', 123, true]) {
      expect([p, ...errorOf(await call('POST', '/v1/customers', { invoice_prefix: p }))]).toEqual([p, 400, 'parameter_invalid', 'invoice_prefix']);
    }
    const c = await ok(t, 'POST', '/v1/customers', { invoice_prefix: '' });
    expect(c.invoice_prefix).toBe(null);
    const a = await ok(t, 'POST', '/v1/customers', { invoice_prefix: 'ACMEAUD1' });
    expect(errorOf(await call('POST', `/v1/customers/${a.id}`, { invoice_prefix: 'x' }))).toEqual([400, 'parameter_invalid', 'invoice_prefix']);
    expect((await ok(t, 'GET', `/v1/customers/${a.id}`)).invoice_prefix).toBe('ACMEAUD1');
    const fin = async (customer: string) => {
      const d = await draftFor(customer, 700, { collection_method: 'send_invoice', days_until_due: 5 });
      return (await ok(t, 'POST', `/v1/invoices/${d.id}/finalize`, { auto_advance: false })).number as string;
    };
    const n1 = await fin(a.id);
    const n2 = await fin(a.id);
    await ok(t, 'POST', `/v1/customers/${a.id}`, { invoice_prefix: 'ACMEAUD2' });
    const n3 = await fin(a.id);
    await ok(t, 'POST', `/v1/customers/${a.id}`, { invoice_prefix: '' });
    const n4 = await fin(a.id);
    await ok(t, 'POST', `/v1/customers/${a.id}`, { invoice_prefix: 'ACMEAUD1' });
    const n5 = await fin(a.id);
    expect([n1, n2, n3, n4.startsWith('RECUR-'), n5]).toEqual(['ACMEAUD1-0001', 'ACMEAUD1-0002', 'ACMEAUD2-0001', true, 'ACMEAUD1-0003']);
    // issued numbers unchanged
    const list = await ok(t, 'GET', `/v1/invoices?customer=${a.id}&limit=100`);
    expect(list.data.map((i: { number: string }) => i.number).reverse()).toEqual([n1, n2, n3, n4, n5]);
    // a valid prefix with a bad payment method in the same request: nothing kept
    const ev = await countRows(t, 'events');
    const bad = await call('POST', `/v1/customers/${a.id}`, { invoice_prefix: 'HALFW', invoice_settings: { default_payment_method: 'pm_nope' } });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect([(await ok(t, 'GET', `/v1/customers/${a.id}`)).invoice_prefix, await countRows(t, 'events')]).toEqual(['ACMEAUD1', ev]);
    // form-encoded
    const f = await form('/v1/customers', 'invoice_prefix=FORMPFX');
    expect([f.status, f.body.invoice_prefix]).toEqual([200, 'FORMPFX']);
  });
});

describe('subscription discounts on update', () => {
  it('discounts[0][discount]: another customer\'s, a removed one, "" are 400 on discounts[0][discount], nothing changes', async () => {
    const coupon = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const price = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const c1 = await t.customer({ card: 'pm_card_visa' });
    const c2 = await t.customer({ card: 'pm_card_visa' });
    const s1 = await ok(t, 'POST', '/v1/subscriptions', { customer: c1, items: [{ price }], discounts: [{ coupon: coupon.id }] });
    const s2 = await ok(t, 'POST', '/v1/subscriptions', { customer: c2, items: [{ price }], discounts: [{ coupon: coupon.id }] });
    const [d1, d2] = [s1.discounts[0], s2.discounts[0]];
    const item = s1.items.data[0].id;
    const before = await counts();
    for (const discount of [d2, '', 'di_nope', coupon.id]) {
      const r = await call('POST', `/v1/subscriptions/${s1.id}`, { items: [{ id: item, price: group }], discounts: [{ discount }] });
      expect([discount, ...errorOf(r)]).toEqual([discount, 400, 'resource_missing', 'discounts[0][discount]']);
    }
    expect(await counts()).toEqual(before);
    const same = await ok(t, 'GET', `/v1/subscriptions/${s1.id}`);
    expect([same.discounts, same.items.data[0].price.id]).toEqual([[d1], price]);
    // kept
    const kept = await ok(t, 'POST', `/v1/subscriptions/${s1.id}`, { discounts: [{ discount: d1 }], metadata: { a: '1' } });
    expect(kept.discounts).toEqual([d1]);
    // a removed discount cannot be named again
    await ok(t, 'DELETE', `/v1/subscriptions/${s1.id}/discount`);
    expect(errorOf(await call('POST', `/v1/subscriptions/${s1.id}`, { discounts: [{ discount: d1 }] }))).toEqual([400, 'resource_missing', 'discounts[0][discount]']);
  });

  it('coupon "" and promotion_code "" together with items: the discount goes, the items change', async () => {
    const coupon = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const price = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const c = await t.customer({ card: 'pm_card_visa' });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer: c, items: [{ price }], discounts: [{ coupon: coupon.id }] });
    const u = await ok(t, 'POST', `/v1/subscriptions/${s.id}`, { coupon: '', promotion_code: '', items: [{ id: s.items.data[0].id, price: group }], proration_behavior: 'none' });
    expect([u.discounts, u.items.data[0].price.id]).toEqual([[], group]);
    // both ways at once with a value is refused
    expect(errorOf(await call('POST', `/v1/subscriptions/${s.id}`, { coupon: coupon.id, discounts: [{ coupon: coupon.id }] }))).toEqual([400, 'parameter_invalid', 'coupon']);
  });
});

// ---------------------------------------------------------------------------------------------
// Pagination on every list

describe('list cursors and limit bounds', () => {
   
  const lists: { url: string; ids: string[] }[] = [];
  let foreign = '';
  beforeAll(async () => {
    const clock1 = await t.clockAt('2026-03-01T00:00:00Z');
    await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ card: 'pm_card_visa' });
    const c2 = await t.customer({ card: 'pm_card_visa' });
    foreign = customer;
    const prod1 = await ok(t, 'POST', '/v1/products', { name: 'P1' });
    await ok(t, 'POST', '/v1/products', { name: 'P2' });
    await ok(t, 'POST', '/v1/prices', { product: prod1.id, unit_amount: 100, currency: 'usd' });
    await ok(t, 'POST', '/v1/coupons', { percent_off: 5, duration: 'once' });
    await ok(t, 'POST', '/v1/coupons', { percent_off: 6, duration: 'once' });
    const price = await t.priceId('community_monthly');
    await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }] });
    await ok(t, 'POST', '/v1/subscriptions', { customer: c2, items: [{ price }] });
    const inv = await draftFor(customer, 1000);
    await ok(t, 'POST', `/v1/invoices/${inv.id}/finalize`, { auto_advance: false });
    await draftFor(c2, 1000);
    await ok(t, 'POST', '/v1/tax_rates', { display_name: 'VAT', country: 'DE', tax_type: 'vat', percentage: '19' });
    await ok(t, 'POST', '/v1/tax_rates', { display_name: 'VAT', country: 'FR', tax_type: 'vat', percentage: '20' });
    await ok(t, 'POST', '/v1/payment_intents', { amount: 500, currency: 'usd', customer, payment_method: 'pm_card_visa', confirm: true });
    await ok(t, 'POST', '/v1/payment_intents', { amount: 600, currency: 'usd', customer, payment_method: 'pm_card_visa', confirm: true });
    await ok(t, 'POST', `/v1/payment_methods/pm_card_mastercard/attach`, { customer });
    await ok(t, 'POST', '/v1/invoiceitems', { customer: c2, amount: 2000, currency: 'usd' });
    const cnInv = await draftFor(c2, 3000);
    const open = await ok(t, 'POST', `/v1/invoices/${cnInv.id}/finalize`, { auto_advance: false });
    await ok(t, 'POST', '/v1/credit_notes', { invoice: open.id, amount: 100 });
    await ok(t, 'POST', '/v1/credit_notes', { invoice: open.id, amount: 200 });
    void clock1;
    for (const url of [
      '/v1/customers', '/v1/products', '/v1/prices', '/v1/invoices', '/v1/invoiceitems', '/v1/events', '/v1/coupons',
      '/v1/payment_intents', '/v1/subscriptions', '/v1/test_helpers/test_clocks', '/v1/credit_notes', '/v1/tax_rates',
      `/v1/invoices/${open.id}/lines`, `/v1/customers/${customer}/payment_methods?type=card`,
    ]) {
      const all = await ok(t, 'GET', `${url}${url.includes('?') ? '&' : '?'}limit=100`);
      expect(all.data.length, url).toBeGreaterThanOrEqual(2);
      lists.push({ url, ids: all.data.map((o: { id: string }) => o.id) });
    }
  });
  const q = (url: string, qs: string) => `${url}${url.includes('?') ? '&' : '?'}${qs}`;

  it('an unknown id, an id of another type, "" as a cursor: 400 resource_missing on the cursor param', async () => {
    for (const { url } of lists) {
      for (const param of ['starting_after', 'ending_before']) {
        // (invoice lines with "": fail.test.ts)
        for (const v of ['nope_123', ...(url.endsWith('/lines') ? [] : ['']), 'cus_00000000000000000000000']) {
          const r = await call('GET', q(url, `${param}=${v}`));
          expect([url, param, v, ...errorOf(r)]).toEqual([url, param, v, 400, 'resource_missing', param]);
        }
      }
    }
    // another type: a coupon id on every other list
    const cp = (await ok(t, 'GET', '/v1/coupons?limit=1')).data[0].id;
    for (const { url } of lists.filter((l) => !l.url.startsWith('/v1/coupons'))) {
      expect([url, ...errorOf(await call('GET', q(url, `starting_after=${cp}`)))]).toEqual([url, 400, 'resource_missing', 'starting_after']);
    }
    void foreign;
  });

  it('both cursors at once: 400', async () => {
    // (invoice lines: fail.test.ts)
    for (const { url, ids } of lists.filter((l) => !l.url.endsWith('/lines'))) {
      const r = await call('GET', q(url, `starting_after=${ids[0]}&ending_before=${ids[1]}`));
      expect([url, r.status, r.body.error?.param]).toEqual([url, 400, 'ending_before']);
    }
  });

  it('limit bounds: 0, 101, -1, 1.5, abc, "" are 400 on limit; 1 and 100 work', async () => {
    for (const { url } of lists) {
      for (const limit of ['0', '101', '-1', '1.5', 'abc', '']) {
        const r = await call('GET', q(url, `limit=${limit}`));
        expect([url, limit, r.status, r.body.error?.param]).toEqual([url, limit, 400, 'limit']);
      }
      expect((await ok(t, 'GET', q(url, 'limit=1'))).data.length).toBe(1);
    }
  });

  it('a valid cursor pages forwards and backwards', async () => {
    for (const { url, ids } of lists) {
      const fwd = await ok(t, 'GET', q(url, `limit=1&starting_after=${ids[0]}`));
      expect([url, fwd.data.map((o: { id: string }) => o.id)]).toEqual([url, [ids[1]]]);
      const back = await ok(t, 'GET', q(url, `limit=1&ending_before=${ids[1]}`));
      expect([url, back.data.map((o: { id: string }) => o.id), back.has_more]).toEqual([url, [ids[0]], false]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Previews of a subscription whose period ended but was not renewed (real time, no worker run)

describe('upcoming / create_preview after an unrenewed period end', () => {
  it('with and without proposed items, over several due periods: nothing written', async () => {
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
    const customer = await t.customer({ card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    const item = s.items.data[0].id;
    await ok(t, 'POST', '/v1/invoiceitems', { customer, amount: 333, currency: 'usd' });
    t.clock.set(new Date('2026-05-15T00:00:00Z')); // two and a half periods late
    const before = [await counts(), await subRow(s.id), await countRows(t, 'invoice_items')];
    const urls = [
      `/v1/invoices/upcoming?subscription=${s.id}`,
      `/v1/invoices/upcoming?customer=${customer}`,
      `/v1/invoices/upcoming?subscription=${s.id}&subscription_items[0][id]=${item}&subscription_items[0][price]=${group}`,
      `/v1/invoices/upcoming?subscription=${s.id}&subscription_billing_cycle_anchor=now`,
    ];
    for (const u of urls) {
      const r = await call('GET', u);
      expect([u, r.status]).toEqual([u, 200]);
    }
    for (const body of [
      { subscription: s.id },
      { customer },
      { subscription: s.id, subscription_details: { items: [{ id: item, price: group }] } },
      { customer, subscription_details: { items: [{ price: group }] } },
    ]) {
      const r = await call('POST', '/v1/invoices/create_preview', body);
      expect([JSON.stringify(body), r.status]).toEqual([JSON.stringify(body), 200]);
    }
    expect([await counts(), await subRow(s.id), await countRows(t, 'invoice_items')]).toEqual(before);
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
  });

  it('a proposed change to a subscription whose catch-up would end it: 400 invoice_upcoming_none, nothing written', async () => {
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
    const customer = await t.customer({ card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], cancel_at: unix('2026-04-01T00:00:00Z') });
    const item = s.items.data[0].id;
    t.clock.set(new Date('2026-04-03T00:00:00Z'));
    const before = [await counts(), await subRow(s.id)];
    const r = await call('GET', `/v1/invoices/upcoming?subscription=${s.id}&subscription_items[0][id]=${item}&subscription_items[0][price]=${group}`);
    expect(errorOf(r)).toEqual([400, 'invoice_upcoming_none', 'subscription']);
    const p = await call('POST', '/v1/invoices/create_preview', { subscription: s.id, subscription_details: { items: [{ id: item, price: group }] } });
    expect(errorOf(p)).toEqual([400, 'invoice_upcoming_none', 'subscription']);
    expect([await counts(), await subRow(s.id)]).toEqual(before);
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
  });
});
