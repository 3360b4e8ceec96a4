import type { Queryable } from '../../db/index.js';
import type { InvoiceDraft } from '../invoices/builder.js';
import type { TaxConfig } from './config.js';
import { determineTax, type RateCandidate } from './domain/determine.js';
import type { TaxBehavior, TaxDecision } from './domain/types.js';

// What the invoice builder needs to tax a batch of drafts, loaded set-based (three queries for any
// number of drafts: their customers, the prices' tax behaviour, the rates of the countries
// involved), so a worker batch of thousands of renewals stays a handful of statements.

/** Stored on the invoice: how its tax was determined (a rebuild of the draft reuses it). */
export interface InvoiceTaxContext {
  decision: TaxDecision;
  /** How a price with tax_behavior `unspecified` (or a line without a price) is read. */
  default_behavior: TaxBehavior;
  /** The instant whose rates were used (the draft's build time). */
  at: string;
}

/** The buyer on the invoice, as at finalisation. */
export interface CustomerDetails {
  name: string | null;
  email: string | null;
  address: Record<string, string | null> | null;
  tax_ids: { type: string; value: string }[];
  tax_exempt: 'none' | 'exempt' | 'reverse';
  /** Not in snapshots taken before migration 0035: read as null. */
  phone?: string | null;
  shipping?: { name: string; phone: string | null; address: Record<string, string | null> } | null;
}

export type PriceTaxBehavior = 'inclusive' | 'exclusive' | 'unspecified';

/** Attached to an InvoiceDraft; the builder computes each line's tax from it. */
export interface DraftTax {
  context: InvoiceTaxContext;
  priceBehaviors: Readonly<Record<string, PriceTaxBehavior>>;
}

export function lineBehavior(tax: DraftTax, price: string | null): TaxBehavior {
  const b = price ? tax.priceBehaviors[price] : undefined;
  return b === 'inclusive' || b === 'exclusive' ? b : tax.context.default_behavior;
}

export async function loadPriceBehaviors(q: Queryable, priceIds: readonly string[]): Promise<Record<string, PriceTaxBehavior>> {
  const ids = [...new Set(priceIds)];
  if (ids.length === 0) return {};
  const { rows } = await q.query<{ id: string; tax_behavior: PriceTaxBehavior }>(`SELECT id, tax_behavior FROM prices WHERE id = ANY($1::text[])`, [ids]);
  return Object.fromEntries(rows.map((r) => [r.id, r.tax_behavior]));
}

export async function loadRateCandidates(q: Queryable, countries: readonly string[]): Promise<RateCandidate[]> {
  if (countries.length === 0) return [];
  const { rows } = await q.query<RateCandidate>(
    `SELECT id, country, state, postal_code_prefix, percentage_ppm, display_name, jurisdiction, tax_type, inclusive, active, effective_from, effective_until
       FROM tax_rates WHERE active AND country = ANY($1::text[]) ORDER BY id`,
    [[...new Set(countries)]],
  );
  return rows;
}

interface CustomerTaxRow {
  id: string;
  address: { country?: string | null; state?: string | null; postal_code?: string | null } | null;
  shipping_address: { country?: string | null; state?: string | null; postal_code?: string | null } | null;
  tax_ids: { type: string; value: string }[];
  tax_exempt: 'none' | 'exempt' | 'reverse';
}

/**
 * Determines tax for each draft's customer at `at` and attaches it (drafts come back in order).
 * Without a seller country (automatic tax off) the drafts are returned untouched: no tax; so are
 * drafts whose automatic_tax is turned off (`automaticTax: false`: their subscription's, or their own).
 */
export async function applyTax(q: Queryable, cfg: TaxConfig | undefined, all: InvoiceDraft[], at: Date): Promise<InvoiceDraft[]> {
  const drafts = all.filter((d) => d.automaticTax !== false);
  if (!cfg?.sellerCountry || drafts.length === 0) return all;
  const seller = { country: cfg.sellerCountry, state: cfg.sellerState };
  const customerIds = [...new Set(drafts.map((d) => d.customer))];
  const { rows: customers } = await q.query<CustomerTaxRow>(`SELECT id, address, shipping->'address' AS shipping_address, tax_ids, tax_exempt FROM customers WHERE id = ANY($1::text[])`, [customerIds]);
  const byId = new Map(customers.map((c) => [c.id, c]));
  const countries = [seller.country, ...customers.flatMap((c) => [c.address?.country?.toUpperCase(), c.shipping_address?.country?.toUpperCase()]).filter((c): c is string => !!c)];
  const rates = await loadRateCandidates(q, countries);
  const behaviors = await loadPriceBehaviors(
    q,
    drafts.flatMap((d) => d.lines.map((l) => l.price).filter((p): p is string => !!p)),
  );
  const decisions = new Map<string, TaxDecision>();
  return all.map((d) => {
    if (d.automaticTax === false) return d;
    let decision = decisions.get(d.customer);
    if (!decision) {
      const c = byId.get(d.customer);
      decision = determineTax({
        seller,
        usNexus: cfg.usNexus,
        missingAddress: cfg.missingAddress,
        customer: { address: c?.address ?? null, shippingAddress: c?.shipping_address ?? null, taxIds: c?.tax_ids ?? [], taxExempt: c?.tax_exempt ?? 'none' },
        rates,
        at,
      });
      decisions.set(d.customer, decision);
    }
    const allInclusive = decision.rates.length > 0 && decision.rates.every((r) => r.inclusive);
    const priceBehaviors = Object.fromEntries(d.lines.filter((l) => l.price && behaviors[l.price]).map((l) => [l.price!, behaviors[l.price!]!]));
    return {
      ...d,
      tax: { context: { decision, default_behavior: allInclusive ? 'inclusive' : cfg.defaultTaxBehavior, at: at.toISOString() }, priceBehaviors },
    };
  });
}
