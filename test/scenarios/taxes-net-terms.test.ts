import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iso, unix } from '../helpers/billing.js';
import { createTaxApp, type TaxApp } from './taxes-support.js';

// The enterprise NET 30 story. Acme (New York: 4 % sales tax) trains on a custom price of
// USD 12,000 a month, invoiced with collection_method send_invoice and 30 days to pay:
//   12,000.00 + 4 % = 12,480.00 per invoice (1,248,000 cents).
// Feb 1: subscription, invoice 1 opens, due Mar 3, with a hosted link and bank instructions.
// Mar 1: invoice 2 (renewal, finalized an hour later), due Mar 31.
// Mar 3: invoice 1 unpaid → invoice.overdue, subscription past_due.
// Mar 4: invoice 1 paid out of band with a cheque reference → subscription active.
// Mar 10 and 20: two bank transfers referencing invoice 2's number: 5,000.00 (partial), then
//   7,490.00 — the last 10.00 is an overpayment, credited to Acme's balance.
// Apr 1: invoice 3 is paid on its hosted page with a new card.

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp('2026-02-01T00:00:00Z');
});
afterAll(() => t.close());

const TOTAL = 1_248_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const events = async (customer: string, type: string): Promise<any[]> => (await t.ok('GET', `/v1/events?customer=${customer}&type=${type}&limit=100`)).data;

