import cc from 'currency-codes';
import { InvalidRequestError } from '../errors/index.js';

// ISO-4217 minor-unit exponents come from the maintained `currency-codes` dataset (ISO's own list),
// not from a hand-written table. Codes are lower-case in the API (Stripe style), upper-case in ISO.
const exponents = new Map<string, number>();
for (const code of cc.codes()) {
  const entry = cc.code(code);
  if (entry && typeof entry.digits === 'number') exponents.set(code.toLowerCase(), entry.digits);
}
// Where Stripe's API exponent differs from ISO's, Stripe's wins: amounts are what the gateways charge.
// ISK "will remain a two-decimal currency in the Stripe API" (100 = 1 króna; ISO: 0), and MGA is in
// Stripe's zero-decimal list (ISO: 2). docs.stripe.com/currencies.
for (const [code, digits] of Object.entries({ isk: 2, mga: 0 })) exponents.set(code, digits);

export function isCurrency(code: string): boolean {
  return exponents.has(code.toLowerCase());
}

export function currencyExponent(code: string): number {
  const exp = exponents.get(code.toLowerCase());
  if (exp === undefined) throw new InvalidRequestError(`Invalid currency: ${code}`, 'currency', 'currency_invalid');
  return exp;
}

export function supportedCurrencies(): string[] {
  return [...exponents.keys()].sort();
}

// Stripe's minimum charge per currency, in major units ("Minimum and maximum charge amounts", docs
// /currencies). A charge below it is refused by card networks; an invoice whose amount due is smaller is
// not charged (see finalizeInvoices). Currencies not listed have no minimum here.
const MINIMUM_CHARGE_MAJOR: Record<string, number> = {
  usd: 0.5, aed: 2, aud: 0.5, bgn: 1, brl: 0.5, cad: 0.5, chf: 0.5, czk: 15, dkk: 2.5, eur: 0.5, gbp: 0.3, hkd: 4,
  huf: 175, inr: 0.5, jpy: 50, mxn: 10, myr: 2, nok: 3, nzd: 0.5, pln: 2, ron: 2, sek: 3, sgd: 0.5, thb: 10,
};

/** The smallest amount, in minor units, that can be charged in `code` (0: no minimum known). */
export function minimumCharge(code: string): number {
  const major = MINIMUM_CHARGE_MAJOR[code.toLowerCase()];
  return major === undefined ? 0 : Math.round(major * 10 ** currencyExponent(code));
}
