import { EU_MEMBER_STATES } from './builtin-rates.js';
import { checkTaxId } from './tax-ids.js';
import type { TaxDecision, TaxRateSnapshot, TaxType } from './types.js';

// Tax determination: which rates apply to a customer at an instant. Pure: the caller loads the
// candidate rates (set-based, for a whole batch) and the customer; nothing here touches I/O.
//
// 1. Location (taxLocation): as Stripe Tax, the customer's shipping address when it has one, else the
//    billing address; one without a country gives no location, and then the configured fallback
//    applies (the seller's location, or no tax) — never a guess from currency, IP or email.
// 2. `tax_exempt: exempt` → no tax, "Exempt"; `tax_exempt: reverse` → no tax, "Reverse charge".
// 3. Cross-border B2B: an EU destination with a valid-format VAT id from a member state other than
//    the seller's → 0 % "Reverse charge"; likewise the business tax ids of the other countries whose
//    rules shift the tax to the business buyer (GB, CH, NO, AU, NZ, SG, JP, IN; in Canada the
//    GST/HST and QST numbers lift those taxes only).
// 4. Otherwise the destination's rates in effect at that instant: per tax type the most specific
//    (postal prefix > state > country); US sales tax adds state and local rates, and only in states
//    with nexus; a Canadian HST replaces the federal GST.

export interface RateCandidate {
  id: string;
  country: string;
  state: string | null;
  postal_code_prefix: string | null;
  percentage_ppm: number;
  display_name: string;
  jurisdiction: string | null;
  tax_type: TaxType;
  inclusive: boolean;
  active: boolean;
  effective_from: Date | null;
  effective_until: Date | null;
}

type TaxAddress = { country?: string | null; state?: string | null; postal_code?: string | null } | null;

export interface CustomerTaxInfo {
  address: TaxAddress;
  /** The customer's shipping address: Stripe Tax's first choice of location. */
  shippingAddress?: TaxAddress;
  taxIds: readonly { type: string; value: string }[];
  taxExempt: 'none' | 'exempt' | 'reverse';
}

export interface DetermineInput {
  seller: { country: string; state: string | null };
  usNexus: readonly string[];
  missingAddress: 'seller' | 'none';
  customer: CustomerTaxInfo;
  rates: readonly RateCandidate[];
  at: Date;
}

/** Business tax ids that shift the tax to the buyer, per destination, and which taxes they lift. */
const B2B_IDS: Record<string, { types: string[]; lifts: TaxType[] | 'all' }[]> = {
  GB: [{ types: ['gb_vat'], lifts: 'all' }],
  CH: [{ types: ['ch_vat'], lifts: 'all' }],
  NO: [{ types: ['no_vat'], lifts: 'all' }],
  AU: [{ types: ['au_abn'], lifts: 'all' }],
  NZ: [{ types: ['nz_gst'], lifts: 'all' }],
  SG: [{ types: ['sg_gst', 'sg_uen'], lifts: 'all' }],
  JP: [{ types: ['jp_trn'], lifts: 'all' }],
  IN: [{ types: ['in_gst'], lifts: 'all' }],
  CA: [
    { types: ['ca_gst_hst'], lifts: ['gst', 'hst'] },
    { types: ['ca_qst'], lifts: ['qst'] },
  ],
};

