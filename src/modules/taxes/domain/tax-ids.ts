import { checkVAT, countries } from 'jsvat';
import { EU_MEMBER_STATES } from './builtin-rates.js';

// Tax id formats, per Stripe tax id type. European VAT numbers go through jsvat (a maintained
// library of each country's format); the others are the published formats (and check digits where
// they are simple and public: Australia's ABN). No online lookup (VIES etc.): a valid *format* is
// what reverse charge requires here, and the operator remains responsible for verifying the buyer.

export interface TaxIdCheck {
  valid: boolean;
  /** The country the id belongs to (for EU VAT: the member state of its prefix). */
  country: string | null;
  /** An example of the expected format, for error messages. */
  example: string;
}

const compact = (v: string) => v.replace(/[\s.\-/]/g, '').toUpperCase();

function viaJsvat(value: string, example: string, expectCountry?: string): TaxIdCheck {
  const r = checkVAT(value.toUpperCase(), countries);
  const country = r.country?.isoCode.short ?? null;
  const valid = r.isValidFormat && r.isSupportedCountry && (expectCountry === undefined || country === expectCountry);
  return { valid, country, example };
}

function regex(re: RegExp, country: string, example: string, check?: (c: string) => boolean) {
  return (value: string): TaxIdCheck => {
    const c = compact(value);
    return { valid: re.test(c) && (check ? check(c) : true), country, example };
  };
}

/** Australian Business Number: 11 digits, weighted sum of (first digit − 1, rest) divisible by 89. */
function abnChecksum(c: string): boolean {
  const weights = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
  const digits = c.split('').map(Number);
  digits[0] = digits[0]! - 1;
  return digits.reduce((s, d, i) => s + d * weights[i]!, 0) % 89 === 0;
}

const CHECKS: Record<string, (value: string) => TaxIdCheck> = {
  eu_vat: (v) => {
    const r = viaJsvat(v, 'DE123456789');
    return { ...r, valid: r.valid && r.country !== null && EU_MEMBER_STATES.has(r.country) };
  },
  gb_vat: (v) => viaJsvat(v, 'GB123456789', 'GB'),
  ch_vat: (v) => viaJsvat(v, 'CHE-123.456.789 MWST', 'CH'),
  // Stripe's example omits the country prefix ("123456789MVA"); jsvat needs it.
  no_vat: (v) => viaJsvat(/^NO/i.test(v.trim()) ? v : `NO${v}`, '123456789MVA', 'NO'),
  au_abn: regex(/^\d{11}$/, 'AU', '12345678912', abnChecksum),
  au_arn: regex(/^\d{12}$/, 'AU', '123456789123'),
  nz_gst: regex(/^\d{8,9}$/, 'NZ', '123456789'),
  sg_gst: regex(/^(M\d{8}[A-Z]|\d{8}[A-Z]|\d{9}[A-Z]|[A-Z]\d{2}[A-Z]{2}\d{4}[A-Z])$/, 'SG', 'M12345678X'),
  sg_uen: regex(/^(\d{8}[A-Z]|\d{9}[A-Z]|[ST]\d{2}[A-Z]{2}\d{4}[A-Z])$/, 'SG', '123456789F'),
  jp_cn: regex(/^\d{13}$/, 'JP', '1234567891234'),
  jp_trn: regex(/^T\d{13}$/, 'JP', 'T1234567891234'),
  in_gst: regex(/^\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z]$/, 'IN', '12ABCDE3456FGZH'),
  ca_bn: regex(/^\d{9}$/, 'CA', '123456789'),
  ca_gst_hst: regex(/^\d{9}RT\d{4}$/, 'CA', '123456789RT0002'),
  ca_pst_bc: regex(/^PST\d{8}$/, 'CA', 'PST-1234-5678'),
  ca_pst_mb: regex(/^\d{7}$/, 'CA', '123456-7'),
  ca_pst_sk: regex(/^\d{7}$/, 'CA', '1234567'),
  ca_qst: regex(/^\d{10}TQ\d{4}$/, 'CA', '1234567890TQ1234'),
  us_ein: regex(/^\d{9}$/, 'US', '12-3456789'),
};

export function checkTaxId(type: string, value: string): TaxIdCheck {
  const check = CHECKS[type];
  // `unknown` (and any type without a published format) is accepted as given.
  if (!check) return { valid: value.trim().length > 0, country: null, example: value };
  return check(value);
}
