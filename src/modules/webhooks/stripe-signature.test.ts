import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { parseSignatureHeader, verifyStripeSignature } from './stripe-signature.js';

// Stripe-Signature verification against headers made by the official SDK.

const stripe = new Stripe('sk_test_unused');
const secret = 'whsec_test_secret_0123456789';
const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created', data: { object: { id: 'cus_1' } } });
const T = 1_772_000_000;

describe('verifyStripeSignature', () => {
  it('accepts the SDK’s signature within 300 s, with the raw bytes as a Buffer or text', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: T });
    expect(verifyStripeSignature(Buffer.from(payload), header, [secret], T)).toEqual({ ok: true, timestamp: T });
    expect(verifyStripeSignature(payload, header, [secret], T + 300)).toEqual({ ok: true, timestamp: T });
    expect(verifyStripeSignature(payload, header, [secret], T - 300)).toEqual({ ok: true, timestamp: T });
  });

  it('refuses stale or future timestamps, other secrets, tampered bodies, missing and malformed headers', () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: T });
    expect(verifyStripeSignature(payload, header, [secret], T + 301)).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifyStripeSignature(payload, header, [secret], T - 301)).toEqual({ ok: false, reason: 'timestamp_out_of_tolerance' });
    expect(verifyStripeSignature(payload, header, ['whsec_other'], T)).toEqual({ ok: false, reason: 'signature_mismatch' });
    expect(verifyStripeSignature(payload + ' ', header, [secret], T)).toEqual({ ok: false, reason: 'signature_mismatch' });
    expect(verifyStripeSignature(payload, undefined, [secret], T)).toEqual({ ok: false, reason: 'missing_header' });
    expect(verifyStripeSignature(payload, header, [], T)).toEqual({ ok: false, reason: 'no_secret_configured' });
    expect(verifyStripeSignature(payload, `v1=${'a'.repeat(64)}`, [secret], T)).toEqual({ ok: false, reason: 'malformed_header' });
    expect(verifyStripeSignature(payload, `t=${T},v0=${'a'.repeat(64)}`, [secret], T)).toEqual({ ok: false, reason: 'no_v1_signature' });
    // The timestamp is signed: moving it breaks the signature.
    expect(verifyStripeSignature(payload, header.replace(`t=${T}`, `t=${T + 1}`), [secret], T)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('accepts any of several v1 signatures and any of several secrets (rotation)', () => {
    const sig = createHmac('sha256', secret).update(`${T}.${payload}`).digest('hex');
    expect(verifyStripeSignature(payload, `t=${T},v1=${'f'.repeat(64)},v1=${sig}`, ['whsec_old', secret], T)).toMatchObject({ ok: true });
    const oldSig = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_old', timestamp: T });
    expect(verifyStripeSignature(payload, oldSig, ['whsec_old', secret], T)).toMatchObject({ ok: true });
  });

  it('parses headers leniently but never accepts a forged signature (property)', () => {
    expect(parseSignatureHeader(' t=12 , v1=ab,v1=cd,x=y')).toEqual({ timestamp: 12, v1: ['ab', 'cd'] });
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/), (body, forged) => {
        const real = createHmac('sha256', secret).update(`${T}.${body}`).digest('hex');
        fc.pre(forged !== real);
        expect(verifyStripeSignature(body, `t=${T},v1=${forged}`, [secret], T)).toEqual({ ok: false, reason: 'signature_mismatch' });
        expect(verifyStripeSignature(body, `t=${T},v1=${real}`, [secret], T)).toMatchObject({ ok: true });
      }),
      { numRuns: 200 },
    );
  });
});
