import { InvalidRequestError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { minimumCharge } from '../../core/money/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { setDelinquent } from '../customers/delinquency.js';
import { hostedInvoiceUrls, type LinkConfig } from '../documents/links.js';
import { recordEvents, type EventInput } from '../events/service.js';
import { syncSubscriptionAfterPayment } from '../subscriptions/state.js';
import type { CustomerDetails } from '../taxes/context.js';
import { formatInvoiceNumber } from './domain/numbering.js';
import { computeInvoiceTotals } from './domain/totals.js';
import { linesOf, reserveNumbers, type InvoiceCustomField, type InvoiceRow, type LineRow } from './repository.js';
import { serializeInvoice } from './serialize.js';

// Finalisation in three parts, so that it can run on drafts already stored (finalizeInvoices: the rows
// are updated) and on drafts about to be stored (a renewal with no finalisation delay writes its
// invoices once, already open: persistInvoices with `finalize`). Both take the same locks in the same
// order (customers by id, then the series' counters by name) and write the same rows and events.

export const DEFAULT_SERIES = 'RECUR';

export interface FinalizeOptions {
  /** Numbers every invoice in this series; without it each customer's invoice_prefix, else DEFAULT_SERIES. */
  series?: string;
  /** Makes the hosted invoice link (publicUrl, link secret, TTL); without it the invoice has none. */
  config?: LinkConfig;
  /**
   * A draft in another currency than the customer's (fixed by their first finalised invoice):
   * `throw` answers 400 currency_mismatch (API calls); `skip` leaves it a draft with auto_advance
   * off and records invoice.finalization_failed (worker batches, which must not fail as a whole).
   */
  onCurrencyMismatch?: 'throw' | 'skip';
}

interface BalanceTx {
  customer: string;
  amount: number;
  currency: string;
  invoice: string;
  ending: number;
  type: 'applied_to_invoice' | 'invoice_too_small';
}

export interface FinalizationPlan {
  /** The drafts as finalised rows (open, or paid when nothing is due), in the drafts' order. */
  out: InvoiceRow[];
  /** Drafts left as drafts: their currency is not their customer's (onCurrencyMismatch 'skip'). */
  mismatched: { draft: InvoiceRow; message: string }[];
  /** Customers' balances after the batch, and the balance transactions that got them there. */
  balance: Map<string, number>;
  balanceTx: BalanceTx[];
  /** The drafts' customers, locked. */
  customers: readonly LockedCustomer[];
}

export function customerDetails(c: (CustomerDetails & { id: string }) | undefined): CustomerDetails | null {
  if (!c) return null;
  // Stripe's invoice customer_tax_ids: each the type and value (the customer's tax_id objects carry more).
  return { name: c.name, email: c.email, phone: c.phone ?? null, address: c.address, shipping: c.shipping ?? null, tax_ids: c.tax_ids.map(({ type, value }) => ({ type, value })), tax_exempt: c.tax_exempt };
}

/** A customer as finalisation reads it (locked), with what a new invoice takes from its invoice_settings. */
export type LockedCustomer = CustomerDetails & {
  id: string;
  balance: number;
  currency: string | null;
  invoice_prefix: string | null;
  custom_fields: InvoiceCustomField[] | null;
  footer: string | null;
  /** invoice_settings.default_payment_method (a renewal that charges as it writes its invoice). */
  default_payment_method: string | null;
};

/** Locks customers (in id order, as every finalisation does) and reads them. */
export async function lockCustomers(q: Queryable, ids: readonly string[]): Promise<LockedCustomer[]> {
  const { rows } = await q.query<LockedCustomer>(
    `SELECT id, balance, currency, invoice_prefix, name, email, phone, address, shipping, tax_ids, tax_exempt,
            invoice_settings->'custom_fields' AS custom_fields, invoice_settings->>'footer' AS footer,
            invoice_settings->>'default_payment_method' AS default_payment_method
       FROM customers WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    [ids],
  );
  return rows;
}

/**
 * Locks the drafts' customers (or takes them already locked: `lockedCustomers`, which must hold every draft's
 * customer), fixes each customer's currency (by their first finalised invoice; a draft in another currency is
 * refused or set aside), picks each draft's series (the customer's invoice_prefix, else the account's
 * DEFAULT_SERIES), applies the customer balance and computes the finalised rows, not yet numbered. Writes only the
 * customers' currencies: the caller then numbers the rows (numberFinalization), writes them (every reserved number
 * must be written in this transaction), then writeBalances and finishFinalization.
 */
export async function planFinalization(
  q: Queryable,
  locked: readonly InvoiceRow[],
  now: Date,
  opts: FinalizeOptions,
  lockedCustomers?: readonly LockedCustomer[],
): Promise<FinalizationPlan> {
  const plan: FinalizationPlan = { out: [], mismatched: [], balance: new Map(), balanceTx: [], customers: [] };
  if (locked.length === 0) return plan;
  const customers = new Set(locked.map((d) => d.customer));
  const customerRows = lockedCustomers ? lockedCustomers.filter((c) => customers.has(c.id)) : await lockCustomers(q, [...customers]);
  plan.customers = customerRows;
  const customerOf = new Map(customerRows.map((c) => [c.id, c]));
  // A customer's currency is fixed by their first finalised invoice; mixing is refused.
  const currencyOf = new Map(customerRows.map((c) => [c.id, c.currency]));
  const drafts: InvoiceRow[] = [];
  for (const d of locked) {
    const fixed = currencyOf.get(d.customer) ?? null;
    if (fixed === null || fixed === d.currency) {
      currencyOf.set(d.customer, d.currency);
      drafts.push(d);
      continue;
    }
    const message = `The customer ${d.customer} is billed in ${fixed} (fixed by their first finalized invoice); invoice ${d.id} is in ${d.currency}. Use one currency per customer.`;
    if ((opts.onCurrencyMismatch ?? 'throw') === 'throw') throw new InvalidRequestError(message, 'currency', 'currency_mismatch');
    plan.mismatched.push({ draft: d, message });
  }
  if (drafts.length === 0) return plan;
  await q.query(
    `UPDATE customers AS c SET currency = u.cur FROM unnest($1::text[], $2::text[]) AS u(id, cur) WHERE c.id = u.id AND c.currency IS NULL`,
    [[...currencyOf.keys()], [...currencyOf.values()]],
  );
  const seriesOf = new Map(drafts.map((d) => [d.id, opts.series ?? customerOf.get(d.customer)?.invoice_prefix ?? DEFAULT_SERIES]));
  const balance = new Map(customerRows.filter((c) => Number(c.balance) !== 0).map((b) => [b.id, Number(b.balance)]));
  const hosted = opts.config ? await hostedInvoiceUrls(q, opts.config, now, drafts) : new Map<string, string>();
  const nowS = toUnix(now);
  for (const d of drafts) {
    const starting = balance.get(d.customer) ?? 0;
    // The draft's total already holds discounts and tax.
    const lineTotals = computeInvoiceTotals({ lineAmounts: [Number(d.total)], startingBalance: starting });
    if (lineTotals.applied_balance !== 0) {
      balance.set(d.customer, lineTotals.ending_balance);
      plan.balanceTx.push({ customer: d.customer, amount: -lineTotals.applied_balance, currency: d.currency, invoice: d.id, ending: lineTotals.ending_balance, type: 'applied_to_invoice' });
    }
    // Stripe: an amount due below the currency's minimum charge is not charged; the invoice is paid and
    // the amount is carried to the customer's balance as a debit the next invoice collects.
    const tooSmall = d.collection_method === 'charge_automatically' && lineTotals.amount_due > 0 && lineTotals.amount_due < minimumCharge(d.currency);
    if (tooSmall) {
      const ending = lineTotals.ending_balance + lineTotals.amount_due;
      balance.set(d.customer, ending);
      plan.balanceTx.push({ customer: d.customer, amount: lineTotals.amount_due, currency: d.currency, invoice: d.id, ending, type: 'invoice_too_small' });
    }
    const paidNow = lineTotals.amount_due === 0 || tooSmall;
    const auto = d.collection_method === 'charge_automatically' && d.auto_advance && !paidNow;
    plan.out.push({
      ...d,
      // Numbered by numberFinalization, as late as the caller can: the series' counter stays locked from then on.
      number: null,
      series: seriesOf.get(d.id)!,
      status: paidNow ? 'paid' : 'open',
      starting_balance: starting,
      ending_balance: tooSmall ? lineTotals.ending_balance + lineTotals.amount_due : lineTotals.ending_balance,
      // Stripe: "If the invoice's total is smaller than the minimum charge amount … the amount_due may
      // be 0": the amount went to the balance, so amount_due = total + starting − ending holds.
      amount_due: tooSmall ? 0 : lineTotals.amount_due,
      amount_remaining: paidNow ? 0 : lineTotals.amount_due,
      next_payment_attempt: auto ? now : null,
      status_transitions: { ...d.status_transitions, finalized_at: nowS, ...(paidNow ? { paid_at: nowS } : {}) },
      updated: now,
      customer_details: customerDetails(customerOf.get(d.customer)),
      hosted_invoice_url: hosted.get(d.id) ?? null,
      last_finalization_error: null,
    });
  }
  plan.balance = balance;
  return plan;
}

/**
 * Reserves the plan's numbers (one locked counter row per series, series in name order) and writes them
 * into its rows. The counter stays locked until the transaction ends, so a caller does this after every
 * write that does not need the numbers: another transaction finalising in the same series waits from here.
 */
export async function numberFinalization(q: Queryable, plan: FinalizationPlan): Promise<void> {
  const numberOf = await reserveInvoiceNumbers(q, plan.out, (r) => r.series!);
  for (const r of plan.out) r.number = numberOf.get(r.id)!.number;
}

/** The customers' balances the plan applied, and one balance transaction each (after the invoices are written: they reference them). */
export async function writeBalances(q: Queryable, plan: FinalizationPlan, now: Date): Promise<void> {
  if (plan.balanceTx.length === 0) return;
  await q.query(`UPDATE customers AS c SET balance = u.b, updated = $3 FROM unnest($1::text[], $2::bigint[]) AS u(id, b) WHERE c.id = u.id`, [
    [...plan.balance.keys()],
    [...plan.balance.values()],
    now,
  ]);
  // One statement for the batch (ids made in the plan's order, so they sort as the transactions happened).
  const txs = plan.balanceTx;
  await q.query(
    `INSERT INTO customer_balance_transactions (id, customer, amount, currency, type, invoice, ending_balance, created)
     SELECT u.id, u.customer, u.amount, u.currency, u.type, u.invoice, u.ending, $8
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[]) AS u(id, customer, amount, currency, type, invoice, ending)`,
    [
      txs.map(() => newId('cbtxn')),
      txs.map((b) => b.customer),
      txs.map((b) => b.amount),
      txs.map((b) => b.currency),
      txs.map((b) => b.type),
      txs.map((b) => b.invoice),
      txs.map((b) => b.ending),
      now,
    ],
  );
}

/**
 * invoice.finalized (and invoice.paid for those paid at once) for the finalised rows, and what a payment
 * moves: the customers' delinquency and, for zero-amount invoices, their subscriptions. `lines`: the
 * rows' lines when the caller has them (a renewal that just built them), else they are read.
 */
export async function finishFinalization(q: Queryable, out: readonly InvoiceRow[], now: Date, lines?: ReadonlyMap<string, LineRow[]>): Promise<void> {
  if (out.length === 0) return;
  const linesById =
    lines ??
    (await linesOf(
      q,
      out.map((r) => r.id),
    ));
  const events: EventInput[] = [];
  for (const r of out) {
    const obj = serializeInvoice(r, linesById.get(r.id) ?? []);
    events.push({ type: 'invoice.finalized', object: obj, customerId: r.customer });
    if (r.status === 'paid') events.push({ type: 'invoice.paid', object: obj, customerId: r.customer });
  }
  await recordEvents(q, now, events);
  await setDelinquent(q, out.filter((r) => r.status === 'paid').map((r) => r.customer), false, now);
  // Zero-amount invoices are paid at once; their subscriptions move as if a payment succeeded.
  for (const r of out) if (r.status === 'paid' && r.subscription) await syncSubscriptionAfterPayment(q, r, true, now);
}

/**
 * Numbers for drafts in finalization order, per series: one reservation (one locked counter row) per
 * series, the series taken in name order so two batches lock shared counters in the same order.
 */
async function reserveInvoiceNumbers(q: Queryable, drafts: readonly InvoiceRow[], seriesOf: (d: InvoiceRow) => string): Promise<Map<string, { series: string; number: string }>> {
  const bySeries = new Map<string, InvoiceRow[]>();
  for (const d of drafts) {
    const series = seriesOf(d);
    const group = bySeries.get(series);
    if (group) group.push(d);
    else bySeries.set(series, [d]);
  }
  const out = new Map<string, { series: string; number: string }>();
  for (const series of [...bySeries.keys()].sort()) {
    const group = bySeries.get(series)!;
    const first = await reserveNumbers(q, series, group.length);
    for (const [i, d] of group.entries()) out.set(d.id, { series, number: formatInvoiceNumber(series, first + i) });
  }
  return out;
}
