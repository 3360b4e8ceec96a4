import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { listObject, pageByPosition } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery, zExpand } from '../../http/schemas.js';
import { serializeTaxId, withTaxIdIds } from './tax-id-objects.js';
import { updateCustomerRow, type CustomerRow, type StoredTaxId } from './repository.js';
import { customerNow, getCustomerRow, recordTaxIdChanges } from './service.js';
import { taxIdFormat, taxIdObject, zTaxId } from './schemas.js';

// Stripe's tax_id objects of a customer (/v1/customers/{id}/tax_ids): each of the customer's tax ids
// with its own id, shown in customer.tax_ids and on their own. Invoices keep Stripe's {type, value}
// (customer_tax_ids). Recur checks each number's format (reverse charge relies on it) but has no
// registry to verify it against: verification.status is `unavailable`.

export const MAX_TAX_IDS = 25;

function findTaxId(c: CustomerRow, id: string): StoredTaxId {
  const t = c.tax_ids.find((x) => x.id === id);
  if (!t) throw new NotFoundError('tax_id', id);
  return t;
}

export function taxIdRoutes(r: Router): void {
  const tag = 'Customers';
  const params = z.object({ id: z.string().min(1) });
  const oneParams = z.object({ id: z.string().min(1), tax_id: z.string().min(1) });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/tax_ids',
    summary: "Add a tax id to a customer (its format checked; shown on the customer's invoices)",
    tag,
    scope: 'write',
    params,
    body: z.strictObject({ type: zTaxId.shape.type, value: zTaxId.shape.value, expand: zExpand() }).superRefine(taxIdFormat),
    response: taxIdObject,
    handler: async ({ q, now: requestNow, params: p, body }) => {
      const c = await getCustomerRow(q, p.id, { forUpdate: true });
      if (c.tax_ids.length >= MAX_TAX_IDS) throw new InvalidRequestError(`A customer has at most ${MAX_TAX_IDS} tax ids.`, 'value', 'tax_id_limit_reached');
      if (c.tax_ids.some((t) => t.type === body.type && t.value === body.value)) {
        throw new InvalidRequestError(`The customer already has the ${body.type} tax id ${body.value}.`, 'value', 'resource_already_exists');
      }
      const now = await customerNow(q, c.id, requestNow);
      const [added] = withTaxIdIds([body], now);
      const after = await updateCustomerRow(q, c.id, { tax_ids: [...c.tax_ids, added!], updated: now });
      await recordTaxIdChanges(q, now, c.id, c.tax_ids, after.tax_ids);
      return serializeTaxId(c.id, added!);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/tax_ids',
    summary: "List a customer's tax ids",
    tag,
    scope: 'read',
    params,
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, params: p, query }) => {
      const c = await getCustomerRow(q, p.id);
      const { rows, hasMore } = pageByPosition(c.tax_ids, query);
      return listObject(`/v1/customers/${c.id}/tax_ids`, rows.map((t) => serializeTaxId(c.id, t)), hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/tax_ids/{tax_id}',
    summary: 'Retrieve a tax id of a customer',
    tag,
    scope: 'read',
    params: oneParams,
    query: z.strictObject({ expand: zExpand() }),
    response: taxIdObject,
    handler: async ({ q, params: p }) => {
      const c = await getCustomerRow(q, p.id);
      return serializeTaxId(c.id, findTaxId(c, p.tax_id));
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/customers/{id}/tax_ids/{tax_id}',
    summary: 'Delete a tax id of a customer (invoices already finalized keep it)',
    tag,
    scope: 'write',
    params: oneParams,
    response: z.object({ id: z.string(), object: z.literal('tax_id'), deleted: z.literal(true) }),
    handler: async ({ q, now: requestNow, params: p }) => {
      const c = await getCustomerRow(q, p.id, { forUpdate: true });
      const gone = findTaxId(c, p.tax_id);
      const now = await customerNow(q, c.id, requestNow);
      const after = await updateCustomerRow(q, c.id, { tax_ids: c.tax_ids.filter((t) => t.id !== gone.id), updated: now });
      await recordTaxIdChanges(q, now, c.id, c.tax_ids, after.tax_ids);
      return { id: gone.id, object: 'tax_id' as const, deleted: true as const };
    },
  });
}
