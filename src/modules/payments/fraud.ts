import { newId } from '../../core/ids/index.js';
import type { Queryable } from '../../db/index.js';
import type { FraudSettings } from './config.js';
import { evaluateFraud, type FraudDecision } from './domain/fraud-rules.js';
import type { PaymentMethodRow } from './repository.js';

// Gathers the signals the fraud rules need in one statement and records the blocks a decision makes.
// A "failure" is a declined attempt (soft, hard or fraud); attempts refused by these rules do not count,
// so a block does not extend itself.

export const DEFAULT_FRAUD: FraudSettings = {
  paymentMethodFailuresPerHour: 5,
  customerFailuresPerHour: 10,
  ipFailuresPerHour: 20,
  blockHours: 24,
  cardTestingDistinctCards: 4,
  cardTestingWindowMinutes: 60,
  cardTestingSmallAmount: 500,
  countryMismatch: 'review',
};

export const PAYMENT_BLOCKED = 'payment_blocked';

const FAILED = `status = 'requires_payment_method' AND failure_class IN ('soft_decline', 'hard_decline', 'fraud') AND coalesce(last_payment_error->>'code', '') <> '${PAYMENT_BLOCKED}'`;

export interface FraudInput {
  customer: string;
  paymentMethod: PaymentMethodRow;
  amount: number;
  ip: string | null;
  billingCountry: string | null;
  now: Date;
}

export async function assessPayment(q: Queryable, cfg: FraudSettings, input: FraudInput): Promise<FraudDecision> {
  const hourAgo = new Date(input.now.getTime() - 3600_000);
  const windowStart = new Date(input.now.getTime() - cfg.cardTestingWindowMinutes * 60_000);
  const fp = input.paymentMethod.card.fingerprint;
  const { rows } = await q.query<{
    pm_failures: number;
    customer_failures: number;
    ip_failures: number | null;
    customer_cards: number;
    ip_cards: number | null;
    block_rule: string | null;
    block_reason: string | null;
  }>(
    `SELECT
       (SELECT count(*)::int FROM payment_intents WHERE payment_method = $1 AND created > $4 AND ${FAILED}) AS pm_failures,
       (SELECT count(*)::int FROM payment_intents WHERE customer = $2 AND created > $4 AND ${FAILED}) AS customer_failures,
       CASE WHEN $3::text IS NULL THEN NULL ELSE (SELECT count(*)::int FROM payment_intents WHERE client_ip = $3 AND created > $4 AND ${FAILED}) END AS ip_failures,
       (SELECT count(DISTINCT m.card->>'fingerprint')::int FROM payment_intents p JOIN payment_methods m ON m.id = p.payment_method
         WHERE p.customer = $2 AND p.created > $5 AND p.amount <= $6 AND m.card->>'fingerprint' <> $7) AS customer_cards,
       CASE WHEN $3::text IS NULL THEN NULL ELSE (SELECT count(DISTINCT m.card->>'fingerprint')::int FROM payment_intents p JOIN payment_methods m ON m.id = p.payment_method
         WHERE p.client_ip = $3 AND p.created > $5 AND p.amount <= $6 AND m.card->>'fingerprint' <> $7) END AS ip_cards,
       b.rule AS block_rule, b.reason AS block_reason
     FROM (SELECT 1) one
     LEFT JOIN LATERAL (
       SELECT rule, reason FROM payment_blocks
        WHERE until > $8 AND ((scope = 'payment_method' AND value = $1) OR (scope = 'fingerprint' AND value = $7)
              OR (scope = 'customer' AND value = $2) OR (scope = 'ip' AND value = $3))
        ORDER BY until DESC LIMIT 1) b ON true`,
    [input.paymentMethod.id, input.customer, input.ip, hourAgo, windowStart, cfg.cardTestingSmallAmount, fp, input.now],
  );
  const r = rows[0]!;
  const decision = evaluateFraud(
    {
      activeBlock: r.block_rule ? { rule: r.block_rule, reason: r.block_reason ?? 'Blocked by a fraud rule.' } : null,
      paymentMethodFailuresLastHour: r.pm_failures,
      customerFailuresLastHour: r.customer_failures,
      ipFailuresLastHour: r.ip_failures,
      otherSmallCardsByCustomer: r.customer_cards,
      otherSmallCardsByIp: r.ip_cards,
      amount: input.amount,
      cardCountry: input.paymentMethod.card.country,
      billingCountry: input.billingCountry,
    },
    cfg,
  );
  if (decision.newBlocks.length) {
    const until = new Date(input.now.getTime() + cfg.blockHours * 3600_000);
    const values: Record<string, string | null> = { payment_method: input.paymentMethod.id, fingerprint: fp, customer: input.customer, ip: input.ip };
    for (const scope of decision.newBlocks) {
      const value = values[scope];
      if (!value) continue;
      await q.query(`INSERT INTO payment_blocks (id, scope, value, rule, reason, until, created) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        newId('pblk'),
        scope,
        value,
        decision.rule,
        decision.reason,
        until,
        input.now,
      ]);
    }
  }
  return decision;
}
