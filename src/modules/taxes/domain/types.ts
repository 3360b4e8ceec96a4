// The vocabulary of the tax engine, shared by its pure functions, the builder and the documents.

export const TAX_TYPES = ['vat', 'gst', 'hst', 'pst', 'qst', 'rst', 'jct', 'sales_tax'] as const;
export type TaxType = (typeof TAX_TYPES)[number];

/** Stripe's taxability reasons, the subset Recur produces. */
export type TaxabilityReason = 'standard_rated' | 'reverse_charge' | 'customer_exempt' | 'not_collecting' | 'not_subject_to_tax';

export type TaxBehavior = 'inclusive' | 'exclusive';

/** A tax rate as an invoice line remembers it: the rate can change later, the invoice does not. */
export interface TaxRateSnapshot {
  /** The rate's id; null for the 0 % entries of reverse charge and exemption. */
  id: string | null;
  /** Millionths of the whole: 19 % = 190,000; 9.975 % = 99,750. */
  percentage_ppm: number;
  display_name: string;
  jurisdiction: string | null;
  country: string;
  state: string | null;
  tax_type: TaxType;
  /** The rate's own flag; used for prices whose tax_behavior is unspecified. */
  inclusive: boolean;
}

/** The outcome of tax determination for one customer at one instant. */
export interface TaxDecision {
  reason: TaxabilityReason;
  /** The rates applied to every taxable line (0 % snapshots for reverse charge and exemption). */
  rates: TaxRateSnapshot[];
  /** Printed on the invoice: "Reverse charge", "Exempt". */
  note: string | null;
  /** Where the customer was taken to be, and from what. */
  location: { country: string; state: string | null; source: 'shipping_address' | 'billing_address' | 'fallback' } | null;
  /** Stripe's automatic_tax.status: `requires_location_inputs` when no location was known and the fallback is `none`. */
  status: 'complete' | 'requires_location_inputs';
}

/** One tax on one line (Stripe's line `tax_amounts[]` entry, with the rate's snapshot inline). */
export interface TaxAmount {
  /** Signed minor units (a credit line carries negative tax). */
  amount: number;
  inclusive: boolean;
  tax_rate: string | null;
  taxability_reason: TaxabilityReason;
  /** The amount the tax is computed on, excluding tax. */
  taxable_amount: number;
  /** The percentage as a decimal number (19, 9.975). */
  percentage: number;
  display_name: string;
  jurisdiction: string | null;
  country: string;
  state: string | null;
  tax_type: TaxType;
}

export const PPM = 1_000_000;

/** "19" → 190,000; "9.975" → 99,750. At most four decimals, so the value stays an exact integer. */
export function percentageToPpm(value: string | number): number {
  const s = typeof value === 'number' ? String(value) : value.trim();
  const m = /^(\d{1,3})(?:\.(\d{1,4}))?$/.exec(s);
  if (!m) throw new RangeError(`percentage must be a number with at most four decimals, got ${value}`);
  const ppm = Number(m[1]) * 10_000 + Number((m[2] ?? '').padEnd(4, '0'));
  if (ppm > PPM) throw new RangeError(`percentage must be at most 100, got ${value}`);
  return ppm;
}

/** 99,750 → 9.975 (the API's decimal number; exact for four decimals). */
export function ppmToPercentage(ppm: number): number {
  return Number((ppm / 10_000).toFixed(4));
}

/**
 * Stripe's newer shape of a tax on an invoice, line or credit note (`total_taxes`, `taxes`), which the
 * current API and SDK read instead of `total_tax_amounts`/`tax_amounts`: the same amounts, the rate by id.
 */
export interface StripeTax {
  amount: number;
  tax_behavior: 'inclusive' | 'exclusive';
  tax_rate_details: { tax_rate: string } | null;
  taxability_reason: TaxabilityReason;
  taxable_amount: number;
  type: 'tax_rate_details';
}

export function stripeTaxes(amounts: readonly TaxAmount[]): StripeTax[] {
  return amounts.map((t) => ({
    amount: t.amount,
    tax_behavior: t.inclusive ? 'inclusive' : 'exclusive',
    tax_rate_details: t.tax_rate ? { tax_rate: t.tax_rate } : null,
    taxability_reason: t.taxability_reason,
    taxable_amount: t.taxable_amount,
    type: 'tax_rate_details',
  }));
}
