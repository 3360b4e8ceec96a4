import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { stripeClient } from '../../../test/helpers/stripe-sdk.js';
import { openTestDb } from '../../../test/helpers/db.js';
import { ManualClock } from '../../core/time/index.js';
import { loadMigrations, migrate } from '../../db/migrate.js';

// Stripe's tax_id objects of a customer: an enterprise client's VAT number added, listed, retrieved
// and deleted on its own (as Checkout and customers.createTaxId do), shown in customer.tax_ids, and
// printed on the invoices finalized while the customer has it.

let t: TestApp & BillingHelpers;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const refused = async (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: Record<string, unknown>) => {
  const res = await t.call({ method, url, payload });
  return [res.status, res.body.error?.code, res.body.error?.param];
};

describe('customer tax ids', () => {
  it('adds, lists, retrieves and deletes them, each a tax_id object with its own id and event', async () => {
    const customer = (await t.ok('POST', '/v1/customers', { name: 'Atelier SAS', address: { country: 'DE', postal_code: '10117' }, tax_id_data: [{ type: 'eu_vat', value: 'DE136695976' }] })).id;
    const first = (await t.ok('GET', `/v1/customers/${customer}`)).tax_ids;
    expect([first.object, first.has_more, first.url, first.data.length]).toEqual(['list', false, `/v1/customers/${customer}/tax_ids`, 1]);
    expect(first.data[0]).toMatchObject({ object: 'tax_id', country: 'DE', customer, type: 'eu_vat', value: 'DE136695976', owner: { type: 'customer', customer }, verification: { status: 'unavailable' } });
    expect(first.data[0].id).toMatch(/^txi_/);

    const gb = await t.ok('POST', `/v1/customers/${customer}/tax_ids`, { type: 'gb_vat', value: 'GB980780684' });
    expect([gb.object, gb.country, gb.type, gb.value]).toEqual(['tax_id', 'GB', 'gb_vat', 'GB980780684']);
    expect((await t.ok('GET', `/v1/customers/${customer}/tax_ids/${gb.id}`)).id).toBe(gb.id);
    const list = await t.ok('GET', `/v1/customers/${customer}/tax_ids?limit=1`);
    expect([list.data.map((x: { id: string }) => x.id), list.has_more]).toEqual([[first.data[0].id], true]);
    // An update replacing the list keeps the id of a tax id it keeps (and one given twice once).
    const twice = await t.ok('POST', '/v1/customers', { tax_id_data: [{ type: 'us_ein', value: '123456789' }, { type: 'us_ein', value: '123456789' }] });
    expect(twice.tax_ids.data.map((x: { value: string }) => x.value)).toEqual(['123456789']);
    await t.ok('POST', `/v1/customers/${customer}`, { tax_ids: [{ type: 'gb_vat', value: 'GB980780684' }] });
    expect((await t.ok('GET', `/v1/customers/${customer}`)).tax_ids.data.map((x: { id: string }) => x.id)).toEqual([gb.id]);

    // An invoice finalized now prints it ({type, value}, as Stripe's customer_tax_ids).
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 50_000, currency: 'usd', description: 'Leadership offsite' });
    const inv = await t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 });
    const open = await t.ok('POST', `/v1/invoices/${inv.id}/finalize`);
    expect(open.customer_tax_ids).toEqual([{ type: 'gb_vat', value: 'GB980780684' }]);

    const deleted = await t.ok('DELETE', `/v1/customers/${customer}/tax_ids/${gb.id}`);
    expect(deleted).toEqual({ id: gb.id, object: 'tax_id', deleted: true });
    expect((await t.ok('GET', `/v1/customers/${customer}`)).tax_ids.data).toEqual([]);
    // The finalized invoice keeps what it was issued with.
    expect((await t.ok('GET', `/v1/invoices/${inv.id}`)).customer_tax_ids).toEqual([{ type: 'gb_vat', value: 'GB980780684' }]);
    const events = async (type: string, id = gb.id) => (await t.ok('GET', `/v1/events?type=${type}&object_id=${id}`)).data.map((e: { data: { object: { value: string } } }) => e.data.object.value);
    expect([await events('customer.tax_id.created'), await events('customer.tax_id.deleted')]).toEqual([['GB980780684'], ['GB980780684']]);
    // The one given at creation was created with the customer, and deleted by the replacing update.
    const de = first.data[0].id;
    expect([await events('customer.tax_id.created', de), await events('customer.tax_id.deleted', de)]).toEqual([['DE136695976'], ['DE136695976']]);

    expect(await refused('POST', `/v1/customers/${customer}/tax_ids`, { type: 'eu_vat', value: 'DE12345' })).toEqual([400, 'parameter_invalid', 'value']);
    expect(await refused('POST', `/v1/customers/${customer}/tax_ids`, { type: 'xx_vat', value: '1' })).toEqual([400, 'parameter_invalid', 'type']);
    await t.ok('POST', `/v1/customers/${customer}/tax_ids`, { type: 'us_ein', value: '123456789' });
    expect(await refused('POST', `/v1/customers/${customer}/tax_ids`, { type: 'us_ein', value: '123456789' })).toEqual([400, 'resource_already_exists', 'value']);
    expect(await refused('GET', `/v1/customers/${customer}/tax_ids/txi_missing`)).toEqual([404, 'resource_missing', 'id']);
    expect(await refused('DELETE', `/v1/customers/cus_missing/tax_ids/${gb.id}`)).toEqual([404, 'resource_missing', 'id']);
  });

  it('works through the official SDK', async () => {
    const stripe = await stripeClient(t);
    const customer = await stripe.customers.create({ name: 'Sdk Tax Ids' });
    const created = await stripe.customers.createTaxId(customer.id, { type: 'au_abn', value: '51824753556' });
    expect([created.object, created.country, created.type]).toEqual(['tax_id', 'AU', 'au_abn']);
    expect((await stripe.customers.listTaxIds(customer.id)).data.map((x) => x.id)).toEqual([created.id]);
    expect((await stripe.customers.retrieveTaxId(customer.id, created.id)).value).toBe('51824753556');
    expect(await stripe.customers.deleteTaxId(customer.id, created.id)).toMatchObject({ id: created.id, deleted: true });
  });
});

