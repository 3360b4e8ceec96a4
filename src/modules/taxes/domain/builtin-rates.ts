import type { TaxType } from './types.js';

// The built-in tax rates Recur seeds (`recur seed`, idempotent). RATES ARE DATA THE OPERATOR MUST
// KEEP CURRENT: governments change them, and Recur's releases will not always be in time. Change a
// rate by creating a new version with `effective_from` (POST /v1/tax_rates): the open version of the
// same jurisdiction closes at that instant, and issued invoices keep the rate they were built with.
//
// What is here (standard rates as of 2026-01; reduced rates are not used for digital services):
// - EU VAT for all 27 member states (destination rate for consumers; reverse charge for businesses
//   with a VAT id from another member state), with the recent changes as dated versions.
// - UK, Switzerland, Norway VAT; Australia, New Zealand, Singapore, India GST; Japan JCT.
// - Canada: federal GST 5 % everywhere; HST (which replaces GST) in ON, NB, NL, NS, PE; PST in BC
//   and SK, RST in MB; QST in QC (applied on top of GST).
// - US: a small default set of STATE base rates where digital services / SaaS are taxable (NY, PA,
//   WA, TN). Local (county, city) rates are not included — add them as rates with a postal code
//   prefix — and no US tax is charged outside the states listed in RECUR_TAX_US_NEXUS.

export interface BuiltinRate {
  /** Stable key: the seed inserts a rate only when its key is missing. */
  key: string;
  country: string;
  state?: string;
  jurisdiction: string;
  displayName: string;
  taxType: TaxType;
  /** A decimal percentage string, exact ("9.975"). */
  percentage: string;
  effectiveFrom?: string;
  effectiveUntil?: string;
}

const EU: [string, string, string][] = [
  ['AT', 'Austria', '20'],
  ['BE', 'Belgium', '21'],
  ['BG', 'Bulgaria', '20'],
  ['HR', 'Croatia', '25'],
  ['CY', 'Cyprus', '19'],
  ['CZ', 'Czechia', '21'],
  ['DK', 'Denmark', '25'],
  ['FR', 'France', '20'],
  ['DE', 'Germany', '19'],
  ['GR', 'Greece', '24'],
  ['HU', 'Hungary', '27'],
  ['IE', 'Ireland', '23'],
  ['IT', 'Italy', '22'],
  ['LV', 'Latvia', '21'],
  ['LT', 'Lithuania', '21'],
  ['LU', 'Luxembourg', '17'],
  ['MT', 'Malta', '18'],
  ['NL', 'Netherlands', '21'],
  ['PL', 'Poland', '23'],
  ['PT', 'Portugal', '23'],
  ['SI', 'Slovenia', '22'],
  ['ES', 'Spain', '21'],
  ['SE', 'Sweden', '25'],
];

/** Member states whose standard rate changed recently: the old rate up to the change, the new one after. */
const EU_CHANGED: [string, string, string, string, string][] = [
  // country, name, old, new, changed at (UTC)
  ['EE', 'Estonia', '22', '24', '2025-07-01T00:00:00Z'],
  ['FI', 'Finland', '24', '25.5', '2024-09-01T00:00:00Z'],
  ['RO', 'Romania', '19', '21', '2025-08-01T00:00:00Z'],
  ['SK', 'Slovakia', '20', '23', '2025-01-01T00:00:00Z'],
];

export const EU_MEMBER_STATES: ReadonlySet<string> = new Set([...EU.map((e) => e[0]), ...EU_CHANGED.map((e) => e[0])]);

const vat = (country: string, jurisdiction: string, percentage: string, extra: Partial<BuiltinRate> = {}): BuiltinRate => ({
  key: `vat_${country.toLowerCase()}`,
  country,
  jurisdiction,
  displayName: 'VAT',
  taxType: 'vat',
  percentage,
  ...extra,
});

const ca = (state: string, jurisdiction: string, taxType: TaxType, displayName: string, percentage: string, extra: Partial<BuiltinRate> = {}): BuiltinRate => ({
  key: `ca_${state.toLowerCase()}_${taxType}`,
  country: 'CA',
  state,
  jurisdiction,
  displayName,
  taxType,
  percentage,
  ...extra,
});

const us = (state: string, jurisdiction: string, percentage: string): BuiltinRate => ({
  key: `us_${state.toLowerCase()}_sales_tax`,
  country: 'US',
  state,
  jurisdiction,
  displayName: 'Sales tax',
  taxType: 'sales_tax',
  percentage,
});

export const BUILTIN_RATES: readonly BuiltinRate[] = [
  ...EU.map(([c, name, p]) => vat(c, name, p)),
  ...EU_CHANGED.flatMap(([c, name, before, after, at]) => [
    vat(c, name, before, { key: `vat_${c.toLowerCase()}@until:${at.slice(0, 10)}`, effectiveUntil: at }),
    vat(c, name, after, { key: `vat_${c.toLowerCase()}@${at.slice(0, 10)}`, effectiveFrom: at }),
  ]),
  vat('GB', 'United Kingdom', '20'),
  vat('CH', 'Switzerland', '8.1'),
  vat('NO', 'Norway', '25'),
  { key: 'gst_au', country: 'AU', jurisdiction: 'Australia', displayName: 'GST', taxType: 'gst', percentage: '10' },
  { key: 'gst_nz', country: 'NZ', jurisdiction: 'New Zealand', displayName: 'GST', taxType: 'gst', percentage: '15' },
  { key: 'gst_sg', country: 'SG', jurisdiction: 'Singapore', displayName: 'GST', taxType: 'gst', percentage: '9' },
  { key: 'gst_in', country: 'IN', jurisdiction: 'India', displayName: 'GST', taxType: 'gst', percentage: '18' },
  { key: 'jct_jp', country: 'JP', jurisdiction: 'Japan', displayName: 'JCT', taxType: 'jct', percentage: '10' },
  // Canada: federal GST (country level) and the provinces.
  { key: 'ca_gst', country: 'CA', jurisdiction: 'Canada', displayName: 'GST', taxType: 'gst', percentage: '5' },
  ca('ON', 'Ontario', 'hst', 'HST', '13'),
  ca('NB', 'New Brunswick', 'hst', 'HST', '15'),
  ca('NL', 'Newfoundland and Labrador', 'hst', 'HST', '15'),
  ca('PE', 'Prince Edward Island', 'hst', 'HST', '15'),
  ca('NS', 'Nova Scotia', 'hst', 'HST', '15', { key: 'ca_ns_hst@until:2025-04-01', effectiveUntil: '2025-04-01T00:00:00Z' }),
  ca('NS', 'Nova Scotia', 'hst', 'HST', '14', { key: 'ca_ns_hst@2025-04-01', effectiveFrom: '2025-04-01T00:00:00Z' }),
  ca('BC', 'British Columbia', 'pst', 'PST', '7'),
  ca('MB', 'Manitoba', 'rst', 'RST', '7'),
  ca('SK', 'Saskatchewan', 'pst', 'PST', '6'),
  ca('QC', 'Québec', 'qst', 'QST', '9.975'),
  // United States: state base rates only (see above).
  us('NY', 'New York', '4'),
  us('PA', 'Pennsylvania', '6'),
  us('WA', 'Washington', '6.5'),
  us('TN', 'Tennessee', '7'),
];
