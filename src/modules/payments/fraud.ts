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

/** One attempt's fraud decision (see assessPayments; the same query and rules for a batch of one). */
export async function assessPayment(q: Queryable, cfg: FraudSettings, input: FraudInput): Promise<FraudDecision> {
  return (await assessPayments(q, cfg, [input]))[0]!;
}

/**
 * The fraud decisions for a batch of attempts (the worker's renewals), in the order of `inputs`: the
 * inputs with any signal found by one statement, their signals gathered by a second (countSignals: the
 * inputs unnested with their ordinality, each signal a subquery correlated with its row, the active
 * block a LATERAL join; an input without any signal counts zero everywhere), the rules evaluated per
 * input, and the blocks the decisions make recorded with one more statement.
 *
 * Every input sees the attempts and blocks on record when the statement runs, not the other inputs of
 * the batch: two invoices of the same customer (or card) in one batch do not count each other's
 * failures, nor see a block the other's decision records. Their own failures count from the next
 * attempt on, as an attempt's do one by one.
 */
export async function assessPayments(q: Queryable, cfg: FraudSettings, inputs: readonly FraudInput[]): Promise<FraudDecision[]> {
  if (inputs.length === 0) return [];
  const iso = (d: Date) => d.toISOString();
  // Most attempts (a worker's renewals) have no signal at all: no attempt by their card, customer or IP
  // inside the windows, and no block. One cheaper statement (an index probe each, no counting) finds the
  // others, and only they are counted. Each probe is a LATERAL … LIMIT 1: as EXISTS, PostgreSQL's planner
  // may hash every attempt of the window instead (a scan of the window per batch, which at a renewal
  // peak holds every renewal's attempt). Its windows start at the earliest any input looks back, and its
  // blocks are those active at the earliest input's moment, so it can only find more, never fewer.
  const lookBack = Math.max(3600_000, cfg.cardTestingWindowMinutes * 60_000);
  const earliest = Math.min(...inputs.map((i) => i.now.getTime()));
  const { rows: flagged } = await q.query<{ ord: string | number }>(
    `SELECT u.ord FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(pm, customer, ip, fp, ord)
       LEFT JOIN LATERAL (SELECT 1 AS hit FROM payment_intents WHERE payment_method = u.pm AND created > $5 LIMIT 1) by_pm ON true
       LEFT JOIN LATERAL (SELECT 1 AS hit FROM payment_intents WHERE customer = u.customer AND created > $5 LIMIT 1) by_customer ON true
       LEFT JOIN LATERAL (SELECT 1 AS hit FROM payment_intents WHERE u.ip IS NOT NULL AND client_ip = u.ip AND created > $5 LIMIT 1) by_ip ON true
       LEFT JOIN LATERAL (SELECT 1 AS hit FROM payment_blocks WHERE until > $6 AND ((scope = 'payment_method' AND value = u.pm) OR (scope = 'fingerprint' AND value = u.fp)
                            OR (scope = 'customer' AND value = u.customer) OR (scope = 'ip' AND value = u.ip)) LIMIT 1) blocked ON true
      WHERE by_pm.hit IS NOT NULL OR by_customer.hit IS NOT NULL OR by_ip.hit IS NOT NULL OR blocked.hit IS NOT NULL`,
    [
      inputs.map((i) => i.paymentMethod.id),
      inputs.map((i) => i.customer),
      inputs.map((i) => i.ip),
      inputs.map((i) => i.paymentMethod.card.fingerprint),
      iso(new Date(earliest - lookBack)),
      iso(new Date(earliest)),
    ],
  );
  // The flagged inputs' positions (from 1); countSignals numbers its own inputs from 1 in that order.
  const positions = flagged.map((r) => Number(r.ord));
  const { rows: signals } = positions.length ? await countSignals(q, cfg, positions.map((p) => inputs[p - 1]!)) : { rows: [] };
  const signalAt = new Map(signals.map((r) => [positions[Number(r.ord) - 1]!, r]));
  const rows: Signals[] = inputs.map((input, k) => {
    const found = signalAt.get(k + 1);
    if (found) return { ...found, ord: k + 1 };
    const none = input.ip === null ? null : 0;
    return { ord: k + 1, pm_failures: 0, customer_failures: 0, ip_failures: none, customer_cards: 0, ip_cards: none, block_rule: null, block_reason: null };
  });
  const decisions: FraudDecision[] = new Array(inputs.length);
  const blocks: unknown[][] = [[], [], [], [], [], [], []];
  for (const r of rows) {
    const k = Number(r.ord) - 1;
    const input = inputs[k]!;
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
    decisions[k] = decision;
    if (decision.newBlocks.length === 0) continue;
    const until = iso(new Date(input.now.getTime() + cfg.blockHours * 3600_000));
    const values: Record<string, string | null> = { payment_method: input.paymentMethod.id, fingerprint: input.paymentMethod.card.fingerprint, customer: input.customer, ip: input.ip };
    for (const scope of decision.newBlocks) {
      const value = values[scope];
      if (!value) continue;
      [newId('pblk'), scope, value, decision.rule, decision.reason, until, iso(input.now)].forEach((v, c) => blocks[c]!.push(v));
    }
  }
  if (blocks[0]!.length) {
    await q.query(
      `INSERT INTO payment_blocks (id, scope, value, rule, reason, until, created)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])`,
      blocks,
    );
  }
  return decisions;
}

