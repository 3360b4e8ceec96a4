import type { Queryable } from '../../db/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import type { TaxConfig } from './config.js';
import { loadRateCandidates } from './context.js';
import { determineTax, taxLocation } from './domain/determine.js';

// Stripe's customer `tax` hash (`expand[]=tax`) and `tax[validate_location]`: whether automatic tax can
// work out where the customer is, by the same rule the invoices use (determine.ts, taxLocation).

type Address = { country?: string | null; state?: string | null; postal_code?: string | null } | null;

export interface CustomerTaxInput {
  id: string;
  address: Address;
  shipping: { address: Address } | null;
  tax_ids: { type: string; value: string }[];
  tax_exempt: 'none' | 'exempt' | 'reverse';
  tax_ip_address: string | null;
}

export interface CustomerTaxObject {
  /** supported: taxed there; not_collecting: a known place where Recur charges no tax; unrecognized_location: no country. */
  automatic_tax: 'supported' | 'not_collecting' | 'unrecognized_location';
  ip_address: string | null;
  /** Stripe names the shipping address's source `shipping_destination`. */
  location: { country: string; source: 'billing_address' | 'shipping_destination'; state: string | null } | null;
  provider: 'recur';
}

const locationOf = (c: Pick<CustomerTaxInput, 'address' | 'shipping'>) => taxLocation({ address: c.address, shippingAddress: c.shipping?.address ?? null });

/** The `tax` hash of each customer, at `at` (rates in effect then); one read of rates for all. */
export async function customerTaxObjects(q: Queryable, cfg: TaxConfig | undefined, customers: CustomerTaxInput[], at: Date): Promise<Map<string, CustomerTaxObject>> {
  const located = customers.map((c) => ({ c, loc: locationOf(c) }));
  const countries = located.flatMap(({ loc }) => (loc ? [loc.country] : []));
  const rates = cfg?.sellerCountry && countries.length > 0 ? await loadRateCandidates(q, countries) : [];
  const out = new Map<string, CustomerTaxObject>();
  for (const { c, loc } of located) {
    let automatic: CustomerTaxObject['automatic_tax'] = 'unrecognized_location';
    if (loc && cfg?.sellerCountry) {
      // An exempt or reverse-charge customer is still taxed there (at 0 %): supported, as on Stripe.
      const decision = determineTax({
        seller: { country: cfg.sellerCountry, state: cfg.sellerState },
        usNexus: cfg.usNexus,
        missingAddress: 'none',
        customer: { address: c.address, shippingAddress: c.shipping?.address ?? null, taxIds: c.tax_ids, taxExempt: c.tax_exempt },
        rates,
        at,
      });
      automatic = decision.rates.length > 0 ? 'supported' : 'not_collecting';
    } else if (loc) {
      automatic = 'not_collecting';
    }
    out.set(c.id, {
      automatic_tax: automatic,
      ip_address: c.tax_ip_address,
      location: loc ? { country: loc.country, source: loc.source === 'shipping_address' ? 'shipping_destination' : 'billing_address', state: loc.state } : null,
      provider: 'recur',
    });
  }
  return out;
}

export type ValidateLocation = 'auto' | 'deferred' | 'immediately';

/**
 * Stripe's `tax[validate_location]`. `immediately`: a customer whose location cannot be worked out is
 * refused. `auto` (the update's default): refused when automatic tax is on, the customer's location was
 * known before this change and the customer has a subscription that is not over — the case where the
 * next renewal could not be taxed. `deferred` (the create's default): never refused here.
 */
export async function validateTaxLocation(
  q: Queryable,
  cfg: TaxConfig | undefined,
  mode: ValidateLocation,
  customer: { id: string | null; before: Pick<CustomerTaxInput, 'address' | 'shipping'> | null; after: Pick<CustomerTaxInput, 'address' | 'shipping'> },
): Promise<void> {
  if (mode === 'deferred' || locationOf(customer.after)) return;
  if (mode === 'auto') {
    if (!cfg?.sellerCountry || !customer.id || !customer.before || !locationOf(customer.before)) return;
    const { rows } = await q.query(`SELECT 1 FROM subscriptions WHERE customer = $1 AND status NOT IN ('canceled', 'incomplete_expired') LIMIT 1`, [customer.id]);
    if (rows.length === 0) return;
  }
  const viaShipping = customer.after.shipping !== null;
  throw new InvalidRequestError(
    viaShipping
      ? "The customer's shipping address, which tax is computed from, has no country: the tax location cannot be determined."
      : "The customer's address has no country: the tax location cannot be determined.",
    viaShipping ? 'shipping[address][country]' : 'address[country]',
    'customer_tax_location_invalid',
  );
}
