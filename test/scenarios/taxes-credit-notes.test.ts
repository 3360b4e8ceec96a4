import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iso, unix } from '../helpers/billing.js';
import { createTaxApp, type TaxApp } from './taxes-support.js';

// Credit notes, the customer balance, and the course's entitlements.
//
// A German consumer pays Community Access: 97.00 + 19 % VAT 18.43 = 115.43 (11,543).
// Credit note 1: half the line, 48.50, takes half its tax: 18.43 / 2 = 9.215 → 9.22 (922, half-even
// of 921.5) → 57.72 credited to the balance. The next renewal (115.43) uses it: 57.71 is charged.
// Credit note 2: the rest of the line takes exactly what is left: 48.50 + 9.21 = 57.71 (out of band).
// Together they credit 115.43: the whole invoice, not a cent more.

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const BERLIN = { line1: 'Torstraße 1', postal_code: '10119', city: 'Berlin', country: 'DE' };

describe('credit notes', () => {
  it('half a line to the customer balance, used by the next renewal; the rest out of band; a gapless series', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ name: 'Jonas Weber', test_clock: clock, address: BERLIN });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const inv = await t.ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    expect([inv.status, inv.total, inv.tax, inv.amount_paid]).toEqual(['paid', 11_543, 1843, 11_543]);
    const line = inv.lines.data[0];

    await t.advance(clock, '2026-03-10T00:00:00Z');
    const request = { invoice: inv.id, lines: [{ type: 'invoice_line_item', invoice_line_item: line.id, amount: 4850 }], reason: 'product_unsatisfactory', credit_amount: 5772 };
    const preview = await t.ok('GET', `/v1/credit_notes/preview?invoice=${inv.id}&lines[0][invoice_line_item]=${line.id}&lines[0][amount]=4850&credit_amount=5772`);
    expect([preview.number, preview.subtotal, preview.total, preview.tax_amounts[0].amount]).toEqual([null, 4850, 5772, 922]);
    expect((await t.ok('GET', `/v1/credit_notes?invoice=${inv.id}`)).data).toEqual([]);

    const cn1 = await t.ok('POST', '/v1/credit_notes', request);
    expect([cn1.number, cn1.type, cn1.status, cn1.subtotal, cn1.total, cn1.total_excluding_tax, cn1.credit_amount, cn1.refund_amount]).toEqual([
      'RECUR-CN-0001', 'post_payment', 'issued', 4850, 5772, 4850, 5772, 0,
    ]);
    expect(cn1.tax_amounts.map((x: { display_name: string; percentage: number; taxable_amount: number; amount: number }) => [x.display_name, x.percentage, x.taxable_amount, x.amount])).toEqual([['VAT', 19, 4850, 922]]);
    expect(cn1.effective_at).toBe(unix('2026-03-10T00:00:00Z'));
    const after1 = await t.ok('GET', `/v1/invoices/${inv.id}`);
    expect([after1.status, after1.post_payment_credit_notes_amount, after1.pre_payment_credit_notes_amount, after1.amount_remaining]).toEqual(['paid', 5772, 0, 0]);
    expect((await t.ok('GET', `/v1/customers/${customer}`)).balance).toBe(-5772);

    const cnText = await t.pdfText(`/v1/credit_notes/${cn1.id}/pdf`);
    expect(cnText).toContain('Credit note number RECUR-CN-0001');
    expect(cnText).toContain(`Original invoice ${inv.number}`);
    expect(cnText).toContain('Reason product unsatisfactory');
    expect(cnText).toContain('VAT 19% (Germany) $48.50 $9.22');
    expect(cnText).toContain('Total credited $57.72');
    expect(cnText).toContain('Credited to your account balance: $57.72');

    // The April renewal uses the credit: 11,543 − 5,772 = 5,771 is charged.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const april = (await t.ok('GET', `/v1/invoices?subscription=${sub.id}`)).data[0];
    expect([iso(april.period_start), april.status, april.total, april.starting_balance, april.ending_balance, april.amount_due, april.amount_paid]).toEqual([
      '2026-04-01T00:00:00Z', 'paid', 11_543, -5772, 0, 5771, 5771,
    ]);
    const aprilText = await t.pdfText(`/v1/invoices/${april.id}/pdf`);
    expect(aprilText).toContain('Applied customer credit -$57.72');
    expect(aprilText).toContain('Amount paid -$57.71');
    const txs = (await t.ok('GET', `/v1/customers/${customer}/balance_transactions`)).data;
    expect(txs.map((x: { type: string; amount: number; ending_balance: number; credit_note: string | null; invoice: string }) => [x.type, x.amount, x.ending_balance, x.credit_note, x.invoice])).toEqual([
      ['applied_to_invoice', 5772, 0, null, april.id],
      ['credit_note', -5772, -5772, cn1.id, inv.id],
    ]);

    // The rest of the line: exactly what is left, 4,850 + (1,843 − 922 = 921).
    const cn2 = await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: line.id }], out_of_band_amount: 5771, memo: 'Refunded by bank transfer' });
    expect([cn2.number, cn2.subtotal, cn2.tax_amounts[0].amount, cn2.total, cn2.out_of_band_amount]).toEqual(['RECUR-CN-0002', 4850, 921, 5771, 5771]);
    expect((await t.ok('GET', `/v1/invoices/${inv.id}`)).post_payment_credit_notes_amount).toBe(11_543);
    const more = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: inv.id, amount: 1, credit_amount: 1 } });
    expect(more.status).toBe(400);
    expect(more.body.error.code).toBe('credit_note_exceeds_invoice');
    const mismatch = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: april.id, amount: 1000, credit_amount: 500 } });
    expect(mismatch.body.error).toMatchObject({ code: 'credit_note_settlement_mismatch', param: 'credit_amount' });

    // A credit on an open invoice lowers what is due; voided, it gives it back and keeps its number.
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 10_000, currency: 'usd', description: 'Extra coaching hour' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer, collection_method: 'send_invoice', days_until_due: 30 });
    const open = await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    expect([open.total, open.amount_due]).toEqual([11_900, 11_900]);
    const cn3 = await t.ok('POST', '/v1/credit_notes', { invoice: open.id, amount: 5950, reason: 'order_change' });
    expect([cn3.number, cn3.type, cn3.subtotal, cn3.tax_amounts[0].amount, cn3.total, cn3.pre_payment_amount]).toEqual(['RECUR-CN-0003', 'pre_payment', 5000, 950, 5950, 5950]);
    const reduced = await t.ok('GET', `/v1/invoices/${open.id}`);
    expect([reduced.status, reduced.amount_due, reduced.amount_remaining, reduced.pre_payment_credit_notes_amount]).toEqual(['open', 5950, 5950, 5950]);
    const voided = await t.ok('POST', `/v1/credit_notes/${cn3.id}/void`, {});
    expect([voided.status, voided.number, voided.voided_at]).toEqual(['void', 'RECUR-CN-0003', unix('2026-04-01T02:00:00Z')]);
    expect((await t.ok('GET', `/v1/invoices/${open.id}`)).amount_remaining).toBe(11_900);
    // The whole amount: the invoice is paid by the credit note.
    const cn4 = await t.ok('POST', '/v1/credit_notes', { invoice: open.id, lines: [{ invoice_line_item: open.lines.data[0].id }] });
    expect([cn4.number, cn4.total]).toEqual(['RECUR-CN-0004', 11_900]);
    const closed = await t.ok('GET', `/v1/invoices/${open.id}`);
    expect([closed.status, closed.amount_remaining, closed.amount_paid]).toEqual(['paid', 0, 0]);
    const all = (await t.ok('GET', `/v1/credit_notes?customer=${customer}`)).data;
    expect(all.map((c: { number: string; status: string }) => [c.number, c.status])).toEqual([
      ['RECUR-CN-0004', 'issued'],
      ['RECUR-CN-0003', 'void'],
      ['RECUR-CN-0002', 'issued'],
      ['RECUR-CN-0001', 'issued'],
    ]);
  });

  it('a refund through the payment that paid the invoice', async () => {
    const customer = await t.customer({ address: { country: 'GB' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 30_000, currency: 'usd', description: 'Workshop' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer });
    await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    const paid = await t.ok('POST', `/v1/invoices/${draft.id}/pay`, {});
    expect([paid.status, paid.total]).toEqual(['paid', 36_000]);
    const cn = await t.ok('POST', '/v1/credit_notes', { invoice: paid.id, amount: 12_000, refund_amount: 12_000, reason: 'duplicate' });
    expect([cn.refund_amount, cn.subtotal, cn.tax_amounts[0].amount]).toEqual([12_000, 10_000, 2000]);
    expect(cn.refund).toMatch(/^re_/);
    const refund = await t.ok('GET', `/v1/refunds/${cn.refund}`);
    expect([refund.amount, refund.status, refund.credit_note, refund.invoice]).toEqual([12_000, 'succeeded', cn.id, paid.id]);
    const oob = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: paid.id, amount: 100, refund_amount: 100 } });
    expect(oob.status).toBe(200);
  });

  it('manual balance adjustments need a reason and the customer’s currency', async () => {
    const customer = await t.customer({ currency: 'usd' });
    const noReason = await t.call({ method: 'POST', url: `/v1/customers/${customer}/balance_transactions`, payload: { amount: -2500, currency: 'usd' } });
    expect(noReason.body.error).toMatchObject({ code: 'parameter_missing', param: 'description' });
    const wrong = await t.call({ method: 'POST', url: `/v1/customers/${customer}/balance_transactions`, payload: { amount: -2500, currency: 'eur', description: 'Goodwill' } });
    expect(wrong.body.error).toMatchObject({ code: 'currency_mismatch', param: 'currency' });
    const tx = await t.ok('POST', `/v1/customers/${customer}/balance_transactions`, { amount: -2500, currency: 'usd', description: 'Goodwill for the missed session' });
    expect([tx.object, tx.type, tx.amount, tx.ending_balance, tx.description]).toEqual(['customer_balance_transaction', 'adjustment', -2500, -2500, 'Goodwill for the missed session']);
    expect(await t.ok('GET', `/v1/customers/${customer}/balance_transactions/${tx.id}`)).toEqual(tx);
    // Setting the balance on the customer is recorded as an adjustment too, so the ledger always adds up.
    await t.ok('POST', `/v1/customers/${customer}`, { balance: 1000 });
    const list = (await t.ok('GET', `/v1/customers/${customer}/balance_transactions`)).data;
    expect(list.map((x: { type: string; amount: number; ending_balance: number }) => [x.type, x.amount, x.ending_balance])).toEqual([
      ['adjustment', 3500, 1000],
      ['adjustment', -2500, -2500],
    ]);
  });
});