const PROVINCES: Record<string, string> = {
  ALBERTA: 'AB', 'BRITISH COLUMBIA': 'BC', MANITOBA: 'MB', 'NEW BRUNSWICK': 'NB', 'NEWFOUNDLAND AND LABRADOR': 'NL', NEWFOUNDLAND: 'NL',
  'NOVA SCOTIA': 'NS', ONTARIO: 'ON', 'PRINCE EDWARD ISLAND': 'PE', QUEBEC: 'QC', QUÉBEC: 'QC', SASKATCHEWAN: 'SK',
  'NORTHWEST TERRITORIES': 'NT', NUNAVUT: 'NU', YUKON: 'YT',
};
const US_STATES: Record<string, string> = {
  ALABAMA: 'AL', ALASKA: 'AK', ARIZONA: 'AZ', ARKANSAS: 'AR', CALIFORNIA: 'CA', COLORADO: 'CO', CONNECTICUT: 'CT', DELAWARE: 'DE',
  'DISTRICT OF COLUMBIA': 'DC', FLORIDA: 'FL', GEORGIA: 'GA', HAWAII: 'HI', IDAHO: 'ID', ILLINOIS: 'IL', INDIANA: 'IN', IOWA: 'IA',
  KANSAS: 'KS', KENTUCKY: 'KY', LOUISIANA: 'LA', MAINE: 'ME', MARYLAND: 'MD', MASSACHUSETTS: 'MA', MICHIGAN: 'MI', MINNESOTA: 'MN',
  MISSISSIPPI: 'MS', MISSOURI: 'MO', MONTANA: 'MT', NEBRASKA: 'NE', NEVADA: 'NV', 'NEW HAMPSHIRE': 'NH', 'NEW JERSEY': 'NJ',
  'NEW MEXICO': 'NM', 'NEW YORK': 'NY', 'NORTH CAROLINA': 'NC', 'NORTH DAKOTA': 'ND', OHIO: 'OH', OKLAHOMA: 'OK', OREGON: 'OR',
  PENNSYLVANIA: 'PA', 'RHODE ISLAND': 'RI', 'SOUTH CAROLINA': 'SC', 'SOUTH DAKOTA': 'SD', TENNESSEE: 'TN', TEXAS: 'TX', UTAH: 'UT',
  VERMONT: 'VT', VIRGINIA: 'VA', WASHINGTON: 'WA', 'WEST VIRGINIA': 'WV', WISCONSIN: 'WI', WYOMING: 'WY',
};

/** "Ontario", "on", "CA-ON" → "ON" (ISO 3166-2 subdivision without the country). */
export function normalizeState(country: string, state: string | null | undefined): string | null {
  if (!state) return null;
  const s = state.trim().toUpperCase();
  const names = country === 'CA' ? PROVINCES : country === 'US' ? US_STATES : {};
  if (names[s]) return names[s]!;
  return s.startsWith(`${country}-`) ? s.slice(country.length + 1) : s;
}

const compactPostal = (p: string | null | undefined) => (p ?? '').replace(/\s/g, '').toUpperCase();

export function inEffect(r: Pick<RateCandidate, 'effective_from' | 'effective_until'>, at: Date): boolean {
  const t = at.getTime();
  return (r.effective_from === null || new Date(r.effective_from).getTime() <= t) && (r.effective_until === null || t < new Date(r.effective_until).getTime());
}

export function snapshot(r: RateCandidate): TaxRateSnapshot {
  return {
    id: r.id,
    percentage_ppm: r.percentage_ppm,
    display_name: r.display_name,
    jurisdiction: r.jurisdiction,
    country: r.country,
    state: r.state,
    tax_type: r.tax_type,
    inclusive: r.inclusive,
  };
}

const zero = (s: TaxRateSnapshot): TaxRateSnapshot => ({ ...s, id: null, percentage_ppm: 0 });

/** The destination's rates at `at` (before exemptions and reverse charge). */
export function destinationRates(rates: readonly RateCandidate[], loc: { country: string; state: string | null; postal: string }, at: Date): RateCandidate[] {
  const level = (r: RateCandidate) => (r.postal_code_prefix ? 2 : r.state ? 1 : 0);
  const matching = rates.filter(
    (r) =>
      r.active &&
      r.country === loc.country &&
      inEffect(r, at) &&
      (r.state === null || r.state === loc.state) &&
      (r.postal_code_prefix === null || loc.postal.startsWith(compactPostal(r.postal_code_prefix))),
  );
  const byType = new Map<TaxType, RateCandidate[]>();
  for (const r of matching) byType.set(r.tax_type, [...(byType.get(r.tax_type) ?? []), r]);
  const chosen: RateCandidate[] = [];
  for (const [type, list] of byType) {
    if (type === 'sales_tax') {
      chosen.push(...list);
      continue;
    }
    const top = Math.max(...list.map(level));
    // One rate per type and level at an instant; should two overlap, the later version wins.
    const best = list
      .filter((r) => level(r) === top)
      .sort((a, b) => (a.effective_from ? new Date(a.effective_from).getTime() : 0) - (b.effective_from ? new Date(b.effective_from).getTime() : 0) || a.id.localeCompare(b.id))
      .at(-1)!;
    chosen.push(best);
  }
  const withoutReplacedGst = chosen.some((r) => r.tax_type === 'hst') ? chosen.filter((r) => r.tax_type !== 'gst') : chosen;
  // A stable order for documents: country-level first, then state, then local; by id within a level.
  return withoutReplacedGst.sort((a, b) => level(a) - level(b) || a.id.localeCompare(b.id));
}

