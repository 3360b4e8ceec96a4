import cc from 'currency-codes';
import { InvalidRequestError } from '../errors/index.js';

// ISO-4217 minor-unit exponents come from the maintained `currency-codes` dataset (ISO's own list),
// not from a hand-written table. Codes are lower-case in the API (Stripe style), upper-case in ISO.
const exponents = new Map<string, number>();
for (const code of cc.codes()) {
  const entry = cc.code(code);
  if (entry && typeof entry.digits === 'number') exponents.set(code.toLowerCase(), entry.digits);
}

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
