import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTemplates } from '../../src/modules/notifications/seed.js';
import { createBillingApp } from '../helpers/billing.js';
import { errorOf, events, get, ok, type BillingApp } from './support.js';

// POST /v1/invoices/{id}/send: the invoice email again, on request (Stripe's sendInvoice), with invoice.sent.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-01-05T15:00:00Z');
  await t.testDb.db.tx((q) => seedTemplates(q, t.clock.now()));
});
afterAll(() => t.close());

const messages = async (customer: string) =>
  ((await get(t, `/v1/notification_messages?customer=${customer}&template=invoice_sent&limit=100`)).data as { subject: string; object_id: string; status: string; recipient: string }[])
    .map((m) => [m.subject, m.object_id, m.recipient])
    .reverse();

describe('sending an invoice', () => {
  it('emails an open invoice on request, as often as asked, and records invoice.sent', async () => {
    const customer = await t.customer({ email: 'ap@enterprise.example' });
    await ok(t, 'POST', '/v1/invoiceitems', { customer, amount: 2_500_000, currency: 'usd', description: 'Enterprise training' });
    const draft = await ok(t, 'POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 });
    expect(draft.status).toBe('draft');

    // Stripe finalizes a draft before sending it: the first send finalizes (number, due date) and emails.
    const inv = await ok(t, 'POST', `/v1/invoices/${draft.id}/send`);
    expect([inv.id, inv.status, inv.number, inv.due_date]).toEqual([draft.id, 'open', expect.stringMatching(/-0001$/), 1_770_217_200]);
    expect((await events(t, customer, 'invoice.finalized')).map((e) => e.data.object.id)).toEqual([inv.id]);
    const subject = `Invoice ${inv.number} for $25,000.00, due February 4, 2026`;
    const sent = await ok(t, 'POST', `/v1/invoices/${inv.id}/send`);
    expect([sent.id, sent.status, sent.number]).toEqual([inv.id, 'open', inv.number]);
    expect(await messages(customer)).toEqual([
      [subject, inv.id, 'ap@enterprise.example'],
      [subject, inv.id, 'ap@enterprise.example'],
    ]);
    expect((await events(t, customer, 'invoice.sent')).map((e) => [e.data.object.id, e.data.object.status])).toEqual([
      [inv.id, 'open'],
      [inv.id, 'open'],
    ]);

    // A retried request (same Idempotency-Key) sends nothing more.
    const again = { method: 'POST' as const, url: `/v1/invoices/${inv.id}/send`, headers: { 'idempotency-key': 'send-once' } };
    expect((await t.call(again)).status).toBe(200);
    expect((await t.call(again)).headers['idempotent-replayed']).toBe('true');
    expect(await messages(customer)).toHaveLength(3);

    await ok(t, 'POST', `/v1/invoices/${inv.id}/void`);
    expect(errorOf(await t.call({ method: 'POST', url: `/v1/invoices/${inv.id}/send` }))).toEqual([400, 'invoice_not_finalized', 'id']);
  });
});