describe('one-time purchase and entitlements', () => {
  it('the course grants its features for life and Community Access for 90 days, which then ends on its own', async () => {
    const clock = await t.clockAt('2026-03-01T10:00:00Z');
    const customer = await t.customer({ test_clock: clock, address: { country: 'US', state: 'WA' } });
    expect((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data).toEqual([]);
    const purchase = await t.ok('POST', '/v1/purchases', { customer, price: await t.priceId('course_onetime') });
    expect([purchase.invoice.status, purchase.invoice.total, purchase.invoice.amount_paid, purchase.invoice.lines.data[0].description]).toEqual([
      'paid', 99_700, 99_700, '1 × Self-Paced Courses (at $997.00)',
    ]);
    const ends = unix('2026-05-30T10:00:00Z'); // Mar 1 + 90 days
    const summary = (list: { feature: string; source: { type: string }; ends_at: number | null }[]) => list.map((e) => [e.feature, e.source.type, e.ends_at]);
    const expected = [
      ['all_modules', 'purchase', null],
      ['certificate', 'purchase', null],
      ['community_access_days', 'purchase', null],
      ['downloads', 'purchase', null],
      ['forum', 'purchase', ends],
      ['lifetime_access', 'purchase', null],
      ['monthly_webinars', 'purchase', ends],
      ['peer_networking', 'purchase', ends],
      ['resource_downloads', 'purchase', ends],
    ];
    expect(summary(purchase.entitlements)).toEqual(expected);
    const listed = (await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data;
    expect(summary(listed)).toEqual(expected);
    expect(listed.find((e: { feature: string }) => e.feature === 'forum')).toMatchObject({ product: 'prod_community', source: { type: 'purchase', invoice: purchase.invoice.id, product: 'prod_course' }, starts_at: unix('2026-03-01T10:00:00Z') });

    await t.advance(clock, '2026-05-30T09:59:59Z');
    expect((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data).toHaveLength(9);
    await t.advance(clock, '2026-05-30T10:00:00Z');
    expect(summary((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data)).toEqual(expected.filter((e) => e[2] === null));

    // A manual grant of Community Access, and a subscription, show with their own source.
    const grant = await t.ok('POST', `/v1/customers/${customer}/entitlement_grants`, { product: 'prod_community', reason: 'Alumni goodwill', ends_at: unix('2026-06-30T00:00:00Z') });
    const withGrant = (await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data.filter((e: { source: { type: string } }) => e.source.type === 'grant');
    expect(withGrant.map((e: { feature: string; ends_at: number }) => [e.feature, e.ends_at])).toEqual([
      ['forum', unix('2026-06-30T00:00:00Z')],
      ['monthly_webinars', unix('2026-06-30T00:00:00Z')],
      ['peer_networking', unix('2026-06-30T00:00:00Z')],
      ['resource_downloads', unix('2026-06-30T00:00:00Z')],
    ]);
    await t.ok('POST', `/v1/customers/${customer}/entitlement_grants/${grant.id}/revoke`, {});
    expect((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data.some((e: { source: { type: string } }) => e.source.type === 'grant')).toBe(false);

    // Fully credited, the course grants nothing any more.
    await t.ok('POST', '/v1/credit_notes', { invoice: purchase.invoice.id, lines: [{ invoice_line_item: purchase.invoice.lines.data[0].id }], out_of_band_amount: 99_700 });
    expect((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data).toEqual([]);
  });

  it('a declined purchase grants nothing until its invoice is paid', async () => {
    const customer = await t.customer({ address: { country: 'US', state: 'WA' } }, 'pm_card_chargeDeclined');
    const res = await t.call({ method: 'POST', url: '/v1/purchases', payload: { customer, price: await t.priceId('course_onetime') } });
    expect(res.status).toBe(402);
    expect(res.body.error.purchase.entitlements).toEqual([]);
    const invoice = res.body.error.purchase.invoice;
    expect(invoice.status).toBe('open');
    await t.ok('POST', `/v1/invoices/${invoice.id}/pay`, { payment_method: 'pm_card_visa' });
    expect((await t.ok('GET', `/v1/customers/${customer}/entitlements`)).data).toHaveLength(9);
  });
});
