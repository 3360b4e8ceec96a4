// Two small encodings the router relies on, kept in rows Recur already writes.
//
// 1. A routed payment method's token (payment_methods.gateway_token) holds the card's token at every
//    gateway that saved it, plus the card facts routing rules need (brand, country, funding), because
//    a charge request carries only the token: `vt1.` + base64url(JSON).
// 2. A routed attempt's gateway_ref (payment_intents.gateway_ref) says where the money went:
//    `stripe:pi_123`, or — while the outcome is unknown — which gateways may have seen the attempt's
//    idempotency key: `tried:stripe,paypal`. Both paths that write attempts (attemptPayment and the
//    worker's set-based collectInvoices) store gateway_ref in the same statement as the status, so
//    this survives any crash. The API shows only the gateway's own id (latest_charge).

export interface VaultToken {
  /** gateway name → that gateway's token for the card */
  tokens: Record<string, string>;
  brand: string;
  country: string | null;
  funding: string;
  type: 'card';
}

const VAULT_PREFIX = 'vt1.';

export function encodeVaultToken(v: VaultToken): string {
  return VAULT_PREFIX + Buffer.from(JSON.stringify({ t: v.tokens, b: v.brand, c: v.country, f: v.funding, y: v.type })).toString('base64url');
}

/** The vault token's contents, or null when `token` is a single gateway's own token. */
export function decodeVaultToken(token: string): VaultToken | null {
  if (!token.startsWith(VAULT_PREFIX)) return null;
  try {
    const o = JSON.parse(Buffer.from(token.slice(VAULT_PREFIX.length), 'base64url').toString('utf8')) as {
      t: Record<string, string>;
      b: string;
      c: string | null;
      f: string;
      y: 'card';
    };
    if (typeof o.t !== 'object' || o.t === null) return null;
    return { tokens: o.t, brand: o.b, country: o.c, funding: o.f, type: o.y ?? 'card' };
  } catch {
    return null;
  }
}

export interface StoredRef {
  /** The gateway holding the charge (null: unknown — the row's own `gateway` column applies). */
  gateway: string | null;
  /** The gateway's id for the charge (Stripe PaymentIntent, PayPal capture, simulated charge). */
  ref: string | null;
  /** While the outcome is unknown: the gateways that may have seen the idempotency key. */
  tried: string[];
}

const GATEWAY_NAME = /^[a-z][a-z0-9_]*$/;

export function encodeChargeRef(gateway: string, ref: string): string {
  return `${gateway}:${ref}`;
}

export function encodeTriedRef(gateways: readonly string[]): string {
  return `tried:${gateways.join(',')}`;
}

export function decodeStoredRef(stored: string | null | undefined): StoredRef {
  if (!stored) return { gateway: null, ref: null, tried: [] };
  if (stored.startsWith('tried:')) return { gateway: null, ref: null, tried: stored.slice(6).split(',').filter(Boolean) };
  const i = stored.indexOf(':');
  if (i > 0 && GATEWAY_NAME.test(stored.slice(0, i))) return { gateway: stored.slice(0, i), ref: stored.slice(i + 1), tried: [] };
  return { gateway: null, ref: stored, tried: [] };
}

/** The gateway's own id as the API shows it (latest_charge, last_payment_error.charge). */
export function publicChargeRef(stored: string | null | undefined): string | null {
  return decodeStoredRef(stored).ref;
}

/** Every stored form a gateway reference may have, for lookups by the gateway's id. */
export function storedRefForms(gateway: string, ref: string): string[] {
  return [ref, encodeChargeRef(gateway, ref)];
}
