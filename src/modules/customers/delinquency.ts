import type { Queryable } from '../../db/index.js';
import { recordEvents } from '../events/service.js';
import type { CustomerRow } from './repository.js';
import { customerObjects } from './service.js';

/**
 * Stripe's `customer.delinquent` follows the most recent state change of any of the customer's
 * invoices: an automatic payment failure or an invoice passing its due date sets it; paying any invoice,
 * or marking one uncollectible through the API, clears it (dunning giving up does not). Each change is a
 * customer.updated. Customers already in that state are not touched, so a batch of renewals paid on
 * time costs one statement that changes nothing.
 */
export async function setDelinquent(q: Queryable, customerIds: readonly string[], delinquent: boolean, now: Date): Promise<void> {
  if (customerIds.length === 0) return;
  const { rows } = await q.query<CustomerRow>(
    `UPDATE customers SET delinquent = $2, updated = $3
      WHERE id = ANY($1::text[]) AND delinquent <> $2 AND deleted_at IS NULL RETURNING *`,
    [[...new Set(customerIds)], delinquent, now],
  );
  if (rows.length === 0) return;
  const objects = await customerObjects(q, rows, now);
  await recordEvents(
    q,
    now,
    objects.map((o) => ({ type: 'customer.updated', object: o, previousAttributes: { delinquent: !delinquent }, customerId: o.id })),
  );
}
