import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { checkTaxId } from '../taxes/domain/tax-ids.js';
import type { StoredTaxId } from './repository.js';
import type { TaxIdObject } from './schemas.js';

// A customer's tax ids as Stripe's tax_id objects (customer.tax_ids, /v1/customers/{id}/tax_ids).

export function serializeTaxId(customer: string, t: StoredTaxId): TaxIdObject {
  return {
    id: t.id,
    object: 'tax_id',
    country: checkTaxId(t.type, t.value).country,
    created: t.created,
    customer,
    livemode: false,
    owner: { customer, type: 'customer' },
    type: t.type,
    value: t.value,
    verification: { status: 'unavailable', verified_address: null, verified_name: null },
  };
}

/**
 * The tax ids given (create, or a replacing update), each with an id: one the customer already has
 * for the same type and value keeps its id and creation time; a new one gets a new id, created `now`.
 * The same type and value given twice is kept once.
 */
export function withTaxIdIds(given: readonly { type: string; value: string }[], now: Date, current: readonly StoredTaxId[] = []): StoredTaxId[] {
  const same = (a: { type: string; value: string }) => (b: { type: string; value: string }) => a.type === b.type && a.value === b.value;
  return given
    .filter((t, i) => given.findIndex(same(t)) === i)
    .map((t) => current.find(same(t)) ?? { id: newId('txi'), type: t.type, value: t.value, created: toUnix(now) });
}

