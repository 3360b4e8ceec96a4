import { currencyExponent } from './currency.js';

/** An amount in integer minor units of an ISO-4217 currency (lower-case code, Stripe style). */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

export function money(amount: number, currency: string): Money {
  assertMinorUnits(amount);
  currencyExponent(currency);
  return { amount, currency: currency.toLowerCase() };
}

export function assertMinorUnits(amount: number): void {
  if (!Number.isSafeInteger(amount)) throw new RangeError(`Amount must be a safe integer of minor units, got ${amount}`);
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new RangeError(`Currency mismatch: ${a.currency} vs ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amount + b.amount, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amount - b.amount, a.currency);
}

export type RoundingMode = 'half_even' | 'half_up' | 'down' | 'up';

/**
 * Divides `numerator / denominator` (integers, denominator > 0) and rounds once with a named mode.
 * BigInt keeps the intermediate exact: amount × seconds can exceed 2^53.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode = 'half_even'): number {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  let q = n / denominator;
  const r = n % denominator;
  if (r !== 0n) {
    const twice = r * 2n;
    if (mode === 'up') q += 1n;
    else if (mode === 'half_up') q += twice >= denominator ? 1n : 0n;
    else if (mode === 'half_even') q += twice > denominator || (twice === denominator && q % 2n === 1n) ? 1n : 0n;
  }
  // 'up' and 'down' are away from / towards zero, symmetric for negatives.
  const result = negative ? -q : q;
  const out = Number(result);
  assertMinorUnits(out);
  return out;
}

/** amount × numerator / denominator, rounded once. Used by proration, percentages and tax. */
export function multiplyRatio(amount: number, numerator: number | bigint, denominator: number | bigint, mode: RoundingMode = 'half_even'): number {
  return divideRounded(BigInt(amount) * BigInt(numerator), BigInt(denominator), mode);
}

/**
 * Splits `total` into parts proportional to `weights`; the parts always sum to `total` exactly.
 * Largest-remainder method: floor every share, then hand the leftover units to the largest remainders
 * (earlier index wins ties), so no cent is lost or invented.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  assertMinorUnits(total);
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  if (weights.some((w) => !Number.isSafeInteger(w) || w < 0)) throw new RangeError('weights must be non-negative integers');
  const sum = weights.reduce((a, b) => a + b, 0);
  const sign = total < 0 ? -1n : 1n;
  const abs = BigInt(Math.abs(total));
  if (sum === 0) {
    // No basis to split on: spread evenly.
    return allocate(total, weights.map(() => 1));
  }
  const big = BigInt(sum);
  const shares = weights.map((w) => (abs * BigInt(w)) / big);
  const remainders = weights.map((w, i) => ({ i, r: (abs * BigInt(w)) % big }));
  let left = abs - shares.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    shares[i] = shares[i]! + 1n;
    left -= 1n;
  }
  return shares.map((s) => Number(s * sign));
}

/** Formats for people (emails, PDFs, CLI) through Intl.NumberFormat, respecting the exponent. */
// Building an Intl.NumberFormat costs far more than formatting with one (a worker batch formats a
// line description per renewal), so formatters are kept per locale and currency.
const formatters = new Map<string, Intl.NumberFormat>();

export function formatMoney(m: Money, locale = 'en-US'): string {
  const exp = currencyExponent(m.currency);
  const major = m.amount / 10 ** exp;
  const key = `${locale}|${m.currency}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { style: 'currency', currency: m.currency.toUpperCase(), minimumFractionDigits: exp, maximumFractionDigits: exp });
    // Locales come from customers' preferences: a bounded cache, cleared rather than grown without end.
    if (formatters.size >= 1_000) formatters.clear();
    formatters.set(key, f);
  }
  return f.format(major);
}

/** Converts a decimal string in major units ("54000.00") to minor units, rejecting excess precision. */
export function parseMajor(value: string, currency: string): number {
  const exp = currencyExponent(currency);
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new RangeError(`Not a decimal amount: ${value}`);
  const frac = match[3] ?? '';
  if (frac.length > exp) throw new RangeError(`${currency} has ${exp} decimals; got ${value}`);
  const minor = Number(BigInt(match[2]! + frac.padEnd(exp, '0')));
  return match[1] ? -minor : minor;
}
