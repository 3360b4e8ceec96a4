import { describe, expect, it } from 'vitest';
import { classifyPayPalIssue, classifyPayPalProcessor, classifyStripe, DECLINE_TABLE, lookupDecline } from './decline-codes.js';

// The one classification table: Stripe decline and error codes, PayPal processor response codes and
// error issues → soft_decline | hard_decline | fraud | gateway_fault, in Stripe's decline vocabulary.

describe('the decline table', () => {
  it('has one row per (source, code), every class valid, every Stripe-vocabulary code known to Stripe rows', () => {
    const keys = DECLINE_TABLE.map((r) => `${r.source}:${r.code}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of DECLINE_TABLE) expect(['soft_decline', 'hard_decline', 'fraud', 'gateway_fault']).toContain(r.class);
    const stripeCodes = new Set(DECLINE_TABLE.filter((r) => r.source === 'stripe_decline_code').map((r) => r.code));
    for (const r of DECLINE_TABLE) expect(stripeCodes.has(r.decline), `${r.source}:${r.code} → ${r.decline}`).toBe(true);
    expect(DECLINE_TABLE.length).toBeGreaterThan(150);
  });

  it.each([
    ['insufficient_funds', 'soft_decline'],
    ['generic_decline', 'soft_decline'],
    ['do_not_honor', 'soft_decline'],
    ['try_again_later', 'soft_decline'],
    ['authentication_required', 'soft_decline'],
    ['lost_card', 'hard_decline'],
    ['stolen_card', 'hard_decline'],
    ['expired_card', 'hard_decline'],
    ['incorrect_number', 'hard_decline'],
    ['do_not_try_again', 'hard_decline'],
    ['fraudulent', 'fraud'],
    ['merchant_blacklist', 'fraud'],
  ])('Stripe card_declined / %s → %s', (decline, cls) => {
    expect(classifyStripe('card_declined', decline)).toEqual({ failureClass: cls, code: 'card_declined', declineCode: decline });
  });

  it('Stripe error codes without a decline code, and unknown codes', () => {
    expect(classifyStripe('expired_card', undefined)).toEqual({ failureClass: 'hard_decline', code: 'expired_card', declineCode: 'expired_card' });
    expect(classifyStripe('processing_error', undefined)).toMatchObject({ failureClass: 'soft_decline' });
    expect(classifyStripe('card_decline_rate_limit_exceeded', undefined)).toEqual({ failureClass: 'soft_decline', code: 'card_decline_rate_limit_exceeded', declineCode: 'card_velocity_exceeded' });
    expect(classifyStripe('rate_limit', undefined)).toMatchObject({ failureClass: 'gateway_fault' });
    expect(classifyStripe('card_declined', 'some_new_code')).toMatchObject({ failureClass: 'soft_decline', declineCode: 'some_new_code' });
  });

  it.each([
    ['5120', 'soft_decline', 'insufficient_funds'],
    ['0500', 'soft_decline', 'do_not_honor'],
    ['5400', 'hard_decline', 'expired_card'],
    ['9520', 'hard_decline', 'lost_card'],
    ['5110', 'hard_decline', 'incorrect_cvc'],
    ['9500', 'fraud', 'fraudulent'],
    ['8220', 'gateway_fault', 'issuer_not_available'],
    ['PPRN', 'hard_decline', 'do_not_try_again'],
    ['ZZZZ', 'soft_decline', 'generic_decline'],
  ])('PayPal processor response %s → %s (%s)', (code, cls, decline) => {
    expect(classifyPayPalProcessor(code)).toMatchObject({ failureClass: cls, declineCode: decline });
  });

  it('PayPal error issues', () => {
    expect(classifyPayPalIssue('INSTRUMENT_DECLINED')).toEqual({ failureClass: 'soft_decline', code: 'card_declined', declineCode: 'generic_decline' });
    expect(classifyPayPalIssue('CARD_EXPIRED')).toMatchObject({ failureClass: 'hard_decline', declineCode: 'expired_card' });
    expect(classifyPayPalIssue('PAYEE_BLOCKED_TRANSACTION')).toMatchObject({ failureClass: 'fraud' });
    expect(classifyPayPalIssue('INTERNAL_SERVER_ERROR')).toEqual({ failureClass: 'gateway_fault', code: 'processing_error', declineCode: 'processing_error' });
    expect(classifyPayPalIssue('NOT_A_DECLINE')).toBeUndefined();
    expect(lookupDecline('paypal_issue', 'TRANSACTION_REFUSED')!.class).toBe('soft_decline');
  });
});
