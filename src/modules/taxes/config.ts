import { COUNTRY_CODES } from '../customers/domain/countries.js';

// Tax settings from the environment. src/config.ts embeds them as `config.tax`; the README's
// configuration table lists every variable read here. Without RECUR_SELLER_COUNTRY Recur computes
// no tax at all (as before taxes existed); with it, every sales invoice is taxed.

export interface TaxConfig {
  /** ISO 3166-1 alpha-2 country the seller is established in; null turns automatic tax off. */
  sellerCountry: string | null;
  /** The seller's state or province (ISO 3166-2 subdivision code without the country, e.g. "NY", "ON"). */
  sellerState: string | null;
  /** US states where the seller has sales-tax nexus (registered to collect); elsewhere in the US no tax is charged. */
  usNexus: string[];
  /** A customer without a country: `seller` taxes at the seller's location, `none` charges no tax. Never a guess. */
  missingAddress: 'seller' | 'none';
  /** How to read prices whose tax_behavior is `unspecified` (and amounts without a price). */
  defaultTaxBehavior: 'exclusive' | 'inclusive';
}

function country(name: string, env: NodeJS.ProcessEnv): string | null {
  const raw = env[name];
  if (!raw) return null;
  const c = raw.trim().toUpperCase();
  if (!COUNTRY_CODES.has(c)) throw new Error(`${name} must be an ISO 3166-1 alpha-2 country code, got '${raw}'`);
  return c;
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T, env: NodeJS.ProcessEnv): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

export function loadTaxConfig(env: NodeJS.ProcessEnv): TaxConfig {
  return {
    sellerCountry: country('RECUR_SELLER_COUNTRY', env),
    sellerState: env.RECUR_SELLER_STATE ? env.RECUR_SELLER_STATE.trim().toUpperCase() : null,
    usNexus: (env.RECUR_TAX_US_NEXUS ?? '')
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean),
    missingAddress: oneOf('RECUR_TAX_MISSING_ADDRESS', ['seller', 'none'] as const, 'seller', env),
    defaultTaxBehavior: oneOf('RECUR_TAX_DEFAULT_BEHAVIOR', ['exclusive', 'inclusive'] as const, 'exclusive', env),
  };
}