interface Signals {
  ord: string | number;
  pm_failures: number;
  customer_failures: number;
  ip_failures: number | null;
  customer_cards: number;
  ip_cards: number | null;
  block_rule: string | null;
  block_reason: string | null;
}

/** The signals of each input, counted (one statement; `ord` is the input's position, from 1). */
function countSignals(q: Queryable, cfg: FraudSettings, inputs: readonly FraudInput[]) {
  const iso = (d: Date) => d.toISOString();
  return q.query<Signals>(
    `SELECT u.ord,
       (SELECT count(*)::int FROM payment_intents WHERE payment_method = u.pm AND created > u.hour_ago AND ${FAILED}) AS pm_failures,
       (SELECT count(*)::int FROM payment_intents WHERE customer = u.customer AND created > u.hour_ago AND ${FAILED}) AS customer_failures,
       CASE WHEN u.ip IS NULL THEN NULL ELSE (SELECT count(*)::int FROM payment_intents WHERE client_ip = u.ip AND created > u.hour_ago AND ${FAILED}) END AS ip_failures,
       (SELECT count(DISTINCT m.card->>'fingerprint')::int FROM payment_intents p JOIN payment_methods m ON m.id = p.payment_method
         WHERE p.customer = u.customer AND p.created > u.window_start AND p.amount <= $8 AND m.card->>'fingerprint' <> u.fp) AS customer_cards,
       CASE WHEN u.ip IS NULL THEN NULL ELSE (SELECT count(DISTINCT m.card->>'fingerprint')::int FROM payment_intents p JOIN payment_methods m ON m.id = p.payment_method
         WHERE p.client_ip = u.ip AND p.created > u.window_start AND p.amount <= $8 AND m.card->>'fingerprint' <> u.fp) END AS ip_cards,
       b.rule AS block_rule, b.reason AS block_reason
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
            WITH ORDINALITY AS u(pm, customer, ip, fp, hour_ago, window_start, now, ord)
     LEFT JOIN LATERAL (
       SELECT rule, reason FROM payment_blocks
        WHERE until > u.now AND ((scope = 'payment_method' AND value = u.pm) OR (scope = 'fingerprint' AND value = u.fp)
              OR (scope = 'customer' AND value = u.customer) OR (scope = 'ip' AND value = u.ip))
        ORDER BY until DESC LIMIT 1) b ON true
     ORDER BY u.ord`,
    [
      inputs.map((i) => i.paymentMethod.id),
      inputs.map((i) => i.customer),
      inputs.map((i) => i.ip),
      inputs.map((i) => i.paymentMethod.card.fingerprint),
      inputs.map((i) => iso(new Date(i.now.getTime() - 3600_000))),
      inputs.map((i) => iso(new Date(i.now.getTime() - cfg.cardTestingWindowMinutes * 60_000))),
      inputs.map((i) => iso(i.now)),
      cfg.cardTestingSmallAmount,
    ],
  );
}
