import { createHmac, timingSafeEqual } from 'node:crypto';

// Stripe's webhook signature, verified as Stripe specifies: the Stripe-Signature header carries
// `t=<unix seconds>` and one or more `v1=<hex HMAC-SHA256>` (other schemes, e.g. v0, are ignored);
// the signed payload is "<t>.<raw request body>"; every v1 is compared in constant time against the
// HMAC under every configured endpoint secret (several during a secret's rotation); the timestamp
// must be within the tolerance (300 s) of now, which defeats replays of captured deliveries.

export type SignatureFailure = 'no_secret_configured' | 'missing_header' | 'malformed_header' | 'no_v1_signature' | 'signature_mismatch' | 'timestamp_out_of_tolerance';

export type SignatureResult = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure };

export function parseSignatureHeader(header: string): { timestamp: number | null; v1: string[] } {
  let timestamp: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't') timestamp = /^\d{1,12}$/.test(v) ? Number(v) : null;
    else if (k === 'v1') v1.push(v);
  }
  return { timestamp, v1 };
}

export function verifyStripeSignature(
  raw: Buffer | string,
  header: string | undefined,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds = 300,
): SignatureResult {
  if (secrets.length === 0) return { ok: false, reason: 'no_secret_configured' };
  if (!header) return { ok: false, reason: 'missing_header' };
  const { timestamp, v1 } = parseSignatureHeader(header);
  if (timestamp === null) return { ok: false, reason: 'malformed_header' };
  const given = v1.filter((s) => /^[0-9a-f]{64}$/i.test(s)).map((s) => Buffer.from(s, 'hex'));
  if (given.length === 0) return { ok: false, reason: 'no_v1_signature' };
  const body = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let match = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
    // Compare against every candidate without stopping early: the time taken does not depend on which matched.
    for (const g of given) if (timingSafeEqual(expected, g)) match = true;
  }
  if (!match) return { ok: false, reason: 'signature_mismatch' };
  if (toleranceSeconds > 0 && Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp_out_of_tolerance' };
  return { ok: true, timestamp };
}
