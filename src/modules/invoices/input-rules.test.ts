import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { usingPostgres } from '../../../test/helpers/db.js';

// Input rules of invoices and invoice items, as Stripe: metadata updates follow the shared rules,
// period[end] is not before period[start], days_until_due goes with send_invoice only, pay accepts
// off_session, and an invoice item is deleted once however many deletes race.

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const n = async (sql: string, params: unknown[] = []) => Number((await t.testDb.db.query<{ n: string }>(sql, params)).rows[0]!.n);
const form = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

async function sentInvoice(): Promise<string> {
  const cus = await t.customer({});
  await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 500, currency: 'usd' } });
  const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 30 } });
  expect(inv.status).toBe(200);
  return inv.body.id as string;
}

describe('POST /v1/invoices/{id} metadata', () => {
  it('refuses a merge that would leave 51 keys (400 on metadata), writing nothing', async () => {
    const id = await sentInvoice();
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect((await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: fifty } })).status).toBe(200);
    const events = await n(`SELECT count(*) AS n FROM events`);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: { extra: 'v' } } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'metadata', message: 'metadata can have at most 50 keys' });
    expect(Object.keys((await t.call({ method: 'GET', url: `/v1/invoices/${id}` })).body.metadata)).toHaveLength(50);
    expect(await n(`SELECT count(*) AS n FROM events`)).toBe(events);
    // Replacing one key with another keeps 50: allowed.
    const swap = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: { k0: '', extra: 'v' } } });
    expect(swap.status).toBe(200);
    expect(Object.keys(swap.body.metadata)).toHaveLength(50);
  });

  it('a "" value unsets its key; metadata="" unsets every key', async () => {
    const id = await sentInvoice();
    await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: { keep: '1', drop: '2' } } });
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: { drop: '' } } });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ keep: '1' });
    const all = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: 'metadata=', headers: form });
    expect(all.status).toBe(200);
    expect(all.body.metadata).toEqual({});
  });
});

describe('POST /v1/invoiceitems period', () => {
  it('refuses period[end] before period[start] (400 on period[end]), writing nothing; equal is fine', async () => {
    const cus = await t.customer({});
    const before = [await n(`SELECT count(*) AS n FROM invoice_items`), await n(`SELECT count(*) AS n FROM events`)];
    const res = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 5, currency: 'usd', period: { start: 2_000_000_000, end: 1_999_999_999 } } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'period[end]' });
    expect([await n(`SELECT count(*) AS n FROM invoice_items`), await n(`SELECT count(*) AS n FROM events`)]).toEqual(before);
    const same = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 5, currency: 'usd', period: { start: 2_000_000_000, end: 2_000_000_000 } } });
    expect(same.status).toBe(200);
    expect(same.body.period).toEqual({ start: 2_000_000_000, end: 2_000_000_000 });
  });
});

describe('POST /v1/invoices days_until_due', () => {
  it('refuses days_until_due with charge_automatically, explicit or by default (400 on days_until_due), writing nothing', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 500, currency: 'usd' } });
    const invoices = await n(`SELECT count(*) AS n FROM invoices`);
    for (const payload of [{ customer: cus, days_until_due: 3 }, { customer: cus, collection_method: 'charge_automatically', days_until_due: 0 }]) {
      const res = await t.call({ method: 'POST', url: '/v1/invoices', payload });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'days_until_due' });
    }
    expect(await n(`SELECT count(*) AS n FROM invoices`)).toBe(invoices);
    const sent = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 3 } });
    expect(sent.status).toBe(200);
  });
});

describe('POST /v1/invoices/{id}/pay off_session', () => {
  it('accepts off_session (true or false, JSON or form) and pays with the card on file', async () => {
    for (const body of [{ payload: { off_session: true } }, { payload: 'off_session=false', headers: form }]) {
      const cus = await t.customer({ card: 'pm_card_visa' });
      await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 1_000, currency: 'usd' } });
      const draft = (await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } })).body;
      await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/finalize`, payload: {} });
      const paid = await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay`, ...body });
      expect(paid.status, JSON.stringify(paid.body)).toBe(200);
      expect(paid.body).toMatchObject({ status: 'paid', amount_paid: 1_000 });
    }
  });
});

describe('DELETE /v1/invoiceitems/{id}', () => {
  it('deletes once: a second delete is a 404 resource_missing and no second event', async () => {
    const cus = await t.customer({});
    const ii = (await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 77, currency: 'usd' } })).body;
    expect((await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${ii.id}` })).status).toBe(200);
    const again = await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${ii.id}` });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('resource_missing');
    expect(await n(`SELECT count(*) AS n FROM events WHERE type = 'invoiceitem.deleted' AND data->'object'->>'id' = $1`, [ii.id])).toBe(1);
  });

  it.skipIf(!usingPostgres)('concurrent deletes (PostgreSQL): one 200, the others 404 resource_missing, one invoiceitem.deleted event', async () => {
    const cus = await t.customer({});
    for (let round = 0; round < 5; round++) {
      const ii = (await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 77, currency: 'usd' } })).body;
      const res = await Promise.all(Array.from({ length: 4 }, () => t.call({ method: 'DELETE', url: `/v1/invoiceitems/${ii.id}` })));
      expect(res.map((r) => r.status).sort()).toEqual([200, 404, 404, 404]);
      expect(res.filter((r) => r.status === 404).every((r) => r.body.error.code === 'resource_missing')).toBe(true);
      expect(await n(`SELECT count(*) AS n FROM events WHERE type = 'invoiceitem.deleted' AND data->'object'->>'id' = $1`, [ii.id])).toBe(1);
    }
  });
});
