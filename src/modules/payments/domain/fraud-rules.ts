import type { FraudSettings } from '../config.js';

// Fraud rules evaluated before a charge, as a pure function of signals gathered from the database.
// The first rule that blocks wins; otherwise a review rule may flag the payment (it still goes through,
// marked for a person to look at); the score (0–100) summarises how risky the attempt looks.

export interface FraudSignals {
  /** An unexpired block on this payment method, card, customer or IP. */
  activeBlock: { rule: string; reason: string } | null;
  paymentMethodFailuresLastHour: number;
  customerFailuresLastHour: number;
  /** null: the attempt has no client IP (an off-session renewal). */
  ipFailuresLastHour: number | null;
  /** Other cards used by this customer for small attempts in the card-testing window. */
  otherSmallCardsByCustomer: number;
  otherSmallCardsByIp: number | null;
  amount: number;
  cardCountry: string | null;
  billingCountry: string | null;
}

export type BlockScope = 'payment_method' | 'fingerprint' | 'customer' | 'ip';

export interface FraudDecision {
  outcome: 'allow' | 'review' | 'block';
  score: number;
  rule: string | null;
  reason: string | null;
  /** Blocks to record (they last `blockHours`). */
  newBlocks: BlockScope[];
}

export function riskLevel(score: number): 'normal' | 'elevated' | 'highest' {
  return score >= 85 ? 'highest' : score >= 65 ? 'elevated' : 'normal';
}

export function evaluateFraud(s: FraudSignals, cfg: FraudSettings): FraudDecision {
  const small = s.amount <= cfg.cardTestingSmallAmount;
  const cardsByCustomer = s.otherSmallCardsByCustomer + 1;
  const cardsByIp = s.otherSmallCardsByIp === null ? 0 : s.otherSmallCardsByIp + 1;
  const mismatch = s.cardCountry !== null && s.billingCountry !== null && s.cardCountry.toUpperCase() !== s.billingCountry.toUpperCase();
  const score = Math.min(
    99,
    s.paymentMethodFailuresLastHour * 8 +
      s.customerFailuresLastHour * 4 +
      (s.ipFailuresLastHour ?? 0) * 2 +
      (small ? Math.max(cardsByCustomer, cardsByIp) - 1 : 0) * 12 +
      (mismatch ? 30 : 0),
  );
  const block = (rule: string, reason: string, newBlocks: BlockScope[]): FraudDecision => ({ outcome: 'block', score: 100, rule, reason, newBlocks });

  if (s.activeBlock) return block(s.activeBlock.rule, s.activeBlock.reason, []);
  if (s.paymentMethodFailuresLastHour > cfg.paymentMethodFailuresPerHour) {
    return block(
      'payment_method_velocity',
      `This payment method failed ${s.paymentMethodFailuresLastHour} times in the last hour; it is blocked for ${cfg.blockHours} hours.`,
      ['payment_method', 'fingerprint'],
    );
  }
  if (s.customerFailuresLastHour > cfg.customerFailuresPerHour) {
    return block('customer_velocity', `This customer's payments failed ${s.customerFailuresLastHour} times in the last hour; payments are blocked for ${cfg.blockHours} hours.`, ['customer']);
  }
  if (s.ipFailuresLastHour !== null && s.ipFailuresLastHour > cfg.ipFailuresPerHour) {
    return block('ip_velocity', `Payments from this IP address failed ${s.ipFailuresLastHour} times in the last hour; it is blocked for ${cfg.blockHours} hours.`, ['ip']);
  }
  if (small && cfg.cardTestingDistinctCards > 0 && (cardsByCustomer >= cfg.cardTestingDistinctCards || cardsByIp >= cfg.cardTestingDistinctCards)) {
    return block(
      'card_testing',
      `Small payments were attempted with ${Math.max(cardsByCustomer, cardsByIp)} different cards within ${cfg.cardTestingWindowMinutes} minutes (card testing).`,
      s.otherSmallCardsByIp !== null && cardsByIp >= cfg.cardTestingDistinctCards ? ['customer', 'ip'] : ['customer'],
    );
  }
  if (mismatch && cfg.countryMismatch !== 'allow') {
    const reason = `The card was issued in ${s.cardCountry!.toUpperCase()} but the billing country is ${s.billingCountry!.toUpperCase()}.`;
    if (cfg.countryMismatch === 'block') return block('country_mismatch', reason, []);
    return { outcome: 'review', score: Math.max(score, 65), rule: 'country_mismatch', reason, newBlocks: [] };
  }
  return { outcome: 'allow', score, rule: null, reason: null, newBlocks: [] };
}
