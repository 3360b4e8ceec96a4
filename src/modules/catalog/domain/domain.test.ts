import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CREDIT_PACK_PRICING, creditPackAmount } from './credit-packs.js';
import { duplicateFeatureIndex, entitlement, marketingFeatures, type Feature } from './features.js';
import { intervalCountAllowed } from './recurring.js';

describe('credit pack ladder', () => {
  it('prices the configured packs at USD 5.00, 9.50, 22.50 and 42.50', () => {
    expect(CREDIT_PACK_PRICING.ladder.map((p) => [p.credits, creditPackAmount(p)])).toEqual([
      [500, 500],
      [1000, 950],
      [2500, 2250],
      [5000, 4250],
    ]);
    expect(CREDIT_PACK_PRICING.currency).toBe('usd');
  });

  it('makes larger packs cheaper per credit', () => {
    const perCredit = CREDIT_PACK_PRICING.ladder.map((p) => creditPackAmount(p) / p.credits);
    for (let i = 1; i < perCredit.length; i++) expect(perCredit[i]!).toBeLessThan(perCredit[i - 1]!);
  });

  it('never charges more than face value nor less than zero, rounding once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 100 }), (credits, discountPercent) => {
        const amount = creditPackAmount({ credits, discountPercent });
        expect(Number.isInteger(amount)).toBe(true);
        expect(amount).toBeGreaterThanOrEqual(0);
        expect(amount).toBeLessThanOrEqual(credits);
        expect(Math.abs(amount - (credits * (100 - discountPercent)) / 100)).toBeLessThanOrEqual(0.5);
      }),
    );
  });
});

describe('features', () => {
  const features: Feature[] = [
    { key: 'sessions_per_week', name: '4 weekly sessions', value: 4 },
    { key: 'priority_support', name: 'Priority support', value: null },
    { key: 'sso', name: 'SSO', value: false },
  ];

  it('derives Stripe marketing_features from the names', () => {
    expect(marketingFeatures(features)).toEqual([{ name: '4 weekly sessions' }, { name: 'Priority support' }, { name: 'SSO' }]);
  });

  it('answers an entitlement: its value, true without one, undefined when absent', () => {
    expect(entitlement(features, 'sessions_per_week')).toBe(4);
    expect(entitlement(features, 'priority_support')).toBe(true);
    expect(entitlement(features, 'sso')).toBe(false);
    expect(entitlement(features, 'phone_support')).toBeUndefined();
  });

  it('finds the first repeated key', () => {
    expect(duplicateFeatureIndex([{ key: 'a' }, { key: 'b' }, { key: 'a' }, { key: 'b' }])).toBe(2);
    expect(duplicateFeatureIndex([{ key: 'a' }, { key: 'b' }])).toBe(-1);
  });
});

describe('billing intervals', () => {
  it('allows at most three years between bills', () => {
    expect(intervalCountAllowed('month', 36)).toBe(true);
    expect(intervalCountAllowed('month', 37)).toBe(false);
    expect(intervalCountAllowed('year', 3)).toBe(true);
    expect(intervalCountAllowed('year', 4)).toBe(false);
    expect(intervalCountAllowed('week', 156)).toBe(true);
    expect(intervalCountAllowed('day', 1096)).toBe(false);
    expect(intervalCountAllowed('day', 0)).toBe(false);
  });
});