describe('enterprise NET 30', () => {
  it('opens with a due date and a hosted link, goes overdue, is paid out of band; bank transfers settle by reference', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const acme = await t.customer({ name: 'Acme Corp', email: 'ap@acme.example', test_clock: clock, address: { line1: '1 Wall St', city: 'New York', state: 'NY', postal_code: '10005', country: 'US' } }, '');
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_enterprise_training', customer: acme, currency: 'usd', unit_amount: 1_200_000, recurring: { interval: 'month' } });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer: acme, items: [{ price: price.id }], collection_method: 'send_invoice', days_until_due: 30 });
    expect(sub.status).toBe('active');
    const inv1 = await t.ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    expect([inv1.status, inv1.collection_method, inv1.total, inv1.tax, inv1.amount_due, iso(inv1.due_date)]).toEqual(['open', 'send_invoice', TOTAL, 48_000, TOTAL, '2026-03-03T00:00:00Z']);
    expect(inv1.hosted_invoice_url).toMatch(/^http:\/\/localhost:3000\/invoice\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(inv1.invoice_pdf).toBe(`${inv1.hosted_invoice_url}/pdf`);
    expect(inv1.next_payment_attempt).toBeNull();

    // The PDF and the hosted page carry the bank instructions with the invoice number as reference.
    const pdf = await t.pdfText(`/v1/invoices/${inv1.id}/pdf`);
    expect(pdf).toContain('Date due Mar 3, 2026');
    expect(pdf).toContain('$12,480.00 due by Mar 3, 2026');
    expect(pdf).toContain('Sales tax 4% (New York) $480.00');
    expect(pdf).toContain('IBAN: DE89370400440532013000');
    expect(pdf).toContain('ACH routing number: 021000021');
    expect(pdf).toContain(`Payment reference: ${inv1.number}`);
    const hostedPath = new URL(inv1.hosted_invoice_url).pathname;
    const page = await t.app.inject({ method: 'GET', url: hostedPath });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`Invoice ${inv1.number}`);
    expect(page.body).toContain('$12,480.00 due by Mar 3, 2026');
    expect(page.body).toContain(`Payment reference: ${inv1.number}`);
    expect(page.body).toContain(`href="${hostedPath}/pdf"`);
    expect(page.body).toContain('Pay $12,480.00</button>');
    const hostedPdf = await t.app.inject({ method: 'GET', url: `${hostedPath}/pdf` });
    expect(hostedPdf.headers['content-type']).toBe('application/pdf');
    const tampered = await t.app.inject({ method: 'GET', url: hostedPath.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) });
    expect(tampered.statusCode).toBe(400);

    // Mar 1 renewal; Mar 3: invoice 1 is overdue and the subscription past_due.
    await t.advance(clock, '2026-03-02T00:00:00Z');
    expect((await t.ok('GET', `/v1/invoices/${inv1.id}`)).overdue).toBe(false);
    expect(await events(acme, 'invoice.overdue')).toHaveLength(0);
    await t.advance(clock, '2026-03-03T06:00:00Z');
    const overdue = await events(acme, 'invoice.overdue');
    expect(overdue.map((e) => [e.data.object.id, e.created])).toEqual([[inv1.id, unix('2026-03-03T00:00:00Z')]]);
    expect((await t.ok('GET', `/v1/invoices/${inv1.id}`)).overdue).toBe(true);
    expect((await t.ok('GET', `/v1/subscriptions/${sub.id}`)).status).toBe('past_due');
    expect(await t.pdfText(`/v1/invoices/${inv1.id}/pdf`)).toContain('Overdue — $12,480.00 due by Mar 3, 2026');

    // Mar 4: a cheque arrives.
    await t.advance(clock, '2026-03-04T09:00:00Z');
    const paid = await t.ok('POST', `/v1/invoices/${inv1.id}/pay`, { paid_out_of_band: true, payment_reference: 'Cheque 100234' });
    expect([paid.status, paid.paid_out_of_band, paid.payment_reference, paid.amount_paid, paid.amount_remaining]).toEqual(['paid', true, 'Cheque 100234', TOTAL, 0]);
    expect(paid.status_transitions.paid_at).toBe(unix('2026-03-04T09:00:00Z'));
    expect((await t.ok('GET', `/v1/subscriptions/${sub.id}`)).status).toBe('active');
    expect(await t.pdfText(`/v1/invoices/${inv1.id}/pdf`)).toContain('Paid on Mar 4, 2026 (out of band) — reference Cheque 100234');
    // Still only one overdue notice for invoice 1.
    expect(await events(acme, 'invoice.overdue')).toHaveLength(1);

    // Invoice 2 (the March renewal): paid by two bank transfers.
    const invoices = (await t.ok('GET', `/v1/invoices?subscription=${sub.id}`)).data;
    const inv2 = invoices.find((i: { id: string }) => i.id !== inv1.id);
    expect([inv2.status, inv2.total, iso(inv2.due_date), iso(inv2.period_start)]).toEqual(['open', TOTAL, '2026-03-31T00:00:00Z', '2026-03-01T00:00:00Z']);
    await t.advance(clock, '2026-03-10T10:00:00Z');
    const first = await t.ok('POST', '/v1/bank_transfers', { reference: `Payment ${inv2.number} Acme Corp`, amount: 500_000, currency: 'usd', bank_reference: 'STMT-2026-03-10-001' });
    expect([first.invoice, first.amount, first.applied_amount, first.credited_to_balance, first.received_at]).toEqual([inv2.id, 500_000, 500_000, 0, unix('2026-03-10T10:00:00Z')]);
    const partial = await t.ok('GET', `/v1/invoices/${inv2.id}`);
    expect([partial.status, partial.amount_paid, partial.amount_remaining]).toEqual(['open', 500_000, 748_000]);
    // The same statement line imported twice is one transfer.
    const replay = await t.ok('POST', '/v1/bank_transfers', { reference: `Payment ${inv2.number} Acme Corp`, amount: 500_000, currency: 'usd', bank_reference: 'STMT-2026-03-10-001' });
    expect(replay.id).toBe(first.id);
    expect((await t.ok('GET', `/v1/invoices/${inv2.id}`)).amount_paid).toBe(500_000);
    const unknown = await t.call({ method: 'POST', url: '/v1/bank_transfers', payload: { reference: 'RECUR-9999', amount: 100, currency: 'usd' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'invoice_not_found', param: 'reference' });
    const wrongCurrency = await t.call({ method: 'POST', url: '/v1/bank_transfers', payload: { reference: inv2.number, amount: 100, currency: 'eur' } });
    expect(wrongCurrency.body.error.code).toBe('currency_mismatch');

    await t.advance(clock, '2026-03-20T10:00:00Z');
    const second = await t.ok('POST', '/v1/bank_transfers', { reference: inv2.number.toLowerCase(), amount: 749_000, currency: 'usd', bank_reference: 'STMT-2026-03-20-004' });
    expect([second.applied_amount, second.credited_to_balance]).toEqual([748_000, 1000]);
    const settled = await t.ok('GET', `/v1/invoices/${inv2.id}`);
    expect([settled.status, settled.amount_paid, settled.amount_remaining, settled.paid_out_of_band]).toEqual(['paid', TOTAL, 0, false]);
    const acmeNow = await t.ok('GET', `/v1/customers/${acme}`);
    expect(acmeNow.balance).toBe(-1000);
    const txs = (await t.ok('GET', `/v1/customers/${acme}/balance_transactions`)).data;
    expect(txs.map((x: { type: string; amount: number; ending_balance: number; invoice: string }) => [x.type, x.amount, x.ending_balance, x.invoice])).toEqual([['invoice_overpaid', -1000, -1000, inv2.id]]);
    expect((await t.ok('GET', `/v1/bank_transfers?invoice=${inv2.id}`)).data).toHaveLength(2);

    // Apr 1: invoice 3; the 10.00 of credit is applied at finalisation: 12,470.00 is due. Paid on the hosted page by card.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const inv3 = (await t.ok('GET', `/v1/invoices?subscription=${sub.id}&status=open`)).data[0];
    expect([inv3.total, inv3.starting_balance, inv3.amount_due, iso(inv3.period_start)]).toEqual([TOTAL, -1000, TOTAL - 1000, '2026-04-01T00:00:00Z']);
    const path3 = new URL(inv3.hosted_invoice_url).pathname;
    const before = await t.app.inject({ method: 'GET', url: path3 });
    expect(before.body).not.toContain('with visa');
    const declined = await t.app.inject({ method: 'POST', url: `${path3}/pay`, payload: 'number=4000000000000002&exp_month=12&exp_year=2030&cvc=123', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(declined.statusCode).toBe(402);
    expect(declined.body).toContain('The payment did not go through');
    const card = await t.app.inject({ method: 'POST', url: `${path3}/pay`, payload: 'name=Acme+AP&number=4242+4242+4242+4242&exp_month=12&exp_year=2030&cvc=123', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(card.statusCode).toBe(200);
    expect(card.body).toContain('Thank you! Your payment went through.');
    expect(card.body).toContain('Paid on Apr 1, 2026');
    const inv3Paid = await t.ok('GET', `/v1/invoices/${inv3.id}`);
    expect([inv3Paid.status, inv3Paid.amount_paid, inv3Paid.attempt_count]).toEqual(['paid', TOTAL - 1000, 2]);

    // The hosted link expires 90 days after the due date (invoice 1: Mar 3 → Jun 1).
    await t.advance(clock, '2026-06-01T00:00:01Z');
    const expired = await t.app.inject({ method: 'GET', url: hostedPath });
    expect(expired.statusCode).toBe(410);
    expect(expired.body).toContain('This link has expired');
  });

  it('the customer\'s saved card pays on the hosted page', async () => {
    const customer = await t.customer({ address: { country: 'US', state: 'NY' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 20_000, currency: 'usd', description: 'Strategy workshop' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer, collection_method: 'send_invoice', days_until_due: 14 });
    const open = await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    expect([open.total, open.status]).toEqual([20_800, 'open']);
    const path = new URL(open.hosted_invoice_url).pathname;
    const page = await t.app.inject({ method: 'GET', url: path });
    expect(page.body).toContain('Pay $208.00 with visa •••• 4242');
    const paid = await t.app.inject({ method: 'POST', url: `${path}/pay`, payload: 'use_saved=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(paid.statusCode).toBe(200);
    expect((await t.ok('GET', `/v1/invoices/${open.id}`)).status).toBe('paid');
  });
});
