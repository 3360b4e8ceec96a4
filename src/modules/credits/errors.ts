import { AppError } from '../../core/errors/index.js';
import type { UsageError } from './domain/usage.js';
import { isTransientTxError } from '../../db/retry.js';

/** 402: the customer's credits do not cover the usage and overage is not allowed for them. */
export class InsufficientCreditsError extends AppError {
  constructor(message: string, param = 'quantity') {
    super(402, 'invalid_request_error', 'insufficient_credits', message, param);
  }
}

/** A per-event failure of a usage batch, as the error a single-event request answers with. */
export function usageError(e: UsageError): AppError {
  if (e.code === 'insufficient_credits') return new InsufficientCreditsError(e.message, e.param);
  return new AppError(e.status, e.status === 409 ? 'idempotency_error' : 'invalid_request_error', e.code, e.message, e.param);
}

/** Unique keys two concurrent usage batches can race on: event ids, and so usage transaction keys. */
const RACE_CONSTRAINTS = new Set(['usage_events_pkey', 'credit_transactions_idempotency_key_key']);

/** A unique violation on an event id (or usage transaction key) taken by another batch meanwhile. */
export function isIdRace(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && RACE_CONSTRAINTS.has(e.constraint ?? '');
}

/**
 * Errors worth retrying a whole usage transaction for: deadlock, serialization failure, or an id race
 * (the retry looks the ids up and answers the duplicate).
 */
export function isRetryable(err: unknown): boolean {
  return isIdRace(err) || isTransientTxError(err);
}
