import type { Queryable } from '../../db/index.js';
import type { PaymentDeps } from '../payments/service.js';
import { attemptKey, chargeAll, planCharges, recordAttempts, type ChargeRef } from './charge-batch.js';
import type { InvoiceRow } from './repository.js';
import { payInvoice } from './service.js';

// Automatic collection for a claimed batch of due invoices, set-based (charge-batch.ts): payment
// methods resolved for the batch in two queries, the fraud rules assessed for the batch at once,
// payment intents inserted in one statement (their unique idempotency keys make a second charge
// impossible), gateway calls made concurrently, results written back in bulk. Anything unusual — no
// usable payment method, an attempt already on record — takes the one-by-one path (payInvoice).

export async function collectInvoices(q: Queryable, deps: PaymentDeps, invoices: InvoiceRow[], now: Date): Promise<void> {
  if (invoices.length === 0) return;
  const ids = invoices.map((i) => i.id);
  // Also the customer's country (fraud rules, routing) and whether this attempt is already on record
  // (its key is taken: it resumes one by one, without a new fraud assessment).
  const { rows: refs } = await q.query<{ id: string; sub_pm: string | null; cus_pm: string | null; cus_country: string | null }>(
    `SELECT i.id, s.default_payment_method AS sub_pm, c.invoice_settings->>'default_payment_method' AS cus_pm,
            c.address->>'country' AS cus_country
       FROM invoices i JOIN customers c ON c.id = i.customer LEFT JOIN subscriptions s ON s.id = i.subscription
      WHERE i.id = ANY($1::text[])`,
    [ids],
  );
  // Attempt keys already on record, looked up by the unique index (a correlated EXISTS let the planner
  // hash the whole payment_intents table once per batch).
  const { rows: taken } = await q.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM payment_intents WHERE idempotency_key = ANY($1::text[])`, [invoices.map(attemptKey)]);
  const takenKeys = new Set(taken.map((r) => r.idempotency_key));
  const invoiceById = new Map(invoices.map((i) => [i.id, i]));
  const refOf = new Map<string, ChargeRef>(
    refs.map((r) => [r.id, { subPm: r.sub_pm, cusPm: r.cus_pm, cusCountry: r.cus_country, attempted: takenKeys.has(attemptKey(invoiceById.get(r.id)!)) }]),
  );
  const { fast, slow } = await planCharges(q, invoices, refOf);
  await recordAttempts(q, deps, await chargeAll(q, deps, fast, now), now);
  for (const inv of slow) await payInvoice(q, deps, inv.id, now);
}
