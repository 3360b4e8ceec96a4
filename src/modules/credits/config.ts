import { CREDIT_PACK_PRICING } from '../catalog/domain/credit-packs.js';
import { envInt } from '../../core/env/index.js';

// Credits and usage settings from the environment. src/config.ts embeds them as `config.credits`;
// the README's configuration table lists every variable read here.

export interface CreditsConfig {
  /** Usage beyond a customer's credits: `reject` (402 insufficient_credits) or `bill` (overage on the next invoice). Per customer overridable. */
  overage: 'reject' | 'bill';
  /** Overage price per credit in minor units of `overageCurrency` (USD 0.01: the credit's face value). */
  overageUnitAmount: number;
  overageCurrency: string;
  /** `credits.balance_low` is emitted when a customer's available credits drop below one of these. Per customer overridable. */
  lowBalanceThresholds: number[];
  /** The balance's `expiring_soon` window. */
  expiringSoonDays: number;
  /** Days until purchased pack credits expire; 0 = never (the default). */
  packExpiryDays: number;
  /** Usage events may be this old (relative to the customer's clock) … */
  usageMaxAgeDays: number;
  /** … and this far in the future (clock skew). */
  usageMaxFutureSeconds: number;
  /** Group concurrent usage requests of one process into one transaction (group commit). */
  usageCoalesce: boolean;
  /** At most this many events per coalesced transaction. */
  usageCoalesceMaxEvents: number;
  /** Concurrent usage transactions per process on PostgreSQL, each for its own share of the customers. */
  usagePartitions: number;
}


export function loadCreditsConfig(env: NodeJS.ProcessEnv): CreditsConfig {
  const overage = env.RECUR_CREDIT_OVERAGE || 'reject';
  if (overage !== 'reject' && overage !== 'bill') throw new Error(`RECUR_CREDIT_OVERAGE must be reject or bill, got '${overage}'`);
  const thresholdsRaw = env.RECUR_CREDIT_LOW_BALANCE_THRESHOLDS ?? '1000,100';
  const thresholds = thresholdsRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`RECUR_CREDIT_LOW_BALANCE_THRESHOLDS must be positive integers separated by commas, got '${thresholdsRaw}'`);
      return n;
    });
  const coalesce = (env.RECUR_USAGE_COALESCE ?? 'true').toLowerCase();
  if (!/^(1|true|yes|on|0|false|no|off)$/.test(coalesce)) throw new Error(`RECUR_USAGE_COALESCE must be true or false, got '${coalesce}'`);
  return {
    overage,
    overageUnitAmount: CREDIT_PACK_PRICING.creditValue,
    overageCurrency: CREDIT_PACK_PRICING.currency,
    lowBalanceThresholds: thresholds,
    expiringSoonDays: envInt(env, 'RECUR_CREDIT_EXPIRING_SOON_DAYS', 7),
    packExpiryDays: envInt(env, 'RECUR_CREDIT_PACK_EXPIRY_DAYS', 0),
    usageMaxAgeDays: envInt(env, 'RECUR_USAGE_MAX_AGE_DAYS', 35),
    usageMaxFutureSeconds: envInt(env, 'RECUR_USAGE_MAX_FUTURE_SECONDS', 300),
    usageCoalesce: /^(1|true|yes|on)$/.test(coalesce),
    usageCoalesceMaxEvents: Math.max(1, envInt(env, 'RECUR_USAGE_COALESCE_MAX_EVENTS', 2000)),
    usagePartitions: Math.max(1, envInt(env, 'RECUR_USAGE_PARTITIONS', 3)),
  };
}
