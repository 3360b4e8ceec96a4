import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { recordEvents } from './service.js';

// recordEvents sends one JSON document per distinct object of a batch: events carrying the same
// object (invoice.paid and invoice.payment_succeeded) share it. Every row must still hold exactly the
// data it would have held on its own.

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
});
afterAll(() => t.close());

describe('recordEvents', () => {
  it('stores each event whole, also when events of the batch share their object', async () => {
    const inv = { id: 'in_share', object: 'invoice', status: 'paid', lines: { data: [{ id: 'il_1', amount: 9700, description: 'line\nwith "quotes" and ~' }] } };
    const other = { id: 'in_other', object: 'invoice', status: 'open', amount_due: 500 };
    const now = new Date('2026-03-01T00:00:00Z');
    await t.db.tx((q) =>
      recordEvents(q, now, [
        { type: 'invoice.paid', object: inv, customerId: 'cus_1' },
        { type: 'invoice.updated', object: other, previousAttributes: { amount_due: 400 }, customerId: null },
        { type: 'invoice.payment_succeeded', object: inv, customerId: 'cus_1' },
        // The same object with previous_attributes gets its own document.
        { type: 'invoice.updated', object: inv, previousAttributes: { status: 'open' }, customerId: 'cus_1' },
        { type: 'invoice.finalized', object: { ...inv, status: 'open' }, customerId: 'cus_1' },
      ]),
    );
    const { rows } = await t.db.query<{ type: string; object_id: string; customer_id: string | null; data: unknown; created: Date }>(
      `SELECT type, object_id, customer_id, data, created FROM events ORDER BY id`,
    );
    expect(rows.map((r) => ({ type: r.type, object_id: r.object_id, customer_id: r.customer_id, data: r.data }))).toEqual([
      { type: 'invoice.paid', object_id: 'in_share', customer_id: 'cus_1', data: { object: inv } },
      { type: 'invoice.updated', object_id: 'in_other', customer_id: null, data: { object: other, previous_attributes: { amount_due: 400 } } },
      { type: 'invoice.payment_succeeded', object_id: 'in_share', customer_id: 'cus_1', data: { object: inv } },
      { type: 'invoice.updated', object_id: 'in_share', customer_id: 'cus_1', data: { object: inv, previous_attributes: { status: 'open' } } },
      { type: 'invoice.finalized', object_id: 'in_share', customer_id: 'cus_1', data: { object: { ...inv, status: 'open' } } },
    ]);
    expect(rows.every((r) => new Date(r.created).toISOString() === now.toISOString())).toBe(true);
  });
});