describe('migration 0045', () => {
  it('gives the tax ids stored before it an id each and their customer\'s creation time', async () => {
    const db = await openTestDb({ migrate: false });
    try {
      const clock = new ManualClock('2026-01-01T00:00:00Z');
      const all = loadMigrations();
      await migrate(db.db, clock, all.filter((m) => m.version < 45));
      await db.db.query(
        `INSERT INTO customers (id, tax_ids, created, updated) VALUES ('cus_old', $1, '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z'), ('cus_none', '[]', '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z')`,
        [JSON.stringify([{ type: 'eu_vat', value: 'DE136695976' }, { type: 'us_ein', value: '123456789' }])],
      );
      await migrate(db.db, clock, all);
      const { rows } = await db.db.query<{ id: string; tax_ids: { id: string; type: string; value: string; created: number }[] }>(`SELECT id, tax_ids FROM customers ORDER BY id`);
      const old = rows.find((r) => r.id === 'cus_old')!.tax_ids;
      expect(old.map((x) => [x.type, x.value, x.created])).toEqual([['eu_vat', 'DE136695976', 1748736000], ['us_ein', '123456789', 1748736000]]);
      expect(old.map((x) => x.id)).toEqual([expect.stringMatching(/^txi_[0-9a-f]{22}$/), expect.stringMatching(/^txi_[0-9a-f]{22}$/)]);
      expect(old[0]!.id).not.toBe(old[1]!.id);
      expect(rows.find((r) => r.id === 'cus_none')!.tax_ids).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
