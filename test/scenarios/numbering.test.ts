import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, iso, subscribe, update, type BillingApp } from './support.js';

// Invoice numbers: one gapless series (RECUR-0001, …) in finalization order across customers; a
// voided invoice keeps its number; a draft has none until it is finalized. This file has its own
// database, so the series starts at 1.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

interface ListedInvoice {
  id: string;
  customer: string;
  number: string | null;
  status: string;
  period_start: number;
  status_transitions: { finalized_at: number | null };
}

describe('invoice numbers', () => {
  it('are gapless and in finalization order; a voided invoice keeps its number', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const a = await t.customer({ clock, card: 'pm_card_visa', email: 'a@example.com' });
    const b = await t.customer({ clock, email: 'b@example.com' });
    const c = await t.customer({ clock, card: 'pm_card_visa', email: 'c@example.com' });
    const d = await t.customer({ clock, card: 'pm_card_visa', email: 'd@example.com' });
    // A: paid at once (0001). B: declined first payment (0002), voided 23 h later. C: 14-day trial,
    // its $0 invoice (0003). D: paid at once (0004), then its collection is paused as drafts.
    await subscribe(t, { customer: a, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await subscribe(t, { customer: b, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', default_payment_method: 'pm_card_chargeDeclined' });
    await subscribe(t, { customer: c, items: [{ price: await t.priceId('group_monthly') }] });
    const dSub = await subscribe(t, { customer: d, items: [{ price: await t.priceId('platform_starter_monthly') }], trial_end: 'now' });
    await update(t, dSub.id, { pause_collection: { behavior: 'keep_as_draft' } });

    // Jan 15 00:00 C's trial ends (finalized 01:00, 0005); Feb 1 A renews (0006) and D renews as a
    // draft (no number); Feb 15 C renews (0007); Mar 1 A renews (0008) and D again as a draft.
    await t.advance(clock, '2026-03-01T02:00:00Z');
    // D's first draft is finalized by hand on Mar 1 02:00: the next number, 0009.
    const dDrafts = (await t.invoices(dSub.id)).filter((i) => i.status === 'draft');
    expect(dDrafts).toHaveLength(2);
    const fin = await t.call({ method: 'POST', url: `/v1/invoices/${dDrafts[0]!.id}/finalize`, payload: {} });
    expect(fin.status, JSON.stringify(fin.body)).toBe(200);

    const all = (await get(t, '/v1/invoices?limit=100')).data as ListedInvoice[];
    const who = new Map([
      [a, 'A'],
      [b, 'B'],
      [c, 'C'],
      [d, 'D'],
    ]);
    const numbered = all.filter((i) => i.number !== null).sort((x, y) => x.number!.localeCompare(y.number!));
    expect(numbered.map((i) => [i.number, who.get(i.customer), iso(i.period_start), i.status])).toEqual([
      ['RECUR-0001', 'A', '2026-01-01T00:00:00Z', 'paid'],
      ['RECUR-0002', 'B', '2026-01-01T00:00:00Z', 'void'],
      ['RECUR-0003', 'C', '2026-01-01T00:00:00Z', 'paid'],
      ['RECUR-0004', 'D', '2026-01-01T00:00:00Z', 'paid'],
      ['RECUR-0005', 'C', '2026-01-15T00:00:00Z', 'paid'],
      ['RECUR-0006', 'A', '2026-02-01T00:00:00Z', 'paid'],
      ['RECUR-0007', 'C', '2026-02-15T00:00:00Z', 'paid'],
      ['RECUR-0008', 'A', '2026-03-01T00:00:00Z', 'paid'],
      ['RECUR-0009', 'D', '2026-02-01T00:00:00Z', 'open'],
    ]);
    // Finalization times never go backwards along the series.
    const finalized = numbered.map((i) => i.status_transitions.finalized_at!);
    expect(finalized).toEqual(finalized.slice().sort((x, y) => x - y));
    // The one invoice left without a number is D's March draft.
    expect(all.filter((i) => i.number === null).map((i) => [who.get(i.customer), i.status, iso(i.period_start)])).toEqual([['D', 'draft', '2026-03-01T00:00:00Z']]);
  });
});
