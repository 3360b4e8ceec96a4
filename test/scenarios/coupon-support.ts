import { createBillingApp, iso, unix } from '../helpers/billing.js';
import { ok } from './support.js';

export type BillingApp = Awaited<ReturnType<typeof createBillingApp>>;
export { createBillingApp, iso, ok, unix };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function eventsFor(t: BillingApp, type: string, filter: (o: any) => boolean = () => true): Promise<any[]> {
  const body = await ok(t, 'GET', `/v1/events?type=${encodeURIComponent(type)}&limit=100`);
  return body.data.slice().reverse().filter((e: { data: { object: unknown } }) => filter(e.data.object));
}

/** [billing_reason, subtotal, total_discount, total] of each invoice, oldest first (with full bodies). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function fullInvoices(t: BillingApp, sub: string): Promise<any[]> {
  const invs = await t.invoices(sub);
  return Promise.all(invs.map((i) => ok(t, 'GET', `/v1/invoices/${i.id}`)));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const discountOf = (inv: any): number => inv.total_discount_amounts.reduce((s: number, a: { amount: number }) => s + a.amount, 0);
