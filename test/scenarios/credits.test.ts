import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedger } from '../../src/modules/credits/service.js';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, iso, subscribe, unix, type BillingApp } from './support.js';

// A Platform Professional subscriber over four months on a test clock: 5,000 credits a month, unused
// credits usable one more month but at most 2,500 of them carried into a new month (the seeded
// policy), a 2,500-credit pack bought through a real invoice and card payment, usage that drains
// the lots soonest-expiring first, a 402 when credits run out, then overage billed on the next renewal.
// Every number below is worked out by hand in the comments.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

interface Grant {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  status: string;
  effective_at: number;
  expires_at: number | null;
}

describe('Platform Professional over four months', () => {
  it('grants, carries over (capped), sells a pack, consumes soonest-expiring first, refuses, then bills overage', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa', email: 'pro@example.com' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('platform_professional_monthly') }], trial_end: 'now' });
    expect(sub.status).toBe('active');

    const balance = async () => get(t, `/v1/customers/${customer}/credit_balance`);
    const grants = async (): Promise<Grant[]> => (await get(t, `/v1/credit_grants?customer=${customer}&limit=100`)).data.slice().reverse();
    const use = async (id: string, feature: string, quantity: number) => t.call({ method: 'POST', url: '/v1/usage_events', payload: { id, customer, feature, quantity } });
    const accepted = async (id: string, feature: string, quantity: number) => {
      const res = await use(id, feature, quantity);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };

    // --- Month 1 (Jan 15 – Feb 15): the plan's 5,000 credits, usable until Mar 15 (one more month).
    await t.advance(clock, '2026-01-15T13:00:00Z');
    let g = await grants();
    expect(g.map((x) => [x.source, x.amount, x.remaining, iso(x.effective_at), x.expires_at && iso(x.expires_at)])).toEqual([
      ['plan', 5000, 5000, '2026-01-15T12:00:00Z', '2026-03-15T12:00:00Z'],
    ]);
    await t.advance(clock, '2026-01-20T12:00:00Z');
    // 600 AI messages × 2 + 360 enrichments × 5 = 1,200 + 1,800 = 3,000.
    const batch = await t.call({
      method: 'POST',
      url: '/v1/usage_events',
      payload: { events: [{ id: 'jan-ai', customer, feature: 'ai_message', quantity: 600 }, { id: 'jan-lead', customer, feature: 'lead_enrichment', quantity: 360 }] },
    });
    expect(batch.body).toMatchObject({ accepted: 2, failed: 0 });
    expect(batch.body.data.map((e: { credits: number; timestamp: number }) => [e.credits, iso(e.timestamp)])).toEqual([
      [1200, '2026-01-20T12:00:00Z'],
      [1800, '2026-01-20T12:00:00Z'],
    ]);
    expect((await balance()).available).toBe(2000);

    // --- Month 2 (Feb 15): renewal; 5,000 new credits until Apr 15; the 2,000 left carry over (≤ 2,500 cap).
    await t.advance(clock, '2026-02-15T14:00:00Z');
    let b = await balance();
    expect(b.available).toBe(7000);
    expect(b.grants.map((x: { remaining: number; expires_at: number }) => [x.remaining, iso(x.expires_at)])).toEqual([
      [2000, '2026-03-15T12:00:00Z'],
      [5000, '2026-04-15T12:00:00Z'],
    ]);
    await t.advance(clock, '2026-02-20T12:00:00Z');
    // 1,200 enrichments = 6,000: the 2,000 expiring Mar 15 first, then 4,000 of February's lot.
    await accepted('feb-lead', 'lead_enrichment', 1200);
    b = await balance();
    expect(b.available).toBe(1000);
    expect(b.grants.map((x: { remaining: number }) => x.remaining)).toEqual([1000]);

    // A 2,500-credit pack (USD 22.50: 10 % off 25.00), bought like any one-time purchase.
    await t.advance(clock, '2026-02-21T12:00:00Z');
    const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: await t.priceId('credits_2500') } });
    expect(item.status, JSON.stringify(item.body)).toBe(200);
    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer } });
    expect(draft.body.total).toBe(2250);
    await t.call({ method: 'POST', url: `/v1/invoices/${draft.body.id}/finalize`, payload: {} });
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${draft.body.id}/pay`, payload: {} });
    expect([paid.status, paid.body.status, paid.body.amount_paid]).toEqual([200, 'paid', 2250]);
    // Not before the invoice is paid and the worker (here: the clock) has run.
    await t.advance(clock, '2026-02-21T12:01:00Z');
    g = await grants();
    expect(g.filter((x) => x.source === 'purchase').map((x) => [x.amount, x.remaining, x.expires_at, iso(x.effective_at)])).toEqual([[2500, 2500, null, '2026-02-21T12:00:00Z']]);
    expect((await balance()).available).toBe(3500);

    // --- Month 3 (Mar 15): January's lot expires empty; March's 5,000 until May 15; 1,000 carried.
    await t.advance(clock, '2026-03-15T14:00:00Z');
    expect((await balance()).available).toBe(8500); // 1,000 + 5,000 + 2,500
    await t.advance(clock, '2026-03-20T12:00:00Z');
    await accepted('mar-lead', 'lead_enrichment', 100); // 500 from February's lot (expires first)
    b = await balance();
    expect(b.grants.map((x: { source: string; remaining: number }) => [x.source, x.remaining])).toEqual([
      ['plan', 500],
      ['plan', 5000],
      ['purchase', 2500],
    ]);

    // --- Month 4 (Apr 15): February's 500 expire; April's 5,000 until Jun 15; of March's 5,000 only
    // 2,500 carry over (the cap), the other 2,500 expire.
    await t.advance(clock, '2026-04-15T14:00:00Z');
    b = await balance();
    expect(b.available).toBe(10000); // 2,500 + 5,000 + 2,500
    expect(b.grants.map((x: { source: string; remaining: number; expires_at: number | null }) => [x.source, x.remaining, x.expires_at && iso(x.expires_at)])).toEqual([
      ['plan', 2500, '2026-05-15T12:00:00Z'],
      ['plan', 5000, '2026-06-15T12:00:00Z'],
      ['purchase', 2500, null],
    ]);
    const expiries = (await get(t, `/v1/credit_transactions?customer=${customer}&type=expiry`)).data;
    expect(expiries.map((x: { amount: number; description: string }) => [x.amount, x.description]).sort()).toEqual([
      [-2500, '2,500 unused plan credits above the carryover cap of 2,500 expired'],
      [-500, expect.stringMatching(/^500 unused credits of 5,000 credits included in Platform Professional/)],
    ].sort());

    await t.advance(clock, '2026-04-20T12:00:00Z');
    // 1,820 enrichments = 9,100: March's 2,500, April's 5,000, then 1,600 of the pack → 900 left.
    await accepted('apr-lead', 'lead_enrichment', 1820);
    b = await balance();
    expect(b.available).toBe(900);
    expect(b.grants.map((x: { source: string; remaining: number }) => [x.source, x.remaining])).toEqual([['purchase', 900]]);
    let low = await events(t, customer, 'credits.balance_low');
    expect(low.map((e) => [e.data.object.threshold, e.data.object.available, iso(e.created)])).toEqual([[1000, 900, '2026-04-20T12:00:00Z']]);

    // 300 enrichments = 1,500 > 900: refused, nothing recorded.
    await t.advance(clock, '2026-04-21T12:00:00Z');
    const refused = await use('apr-more', 'lead_enrichment', 300);
    expect([refused.status, refused.body.error.code]).toEqual([402, 'insufficient_credits']);
    expect((await balance()).available).toBe(900);
    // The operator allows overage for this customer: 900 from the pack, 600 billed at USD 0.01.
    await t.call({ method: 'POST', url: `/v1/customers/${customer}/credit_settings`, payload: { overage: 'bill' } });
    const over = await accepted('apr-more', 'lead_enrichment', 300);
    expect([over.credits, over.overage_credits]).toEqual([1500, 600]);
    expect((await balance()).available).toBe(0);
    low = await events(t, customer, 'credits.balance_low');
    expect(low.map((e) => [e.data.object.threshold, e.data.object.available])).toEqual([
      [1000, 900],
      [100, 0],
    ]);

    // --- May 15: the renewal bills the plan and the overage: 14,900 + 600 = 15,500.
    await t.advance(clock, '2026-05-15T14:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total, iso(i.period_start)])).toEqual([
      ['paid', 14900, '2026-01-15T12:00:00Z'],
      ['paid', 14900, '2026-02-15T12:00:00Z'],
      ['paid', 14900, '2026-03-15T12:00:00Z'],
      ['paid', 14900, '2026-04-15T12:00:00Z'],
      ['paid', 15500, '2026-05-15T12:00:00Z'],
    ]);
    expect(invs[4]!.lines.data.map((l) => [l.description, l.amount])).toEqual([
      ['1 × Platform Professional (at $149.00 / month)', 14900],
      ['Credit overage: 600 credits', 600],
    ]);
    b = await balance();
    expect(b.available).toBe(5000);

    // The whole history, and the ledger's invariants.
    g = await grants();
    expect(g.map((x) => [x.source, x.amount, x.remaining, x.status])).toEqual([
      ['plan', 5000, 0, 'expired'],
      ['plan', 5000, 0, 'expired'],
      ['purchase', 2500, 0, 'depleted'],
      ['plan', 5000, 0, 'expired'],
      ['plan', 5000, 0, 'depleted'],
      ['plan', 5000, 5000, 'active'],
    ]);
    const all = (await get(t, `/v1/credit_transactions?customer=${customer}&limit=100`)).data as { type: string; amount: number; entries: { account_type: string; amount: number }[] }[];
    const count = (type: string) => all.filter((x) => x.type === type).length;
    expect([count('grant'), count('usage'), count('expiry'), count('void')]).toEqual([6, 5, 2, 0]);
    const byAccount: Record<string, number> = {};
    for (const x of all) for (const e of x.entries) byAccount[e.account_type] = (byAccount[e.account_type] ?? 0) + e.amount;
    // Consumed: 3,000 + 6,000 + 500 + 9,100 + 1,500 = 20,100; expired: 500 + 2,500.
    expect(byAccount).toEqual({ plan_grants: -25000, purchases: -2500, overage: -600, consumption: 20100, expiry: 3000, wallet: 5000 });
    expect(await checkLedger(t.testDb.db)).toEqual([]);

    const summaries = (await get(t, `/v1/usage_summaries?customer=${customer}&start=${unix('2026-01-01T00:00:00Z')}&end=${unix('2026-05-01T00:00:00Z')}`)).data;
    expect(summaries.map((s: { day: string; feature: string; credits: number }) => [s.day, s.feature, s.credits])).toEqual([
      ['2026-01-20', 'ai_message', 1200],
      ['2026-01-20', 'lead_enrichment', 1800],
      ['2026-02-20', 'lead_enrichment', 6000],
      ['2026-03-20', 'lead_enrichment', 500],
      ['2026-04-20', 'lead_enrichment', 9100],
      ['2026-04-21', 'lead_enrichment', 1500],
    ]);
  });
});
