import { multiplyRatio } from '../../../core/money/index.js';

// Credit packs: one credit is worth a fixed amount of usage, and larger packs cost less per credit.
// This constant is the whole configuration of the ladder; the seed and the credits module read it.
export const CREDIT_PACK_PRICING = {
  currency: 'usd',
  /** Minor units of `currency` one credit is worth: USD 0.01. */
  creditValue: 1,
  ladder: [
    { credits: 500, discountPercent: 0 },
    { credits: 1000, discountPercent: 5 },
    { credits: 2500, discountPercent: 10 },
    { credits: 5000, discountPercent: 15 },
  ],
} as const;

export type CreditPack = (typeof CREDIT_PACK_PRICING.ladder)[number];

/** The pack's price in minor units: face value less its discount, rounded once (half-even). */
export function creditPackAmount(pack: { credits: number; discountPercent: number }, creditValue: number = CREDIT_PACK_PRICING.creditValue): number {
  return multiplyRatio(pack.credits * creditValue, 100 - pack.discountPercent, 100, 'half_even');
}