/**
 * Where the customer is for tax, as Stripe Tax decides it: the shipping address if the customer has
 * one (Stripe: "if it's non-empty"; Recur's always has line1), else the billing address. The address
 * chosen must name a country: a shipping address without one is not passed over for the billing
 * address (Stripe answers `requires_location_inputs`), it gives no location. Null: none known.
 */
export function taxLocation(customer: Pick<CustomerTaxInfo, 'address' | 'shippingAddress'>): {
  country: string;
  state: string | null;
  postal: string;
  source: 'shipping_address' | 'billing_address';
} | null {
  const shipping = customer.shippingAddress ?? null;
  const address = shipping ?? customer.address;
  const country = address?.country ? address.country.toUpperCase() : null;
  if (!country) return null;
  return { country, state: normalizeState(country, address?.state), postal: compactPostal(address?.postal_code), source: shipping ? 'shipping_address' : 'billing_address' };
}

export function determineTax(input: DetermineInput): TaxDecision {
  const { customer, seller } = input;
  const found = taxLocation(customer);
  let location: NonNullable<TaxDecision['location']>;
  let postal = '';
  if (found) {
    location = { country: found.country, state: found.state, source: found.source };
    postal = found.postal;
  } else if (input.missingAddress === 'seller') {
    location = { country: seller.country, state: seller.state, source: 'fallback' };
  } else {
    return { reason: 'not_collecting', rates: [], note: null, location: null, status: 'requires_location_inputs' };
  }

  let rates = destinationRates(input.rates, { country: location.country, state: location.state, postal }, input.at);
  if (location.country === 'US' && !(location.state && input.usNexus.includes(location.state))) rates = [];
  const snaps = rates.map(snapshot);
  const base = { location, status: 'complete' as const };

  if (customer.taxExempt === 'exempt') return { ...base, reason: 'customer_exempt', rates: snaps.map(zero), note: 'Exempt' };
  if (customer.taxExempt === 'reverse') return { ...base, reason: 'reverse_charge', rates: snaps.map(zero), note: 'Reverse charge' };

  if (location.country !== seller.country && snaps.length > 0) {
    const ids = customer.taxIds.map((t) => ({ type: t.type, check: checkTaxId(t.type, t.value) })).filter((t) => t.check.valid);
    if (EU_MEMBER_STATES.has(location.country)) {
      const fromOtherMemberState = ids.some((t) => t.type === 'eu_vat' && t.check.country !== null && t.check.country !== seller.country);
      if (fromOtherMemberState) return { ...base, reason: 'reverse_charge', rates: snaps.map(zero), note: 'Reverse charge' };
    } else {
      const lifted = new Set<TaxType>();
      let all = false;
      for (const rule of B2B_IDS[location.country] ?? []) {
        if (!ids.some((t) => rule.types.includes(t.type))) continue;
        if (rule.lifts === 'all') all = true;
        else rule.lifts.forEach((x) => lifted.add(x));
      }
      if (all || (lifted.size > 0 && snaps.every((s) => lifted.has(s.tax_type)))) {
        return { ...base, reason: 'reverse_charge', rates: snaps.map(zero), note: 'Reverse charge' };
      }
      if (lifted.size > 0) {
        return { ...base, reason: 'standard_rated', rates: snaps.map((s) => (lifted.has(s.tax_type) ? zero(s) : s)), note: 'Reverse charge (in part)' };
      }
    }
  }
  if (snaps.length === 0) return { ...base, reason: 'not_collecting', rates: [], note: null };
  return { ...base, reason: 'standard_rated', rates: snaps, note: null };
}
