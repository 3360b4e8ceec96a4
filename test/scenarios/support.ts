import { expect } from 'vitest';
import { createBillingApp, iso, unix, type Inv } from '../helpers/billing.js';

// Small shared pieces of the scenario tests. Expected values are always written out in the tests
// themselves; nothing here computes an amount or a date the way the code under test does.

export type BillingApp = Awaited<ReturnType<typeof createBillingApp>>;
export { iso, unix, type Inv };

/** Seconds in `days` days plus optional hours, minutes, seconds (for hand-written arithmetic). */
export const secs = (days: number, h = 0, m = 0, s = 0) => days * 86_400 + h * 3600 + m * 60 + s;

/** Creates a subscription and fails the test with the response body if it is not 200. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function subscribe(t: BillingApp, payload: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/**
 * A customer on a new test clock at `start`, with a Visa (or `card`) as default, subscribed to Community Access
 * (9,700 a month) without a trial: the common start of the subscription scenarios.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function communityOnClock(t: BillingApp, start: string, extra: Record<string, unknown> = {}, card = 'pm_card_visa'): Promise<{ clock: string; customer: string; sub: any }> {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card });
  const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', ...extra });
  return { clock, customer, sub };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function update(t: BillingApp, id: string, payload: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function get(t: BillingApp, url: string): Promise<any> {
  const res = await t.call({ method: 'GET', url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Events of one type for one customer, oldest first. */
export async function events(t: BillingApp, customer: string, type: string): Promise<{ id: string; type: string; created: number; data: { object: any; previous_attributes?: any } }[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const body = await get(t, `/v1/events?type=${encodeURIComponent(type)}&customer=${customer}&limit=100`);
  return body.data.slice().reverse();
}

/** A line as [description, amount, period start ISO, period end ISO, proration]. */
export const lineTuple = (l: Inv['lines']['data'][number]) => [l.description, l.amount, iso(l.period.start), iso(l.period.end), l.proration] as const;

/** An invoice as [status, total, amount_paid, period start ISO, period end ISO, billing_reason]. */
export const invTuple = (i: Inv) => [i.status, i.total, i.amount_paid, iso(i.period_start), iso(i.period_end), i.billing_reason] as const;

/** Counts rows of a table straight from the database (to prove a preview wrote nothing). */
export async function countRows(t: BillingApp, table: 'invoices' | 'invoice_items' | 'invoice_lines' | 'events' | 'payment_intents'): Promise<number> {
  const { rows } = await t.testDb.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

/** One test-clock advance to exactly `to` (no stepping), which must succeed. */
export async function advanceTo(t: BillingApp, clock: string, to: string): Promise<void> {
  const res = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix(to) } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** A $10 (or `unit_amount`) recurring price of the Community product with the given `recurring`. */
export async function recurringPrice(t: BillingApp, recurring: Record<string, unknown>, unit_amount = 1000): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: 'prod_community', currency: 'usd', unit_amount, recurring } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id;
}

/** A request that must answer 200; its body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function ok(t: BillingApp, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
  expect(res.status, `${method} ${url} → ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

/** [status, error code, error param] of an answer, to assert a refusal in one line. */
export const errorOf = (r: { status: number; body: { error?: { code?: string; param?: string } } }) => [r.status, r.body.error?.code, r.body.error?.param];

/** DELETE /v1/subscriptions/:id (a cancel), with optional parameters; the raw answer. */
export const deleteSubscription = (t: BillingApp, id: string, payload?: Record<string, unknown>) =>
  t.call({ method: 'DELETE', url: `/v1/subscriptions/${id}`, ...(payload ? { payload } : {}) });

/** The customer's balance (negative: credit). */
export const customerBalance = async (t: BillingApp, customer: string) => (await get(t, `/v1/customers/${customer}`)).balance as number;
